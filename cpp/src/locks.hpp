// Who may use a model when. Training calls (fit, train_step, gradients: they use the workspace
// and change the parameters) hold the guard exclusively and are serialised; predict and loss
// hold it shared, so they run together but wait for a training call to finish. The training
// thread itself may predict between epochs (from a callback) without the lock.
#pragma once

#include <atomic>
#include <mutex>
#include <shared_mutex>
#include <stdexcept>
#include <thread>

namespace fastbp::detail {

struct TrainingGuard {
  mutable std::shared_mutex mutex;
  std::atomic<std::thread::id> trainer{};
  bool held_by_this_thread() const { return trainer.load() == std::this_thread::get_id(); }
};

// Holds a model's guard for one training call, and records the thread so that the call's own
// callbacks may predict. A second training call from that thread (a callback that trains the
// model it is called from) is refused instead of deadlocking.
class TrainingLock {
 public:
  explicit TrainingLock(TrainingGuard& guard) : guard_(guard) {
    if (guard.held_by_this_thread())
      throw std::logic_error(
          "this model is already being trained by this thread (a fit "
          "callback cannot train or take gradients of its own model)");
    guard.mutex.lock();
    guard.trainer.store(std::this_thread::get_id());
  }
  ~TrainingLock() {
    guard_.trainer.store(std::thread::id());
    guard_.mutex.unlock();
  }
  TrainingLock(const TrainingLock&) = delete;
  TrainingLock& operator=(const TrainingLock&) = delete;

 private:
  TrainingGuard& guard_;
};

// Shared lock for inference, skipped by the thread that holds the training lock.
class InferenceLock {
 public:
  explicit InferenceLock(const TrainingGuard& guard) : lock_(guard.mutex, std::defer_lock) {
    if (!guard.held_by_this_thread()) lock_.lock();
  }

 private:
  std::shared_lock<std::shared_mutex> lock_;
};

}  // namespace fastbp::detail

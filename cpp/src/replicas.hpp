// What one process of a data-parallel fit (fastbp/data_parallel.hpp) needs beyond the
// single-process loop: which rows of each step are its own, the sums that keep the replicas
// identical, and agreement on every decision that could otherwise differ between processes.
#pragma once

#include <algorithm>
#include <cmath>
#include <condition_variable>
#include <cstdint>
#include <deque>
#include <exception>
#include <functional>
#include <mutex>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include "checks.hpp"
#include "fastbp/data_parallel.hpp"
#include "network_impl.hpp"

namespace fastbp::detail {

template <typename T>
class Replicas {
 public:
  // batch_size is per process; n is this process's rows.
  Replicas(const DataParallel<T>& p, std::ptrdiff_t n, std::ptrdiff_t batch_size) : p_(p) {
    if (p.size < 1) fail("data parallel: size: expected >= 1, got " + std::to_string(p.size));
    if (p.rank < 0 || p.rank >= p.size)
      fail("data parallel: rank: expected 0 <= rank < " + std::to_string(p.size) + ", got " +
           std::to_string(p.rank));
    if (!p.sum) fail("data parallel: sum: expected a function that sums over the processes");
    if (p.average_every < 0)
      fail("data parallel: average_every: expected >= 0, got " + std::to_string(p.average_every));
    if (p.sharding == Sharding::global) {
      // batch_size * size, without overflowing for a huge batch_size
      step_rows_ = batch_size >= (n + p.size - 1) / p.size ? n : batch_size * p.size;
      steps_ = (n + step_rows_ - 1) / step_rows_;
    } else {
      step_rows_ = std::min(batch_size, n);
      const std::ptrdiff_t own = (n + step_rows_ - 1) / step_rows_;
      if (p.steps_per_epoch < own)
        fail("data parallel: steps_per_epoch: expected at least this process's " +
             std::to_string(own) + " batches, got " + std::to_string(p.steps_per_epoch));
      steps_ = p.steps_per_epoch;
    }
  }

  bool synchronous() const { return p_.average_every == 0; }
  int average_every() const { return p_.average_every; }
  std::ptrdiff_t steps_per_epoch() const { return steps_; }
  // The rows a process holds at most in one step (the workspace it needs).
  std::ptrdiff_t most_rows() const {
    return p_.sharding == Sharding::global ? (step_rows_ + p_.size - 1) / p_.size : step_rows_;
  }

  // This process's rows of step `step` (an epoch's steps count from 0): its contiguous share
  // of the global batch, or its own batch; none once a local shard has run out.
  std::ptrdiff_t rows(std::ptrdiff_t n, std::ptrdiff_t step, std::ptrdiff_t* first) const {
    const std::ptrdiff_t start = step * step_rows_;
    const std::ptrdiff_t in_step = std::max<std::ptrdiff_t>(0, std::min(step_rows_, n - start));
    if (p_.sharding == Sharding::local) {
      *first = start;
      return in_step;
    }
    const std::ptrdiff_t lo = in_step * p_.rank / p_.size, hi = in_step * (p_.rank + 1) / p_.size;
    *first = start + lo;
    return hi - lo;
  }

  void sum(T* values, std::size_t count) const { p_.sum(values, count); }

  // Sums small figures (losses, counts, flags). Each travels as two values of the model's
  // type, itself and what it rounded off, so float32 models keep about 48 bits of them.
  std::vector<double> sum(const std::vector<double>& figures) const {
    std::vector<T> buffer;
    for (double f : figures) {
      const T high = T(f);
      buffer.push_back(high);
      buffer.push_back(std::isfinite(f) ? T(f - double(high)) : T(0));
    }
    p_.sum(buffer.data(), buffer.size());
    std::vector<double> sums;
    for (std::size_t i = 0; i < figures.size(); ++i)
      sums.push_back(double(buffer[2 * i]) + double(buffer[2 * i + 1]));
    return sums;
  }

  // Process 0's figures on every process: decisions taken from them (early stopping, the
  // plateau schedule) come out the same everywhere even where processes compute the same
  // figures in different bits (different CPUs, thread counts).
  std::vector<double> from_first(std::vector<double> figures) const {
    if (p_.rank != 0) std::fill(figures.begin(), figures.end(), 0.0);
    return sum(figures);
  }
  int rank() const { return p_.rank; }

  // The mean over the processes of the parameters and of the optimizer state.
  void average(NetworkImpl<T>& m) const {
    const T scale = T(1) / T(p_.size);
    const auto average_array = [&](T* values, std::size_t count) {
      p_.sum(values, count);
      for (std::size_t i = 0; i < count; ++i) values[i] *= scale;
    };
    average_array(m.params.values.data(), m.params.values.size());
    m.optimizer.for_each_array(average_array);
  }

  // Rethrows this process's error, or, when only another process failed, throws one saying
  // so: every process leaves training at the same step.
  [[noreturn]] static void stop_all(const std::exception_ptr& own) {
    if (own) std::rethrow_exception(own);
    throw std::runtime_error(
        "training stopped on every process: another process was interrupted or raised an "
        "error between batches or in an epoch callback");
  }

 private:
  const DataParallel<T>& p_;
  std::ptrdiff_t step_rows_ = 0, steps_ = 0;
};

// Runs a step's process-wide sums on a thread of its own, one at a time in the order they were
// started: a layer's sum travels while the backward pass of the layers below it computes (as
// DDP's buckets do). Every process starts the same sums in the same order.
template <typename T>
class SumsInFlight {
 public:
  explicit SumsInFlight(const std::function<void(T*, std::size_t)>& sum)
      : sum_(sum), thread_([this] { run(); }) {}
  SumsInFlight(const SumsInFlight&) = delete;
  SumsInFlight& operator=(const SumsInFlight&) = delete;
  // Finishes the sums already started (the other processes wait for them), then stops.
  ~SumsInFlight() {
    {
      std::lock_guard<std::mutex> lock(mutex_);
      stop_ = true;
    }
    ready_.notify_all();
    thread_.join();
  }

  void start(T* values, std::size_t count) {
    {
      std::lock_guard<std::mutex> lock(mutex_);
      queue_.push_back({values, count});
    }
    ready_.notify_all();
  }

  // Until every sum started is done; rethrows the error of one that failed.
  void wait() {
    std::unique_lock<std::mutex> lock(mutex_);
    done_.wait(lock, [&] { return queue_.empty() && !busy_; });
    if (error_) std::rethrow_exception(std::exchange(error_, nullptr));
  }

 private:
  struct Job {
    T* values;
    std::size_t count;
  };

  void run() {
    std::unique_lock<std::mutex> lock(mutex_);
    for (;;) {
      ready_.wait(lock, [&] { return stop_ || !queue_.empty(); });
      if (queue_.empty()) return;
      const Job job = queue_.front();
      queue_.pop_front();
      busy_ = true;
      const bool failed = bool(error_);
      lock.unlock();
      std::exception_ptr error;
      if (!failed) try {
          sum_(job.values, job.count);
        } catch (...) {
          error = std::current_exception();
        }
      lock.lock();
      if (error) error_ = error;
      busy_ = false;
      done_.notify_all();
    }
  }

  const std::function<void(T*, std::size_t)>& sum_;
  std::mutex mutex_;
  std::condition_variable ready_, done_;
  std::deque<Job> queue_;
  bool busy_ = false, stop_ = false;
  std::exception_ptr error_;
  std::thread thread_;  // last: starts once the members it uses exist
};

}  // namespace fastbp::detail

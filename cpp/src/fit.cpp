// Network<T>::fit: the epoch loop — shuffling, mini-batches, the learning-rate schedule, early
// stopping, validation, and recovery from divergence — all in C++ with no interpreter involved.
#include <algorithm>
#include <chrono>
#include <cmath>
#include <limits>
#include <numeric>
#include <string>

#include "network_impl.hpp"
#include "random.hpp"

namespace fastbp {
namespace {

// Runs a check about every 10 ms: reading the clock on every batch would cost a fifth of a
// 100 ns online step, so the number of batches between clock reads adapts instead.
class CheckInterval {
 public:
  template <typename Check>
  void tick(const Check& check) {
    if (++batches_ < stride_) return;
    batches_ = 0;
    const auto now = std::chrono::steady_clock::now();
    const double elapsed = std::chrono::duration<double>(now - last_).count();
    if (elapsed < 0.005 && stride_ < (1 << 20)) stride_ *= 2;
    if (elapsed > 0.02 && stride_ > 1) stride_ /= 2;
    if (elapsed >= 0.005) {
      last_ = now;
      check();
    }
  }

 private:
  std::int64_t batches_ = 0, stride_ = 1;
  std::chrono::steady_clock::time_point last_ = std::chrono::steady_clock::now();
};

// The best value seen so far of a loss that should go down, and how many epochs ago it was.
// An epoch improves only by beating the best by more than tol; NaN never improves.
class BestSoFar {
 public:
  explicit BestSoFar(double tol) : tol_(tol) {}
  bool improved_by(double value) {
    if (value < best_ - tol_) {
      best_ = value;
      since_ = 0;
      return true;
    }
    ++since_;
    return false;
  }
  int epochs_since_best() const { return since_; }
  void restart_count() { since_ = 0; }

 private:
  double tol_;
  double best_ = std::numeric_limits<double>::infinity();
  int since_ = 0;
};

class ScheduledRate {
 public:
  ScheduledRate(const LearningRateSchedule& s, double lr0)
      : s_(s), lr0_(lr0), plateau_lr_(lr0), plateau_(s.tol) {}

  double for_epoch(int epoch, double samples_before) const {
    switch (s_.kind) {
      case ScheduleKind::constant:
        return lr0_;
      case ScheduleKind::invscaling:
        return lr0_ / std::pow(samples_before + 1.0, s_.power_t);
      case ScheduleKind::step:
        return lr0_ * std::pow(s_.gamma, double((epoch - 1) / s_.step_size));
      case ScheduleKind::exponential:
        return lr0_ * std::pow(s_.gamma, double(epoch - 1));
      case ScheduleKind::plateau:
        return plateau_lr_;
    }
    return lr0_;
  }

  void after_epoch(double monitored) {
    if (s_.kind != ScheduleKind::plateau) return;
    plateau_.improved_by(monitored);
    if (plateau_.epochs_since_best() > s_.patience) {
      plateau_lr_ = std::max(plateau_lr_ * s_.factor, s_.min_lr);
      plateau_.restart_count();
    }
  }

 private:
  LearningRateSchedule s_;
  double lr0_, plateau_lr_;
  BestSoFar plateau_;
};

void check_options(const FitOptions& o) {
  if (o.epochs < 0) detail::fail("epochs: expected >= 0, got " + std::to_string(o.epochs));
  if (o.batch_size < 1)
    detail::fail("batch_size: expected >= 1, got " + std::to_string(o.batch_size));
  validate(o.optimizer);
  validate(o.schedule);
  if (o.patience < 0) detail::fail("patience: expected >= 0, got " + std::to_string(o.patience));
  if (!(std::isfinite(o.tol) && o.tol >= 0))
    detail::fail("tol: expected a finite value >= 0, got " + std::to_string(o.tol));
}

}  // namespace

template <typename T>
std::vector<EpochLog> Network<T>::fit(const T* X, std::ptrdiff_t n, const Targets<T>& targets,
                                      const FitOptions& options, const ValidationSet<T>* validation,
                                      const EpochCallback& on_epoch,
                                      const BatchCheck& between_batches) {
  Impl& m = *impl_;
  detail::check_input(m.arch, X, n, sizeof(T));
  detail::check_targets(m.arch, n, targets);
  check_options(options);
  if (validation) {
    detail::check_input(m.arch, validation->X, validation->n, sizeof(T));
    detail::check_targets(m.arch, validation->n, validation->targets);
  }
  detail::TrainingLock lock(m.guard);
  // Online training computes each next sample's first-layer product inside the current update:
  // valid only inside this loop (weights may be changed through the Python views between calls).
  detail::FirstLayerFusion<T> fusion;

  const std::ptrdiff_t batch = std::min(options.batch_size, n);
  const std::ptrdiff_t n_in = m.arch.layers[0];
  m.workspace.reserve(m.arch, batch);
  std::vector<std::int64_t> order(static_cast<std::size_t>(n));
  std::iota(order.begin(), order.end(), std::int64_t(0));
  detail::SplitMix64 rng(options.seed);
  const std::ptrdiff_t n_out = m.arch.layers.back();
  std::vector<T> val_out;
  detail::assign_or_explain(val_out, validation ? std::size_t(validation->n * n_out) : 0, T(0),
                            "the validation outputs");
  const double nan = std::numeric_limits<double>::quiet_NaN();

  ScheduledRate rate(options.schedule, options.optimizer.learning_rate);
  BestSoFar best(options.tol);
  const bool early_stopping = options.patience > 0;
  detail::AlignedVector<T> best_params;
  // Weights to fall back on when training diverges: a copy every few epochs, so that the copy
  // costs well under 1% of the training even when an epoch is a single batch.
  detail::AlignedVector<T> safe_params;
  detail::assign_or_explain(safe_params, m.params.values.size(), T(0),
                            "the copy of the parameters kept against divergence");
  std::copy(m.params.values.begin(), m.params.values.end(), safe_params.begin());
  int safe_epoch = 1;
  const int safe_every = int(std::max<std::ptrdiff_t>(1, 4096 / n));

  std::vector<EpochLog> history;
  history.reserve(std::size_t(options.epochs));
  CheckInterval check_interval;
  double samples_before = 0;
  for (int epoch = 1; epoch <= options.epochs; ++epoch) {
    if (epoch > 1 && (epoch - 1) % safe_every == 0) {
      std::copy(m.params.values.begin(), m.params.values.end(), safe_params.begin());
      safe_epoch = epoch;
    }
    const auto t0 = std::chrono::steady_clock::now();
    const double lr = rate.for_epoch(epoch, samples_before);
    if (options.shuffle)
      for (std::ptrdiff_t i = n - 1; i > 0; --i)
        std::swap(order[std::size_t(i)], order[std::size_t(rng.below(std::uint64_t(i) + 1))]);
    double loss_sum = 0;
    const bool counts_steps = detail::counts_steps(options.optimizer.kind);
    detail::StepPlan<T> plan = m.plan_step(options.optimizer, lr);
    for (std::ptrdiff_t start = 0; start < n; start += batch) {
      if (between_batches) check_interval.tick(between_batches);
      const std::ptrdiff_t rows = std::min(batch, n - start);
      // Online training tells each step the sample that follows, within the epoch.
      const T* next_x =
          batch == 1 && start + 1 < n ? X + order[std::size_t(start + 1)] * n_in : nullptr;
      if (counts_steps)
        plan.rule = detail::update_rule<T>(options.optimizer, lr, m.optimizer.steps() + 1);
      try {
        loss_sum += double(rows) * m.step(X, order.data() + start, rows, targets, plan, nullptr,
                                          &fusion, next_x);
      } catch (const detail::NonFiniteLoss& e) {
        // The weights before this batch are finite but were heading for overflow (huge
        // weights give infinite outputs), so fall back to the last snapshot, whose epoch began
        // after a whole epoch of finite losses, and drop the optimizer state that led here.
        std::copy(safe_params.begin(), safe_params.end(), m.params.values.begin());
        m.optimizer.clear();
        const std::string what =
            "training diverged at epoch " + std::to_string(epoch) + ", batch " +
            std::to_string(start / batch + 1) + ": the batch loss is " + e.describe() +
            "; the weights from the start of epoch " + std::to_string(safe_epoch) +
            " were put back and the optimizer state reset";
        throw DivergenceError(what + ". Try a smaller learning rate.", epoch, start / batch + 1);
      }
    }
    samples_before += double(n);
    EpochLog log;
    log.epoch = epoch;
    log.loss = loss_sum / double(n);
    log.learning_rate = lr;
    log.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    log.val_loss = log.val_accuracy = nan;
    if (validation) {
      log.val_loss = m.mean_loss(validation->X, validation->n, validation->targets);
      if (m.arch.output == Activation::softmax || m.arch.output == Activation::sigmoid) {
        m.predict(validation->X, validation->n, val_out.data());
        log.val_accuracy = detail::count_correct(m.arch.output, validation->n, n_out,
                                                 val_out.data(), validation->targets) /
                           double(validation->n);
      }
    }
    const double monitored = validation ? log.val_loss : log.loss;
    log.best = best.improved_by(monitored);
    if (log.best && early_stopping && options.restore_best) best_params = m.params.values;
    rate.after_epoch(monitored);
    history.push_back(log);
    if (on_epoch && !on_epoch(log)) break;
    if (early_stopping && best.epochs_since_best() >= options.patience) break;
  }
  if (early_stopping && options.restore_best && !best_params.empty())
    std::copy(best_params.begin(), best_params.end(), m.params.values.begin());
  return history;
}

#define FASTBP_INSTANTIATE_FIT(T)                                                             \
  template std::vector<EpochLog> Network<T>::fit(const T*, std::ptrdiff_t, const Targets<T>&, \
                                                 const FitOptions&, const ValidationSet<T>*,  \
                                                 const EpochCallback&, const BatchCheck&);
FASTBP_INSTANTIATE_FIT(float)
FASTBP_INSTANTIATE_FIT(double)
#undef FASTBP_INSTANTIATE_FIT

}  // namespace fastbp

// Network<T>::fit: the epoch loop: shuffling, mini-batches, the learning-rate schedule, early
// stopping (fastbp's rule or scikit-learn's), validation, and recovery from divergence. All in
// C++, with no interpreter involved between epochs unless a callback asks for it.
#include <algorithm>
#include <array>
#include <chrono>
#include <cmath>
#include <limits>
#include <exception>
#include <numeric>
#include <optional>
#include <string>

#include "network_impl.hpp"
#include "random.hpp"
#include "replicas.hpp"

namespace fastbp {
namespace {

constexpr double kNaN = std::numeric_limits<double>::quiet_NaN();
constexpr double kInfinity = std::numeric_limits<double>::infinity();

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

// The best value so far of something that should go down (scores are negated), and how long
// since it improved, under either stopping rule.
class BestSoFar {
 public:
  BestSoFar(StoppingRule rule, double tol, double best, int since)
      : rule_(rule), tol_(tol), best_(best), since_(since) {}

  // Returns whether `value` is the new best: beaten by more than tol (patience rule; NaN never
  // improves), or by any amount (sklearn rule, where the count of epochs without an improvement
  // by more than tol resets, as in scikit-learn, whenever that comparison is false, NaN
  // included).
  bool update(double value) {
    if (rule_ == StoppingRule::patience) {
      if (value < best_ - tol_) {
        best_ = value;
        since_ = 0;
        return true;
      }
      ++since_;
      return false;
    }
    since_ = value > best_ - tol_ ? since_ + 1 : 0;
    if (value < best_) {
      best_ = value;
      return true;
    }
    return false;
  }
  int epochs_since_best() const { return since_; }
  void restart_count() { since_ = 0; }
  double best() const { return best_; }

 private:
  StoppingRule rule_;
  double tol_, best_;
  int since_;
};

class ScheduledRate {
 public:
  // carried: the rate of this call's first epoch for invscaling and plateau (< 0: from lr0).
  ScheduledRate(const LearningRateSchedule& s, double lr0, double carried)
      : s_(s),
        lr0_(lr0),
        first_lr_(carried),
        plateau_lr_(carried >= 0 ? carried : lr0),
        plateau_(StoppingRule::patience, s.tol, kInfinity, 0) {}

  double for_epoch(int epoch, double samples_before) const {
    switch (s_.kind) {
      case ScheduleKind::constant:
        return lr0_;
      case ScheduleKind::invscaling:
        if (epoch == 1 && first_lr_ >= 0) return first_lr_;
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

  // The patience rule's plateau schedule, with its own count.
  void after_epoch(double monitored) {
    if (s_.kind != ScheduleKind::plateau) return;
    plateau_.update(monitored);
    if (plateau_.epochs_since_best() > s_.patience) {
      reduce();
      plateau_.restart_count();
    }
  }

  // The sklearn rule's "adaptive": reduce the rate if it is above min_lr; false if it is not (or
  // the schedule is not plateau), which stops training.
  bool reduce_if_possible() {
    if (s_.kind != ScheduleKind::plateau || !(plateau_lr_ > s_.min_lr)) return false;
    plateau_lr_ *= s_.factor;
    return true;
  }

  // What TrainingProgress carries to the next call: the rate its first epoch trains with.
  double carried_rate(double samples_seen) const {
    if (s_.kind == ScheduleKind::invscaling) return lr0_ / std::pow(samples_seen + 1.0, s_.power_t);
    if (s_.kind == ScheduleKind::plateau) return plateau_lr_;
    return -1;
  }

 private:
  void reduce() { plateau_lr_ = std::max(plateau_lr_ * s_.factor, s_.min_lr); }

  LearningRateSchedule s_;
  double lr0_, first_lr_, plateau_lr_;
  BestSoFar plateau_;
};

void check_options(const FitOptions& o) {
  using detail::fail;
  if (o.epochs < 0) fail("epochs: expected >= 0, got " + std::to_string(o.epochs));
  if (o.batch_size < 1) fail("batch_size: expected >= 1, got " + std::to_string(o.batch_size));
  validate(o.optimizer);
  validate(o.schedule);
  if (o.patience < 0) fail("patience: expected >= 0, got " + std::to_string(o.patience));
  if (!(std::isfinite(o.tol) && o.tol >= 0))
    fail("tol: expected a finite value >= 0, got " + std::to_string(o.tol));
  if (!(std::isfinite(o.l2) && o.l2 >= 0))
    fail("l2: expected a finite value >= 0, got " + std::to_string(o.l2));
  if (!(std::isfinite(o.loss_scale) && o.loss_scale > 0))
    fail("loss_scale: expected a finite value > 0, got " + std::to_string(o.loss_scale));
}

template <typename T>
double sum_of_squared_weights(const detail::NetworkImpl<T>& m) {
  double sum = 0;
  for (std::size_t l = 0; l < m.arch.n_weight_layers(); ++l) {
    const T* w = m.params.W(l);
    for (std::ptrdiff_t i = 0; i < m.arch.layers[l] * m.arch.layers[l + 1]; ++i)
      sum += double(w[i]) * double(w[i]);
  }
  return sum;
}

// scikit-learn's r2_score averaged over the outputs: per output 1 - SS_res / SS_tot (sums and
// the mean weighted by the sample weights, if any), and for a constant target 1 when predicted
// exactly, else 0. NaN when a prediction is not finite (as its MLP's validation score).
template <typename T>
double r2_score(std::ptrdiff_t n, std::ptrdiff_t width, const T* y, const Targets<T>& targets) {
  for (std::ptrdiff_t i = 0; i < n * width; ++i)
    if (!std::isfinite(y[i])) return kNaN;
  const T* t = targets.values;
  const auto weight = [&](std::ptrdiff_t i) {
    return targets.weights ? double(targets.weights[i]) : 1.0;
  };
  const double weights = detail::weight_sum(targets, nullptr, n);
  double total = 0;
  for (std::ptrdiff_t j = 0; j < width; ++j) {
    double mean = 0;
    for (std::ptrdiff_t i = 0; i < n; ++i) mean += weight(i) * double(t[i * width + j]);
    mean /= weights;
    double residual = 0, spread = 0;
    for (std::ptrdiff_t i = 0; i < n; ++i) {
      const double d = double(y[i * width + j]) - double(t[i * width + j]);
      const double s = double(t[i * width + j]) - mean;
      residual += weight(i) * d * d;
      spread += weight(i) * s * s;
    }
    total += spread != 0 ? 1 - residual / spread : (residual == 0 ? 1.0 : 0.0);
  }
  return total / double(width);
}

// The share (by weight, with sample weights) of samples whose every output is right: argmax for
// softmax, > 0.5 on each output for sigmoid.
template <typename T>
double exact_match_accuracy(Activation output, std::ptrdiff_t n, std::ptrdiff_t width,
                            const T* y, const Targets<T>& t) {
  const double weights = detail::weight_sum(t, nullptr, n);
  if (output == Activation::softmax)
    return detail::count_correct(output, n, width, y, t) / weights;
  double correct = 0;
  for (std::ptrdiff_t i = 0; i < n; ++i) {
    bool all = true;
    for (std::ptrdiff_t j = 0; j < width && all; ++j)
      all = (y[i * width + j] > T(0.5)) == (t.values[i * width + j] > T(0.5));
    if (all) correct += t.weights ? double(t.weights[i]) : 1.0;
  }
  return correct / weights;
}

}  // namespace

template <typename T>
std::vector<EpochLog> Network<T>::fit(Inputs<T> X, std::ptrdiff_t n, const Targets<T>& targets,
                                      const FitOptions& options, const ValidationSet<T>* validation,
                                      const EpochCallback& on_epoch,
                                      const BatchCheck& between_batches,
                                      TrainingProgress* progress,
                                      const DataParallel<T>* replicas) {
  Impl& m = *impl_;
  const Monitor monitor = options.monitor == Monitor::automatic
                              ? (validation ? Monitor::validation_loss : Monitor::training_loss)
                              : options.monitor;
  // The processes of data-parallel training, built (and checked) with the other arguments.
  std::optional<detail::Replicas<T>> group;
  const auto check_arguments = [&] {
    detail::check_input(m.arch, X, n);
    detail::check_targets(m.arch, n, targets);
    check_options(options);
    if (monitor != Monitor::training_loss && !validation)
      detail::fail("monitor: a validation monitor needs validation data");
    if (monitor == Monitor::validation_accuracy && m.arch.output != Activation::softmax &&
        m.arch.output != Activation::sigmoid)
      detail::fail("monitor: validation accuracy needs a softmax or sigmoid output");
    if (monitor == Monitor::validation_r2 && !validation->targets.values)
      detail::fail("monitor: R^2 needs target values, not class labels");
    if (validation) {
      detail::check_input(m.arch, validation->X, validation->n);
      detail::check_targets(m.arch, validation->n, validation->targets);
    }
    if (replicas) group.emplace(*replicas, n, options.batch_size);  // with its own checks
  };
  if (!replicas) {
    check_arguments();
  } else {
    // A process whose arguments are refused must not leave the others waiting in a sum: every
    // process learns whether any refused, and all of them throw.
    if (!replicas->sum) detail::fail("data parallel: sum: expected a function that sums");
    std::exception_ptr refused;
    try {
      check_arguments();
    } catch (...) {
      refused = std::current_exception();
    }
    T refusals = refused ? T(1) : T(0);
    replicas->sum(&refusals, 1);
    if (refused) std::rethrow_exception(refused);
    if (refusals > 0)
      detail::fail("another process refused its arguments to fit; training stopped on every "
                   "process");
  }
  detail::TrainingLock lock(m.guard);
  TrainingProgress fresh;
  TrainingProgress& state = progress ? *progress : fresh;
  state.converged = false;
  // Online training computes each next sample's first-layer product inside the current update:
  // valid only inside this loop (weights may be changed through the Python views between calls).
  detail::FirstLayerFusion<T> fusion;

  const std::ptrdiff_t batch = std::min(options.batch_size, n);
  const std::ptrdiff_t n_in = m.arch.layers[0];
  const std::ptrdiff_t n_out = m.arch.layers.back();
  m.workspace.reserve(m.arch, group ? group->most_rows() : batch);
  // Synchronous replicas sum, in one call per step, the gradient (times the rows' weight),
  // then the weight, the weighted loss, the rows and a stop flag.
  const std::size_t n_parameters = m.params.values.size();
  detail::AlignedVector<T> gradient;
  if (group && group->synchronous())
    detail::assign_or_explain(gradient, n_parameters + 4, T(0),
                              "the gradient buffer of data-parallel training");
  std::optional<detail::SumsInFlight<T>> in_flight;
  if (group && group->synchronous()) in_flight.emplace(replicas->sum);
  // An interrupt or error of this process, held until every process has agreed to stop.
  std::exception_ptr pending;
  std::vector<std::int64_t> order(static_cast<std::size_t>(n));
  std::iota(order.begin(), order.end(), std::int64_t(0));
  detail::SplitMix64 rng(options.seed);
  std::vector<T> val_out;
  detail::assign_or_explain(val_out, validation ? std::size_t(validation->n * n_out) : 0, T(0),
                            "the validation outputs");

  const double lr0 = options.optimizer.learning_rate;
  ScheduledRate rate(options.schedule, lr0, state.learning_rate >= 0 ? state.learning_rate : lr0);
  BestSoFar best(options.stopping, options.tol, state.has_best ? state.best : kInfinity,
                 state.epochs_without_improvement);
  const bool sklearn_rule = options.stopping == StoppingRule::sklearn;
  const bool early_stopping = sklearn_rule || options.patience > 0;
  const bool restore = options.restore_best && early_stopping;
  detail::AlignedVector<T> best_params;
  // Weights to fall back on when training diverges: a copy every few epochs, so that the copy
  // costs well under 1% of the training even when an epoch is a single batch. Training that
  // goes on through divergence (scikit-learn's estimators) never falls back: no copy, which
  // for a wide sparse first layer would cost more than an epoch.
  detail::AlignedVector<T>& safe_params = m.safe_parameters;
  const bool keep_safe = options.stop_on_divergence;
  if (keep_safe && safe_params.size() != m.params.values.size())
    detail::assign_or_explain(safe_params, m.params.values.size(), T(0),
                              "the copy of the parameters kept against divergence");
  if (keep_safe) std::copy(m.params.values.begin(), m.params.values.end(), safe_params.begin());
  int safe_epoch = 1;
  // Replicas snapshot at the same epochs, so that they fall back to the same weights.
  const std::ptrdiff_t rows_per_epoch =
      !group || replicas->sharding == Sharding::global
          ? n
          : group->steps_per_epoch() * options.batch_size;
  const int safe_every = int(std::max<std::ptrdiff_t>(1, 4096 / rows_per_epoch));
  const auto diverged = [&](int epoch, std::ptrdiff_t batch_number, const std::string& loss) {
    // The weights before this batch are finite but were heading for overflow (huge weights
    // give infinite outputs), so fall back to the last snapshot, whose epoch began after a
    // whole epoch of finite losses, and drop the optimizer state that led here.
    std::copy(safe_params.begin(), safe_params.end(), m.params.values.begin());
    m.optimizer.clear();
    const std::string what =
        "training diverged at epoch " + std::to_string(epoch) + ", batch " +
        std::to_string(batch_number) + ": the batch loss is " + loss +
        "; the weights from the start of epoch " + std::to_string(safe_epoch) +
        " were put back and the optimizer state reset";
    throw DivergenceError(what + ". Try a smaller learning rate.", epoch, int(batch_number));
  };

  // The optimizer a batch steps with: scikit-learn's alpha / rows (or / the batch's weight sum)
  // joins its decay.
  const auto optimizer_for = [&](double divisor) {
    Optimizer o = options.optimizer;
    if (options.l2 > 0 && divisor > 0) o.weight_decay += options.l2 / divisor;
    return o;
  };
  // The batch loss carries the same term as scikit-learn's: alpha/2 |W|^2 / divisor, counted
  // once per row, so that the epoch's mean matches its loss_curve_.
  const auto l2_penalty = [&](double rows, double divisor) {
    return options.l2 > 0 && divisor > 0
               ? 0.5 * options.l2 * sum_of_squared_weights(m) * rows / divisor
               : 0.0;
  };
  // With sample weights, L2's divisor changes from batch to batch, and so does the plan.
  const bool plan_each_batch = targets.weights && options.l2 > 0;
  Optimizer weighted;
  detail::StepPlan<T> weighted_plan;
  const bool counts_steps = detail::counts_steps(options.optimizer.kind);
  const std::ptrdiff_t last_rows = n % batch == 0 ? batch : n % batch;

  std::vector<EpochLog> history;
  history.reserve(std::size_t(options.epochs));
  CheckInterval check_interval;
  const auto check_between_batches = [&] {
    if (!between_batches || pending) return;
    if (!group) return check_interval.tick(between_batches);
    try {
      check_interval.tick(between_batches);
    } catch (...) {
      pending = std::current_exception();
    }
  };

  // One synchronous data-parallel step: this process's gradient, summed over the processes
  // layer by layer as the backward pass completes each, then the same update everywhere.
  // Returns {rows, loss sum, penalty sum} of the whole step.
  const std::size_t n_layers = m.arch.n_weight_layers();
  const auto synchronous_step = [&](int epoch, std::ptrdiff_t step, double lr) {
    std::ptrdiff_t first = 0;
    const std::ptrdiff_t rows = group->rows(n, step, &first);
    const std::int64_t* own = order.data() + first;
    const std::size_t P = n_parameters;
    const double own_weight =
        rows > 0 ? (targets.weights ? detail::weight_sum(targets, own, rows) : double(rows))
                 : 0.0;
    // The mean gradient times the rows' weight: a sum the processes can add up.
    const std::function<void(std::size_t)> send_layer = [&](std::size_t l) {
      const std::size_t lo = m.params.weight_offset[l];
      const std::size_t hi = l + 1 < n_layers ? m.params.weight_offset[l + 1] : P;
      for (std::size_t i = lo; i < hi; ++i) gradient[i] *= T(own_weight);
      in_flight->start(gradient.data() + lo, hi - lo);
    };
    std::fill(gradient.begin(), gradient.end(), T(0));
    double own_mean = 0;
    if (rows > 0) {
      detail::StepPlan<T> plan;
      plan.gradient_done = &send_layer;
      own_mean = m.step(X, own, rows, targets, plan, gradient.data());
    } else {
      for (std::size_t l = n_layers; l-- > 0;) send_layer(l);
    }
    gradient[P] = T(own_weight);
    gradient[P + 1] = T(own_mean * own_weight);
    gradient[P + 2] = T(rows);
    gradient[P + 3] = pending ? T(1) : T(0);
    in_flight->start(gradient.data() + P, 4);
    in_flight->wait();
    if (gradient[P + 3] > 0) detail::Replicas<T>::stop_all(pending);
    const double weight = double(gradient[P]), all_rows = double(gradient[P + 2]);
    const double mean = weight > 0 ? double(gradient[P + 1]) / weight : 0.0;
    if (options.stop_on_divergence && !std::isfinite(mean))
      diverged(epoch, step + 1, detail::NonFiniteLoss{mean}.describe());
    const double penalty = l2_penalty(all_rows, weight);
    if (weight > 0) {
      const T inverse = T(1.0 / weight);
      for (std::size_t i = 0; i < P; ++i) gradient[i] *= inverse;
    }
    m.apply_gradient(gradient.data(), optimizer_for(weight), lr);
    return std::array<double, 3>{all_rows, all_rows * mean, penalty};
  };

  // One epoch of local SGD: fused steps on this process's batches, the replicas averaged
  // every average_every steps and at the end. Returns {rows, loss sum, penalty sum} of every
  // process's steps.
  const auto local_sgd_epoch = [&](int epoch, double lr) {
    // Every process's optimizer state exists, stepped or not, so that all average the same arrays.
    m.optimizer.prepare(options.optimizer, n_parameters);
    double rows_sum = 0, loss = 0, penalty = 0;
    bool local_divergence = false;
    int since_average = 0;
    for (std::ptrdiff_t step = 0; step < group->steps_per_epoch(); ++step) {
      check_between_batches();
      std::ptrdiff_t first = 0;
      const std::ptrdiff_t rows = group->rows(n, step, &first);
      const std::int64_t* own = order.data() + first;
      if (rows > 0 && !local_divergence && !pending) {
        const double divisor =
            targets.weights ? detail::weight_sum(targets, own, rows) : double(rows);
        detail::StepPlan<T> plan = m.plan_step(optimizer_for(divisor), lr);
        plan.refuse_non_finite_loss = options.stop_on_divergence;
        penalty += l2_penalty(double(rows), divisor);
        try {
          loss += double(rows) * m.step(X, own, rows, targets, plan, nullptr);
          rows_sum += double(rows);
        } catch (const detail::NonFiniteLoss&) {
          local_divergence = true;
        }
      } else if (counts_steps) {
        m.optimizer.count_step();  // Adam's step count stays the same on every process
      }
      if (++since_average == group->average_every() || step + 1 == group->steps_per_epoch()) {
        since_average = 0;
        const std::vector<double> flags =
            group->sum({pending ? 1.0 : 0.0, local_divergence ? 1.0 : 0.0});
        if (flags[0] > 0) detail::Replicas<T>::stop_all(pending);
        if (flags[1] > 0) diverged(epoch, step + 1, "not finite on at least one process");
        group->average(m);
      }
    }
    const std::vector<double> sums = group->sum({rows_sum, loss, penalty});
    return std::array<double, 3>{sums[0], sums[1], sums[2]};
  };
  for (int epoch = 1; epoch <= options.epochs; ++epoch) {
    if (keep_safe && epoch > 1 && (epoch - 1) % safe_every == 0) {
      std::copy(m.params.values.begin(), m.params.values.end(), safe_params.begin());
      safe_epoch = epoch;
    }
    const auto t0 = std::chrono::steady_clock::now();
    const double lr = rate.for_epoch(epoch, state.samples_seen);
    if (options.shuffle)
      for (std::ptrdiff_t i = n - 1; i > 0; --i)
        std::swap(order[std::size_t(i)], order[std::size_t(rng.below(std::uint64_t(i) + 1))]);
    double loss_sum = 0, penalty_sum = 0, epoch_rows = double(n);
    if (group) {
      epoch_rows = 0;
      const auto add = [&](const std::array<double, 3>& figures) {
        epoch_rows += figures[0];
        loss_sum += figures[1];
        penalty_sum += figures[2];
      };
      if (group->synchronous()) {
        for (std::ptrdiff_t step = 0; step < group->steps_per_epoch(); ++step) {
          check_between_batches();
          add(synchronous_step(epoch, step, lr));
        }
      } else {
        add(local_sgd_epoch(epoch, lr));
      }
    } else {
      const Optimizer full = optimizer_for(double(batch)), last = optimizer_for(double(last_rows));
      detail::StepPlan<T> full_plan = m.plan_step(full, lr);
      detail::StepPlan<T> last_plan = last_rows == batch ? full_plan : m.plan_step(last, lr);
      // Online training of a network large enough for a team or for grouped updates of W[0]
      // runs in runs of samples (m.online_steps): about 4e8 flops (a few milliseconds), at most
      // 4096 samples, between checks; whole groups of kOnlineGroup, so that a run boundary
      // costs no extra sweep of W[0].
      const bool online = batch == 1 && !X.is_sparse() && options.l2 == 0 && !counts_steps;
      const int team = online ? m.online_team_threads(full_plan) : 1;
      const bool in_runs = online && (team > 1 || m.online_grouped(full_plan));
      constexpr std::ptrdiff_t kGroup = kernels::kOnlineGroup;
      const std::ptrdiff_t run =
          std::clamp<std::ptrdiff_t>(std::ptrdiff_t(4.0e8 / (6.0 * double(n_parameters))), 64,
                                     4096) /
          kGroup * kGroup;
      full_plan.refuse_non_finite_loss = options.stop_on_divergence;
      for (std::ptrdiff_t start = 0; in_runs && start < n; start += run) {
        if (between_batches) check_interval.tick(between_batches);
        const std::ptrdiff_t count = std::min(run, n - start);
        const T* after =
            start + count < n ? X.dense + order[std::size_t(start + count)] * n_in : nullptr;
        std::ptrdiff_t stopped_at = count;
        try {
          m.online_steps(X.dense, order.data() + start, count, after, targets, full_plan, fusion,
                         team, loss_sum, stopped_at);
        } catch (const detail::NonFiniteLoss& e) {
          diverged(epoch, start + stopped_at + 1, e.describe());
        }
      }
      for (std::ptrdiff_t start = 0; !in_runs && start < n; start += batch) {
        if (between_batches) check_interval.tick(between_batches);
        const std::ptrdiff_t rows = std::min(batch, n - start);
        const double divisor = targets.weights
                                   ? detail::weight_sum(targets, order.data() + start, rows)
                                   : double(rows);
        if (plan_each_batch) {
          weighted = optimizer_for(divisor);
          weighted_plan = m.plan_step(weighted, lr);
        }
        const Optimizer& stepping = plan_each_batch ? weighted : rows == batch ? full : last;
        detail::StepPlan<T>& plan =
            plan_each_batch ? weighted_plan : rows == batch ? full_plan : last_plan;
        plan.refuse_non_finite_loss = options.stop_on_divergence;
        // Online training tells each step the sample that follows, within the epoch.
        const T* next_x = batch == 1 && start + 1 < n && !X.is_sparse()
                              ? X.dense + order[std::size_t(start + 1)] * n_in
                              : nullptr;
        if (counts_steps) plan.rule = detail::update_rule<T>(stepping, lr, m.optimizer.steps() + 1);
        penalty_sum += l2_penalty(double(rows), divisor);
        try {
          loss_sum += double(rows) * m.step(X, order.data() + start, rows, targets, plan, nullptr,
                                            &fusion, next_x);
        } catch (const detail::NonFiniteLoss& e) {
          diverged(epoch, start / batch + 1, e.describe());
        }
      }
    }
    state.samples_seen += epoch_rows;
    EpochLog log;
    log.epoch = epoch;
    log.loss = loss_sum / epoch_rows * options.loss_scale + penalty_sum / epoch_rows;
    log.learning_rate = lr;
    log.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    log.val_loss = log.val_accuracy = log.val_score = kNaN;
    if (validation) {
      const std::ptrdiff_t nv = validation->n;
      log.val_loss = m.mean_loss(validation->X, nv, validation->targets);
      const bool classifier =
          m.arch.output == Activation::softmax || m.arch.output == Activation::sigmoid;
      if (classifier || monitor == Monitor::validation_r2)
        m.predict(validation->X, nv, val_out.data());
      if (classifier)
        log.val_accuracy = detail::count_correct(m.arch.output, nv, n_out, val_out.data(),
                                                 validation->targets) /
                           detail::weight_sum(validation->targets, nullptr, nv);
      if (monitor == Monitor::validation_accuracy)
        log.val_score = exact_match_accuracy(m.arch.output, nv, n_out, val_out.data(),
                                             validation->targets);
      if (monitor == Monitor::validation_r2)
        log.val_score = r2_score(nv, n_out, val_out.data(), validation->targets);
      if (group && replicas->sharding == Sharding::local) {
        // Each process holds its own validation rows: the figures are their weighted means
        // (R^2: the mean of each process's R^2, weighted by its rows' weight).
        const double w = detail::weight_sum(validation->targets, nullptr, nv);
        const std::vector<double> sums =
            group->sum({log.val_loss * w, log.val_accuracy * w, log.val_score * w, w});
        log.val_loss = sums[0] / sums[3];
        log.val_accuracy = sums[1] / sums[3];
        log.val_score = sums[2] / sums[3];
      } else if (group) {
        const std::vector<double> first =
            group->from_first({log.val_loss, log.val_accuracy, log.val_score});
        log.val_loss = first[0];
        log.val_accuracy = first[1];
        log.val_score = first[2];
      }
    }
    const double monitored = monitor == Monitor::training_loss     ? log.loss
                             : monitor == Monitor::validation_loss ? log.val_loss
                                                                   : -log.val_score;
    log.best = best.update(monitored);
    if (log.best && restore) best_params = m.params.values;
    bool stop = false;
    if (sklearn_rule) {
      if (best.epochs_since_best() > options.patience) {
        stop = !rate.reduce_if_possible();
        if (!stop) best.restart_count();
      }
    } else {
      rate.after_epoch(monitored);
      stop = early_stopping && best.epochs_since_best() >= options.patience;
    }
    state.best = best.best();
    state.has_best = state.best != kInfinity;
    state.epochs_without_improvement = best.epochs_since_best();
    state.learning_rate = rate.carried_rate(state.samples_seen);
    state.converged = stop;
    history.push_back(log);
    bool keep_going = true;
    if (on_epoch && !pending) try {
        keep_going = on_epoch(log);
      } catch (...) {
        if (!group) throw;
        pending = std::current_exception();
      }
    if (group) {
      // A callback may stop one process and not another: every process stops if any does.
      const std::vector<double> votes = group->sum({pending ? 1.0 : 0.0, keep_going ? 0.0 : 1.0});
      if (votes[0] > 0) detail::Replicas<T>::stop_all(pending);
      keep_going = votes[1] == 0;
    }
    if (!keep_going || stop) break;
  }
  if (restore && !best_params.empty())
    std::copy(best_params.begin(), best_params.end(), m.params.values.begin());
  return history;
}

#define FASTBP_INSTANTIATE_FIT(T)                                                             \
  template std::vector<EpochLog> Network<T>::fit(Inputs<T>, std::ptrdiff_t,   const Targets<T>&, \
                                                 const FitOptions&, const ValidationSet<T>*,  \
                                                 const EpochCallback&, const BatchCheck&,     \
                                                 TrainingProgress*, const DataParallel<T>*);
FASTBP_INSTANTIATE_FIT(float)
FASTBP_INSTANTIATE_FIT(double)
#undef FASTBP_INSTANTIATE_FIT

}  // namespace fastbp

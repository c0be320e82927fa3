// Optimizer and schedule settings: factories, range checks, names, and what the training loop
// needs from each optimizer's descriptor.
#include "fastbp/optimizer.hpp"

#include <cmath>
#include <stdexcept>
#include <string>

#include "descriptors.hpp"
#include "optimizer_rules.hpp"
#include "threading_internal.hpp"

namespace fastbp {
namespace {

// Calls f(descriptor) with the descriptor of `kind`.
template <typename F>
decltype(auto) with_descriptor(OptimizerKind kind, F&& f) {
  switch (kind) {
#define FASTBP_WITH_DESCRIPTOR(id) \
  case OptimizerKind::id:          \
    return f(detail::OptimizerDescriptor<OptimizerKind::id>{});
    FASTBP_OPTIMIZERS(FASTBP_WITH_DESCRIPTOR)
#undef FASTBP_WITH_DESCRIPTOR
  }
  throw std::invalid_argument("unknown optimizer kind " + std::to_string(int(kind)));
}

}  // namespace

Optimizer Optimizer::sgd(double learning_rate, double momentum, bool nesterov,
                         double weight_decay) {
  Optimizer o;
  o.kind = OptimizerKind::sgd;
  o.learning_rate = learning_rate;
  o.momentum = momentum;
  o.nesterov = nesterov;
  o.weight_decay = weight_decay;
  return o;
}

Optimizer Optimizer::adam(double learning_rate, double beta1, double beta2, double epsilon,
                          double weight_decay) {
  Optimizer o;
  o.kind = OptimizerKind::adam;
  o.learning_rate = learning_rate;
  o.beta1 = beta1;
  o.beta2 = beta2;
  o.epsilon = epsilon;
  o.weight_decay = weight_decay;
  return o;
}

Optimizer Optimizer::adamw(double learning_rate, double beta1, double beta2, double epsilon,
                           double weight_decay) {
  Optimizer o = adam(learning_rate, beta1, beta2, epsilon, weight_decay);
  o.kind = OptimizerKind::adamw;
  return o;
}

Optimizer Optimizer::rprop(double step_init, double eta_minus, double eta_plus, double step_min,
                           double step_max) {
  Optimizer o;
  o.kind = OptimizerKind::rprop;
  o.step_init = step_init;
  o.eta_minus = eta_minus;
  o.eta_plus = eta_plus;
  o.step_min = step_min;
  o.step_max = step_max;
  return o;
}

// Adam's settings minus epsilon, which Lion does not use.
Optimizer Optimizer::lion(double learning_rate, double beta1, double beta2, double weight_decay) {
  Optimizer o = adam(learning_rate, beta1, beta2, Optimizer{}.epsilon, weight_decay);
  o.kind = OptimizerKind::lion;
  return o;
}

const std::vector<OptimizerInfo>& optimizer_table() {
  static const std::vector<OptimizerInfo> table = [] {
    std::vector<OptimizerInfo> t;
#define FASTBP_OPTIMIZER_INFO(id)                                                    \
  {                                                                                  \
    using D = detail::OptimizerDescriptor<OptimizerKind::id>;                        \
    OptimizerInfo info{OptimizerKind::id, D::name, {}};                              \
    for (const char* state : D::state_names)                                         \
      if (*state) info.state_names.push_back(state);                                 \
    t.push_back(info);                                                               \
  }
    FASTBP_OPTIMIZERS(FASTBP_OPTIMIZER_INFO)
#undef FASTBP_OPTIMIZER_INFO
    return t;
  }();
  return table;
}

void validate(const Optimizer& o) {
  detail::require_positive("lr", o.learning_rate);
  detail::require(std::isfinite(o.weight_decay) && o.weight_decay >= 0, "weight_decay",
                  "a finite value >= 0", o.weight_decay);
  with_descriptor(o.kind, [&](auto descriptor) { decltype(descriptor)::validate(o); });
}

void validate(const LearningRateSchedule& s) {
  using detail::require;
  switch (s.kind) {
    case ScheduleKind::constant:
      break;
    case ScheduleKind::invscaling:
      require(std::isfinite(s.power_t) && s.power_t >= 0, "power_t", "a finite value >= 0",
              s.power_t);
      break;
    case ScheduleKind::step:
      require(s.step_size >= 1, "step_size", "an integer >= 1", s.step_size);
      [[fallthrough]];
    case ScheduleKind::exponential:
      require(s.gamma > 0 && s.gamma <= 1, "gamma", "a value in (0, 1]", s.gamma);
      break;
    case ScheduleKind::plateau:
      require(s.patience >= 0, "patience", "an integer >= 0", s.patience);
      require(s.factor > 0 && s.factor < 1, "factor", "a value in (0, 1)", s.factor);
      require(std::isfinite(s.tol) && s.tol >= 0, "tol", "a finite value >= 0", s.tol);
      require(std::isfinite(s.min_lr) && s.min_lr >= 0, "min_lr", "a finite value >= 0",
              s.min_lr);
      break;
  }
}


namespace detail {

int state_arrays(const Optimizer& o) {
  return with_descriptor(o.kind, [&](auto d) { return decltype(d)::state_arrays(o); });
}

double initial_state(const Optimizer& o, int array) {
  return with_descriptor(o.kind, [&](auto d) { return decltype(d)::initial_state(o, array); });
}

bool counts_steps(OptimizerKind kind) {
  return with_descriptor(kind, [](auto d) { return decltype(d)::counts_steps; });
}

template <typename T>
kernels::UpdateRule<T> update_rule(const Optimizer& o, double learning_rate, long long step) {
  kernels::UpdateRule<T> r{};
  r.kind = o.kind;
  r.lr = T(learning_rate);
  r.weight_decay = T(o.weight_decay);
  with_descriptor(o.kind, [&](auto d) { decltype(d)::constants(o, learning_rate, step, r); });
  return r;
}

template <typename T>
void apply_update(const kernels::UpdateRule<T>& rule, T* w, const T* g,
                  kernels::StatePointers<T> state, std::ptrdiff_t n, bool decay) {
  const auto update = kernels::kernel_table<T>().apply_update;
  // Memory-bound: a few flops per element decide the thread count.
  const int threads = threads_for_work(4.0 * double(n));
  if (threads <= 1) return update(rule, w, g, state, n, decay);
  run_team(threads, 0, [&](int t, int team) {
    // Chunks start on a cache line (16 floats / 8 doubles) so no two threads share one.
    const auto [begin, end] = detail::share(n, t, team, 64 / std::ptrdiff_t(sizeof(T)));
    update(rule, w + begin, g + begin, state.at(begin), end - begin, decay);
  });
}

template kernels::UpdateRule<float> update_rule<float>(const Optimizer&, double, long long);
template kernels::UpdateRule<double> update_rule<double>(const Optimizer&, double, long long);
template void apply_update<float>(const kernels::UpdateRule<float>&, float*, const float*,
                                  kernels::StatePointers<float>, std::ptrdiff_t, bool);
template void apply_update<double>(const kernels::UpdateRule<double>&, double*, const double*,
                                   kernels::StatePointers<double>, std::ptrdiff_t, bool);

}  // namespace detail
}  // namespace fastbp

// Optimizer and schedule settings: range checks, names, and the per-step update driver.
#include "fastbp/optimizer.hpp"

#include <cmath>
#include <stdexcept>
#include <string>

#include "optimizer_update.hpp"
#include "threading_internal.hpp"

namespace fastbp {
namespace {

[[noreturn]] void fail(const std::string& field, const std::string& expected, double got) {
  throw std::invalid_argument(field + ": expected " + expected + ", got " + std::to_string(got));
}

void require_positive(const char* field, double value) {
  if (!(std::isfinite(value) && value > 0)) fail(field, "a finite value > 0", value);
}

void require_unit(const char* field, double value) {
  if (!(value >= 0 && value < 1)) fail(field, "a value in [0, 1)", value);
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

void validate(const Optimizer& o) {
  require_positive("lr", o.learning_rate);
  if (!(std::isfinite(o.weight_decay) && o.weight_decay >= 0))
    fail("weight_decay", "a finite value >= 0", o.weight_decay);
  switch (o.kind) {
    case OptimizerKind::sgd:
      require_unit("momentum", o.momentum);
      if (o.nesterov && o.momentum == 0)
        throw std::invalid_argument("nesterov: Nesterov momentum needs momentum > 0");
      break;
    case OptimizerKind::adam:
    case OptimizerKind::adamw:
      require_unit("beta1", o.beta1);
      require_unit("beta2", o.beta2);
      require_positive("epsilon", o.epsilon);
      break;
    case OptimizerKind::rprop:
      if (!(o.eta_minus > 0 && o.eta_minus < 1))
        fail("eta_minus", "a value in (0, 1)", o.eta_minus);
      if (!(std::isfinite(o.eta_plus) && o.eta_plus > 1))
        fail("eta_plus", "a finite value > 1", o.eta_plus);
      if (!(std::isfinite(o.step_min) && o.step_min >= 0))
        fail("step_min", "a finite value >= 0", o.step_min);
      require_positive("step_max", o.step_max);
      if (!(o.step_max >= o.step_min)) fail("step_max", ">= step_min", o.step_max);
      if (!(o.step_init >= o.step_min && o.step_init <= o.step_max && o.step_init > 0))
        fail("step_init", "a value > 0 in [step_min, step_max]", o.step_init);
      break;
  }
}

void validate(const LearningRateSchedule& s) {
  switch (s.kind) {
    case ScheduleKind::constant:
      break;
    case ScheduleKind::invscaling:
      if (!(std::isfinite(s.power_t) && s.power_t >= 0))
        fail("power_t", "a finite value >= 0", s.power_t);
      break;
    case ScheduleKind::step:
      if (s.step_size < 1) fail("step_size", "an integer >= 1", s.step_size);
      [[fallthrough]];
    case ScheduleKind::exponential:
      if (!(s.gamma > 0 && s.gamma <= 1)) fail("gamma", "a value in (0, 1]", s.gamma);
      break;
    case ScheduleKind::plateau:
      if (s.patience < 0) fail("patience", "an integer >= 0", s.patience);
      if (!(s.factor > 0 && s.factor < 1)) fail("factor", "a value in (0, 1)", s.factor);
      if (!(std::isfinite(s.tol) && s.tol >= 0)) fail("tol", "a finite value >= 0", s.tol);
      if (!(std::isfinite(s.min_lr) && s.min_lr >= 0))
        fail("min_lr", "a finite value >= 0", s.min_lr);
      break;
  }
}

OptimizerKind parse_optimizer(const std::string& name) {
  if (name == "sgd") return OptimizerKind::sgd;
  if (name == "adam") return OptimizerKind::adam;
  if (name == "adamw") return OptimizerKind::adamw;
  if (name == "rprop") return OptimizerKind::rprop;
  throw std::invalid_argument("unknown optimizer '" + name +
                              "'; expected one of sgd, adam, adamw, rprop");
}

const char* to_string(OptimizerKind kind) {
  switch (kind) {
    case OptimizerKind::sgd:
      return "sgd";
    case OptimizerKind::adam:
      return "adam";
    case OptimizerKind::adamw:
      return "adamw";
    case OptimizerKind::rprop:
      return "rprop";
  }
  return "?";
}

ScheduleKind parse_schedule(const std::string& name) {
  if (name == "constant") return ScheduleKind::constant;
  if (name == "invscaling") return ScheduleKind::invscaling;
  if (name == "step") return ScheduleKind::step;
  if (name == "exponential") return ScheduleKind::exponential;
  if (name == "plateau" || name == "adaptive") return ScheduleKind::plateau;
  throw std::invalid_argument("unknown learning-rate schedule '" + name +
                              "'; expected one of constant, invscaling, step, exponential, "
                              "plateau (or adaptive)");
}

const char* to_string(ScheduleKind kind) {
  switch (kind) {
    case ScheduleKind::constant:
      return "constant";
    case ScheduleKind::invscaling:
      return "invscaling";
    case ScheduleKind::step:
      return "step";
    case ScheduleKind::exponential:
      return "exponential";
    case ScheduleKind::plateau:
      return "plateau";
  }
  return "?";
}

namespace detail {

template <typename T>
kernels::UpdateRule<T> update_rule(const Optimizer& o, double learning_rate, long long step) {
  kernels::UpdateRule<T> r{};
  r.kind = o.kind;
  r.lr = T(learning_rate);
  r.momentum = T(o.momentum);
  r.nesterov = o.nesterov;
  r.weight_decay = T(o.weight_decay);
  r.beta1 = T(o.beta1);
  r.beta2 = T(o.beta2);
  r.epsilon = T(o.epsilon);
  // Bias corrections of Adam's step `step` (1-based), in double: beta^t underflows gracefully.
  const double t = double(step);
  r.step_scale = T(learning_rate / (1.0 - std::pow(o.beta1, t)));
  const double root = 1.0 / std::sqrt(1.0 - std::pow(o.beta2, t));
  r.inv_sqrt_correction2 = T(root);
  // sqrt(v) * root + epsilon * root is scikit-learn's (sqrt(v) + epsilon) scaled like ours.
  if (o.epsilon_uncorrected) r.epsilon = T(o.epsilon * root);
  r.eta_minus = T(o.eta_minus);
  r.eta_plus = T(o.eta_plus);
  r.step_min = T(o.step_min);
  r.step_max = T(o.step_max);
  return r;
}

template <typename T>
void apply_update(const kernels::UpdateRule<T>& rule, T* w, const T* g, T* s1, T* s2,
                  std::ptrdiff_t n, bool decay) {
  const auto update = kernels::gemm_kernel<T>().apply_update;
  // Memory-bound: a few flops per element decide the thread count.
  const int threads = threads_for_work(4.0 * double(n));
  if (threads <= 1) return update(rule, w, g, s1, s2, n, decay);
  run_team(threads, [&](int t, int team) {
    // Chunks start on a cache line (16 floats / 8 doubles) so no two threads share one.
    constexpr std::ptrdiff_t line = 64 / sizeof(T);
    const std::ptrdiff_t begin = (n * t / team) / line * line;
    const std::ptrdiff_t end = t + 1 == team ? n : (n * (t + 1) / team) / line * line;
    update(rule, w + begin, g + begin, s1 ? s1 + begin : nullptr, s2 ? s2 + begin : nullptr,
           end - begin, decay);
  });
}

template kernels::UpdateRule<float> update_rule<float>(const Optimizer&, double, long long);
template kernels::UpdateRule<double> update_rule<double>(const Optimizer&, double, long long);
template void apply_update<float>(const kernels::UpdateRule<float>&, float*, const float*, float*,
                                  float*, std::ptrdiff_t, bool);
template void apply_update<double>(const kernels::UpdateRule<double>&, double*, const double*,
                                   double*, double*, std::ptrdiff_t, bool);

}  // namespace detail
}  // namespace fastbp

// Network<T>: construction, inference and single training steps. The epoch loop is in fit.cpp;
// the step itself in network_impl.hpp.
#include "fastbp/network.hpp"

#include <stdexcept>
#include <string>
#include <type_traits>

#include "network_impl.hpp"

namespace fastbp {
namespace {

template <typename T>
detail::Architecture checked(std::vector<std::ptrdiff_t> layers, Activation hidden,
                             Activation output, const LossFunction& loss,
                             MatmulPrecision precision) {
  detail::Architecture arch{std::move(layers), hidden, output, loss};
  detail::check_architecture(arch);
  if (precision == MatmulPrecision::bfloat16 && !std::is_same_v<T, float>)
    throw std::invalid_argument(
        "precision: bfloat16 matrix products need a float32 network (float32 master weights), "
        "got a float64 one");
  arch.bfloat16_operands = precision == MatmulPrecision::bfloat16;
  return arch;
}

}  // namespace

template <typename T>
Network<T>::Network(std::vector<std::ptrdiff_t> layers, Activation hidden, Activation output,
                    LossFunction loss, std::uint64_t seed, MatmulPrecision precision)
    : impl_(std::make_unique<Impl>(checked<T>(std::move(layers), hidden, output, loss, precision),
                                   seed)) {}

template <typename T>
Network<T>::~Network() = default;
template <typename T>
Network<T>::Network(Network&&) noexcept = default;
template <typename T>
Network<T>& Network<T>::operator=(Network&&) noexcept = default;

template <typename T>
const std::vector<std::ptrdiff_t>& Network<T>::layers() const {
  return impl_->arch.layers;
}
template <typename T>
std::size_t Network<T>::n_weight_layers() const {
  return impl_->arch.n_weight_layers();
}
template <typename T>
Activation Network<T>::hidden() const {
  return impl_->arch.hidden;
}
template <typename T>
Activation Network<T>::output() const {
  return impl_->arch.output;
}
template <typename T>
Loss Network<T>::loss_kind() const {
  return impl_->arch.loss.kind;
}
template <typename T>
const LossFunction& Network<T>::loss_function() const {
  return impl_->arch.loss;
}
template <typename T>
MatmulPrecision Network<T>::matmul_precision() const {
  return impl_->arch.bfloat16_operands ? MatmulPrecision::bfloat16 : MatmulPrecision::native;
}
template <typename T>
T* Network<T>::parameters() {
  return impl_->params.values.data();
}
template <typename T>
const T* Network<T>::parameters() const {
  return impl_->params.values.data();
}
template <typename T>
std::size_t Network<T>::n_parameters() const {
  return impl_->params.values.size();
}
template <typename T>
std::size_t Network<T>::weight_offset(std::size_t l) const {
  return impl_->params.weight_offset.at(l);
}
template <typename T>
std::size_t Network<T>::bias_offset(std::size_t l) const {
  return impl_->params.bias_offset.at(l);
}

template <typename T>
void Network<T>::predict(Inputs<T> X, std::ptrdiff_t n, T* out) const {
  const Impl& m = *impl_;
  detail::check_input(m.arch, X, n);
  detail::InferenceLock lock(m.guard);
  m.predict(X, n, out);
}

template <typename T>
double Network<T>::loss(Inputs<T> X, std::ptrdiff_t n, const Targets<T>& targets) const {
  const Impl& m = *impl_;
  detail::check_input(m.arch, X, n);
  detail::check_targets(m.arch, n, targets);
  detail::InferenceLock lock(m.guard);
  return m.mean_loss(X, n, targets);
}

template <typename T>
double Network<T>::gradients(Inputs<T> X, std::ptrdiff_t n, const Targets<T>& targets, T* grad) {
  Impl& m = *impl_;
  detail::check_input(m.arch, X, n);
  detail::check_targets(m.arch, n, targets);
  detail::TrainingLock lock(m.guard);
  std::fill(grad, grad + m.params.values.size(), T(0));  // the padding between arrays too
  return m.step(X, nullptr, n, targets, detail::StepPlan<T>{}, grad);
}

template <typename T>
void Network<T>::set_parameters(const T* values) {
  Impl& m = *impl_;
  detail::TrainingLock lock(m.guard);
  std::copy(values, values + m.params.values.size(), m.params.values.begin());
}

template <typename T>
double Network<T>::gradients_at(const T* values, Inputs<T> X, std::ptrdiff_t n,
                                const Targets<T>& targets, T* grad) {
  Impl& m = *impl_;
  detail::check_input(m.arch, X, n);
  detail::check_targets(m.arch, n, targets);
  detail::TrainingLock lock(m.guard);
  std::copy(values, values + m.params.values.size(), m.params.values.begin());
  std::fill(grad, grad + m.params.values.size(), T(0));
  return m.step(X, nullptr, n, targets, detail::StepPlan<T>{}, grad);
}

template <typename T>
double Network<T>::train_step(Inputs<T> X, std::ptrdiff_t n, const Targets<T>& targets,
                              T learning_rate, T momentum) {
  return train_step(X, n, targets, Optimizer::sgd(double(learning_rate), double(momentum)));
}

template <typename T>
double Network<T>::train_step(Inputs<T> X, std::ptrdiff_t n, const Targets<T>& targets,
                              const Optimizer& optimizer) {
  Impl& m = *impl_;
  detail::check_input(m.arch, X, n);
  detail::check_targets(m.arch, n, targets);
  validate(optimizer);
  detail::TrainingLock lock(m.guard);
  const detail::StepPlan<T> plan = m.plan_step(optimizer, optimizer.learning_rate);
  try {
    return m.step(X, nullptr, n, targets, plan, nullptr);
  } catch (const detail::NonFiniteLoss& e) {
    const bool finite_before =
        detail::all_finite(m.params.values.data(), std::ptrdiff_t(m.params.values.size()));
    throw DivergenceError("training diverged: the batch loss is " + e.describe() +
                              "; the step was not applied" +
                              (finite_before ? "" : " (the weights were already non-finite)"),
                          0, 0);
  }
}

template <typename T>
void Network<T>::apply_gradient(const T* gradient, const Optimizer& optimizer) {
  Impl& m = *impl_;
  validate(optimizer);
  detail::TrainingLock lock(m.guard);
  m.apply_gradient(gradient, optimizer, optimizer.learning_rate);
}

template <typename T>
void Network<T>::reset_optimizer() {
  Impl& m = *impl_;
  detail::TrainingLock lock(m.guard);
  m.optimizer.clear();
}

template class Network<float>;
template class Network<double>;

}  // namespace fastbp

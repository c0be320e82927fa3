// Network<T>: construction, initialisation, inference and single training steps. The epoch
// loop is in fit.cpp; the step itself in network_impl.hpp.
#include "fastbp/network.hpp"

#include <limits>
#include <stdexcept>
#include <string>

#include "network_impl.hpp"

namespace fastbp {

using detail::assign_or_explain;
using detail::fail;

template <typename T>
Network<T>::Network(std::vector<std::ptrdiff_t> layers, Activation hidden, Activation output,
                    Loss loss, std::uint64_t seed)
    : impl_(std::make_unique<Impl>()) {
  if (layers.size() < 2)
    fail("layers: expected at least 2 sizes [n_in, ..., n_out], got " +
         std::to_string(layers.size()));
  for (std::size_t i = 0; i < layers.size(); ++i)
    if (layers[i] < 1)
      fail("layers: every size must be >= 1, got " + std::to_string(layers[i]) + " at position " +
           std::to_string(i));
  if (hidden == Activation::softmax)
    fail("hidden: softmax is only allowed as the output activation");
  check_output_loss_pairing(output, loss, long(layers.back()));
  Impl& m = *impl_;
  m.layers = std::move(layers);
  m.hidden = hidden;
  m.output = output;
  m.loss = loss;
  std::size_t total = 0;
  const std::size_t max_params =
      std::size_t(std::numeric_limits<std::ptrdiff_t>::max()) / 2 / sizeof(T);
  constexpr std::size_t line = detail::kCacheLine / sizeof(T);
  const auto align_up = [](std::size_t n) { return (n + line - 1) / line * line; };
  for (std::size_t l = 0; l + 1 < m.layers.size(); ++l) {
    const std::size_t a = std::size_t(m.layers[l]), c = std::size_t(m.layers[l + 1]);
    if (a > max_params / c || a * c + c + 2 * line > max_params - total)
      fail("layers: the network has too many parameters to allocate");
    m.w_off.push_back(total);
    total = align_up(total + a * c);
    m.b_off.push_back(total);
    total = align_up(total + c);
  }
  assign_or_explain(m.params, total, T(0), "the network's parameters");
  m.initialise(seed);
  for (auto& p : m.pointers) p.assign(m.n_weight_layers(), nullptr);
  for (std::size_t l = 0; l < m.n_weight_layers(); ++l) {
    m.pointers[0][l] = m.W(l);
    m.pointers[1][l] = m.b(l);
  }
  m.first_product.assign(std::size_t(m.layers[1]), T(0));
}

template <typename T>
Network<T>::~Network() = default;
template <typename T>
Network<T>::Network(Network&&) noexcept = default;
template <typename T>
Network<T>& Network<T>::operator=(Network&&) noexcept = default;

template <typename T>
const std::vector<std::ptrdiff_t>& Network<T>::layers() const {
  return impl_->layers;
}
template <typename T>
std::size_t Network<T>::n_weight_layers() const {
  return impl_->n_weight_layers();
}
template <typename T>
Activation Network<T>::hidden() const {
  return impl_->hidden;
}
template <typename T>
Activation Network<T>::output() const {
  return impl_->output;
}
template <typename T>
Loss Network<T>::loss_kind() const {
  return impl_->loss;
}
template <typename T>
T* Network<T>::parameters() {
  return impl_->params.data();
}
template <typename T>
const T* Network<T>::parameters() const {
  return impl_->params.data();
}
template <typename T>
std::size_t Network<T>::n_parameters() const {
  return impl_->params.size();
}
template <typename T>
std::size_t Network<T>::weight_offset(std::size_t l) const {
  return impl_->w_off.at(l);
}
template <typename T>
std::size_t Network<T>::bias_offset(std::size_t l) const {
  return impl_->b_off.at(l);
}

template <typename T>
void Network<T>::predict(const T* X, std::ptrdiff_t n, T* out) const {
  const Impl& m = *impl_;
  m.check_input(X, n);
  detail::InferenceLock<T> lock(m);
  m.predict(X, n, out);
}

template <typename T>
double Network<T>::loss(const T* X, std::ptrdiff_t n, const Targets<T>& targets) const {
  const Impl& m = *impl_;
  m.check_input(X, n);
  m.check_targets(n, targets);
  detail::InferenceLock<T> lock(m);
  return m.mean_loss(X, n, targets);
}

template <typename T>
double Network<T>::gradients(const T* X, std::ptrdiff_t n, const Targets<T>& targets, T* grad) {
  Impl& m = *impl_;
  m.check_input(X, n);
  m.check_targets(n, targets);
  detail::TrainingLock<T> lock(m);
  std::fill(grad, grad + m.params.size(), T(0));  // the padding between arrays too
  return m.backprop(X, nullptr, n, targets, detail::StepPlan<T>{}, grad);
}

template <typename T>
double Network<T>::train_step(const T* X, std::ptrdiff_t n, const Targets<T>& targets,
                              T learning_rate, T momentum) {
  return train_step(X, n, targets, Optimizer::sgd(double(learning_rate), double(momentum)));
}

template <typename T>
double Network<T>::train_step(const T* X, std::ptrdiff_t n, const Targets<T>& targets,
                              const Optimizer& optimizer) {
  Impl& m = *impl_;
  m.check_input(X, n);
  m.check_targets(n, targets);
  validate(optimizer);
  detail::TrainingLock<T> lock(m);
  const detail::StepPlan<T> plan = m.plan_step(optimizer, optimizer.learning_rate);
  try {
    return m.backprop(X, nullptr, n, targets, plan, nullptr);
  } catch (const detail::NonFiniteLoss& e) {
    throw DivergenceError("training diverged: the batch loss is " + e.describe() +
                              "; the step was not applied" +
                              (detail::all_finite(m.params.data(), std::ptrdiff_t(m.params.size()))
                                   ? ""
                                   : " (the weights were already non-finite)"),
                          0, 0);
  }
}

template <typename T>
void Network<T>::reset_optimizer() {
  Impl& m = *impl_;
  detail::TrainingLock<T> lock(m);
  m.clear_optimizer_state();
}

template class Network<float>;
template class Network<double>;

}  // namespace fastbp

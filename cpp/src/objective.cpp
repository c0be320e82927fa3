// The flat-vector objective: the network's own gradients pass, with the packing of
// scikit-learn's L-BFGS and its L2 term around it.
#include "fastbp/objective.hpp"

#include <stdexcept>
#include <string>
#include <vector>

#include "losses.hpp"

namespace fastbp {
namespace {

// Calls f(offset in the network's buffer, offset in the flat vector, count) for every W[l],
// then every b[l].
template <typename T, typename F>
void for_each_block(const Network<T>& net, F&& f) {
  const auto& layers = net.layers();
  std::size_t flat = 0;
  for (std::size_t l = 0; l + 1 < layers.size(); ++l) {
    const auto count = static_cast<std::size_t>(layers[l] * layers[l + 1]);
    f(net.weight_offset(l), flat, count, true);
    flat += count;
  }
  for (std::size_t l = 0; l + 1 < layers.size(); ++l) {
    const auto count = static_cast<std::size_t>(layers[l + 1]);
    f(net.bias_offset(l), flat, count, false);
    flat += count;
  }
}

// The network's padded layout filled from the flat vector (the padding stays zero).
template <typename T>
std::vector<T> padded_from_flat(const Network<T>& net, const double* flat) {
  std::vector<T> padded(net.n_parameters(), T(0));
  for_each_block(net, [&](std::size_t at, std::size_t from, std::size_t count, bool) {
    for (std::size_t i = 0; i < count; ++i) padded[at + i] = static_cast<T>(flat[from + i]);
  });
  return padded;
}

}  // namespace

template <typename T>
std::size_t flat_size(const Network<T>& net) {
  std::size_t size = 0;
  for_each_block(net, [&](std::size_t, std::size_t, std::size_t count, bool) { size += count; });
  return size;
}

template <typename T>
void get_flat_parameters(const Network<T>& net, double* flat) {
  const T* p = net.parameters();
  for_each_block(net, [&](std::size_t at, std::size_t to, std::size_t count, bool) {
    for (std::size_t i = 0; i < count; ++i) flat[to + i] = static_cast<double>(p[at + i]);
  });
}

template <typename T>
void set_flat_parameters(Network<T>& net, const double* flat) {
  net.set_parameters(padded_from_flat(net, flat).data());
}

template <typename T>
double loss_and_gradient(Network<T>& net, const double* flat, typename Inputs<T>::Self X,
                         std::ptrdiff_t n, const Targets<T>& targets, double l2, double loss_scale,
                         double* grad) {
  if (n < 1)
    throw std::invalid_argument("X: the objective needs at least one row, got " +
                                std::to_string(n));
  if (!(l2 >= 0))
    throw std::invalid_argument("l2: expected a number >= 0, got " + std::to_string(l2));
  // The parameters go in and the gradient comes out in one training call; most of the time
  // goes to the two passes over X, not to these buffers.
  const std::vector<T> values = padded_from_flat(net, flat);
  std::vector<T> padded(values.size());
  const double loss = loss_scale * net.gradients_at(values.data(), X, n, targets, padded.data());
  // scikit-learn divides the L2 term by the sum of the sample weights (the rows without them)
  const double weight_sum = detail::weight_sum(targets, nullptr, n);
  const double decay = weight_sum > 0 ? l2 / weight_sum : 0.0;
  double squares = 0;
  for_each_block(net, [&](std::size_t at, std::size_t to, std::size_t count, bool is_weight) {
    for (std::size_t i = 0; i < count; ++i) {
      const double w = static_cast<double>(values[at + i]);
      double g = static_cast<double>(padded[at + i]);
      if (is_weight) {
        squares += w * w;
        g += decay * w;
      }
      grad[to + i] = g;
    }
  });
  return loss + 0.5 * decay * squares;
}

#define FASTBP_INSTANTIATE(T)                                                              \
  template std::size_t flat_size(const Network<T>&);                                       \
  template void get_flat_parameters(const Network<T>&, double*);                           \
  template void set_flat_parameters(Network<T>&, const double*);                           \
  template double loss_and_gradient(Network<T>&, const double*, Inputs<T>, std::ptrdiff_t, \
                                    const Targets<T>&, double, double, double*);
FASTBP_INSTANTIATE(float)
FASTBP_INSTANTIATE(double)
#undef FASTBP_INSTANTIATE

}  // namespace fastbp

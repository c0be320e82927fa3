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
  T* p = net.parameters();
  for_each_block(net, [&](std::size_t at, std::size_t from, std::size_t count, bool) {
    for (std::size_t i = 0; i < count; ++i) p[at + i] = static_cast<T>(flat[from + i]);
  });
}

template <typename T>
double loss_and_gradient(Network<T>& net, const double* flat, const T* X, std::ptrdiff_t n,
                         const Targets<T>& targets, double l2, double loss_scale, double* grad) {
  if (n < 1)
    throw std::invalid_argument("X: the objective needs at least one row, got " +
                                std::to_string(n));
  if (!(l2 >= 0))
    throw std::invalid_argument("l2: expected a number >= 0, got " + std::to_string(l2));
  set_flat_parameters(net, flat);
  // The gradient pass writes in the network's padded layout; most of the time goes to the two
  // passes over X, not to this buffer.
  std::vector<T> padded(net.n_parameters());
  double loss = loss_scale * net.gradients(X, n, targets, padded.data());
  const T* p = net.parameters();
  double squares = 0;
  // scikit-learn divides the L2 term by the sum of the sample weights (the rows without them)
  const double weights = detail::weight_sum(targets, nullptr, n);
  const double decay = weights > 0 ? l2 / weights : 0.0;
  for_each_block(net, [&](std::size_t at, std::size_t to, std::size_t count, bool weights) {
    for (std::size_t i = 0; i < count; ++i) {
      const double w = static_cast<double>(p[at + i]);
      double g = static_cast<double>(padded[at + i]);
      if (weights) {
        squares += w * w;
        g += decay * w;
      }
      grad[to + i] = g;
    }
  });
  return loss + 0.5 * decay * squares;
}

#define FASTBP_INSTANTIATE(T)                                                                  \
  template std::size_t flat_size(const Network<T>&);                                           \
  template void get_flat_parameters(const Network<T>&, double*);                              \
  template void set_flat_parameters(Network<T>&, const double*);                              \
  template double loss_and_gradient(Network<T>&, const double*, const T*, std::ptrdiff_t,      \
                                    const Targets<T>&, double, double, double*);
FASTBP_INSTANTIATE(float)
FASTBP_INSTANTIATE(double)
#undef FASTBP_INSTANTIATE

}  // namespace fastbp

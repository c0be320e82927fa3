// The functional API: one dense layer's fused forward and backward steps.
#include "fastbp/dense.hpp"

#include <stdexcept>
#include <string>
#include <vector>

#include "descriptors.hpp"
#include "elementwise.hpp"
#include "gemm.hpp"

namespace fastbp {
namespace {

void check_sizes(std::ptrdiff_t n, std::ptrdiff_t n_in, std::ptrdiff_t n_out) {
  if (n < 0 || n_in < 0 || n_out < 0)
    throw std::invalid_argument("dense layer sizes must be >= 0, got n=" + std::to_string(n) +
                                ", n_in=" + std::to_string(n_in) +
                                ", n_out=" + std::to_string(n_out));
}

void check_preactivation(Activation activation, const void* z) {
  if (detail::derivative_needs_input(activation) && z == nullptr)
    throw std::invalid_argument(std::string("z: the derivative of '") + to_string(activation) +
                                "' needs the pre-activation z = x @ W + b (dense_forward stores "
                                "it when given z)");
}

// grad_z from grad_a, then the two products the backward pass shares; the weight-gradient
// epilogue decides between storing grad_W and updating W in place.
template <typename T>
void backward(std::ptrdiff_t n, std::ptrdiff_t n_in, std::ptrdiff_t n_out, const T* grad_a,
              const T* x, const T* W, const T* a, const T* z, Activation activation, T* grad_x,
              T* weight_target, const detail::BackwardWeightsEpilogue<T>& weight_epilogue,
              T* bias_grad) {
  std::vector<T> grad_z(static_cast<std::size_t>(n * n_out));
  detail::activation_backward(activation, n, n_out, grad_a, a, z, grad_z.data());
  // grad_x first: it needs W from before any in-place update.
  detail::gemm<T>(n, n_in, n_out, detail::row_major(grad_z.data(), n_out),
                  detail::row_major(W, n_out).transposed(), grad_x, n_in,
                  detail::backward_data_epilogue<T>(Activation::identity, nullptr, 0));
  detail::gemm<T>(n_in, n_out, n, detail::row_major(x, n_in).transposed(),
                  detail::row_major(grad_z.data(), n_out), weight_target, n_out, weight_epilogue);
  detail::column_sums(n, n_out, grad_z.data(), bias_grad);
}

}  // namespace

template <typename T>
void dense_forward(std::ptrdiff_t n, std::ptrdiff_t n_in, std::ptrdiff_t n_out, const T* x,
                   const T* W, const T* b, Activation activation, T* a, T* z) {
  check_sizes(n, n_in, n_out);
  const bool softmax = activation == Activation::softmax;
  detail::gemm<T>(n, n_out, n_in, detail::row_major(x, n_in), detail::row_major(W, n_out), a,
                  n_out,
                  detail::forward_epilogue(b, softmax ? Activation::identity : activation, z,
                                           n_out));
  if (softmax) detail::activate_inplace(activation, n, n_out, a);
}

template <typename T>
void dense_backward(std::ptrdiff_t n, std::ptrdiff_t n_in, std::ptrdiff_t n_out, const T* grad_a,
                    const T* x, const T* W, const T* a, Activation activation, T* grad_x, T* grad_W,
                    T* grad_b, const T* z) {
  check_sizes(n, n_in, n_out);
  check_preactivation(activation, z);
  backward(n, n_in, n_out, grad_a, x, W, a, z, activation, grad_x, grad_W,
           detail::store_gradient<T>(), grad_b);
}

template <typename T>
void dense_backward_sgd(std::ptrdiff_t n, std::ptrdiff_t n_in, std::ptrdiff_t n_out,
                        const T* grad_a, const T* x, T* W, T* b, const T* a, Activation activation,
                        T lr, T* grad_x, const T* z) {
  check_sizes(n, n_in, n_out);
  check_preactivation(activation, z);
  std::vector<T> grad_b(static_cast<std::size_t>(n_out));
  backward(n, n_in, n_out, grad_a, x, W, a, z, activation, grad_x, W,
           detail::sgd_step(lr, T(1)), grad_b.data());
  for (std::ptrdiff_t j = 0; j < n_out; ++j) b[j] -= lr * grad_b[j];
}

#define FASTBP_INSTANTIATE(T)                                                                   \
  template void dense_forward<T>(std::ptrdiff_t, std::ptrdiff_t, std::ptrdiff_t, const T*,      \
                                 const T*, const T*, Activation, T*, T*);                       \
  template void dense_backward<T>(std::ptrdiff_t, std::ptrdiff_t, std::ptrdiff_t, const T*,     \
                                  const T*, const T*, const T*, Activation, T*, T*, T*,         \
                                  const T*);                                                    \
  template void dense_backward_sgd<T>(std::ptrdiff_t, std::ptrdiff_t, std::ptrdiff_t, const T*, \
                                      const T*, T*, T*, const T*, Activation, T, T*, const T*);
FASTBP_INSTANTIATE(float)
FASTBP_INSTANTIATE(double)
#undef FASTBP_INSTANTIATE

}  // namespace fastbp

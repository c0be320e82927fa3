#include "fastbp/dense.hpp"

#include <stdexcept>
#include <string>
#include <vector>

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

// grad_z from grad_a, then the two products the backward pass shares; the weight-gradient
// epilogue decides between storing grad_W and updating W in place.
template <typename T>
void backward(std::ptrdiff_t n, std::ptrdiff_t n_in, std::ptrdiff_t n_out, const T* grad_a,
              const T* x, const T* W, const T* a, Activation activation, T* grad_x,
              T* weight_target, const detail::Epilogue<T>& weight_epilogue, T* bias_grad) {
  std::vector<T> grad_z(static_cast<std::size_t>(n * n_out));
  detail::activation_backward(activation, n, n_out, grad_a, a, grad_z.data());
  // grad_x first: it needs W from before any in-place update.
  detail::gemm<T>(n, n_in, n_out, detail::row_major(grad_z.data(), n_out),
                  detail::row_major(W, n_out).transposed(), grad_x, n_in, detail::Epilogue<T>{});
  detail::gemm<T>(n_in, n_out, n, detail::row_major(x, n_in).transposed(),
                  detail::row_major(grad_z.data(), n_out), weight_target, n_out, weight_epilogue);
  detail::column_sums(n, n_out, grad_z.data(), bias_grad);
}

}  // namespace

template <typename T>
void dense_forward(std::ptrdiff_t n, std::ptrdiff_t n_in, std::ptrdiff_t n_out, const T* x,
                   const T* W, const T* b, Activation activation, T* a) {
  check_sizes(n, n_in, n_out);
  detail::Epilogue<T> ep;
  ep.bias = b;
  ep.activation = activation == Activation::softmax ? Activation::identity : activation;
  detail::gemm<T>(n, n_out, n_in, detail::row_major(x, n_in), detail::row_major(W, n_out), a, n_out,
                  ep);
  if (activation == Activation::softmax) detail::activate_inplace(activation, n, n_out, a);
}

template <typename T>
void dense_backward(std::ptrdiff_t n, std::ptrdiff_t n_in, std::ptrdiff_t n_out, const T* grad_a,
                    const T* x, const T* W, const T* a, Activation activation, T* grad_x, T* grad_W,
                    T* grad_b) {
  check_sizes(n, n_in, n_out);
  backward(n, n_in, n_out, grad_a, x, W, a, activation, grad_x, grad_W, detail::Epilogue<T>{},
           grad_b);
}

template <typename T>
void dense_backward_sgd(std::ptrdiff_t n, std::ptrdiff_t n_in, std::ptrdiff_t n_out,
                        const T* grad_a, const T* x, T* W, T* b, const T* a, Activation activation,
                        T lr, T* grad_x) {
  check_sizes(n, n_in, n_out);
  detail::Epilogue<T> update;  // W = W - lr * (x.T @ grad_z), in the GEMM's epilogue
  update.alpha = -lr;
  update.beta = T(1);
  std::vector<T> grad_b(static_cast<std::size_t>(n_out));
  backward(n, n_in, n_out, grad_a, x, W, a, activation, grad_x, W, update, grad_b.data());
  for (std::ptrdiff_t j = 0; j < n_out; ++j) b[j] -= lr * grad_b[j];
}

#define FASTBP_INSTANTIATE(T)                                                                   \
  template void dense_forward<T>(std::ptrdiff_t, std::ptrdiff_t, std::ptrdiff_t, const T*,      \
                                 const T*, const T*, Activation, T*);                           \
  template void dense_backward<T>(std::ptrdiff_t, std::ptrdiff_t, std::ptrdiff_t, const T*,     \
                                  const T*, const T*, const T*, Activation, T*, T*, T*);        \
  template void dense_backward_sgd<T>(std::ptrdiff_t, std::ptrdiff_t, std::ptrdiff_t, const T*, \
                                      const T*, T*, T*, const T*, Activation, T, T*);
FASTBP_INSTANTIATE(float)
FASTBP_INSTANTIATE(double)
#undef FASTBP_INSTANTIATE

}  // namespace fastbp

#include "elementwise.hpp"

#include <algorithm>
#include <atomic>

#include "descriptors.hpp"
#include "kernels/kernel_table.hpp"
#include "losses.hpp"
#include "threading_internal.hpp"

namespace fastbp::detail {

template <typename T>
void activate_inplace(Activation activation, std::ptrdiff_t n, std::ptrdiff_t width, T* z) {
  if (activation == Activation::softmax) {
    for (std::ptrdiff_t i = 0; i < n; ++i) softmax_row(width, z + i * width);
    return;
  }
  if (activation == Activation::identity) return;
  for (std::ptrdiff_t i = 0; i < n * width; ++i) z[i] = activate(activation, z[i]);
}

template <typename T>
void activation_backward(Activation activation, std::ptrdiff_t n, std::ptrdiff_t width,
                         const T* grad_a, const T* a, const T* z, T* grad_z) {
  if (activation == Activation::softmax) {
    for (std::ptrdiff_t i = 0; i < n; ++i) {
      const T* g = grad_a + i * width;
      const T* y = a + i * width;
      T dot = T(0);
      for (std::ptrdiff_t j = 0; j < width; ++j) dot += g[j] * y[j];
      for (std::ptrdiff_t j = 0; j < width; ++j) grad_z[i * width + j] = y[j] * (g[j] - dot);
    }
    return;
  }
  const T* u = derivative_needs_input(activation) ? z : a;
  for (std::ptrdiff_t i = 0; i < n * width; ++i)
    grad_z[i] = grad_a[i] * activation_derivative(activation, u[i]);
}

template <typename T>
void column_sums(std::ptrdiff_t n, std::ptrdiff_t width, const T* x, T* out) {
  std::fill(out, out + width, T(0));
  for (std::ptrdiff_t i = 0; i < n; ++i)
    for (std::ptrdiff_t j = 0; j < width; ++j) out[j] += x[i * width + j];
}

template <typename T>
bool all_finite(const T* x, std::ptrdiff_t n) {
  const auto check = kernels::kernel_table<T>().all_finite;
  // A memory-bound pass that two cores hardly speed up: a team only for arrays of tens of MB.
  // Every team leaves its workers spinning for about 10 ms afterwards, which on a busy machine
  // takes a core from the caller's thread: not worth it for the check at the start of a call.
  const int threads = threads_for_work(double(n), 4.0e6);
  if (threads <= 1) return check(x, n);
  std::atomic<bool> ok{true};
  run_team(threads, 0, [&](int t, int team) {
    const auto [begin, end] = share(n, t, team);
    if (!check(x + begin, end - begin)) ok.store(false, std::memory_order_relaxed);
  });
  return ok.load();
}

#define FASTBP_INSTANTIATE(T)                                                                \
  template void activate_inplace<T>(Activation, std::ptrdiff_t, std::ptrdiff_t, T*);         \
  template void activation_backward<T>(Activation, std::ptrdiff_t, std::ptrdiff_t, const T*, \
                                       const T*, const T*, T*);                              \
  template void column_sums<T>(std::ptrdiff_t, std::ptrdiff_t, const T*, T*);                \
  template bool all_finite<T>(const T*, std::ptrdiff_t);
FASTBP_INSTANTIATE(float)
FASTBP_INSTANTIATE(double)
#undef FASTBP_INSTANTIATE

}  // namespace fastbp::detail

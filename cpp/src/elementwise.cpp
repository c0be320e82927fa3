#include "elementwise.hpp"

#include <algorithm>
#include <atomic>
#include <cmath>

#include "activation_math.hpp"
#include "kernels/kernel_table.hpp"
#include "threading_internal.hpp"

namespace fastbp::detail {
namespace {

template <typename T>
void softmax_row(std::ptrdiff_t width, T* z) {
  const T zmax = *std::max_element(z, z + width);
  T sum = T(0);
  for (std::ptrdiff_t j = 0; j < width; ++j) sum += (z[j] = std::exp(z[j] - zmax));
  const T inv = T(1) / sum;
  for (std::ptrdiff_t j = 0; j < width; ++j) z[j] *= inv;
}

template <typename T>
const T* target_row(const Targets<T>& targets, const std::int64_t* rows, std::ptrdiff_t i,
                    std::ptrdiff_t width) {
  return targets.values + (rows ? rows[i] : i) * width;
}

}  // namespace

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
                         const T* grad_a, const T* a, T* grad_z) {
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
  for (std::ptrdiff_t i = 0; i < n * width; ++i)
    grad_z[i] = grad_a[i] * derivative_from_output(activation, a[i]);
}

template <typename T>
double output_loss(Activation output, Loss loss, std::ptrdiff_t n, std::ptrdiff_t width, T* z,
                   const Targets<T>& targets, const std::int64_t* rows, T* delta, T delta_scale) {
  double total = 0;
  for (std::ptrdiff_t i = 0; i < n; ++i) {
    T* zi = z + i * width;
    T* di = delta ? delta + i * width : nullptr;
    if (loss == Loss::softmax_ce) {
      // log-sum-exp with the max subtracted; zi becomes softmax(zi).
      const T zmax = *std::max_element(zi, zi + width);
      T sum = T(0);
      for (std::ptrdiff_t j = 0; j < width; ++j) sum += std::exp(zi[j] - zmax);
      const T lse = zmax + std::log(sum);
      if (targets.labels) {
        const std::int64_t label = targets.labels[rows ? rows[i] : i];
        total += double(lse - zi[label]);
        for (std::ptrdiff_t j = 0; j < width; ++j) zi[j] = std::exp(zi[j] - lse);
        if (di) {
          for (std::ptrdiff_t j = 0; j < width; ++j) di[j] = delta_scale * zi[j];
          di[label] -= delta_scale;
        }
      } else {
        const T* ti = target_row(targets, rows, i, width);
        T target_sum = T(0);
        double sample_loss = 0;
        for (std::ptrdiff_t j = 0; j < width; ++j) {
          sample_loss += double(ti[j]) * double(lse - zi[j]);
          target_sum += ti[j];
          zi[j] = std::exp(zi[j] - lse);
        }
        total += sample_loss;
        // Exact for any target row, not only rows summing to one.
        if (di)
          for (std::ptrdiff_t j = 0; j < width; ++j)
            di[j] = delta_scale * (zi[j] * target_sum - ti[j]);
      }
    } else if (loss == Loss::bce) {
      const T* ti = target_row(targets, rows, i, width);
      double sample_loss = 0;
      for (std::ptrdiff_t j = 0; j < width; ++j) {
        const T zj = zi[j];
        // -[t log s(z) + (1-t) log(1-s(z))] = max(z,0) - z t + log(1 + exp(-|z|))
        sample_loss +=
            double(std::max(zj, T(0)) - zj * ti[j] + std::log1p(std::exp(-std::abs(zj))));
        zi[j] = sigmoid(zj);
        if (di) di[j] = delta_scale * (zi[j] - ti[j]);
      }
      total += sample_loss;
    } else {  // mse after any element-wise output activation
      const T* ti = target_row(targets, rows, i, width);
      double sample_loss = 0;
      for (std::ptrdiff_t j = 0; j < width; ++j) {
        const T y = activate(output, zi[j]);
        const T diff = y - ti[j];
        sample_loss += 0.5 * double(diff) * double(diff);
        zi[j] = y;
        if (di) di[j] = delta_scale * diff * derivative_from_output(output, y);
      }
      total += sample_loss;
    }
  }
  return total;
}

template <typename T>
void column_sums(std::ptrdiff_t n, std::ptrdiff_t width, const T* x, T* out) {
  std::fill(out, out + width, T(0));
  for (std::ptrdiff_t i = 0; i < n; ++i)
    for (std::ptrdiff_t j = 0; j < width; ++j) out[j] += x[i * width + j];
}

template <typename T>
double count_correct(Activation output, std::ptrdiff_t n, std::ptrdiff_t width, const T* y,
                     const Targets<T>& targets) {
  double correct = 0;
  if (output == Activation::softmax) {
    for (std::ptrdiff_t i = 0; i < n; ++i) {
      const T* yi = y + i * width;
      const std::ptrdiff_t predicted = std::max_element(yi, yi + width) - yi;
      std::ptrdiff_t expected;
      if (targets.labels) {
        expected = targets.labels[i];
      } else {
        const T* ti = targets.values + i * width;
        expected = std::max_element(ti, ti + width) - ti;
      }
      correct += predicted == expected;
    }
  } else {
    for (std::ptrdiff_t i = 0; i < n * width; ++i)
      correct += (y[i] > T(0.5)) == (targets.values[i] > T(0.5));
    correct /= double(width);
  }
  return correct;
}

template <typename T>
bool all_finite(const T* x, std::ptrdiff_t n) {
  const auto check = kernels::gemm_kernel<T>().all_finite;
  // A memory-bound pass: about one flop per element decides the thread count.
  const int threads = threads_for_work(double(n));
  if (threads <= 1) return check(x, n);
  std::atomic<bool> ok{true};
  run_team(threads, [&](int t, int team) {
    const std::ptrdiff_t begin = n * t / team, end = n * (t + 1) / team;
    if (!check(x + begin, end - begin)) ok.store(false, std::memory_order_relaxed);
  });
  return ok.load();
}

#define FASTBP_INSTANTIATE(T)                                                                \
  template void activate_inplace<T>(Activation, std::ptrdiff_t, std::ptrdiff_t, T*);         \
  template void activation_backward<T>(Activation, std::ptrdiff_t, std::ptrdiff_t, const T*, \
                                       const T*, T*);                                        \
  template double output_loss<T>(Activation, Loss, std::ptrdiff_t, std::ptrdiff_t, T*,       \
                                 const Targets<T>&, const std::int64_t*, T*, T);             \
  template void column_sums<T>(std::ptrdiff_t, std::ptrdiff_t, const T*, T*);                \
  template double count_correct<T>(Activation, std::ptrdiff_t, std::ptrdiff_t, const T*,     \
                                   const Targets<T>&);                                       \
  template bool all_finite<T>(const T*, std::ptrdiff_t);
FASTBP_INSTANTIATE(float)
FASTBP_INSTANTIATE(double)
#undef FASTBP_INSTANTIATE

}  // namespace fastbp::detail

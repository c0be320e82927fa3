#include "sparse_layer.hpp"

#include <algorithm>

#include "optimizer_rules.hpp"
#include "threading_internal.hpp"

namespace fastbp::detail {
namespace {

template <typename T>
double nonzeros(const kernels::SparseView<T>& x, std::ptrdiff_t n) {
  double count = 0;
  for (std::ptrdiff_t i = 0; i < n; ++i)
    count += double(x.indptr[x.row(i) + 1] - x.indptr[x.row(i)]);
  return count;
}

// body(row_begin, row_end) over the n_in rows of a memory-bound pass touching `arrays` arrays.
template <typename Body>
void over_rows(std::ptrdiff_t n_in, std::ptrdiff_t n_out, int arrays, Body&& body) {
  run_team(threads_for_work(double(n_in) * double(n_out) * arrays), 0, [&](int t, int team) {
    const auto [begin, end] = share(n_in, t, team, 1);
    body(begin, end);
  });
}

// c += alpha x.T @ d, each thread scattering into its own columns.
template <typename T>
void scatter(const kernels::SparseView<T>& x, std::ptrdiff_t n, std::ptrdiff_t n_out, const T* d,
             T alpha, T* c, double flops) {
  const auto kernel = kernels::kernel_table<T>().sparse_scatter;
  run_team(threads_for_work(flops), 0, [&](int t, int team) {
    const auto [j0, j1] = share(n_out, t, team, 64 / std::ptrdiff_t(sizeof(T)));
    if (j0 < j1) kernel(x, n, d, n_out, alpha, c, n_out, j0, j1);
  });
}

}  // namespace

template <typename T>
void sparse_forward(const kernels::SparseView<T>& x, std::ptrdiff_t n, std::ptrdiff_t n_out,
                    const T* W, const T* b, Activation act, T* out, T* preactivation) {
  const auto kernel = kernels::kernel_table<T>().sparse_forward;
  const double flops = 2.0 * nonzeros(x, n) * double(n_out) + double(n * n_out);
  run_team(threads_for_work(flops), 0, [&](int t, int team) {
    // Rows when there are enough to go round, else columns.
    if (n >= 2 * team) {
      const auto [i0, i1] = share(n, t, team, 1);
      kernel(x, i0, i1, W, n_out, b, act, 0, n_out, out, preactivation, n_out);
    } else {
      const auto [j0, j1] = share(n_out, t, team, 64 / std::ptrdiff_t(sizeof(T)));
      if (j0 < j1) kernel(x, 0, n, W, n_out, b, act, j0, j1, out, preactivation, n_out);
    }
  });
}

template <typename T>
void sparse_weight_pass(const kernels::SparseView<T>& x, std::ptrdiff_t n, std::ptrdiff_t n_in,
                        std::ptrdiff_t n_out, const T* delta, const StepPlan<T>& plan, T* W,
                        kernels::StatePointers<T> state, T* gradient) {
  const double flops = 2.0 * nonzeros(x, n) * double(n_out);
  switch (plan.update) {
    case WeightUpdate::store_gradient:
    case WeightUpdate::optimizer_rule:
      over_rows(n_in, n_out, 1, [&](std::ptrdiff_t r0, std::ptrdiff_t r1) {
        std::fill(gradient + r0 * n_out, gradient + r1 * n_out, T(0));
      });
      scatter(x, n, n_out, delta, T(1), gradient, flops);
      if (plan.update == WeightUpdate::optimizer_rule)
        apply_update(plan.rule, W, gradient, state, n_in * n_out, /*decay=*/true);
      break;
    case WeightUpdate::sgd:
      if (plan.keep != T(1))
        over_rows(n_in, n_out, 1, [&](std::ptrdiff_t r0, std::ptrdiff_t r1) {
          for (std::ptrdiff_t i = r0 * n_out; i < r1 * n_out; ++i) W[i] *= plan.keep;
        });
      scatter(x, n, n_out, delta, -plan.lr, W, flops);
      break;
    case WeightUpdate::momentum: {
      // W + (mu V - lr G) = (W + mu V) - lr G: the dense part first, then the step on both.
      T* V = state.array[0];
      over_rows(n_in, n_out, 2, [&](std::ptrdiff_t r0, std::ptrdiff_t r1) {
        for (std::ptrdiff_t i = r0 * n_out; i < r1 * n_out; ++i) {
          V[i] *= plan.mu;
          W[i] += V[i];
        }
      });
      scatter(x, n, n_out, delta, -plan.lr, V, flops);
      scatter(x, n, n_out, delta, -plan.lr, W, flops);
      break;
    }
  }
}

#define FASTBP_INSTANTIATE(T)                                                                    \
  template void sparse_forward<T>(const kernels::SparseView<T>&, std::ptrdiff_t, std::ptrdiff_t, \
                                  const T*, const T*, Activation, T*, T*);                       \
  template void sparse_weight_pass<T>(const kernels::SparseView<T>&, std::ptrdiff_t,             \
                                      std::ptrdiff_t, std::ptrdiff_t, const T*,                  \
                                      const StepPlan<T>&, T*, kernels::StatePointers<T>, T*);
FASTBP_INSTANTIATE(float)
FASTBP_INSTANTIATE(double)
#undef FASTBP_INSTANTIATE

}  // namespace fastbp::detail

// The first layer over sparse input (Inputs<T>::sparse): the forward and weight passes that the
// dense path runs as GEMMs (passes.hpp), run over the nonzeros by the sparse kernels and split
// across threads here.
#pragma once

#include <cstddef>
#include <cstdint>

#include "fastbp/network.hpp"
#include "kernels/kernel_table.hpp"
#include "step_plan.hpp"

namespace fastbp::detail {

// Row i of the view is row rows[i] of x, or row i.
template <typename T>
kernels::SparseView<T> sparse_view(const SparseRows<T>& x, const std::int64_t* rows) {
  return {x.indptr, x.indices, x.values, rows};
}

// out = act(x @ W + b) for n rows, W row-major (n_in, n_out); z = x @ W + b also goes to
// `preactivation` where given.
template <typename T>
void sparse_forward(const kernels::SparseView<T>& x, std::ptrdiff_t n, std::ptrdiff_t n_out,
                    const T* W, const T* b, Activation act, T* out, T* preactivation);

// The weight pass of the first layer: G = x.T @ delta (n rows), nonzero only in the rows of W the
// nonzeros select, and the plan's step on W (n_in x n_out):
//   store_gradient  G into `gradient` (every row written: zero where untouched)
//   sgd             W = keep W - lr G: the scale a pass over W when keep != 1, the step scattered
//   momentum        V = mu V - lr G, W += V: one pass over V and W for mu V, the step scattered
//   optimizer_rule  G into `gradient` (scratch), then the rule on every row, as the dense path
//                   does: an untouched row still moves under decay, momentum or Adam's moments
// `state` holds the optimizer's arrays at W's offset.
template <typename T>
void sparse_weight_pass(const kernels::SparseView<T>& x, std::ptrdiff_t n, std::ptrdiff_t n_in,
                        std::ptrdiff_t n_out, const T* delta, const StepPlan<T>& plan, T* W,
                        kernels::StatePointers<T> state, T* gradient);

}  // namespace fastbp::detail

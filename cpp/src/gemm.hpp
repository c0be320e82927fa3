// The one GEMM driver every pass goes through, C = epilogue(A @ B), with the fusion described by
// the pass's epilogue (oneDNN's post-ops) instead of hand-written per combination. The epilogue's
// type picks the pass's kernels: ForwardEpilogue (bias + activation), BackwardDataEpilogue
// (activation derivative), BackwardWeightsEpilogue (store the gradient, or step on the weights).
// The named constructors below are the only way the network builds them.
#pragma once

#include <cstddef>
#include <cstdint>

#include "aligned_allocator.hpp"
#include "fastbp/activation.hpp"
#include "kernels/kernel_table.hpp"
#include "matrix_view.hpp"

namespace fastbp::detail {

using kernels::BackwardDataEpilogue;
using kernels::BackwardWeightsEpilogue;
using kernels::ForwardEpilogue;

template <typename T>
MatrixView<T> row_major(const T* data, std::ptrdiff_t ld, const std::int64_t* row_index = nullptr) {
  return {data, ld, 1, row_index, nullptr};
}

// ---- The epilogues of the passes ----------------------------------------------------------------

// a = act(x @ W + b); with `preactivation`, z = x @ W + b is stored there too.
template <typename T>
ForwardEpilogue<T> forward_epilogue(const T* bias, Activation activation,
                                    T* preactivation = nullptr, std::ptrdiff_t ld = 0) {
  return {bias, activation, preactivation, ld};
}

// delta_below = (delta @ W.T) * act'(u), u = the layer below's output or pre-activation.
template <typename T>
BackwardDataEpilogue<T> backward_data_epilogue(Activation activation, const T* u,
                                               std::ptrdiff_t ld) {
  return {activation, activation == Activation::identity ? nullptr : u, ld};
}

// C = x.T @ delta, the weight gradient.
template <typename T>
BackwardWeightsEpilogue<T> store_gradient() {
  return {T(1), T(0), nullptr, 0};
}

// C = W: W = keep W - lr x.T @ delta (keep = 1 - lr weight_decay).
template <typename T>
BackwardWeightsEpilogue<T> sgd_step(T lr, T keep) {
  return {-lr, keep, nullptr, 0};
}

// C = V: V = mu V - lr x.T @ delta, then W += V.
template <typename T>
BackwardWeightsEpilogue<T> momentum_step(T lr, T mu, T* weights, std::ptrdiff_t ld) {
  return {-lr, mu, weights, ld};
}

// C = a buffer for partial sums between k-blocks: each finished tile of the gradient takes the
// optimizer's step on the same tile of `param` and its state (laid out like C).
template <typename T>
BackwardWeightsEpilogue<T> optimizer_step(const kernels::UpdateRule<T>* rule, T* param,
                                          kernels::StatePointers<T> state, std::ptrdiff_t ld) {
  return {rule, param, state, ld};
}

// ---- The driver ---------------------------------------------------------------------------------

// C is (m, n) row-major with leading dimension ldc; A is (m, k), B is (k, n).
template <typename T, typename Epilogue>
void gemm(std::ptrdiff_t m, std::ptrdiff_t n, std::ptrdiff_t k, const MatrixView<T>& a,
          const MatrixView<T>& b, T* c, std::ptrdiff_t ldc, const Epilogue& epilogue);

// B (k, n) packed once into the running kernels' full-k panels of nr columns, the last one
// zero-padded (and rounded to bfloat16 when b says so), for products that pass them as
// b.with_panels(panels.data(), <the returned kernels>): a frozen model's weights, packed once
// instead of on every call. One look at the kernel table sizes and packs, so a change of SIMD
// level on another thread cannot pair a buffer sized for one nr with the panels of another.
template <typename T>
const void* pack_b_panels(std::ptrdiff_t k, std::ptrdiff_t n, const MatrixView<T>& b,
                          AlignedVector<T>& panels);

// The plain triple loop with the same epilogue: what the driver is tested against.
template <typename T, typename Epilogue>
void gemm_reference(std::ptrdiff_t m, std::ptrdiff_t n, std::ptrdiff_t k, const MatrixView<T>& a,
                    const MatrixView<T>& b, T* c, std::ptrdiff_t ldc, const Epilogue& epilogue);

}  // namespace fastbp::detail

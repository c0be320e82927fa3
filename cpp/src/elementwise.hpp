// Row-wise passes over small matrices: output activations, the loss layer fused with its
// activation, column sums. They touch (batch x width) elements once; the GEMMs dominate.
#pragma once

#include <cstddef>
#include <cstdint>

#include "fastbp/activation.hpp"
#include "fastbp/network.hpp"

namespace fastbp::detail {

// z (n x width) -> act(z) in place; softmax is row-wise and max-subtracted.
template <typename T>
void activate_inplace(Activation activation, std::ptrdiff_t n, std::ptrdiff_t width, T* z);

// grad_z = dL/dz from grad_a = dL/da and the output a = act(z); softmax uses its Jacobian.
template <typename T>
void activation_backward(Activation activation, std::ptrdiff_t n, std::ptrdiff_t width,
                         const T* grad_a, const T* a, T* grad_z);

// The loss layer. z holds the last layer's pre-activations for n samples; on return it holds the
// outputs y. Sample i's target is row rows[i] of the targets (row i when rows is null). When
// delta is not null it receives delta_scale * dL_i/dz (the canonical-link form y - t for
// softmax+CE and sigmoid+BCE, computed from the logits so large |z| stays finite). Returns the
// sum of per-sample losses.
template <typename T>
double output_loss(Activation output, Loss loss, std::ptrdiff_t n, std::ptrdiff_t width, T* z,
                   const Targets<T>& targets, const std::int64_t* rows, T* delta, T delta_scale);

// out[j] = sum_i x[i, j]
template <typename T>
void column_sums(std::ptrdiff_t n, std::ptrdiff_t width, const T* x, T* out);

// Number of samples whose prediction is right: argmax for softmax outputs (labels or one-hot
// targets), and for sigmoid outputs, element-wise thresholding at 0.5 (counted per element).
template <typename T>
double count_correct(Activation output, std::ptrdiff_t n, std::ptrdiff_t width, const T* y,
                     const Targets<T>& targets);

// True when none of the n values is NaN or infinite (SIMD, split across threads when large).
template <typename T>
bool all_finite(const T* x, std::ptrdiff_t n);

}  // namespace fastbp::detail

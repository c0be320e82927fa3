// Row-wise and element-wise passes outside the GEMMs: output activations for inference, the
// activation's backward step for the functional API, column sums, and the finite check.
#pragma once

#include <cstddef>

#include "fastbp/activation.hpp"

namespace fastbp::detail {

// z (n x width) -> act(z) in place; softmax is row-wise and max-subtracted.
template <typename T>
void activate_inplace(Activation activation, std::ptrdiff_t n, std::ptrdiff_t width, T* z);

// grad_z = dL/dz from grad_a = dL/da, the output a = act(z) and, for activations whose
// derivative needs it, z itself (may be null otherwise); softmax uses its Jacobian.
template <typename T>
void activation_backward(Activation activation, std::ptrdiff_t n, std::ptrdiff_t width,
                         const T* grad_a, const T* a, const T* z, T* grad_z);

// out[j] = sum_i x[i, j]
template <typename T>
void column_sums(std::ptrdiff_t n, std::ptrdiff_t width, const T* x, T* out);

// True when none of the n values is NaN or infinite (SIMD, split across threads when large).
template <typename T>
bool all_finite(const T* x, std::ptrdiff_t n);

}  // namespace fastbp::detail

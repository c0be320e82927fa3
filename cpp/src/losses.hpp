// The loss layer: the last step of the forward pass and the first of the backward one, driven
// by the loss descriptors (descriptors/losses.inc). Row-wise passes over (batch x outputs)
// elements, touched once; the GEMMs dominate.
#pragma once

#include <cstddef>
#include <cstdint>

#include "descriptors.hpp"
#include "fastbp/activation.hpp"
#include "fastbp/network.hpp"

namespace fastbp::detail {

#include "descriptors/losses.inc"

// Row-wise softmax, max-subtracted, in place.
template <typename T>
void softmax_row(std::ptrdiff_t width, T* z);

// z holds the last layer's pre-activations for n samples; on return it holds the outputs y.
// Sample i's target is row rows[i] of the targets (row i when rows is null). When delta is not
// null it receives delta_scale * w_i * dL_i/dz. Returns the sum of the per-sample losses, each
// times its weight w_i when the targets have weights (else 1).
template <typename T>
double output_loss(Activation output, const LossFunction& loss, std::ptrdiff_t n,
                   std::ptrdiff_t width, T* z, const Targets<T>& targets, const std::int64_t* rows,
                   T* delta, double delta_scale);

// The sum of the weights of the n samples (rows[i], or i), or n without weights.
template <typename T>
double weight_sum(const Targets<T>& targets, const std::int64_t* rows, std::ptrdiff_t n);

// Number of samples whose prediction is right: argmax for softmax outputs (labels or one-hot
// targets), and for sigmoid outputs, element-wise thresholding at 0.5 (counted per element);
// with weights, each sample counts its weight.
template <typename T>
double count_correct(Activation output, std::ptrdiff_t n, std::ptrdiff_t width, const T* y,
                     const Targets<T>& targets);

}  // namespace fastbp::detail

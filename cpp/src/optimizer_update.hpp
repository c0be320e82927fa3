// The element-wise optimizer update for the steps the GEMM epilogue cannot express as
// alpha/beta/add_to (Nesterov, Adam, AdamW, iRPROP-, momentum with weight decay): run on each
// finished gradient tile inside the weight-gradient GEMM, on each row in the online kernels,
// and here on whole arrays (biases).
#pragma once

#include <cstddef>

#include "fastbp/optimizer.hpp"
#include "kernels/kernel_table.hpp"

namespace fastbp::detail {

// The per-element constants of one step; `step` counts steps from 1 (Adam's bias corrections).
template <typename T>
kernels::UpdateRule<T> update_rule(const Optimizer& optimizer, double learning_rate,
                                   long long step);

// w, g and the optimizer state arrays s1, s2 (see UpdateRule) hold n elements; weight decay is
// applied only when `decay` (weights, not biases). Split across threads when large.
template <typename T>
void apply_update(const kernels::UpdateRule<T>& rule, T* w, const T* g, T* s1, T* s2,
                  std::ptrdiff_t n, bool decay);

}  // namespace fastbp::detail

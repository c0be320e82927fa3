// What the training loop asks of an optimizer, answered by its descriptor
// (descriptors/optimizers.inc): how many state arrays and their starting values, whether its
// constants depend on the step number, the constants of one step, and the rule on whole arrays.
#pragma once

#include <cstddef>

#include "fastbp/optimizer.hpp"
#include "kernels/kernel_table.hpp"

namespace fastbp::detail {

int state_arrays(const Optimizer& optimizer);
double initial_state(const Optimizer& optimizer, int array);
bool counts_steps(OptimizerKind kind);

// The per-element constants of one step; `step` counts steps from 1 (Adam's bias corrections).
template <typename T>
kernels::UpdateRule<T> update_rule(const Optimizer& optimizer, double learning_rate,
                                   long long step);

// w, g and the optimizer state arrays (n elements each); weight decay only when `decay`
// (weights, not biases). Split across threads when large.
template <typename T>
void apply_update(const kernels::UpdateRule<T>& rule, T* w, const T* g,
                  kernels::StatePointers<T> state, std::ptrdiff_t n, bool decay);

}  // namespace fastbp::detail

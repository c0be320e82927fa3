// What one training step does to the weights: the plan the passes (passes.hpp, sparse_layer.hpp)
// carry out.
#pragma once

#include <cstddef>
#include <functional>

#include "kernels/kernel_table.hpp"

namespace fastbp::detail {

// What a step does to the weights.
enum class WeightUpdate {
  store_gradient,  // into a caller's buffer laid out like the parameters; no update
  sgd,             // W = keep W - lr G in the GEMM's epilogue (keep = 1 - lr weight_decay)
  momentum,        // V = mu V - lr G, W += V in the GEMM's epilogue
  optimizer_rule,  // the optimizer's rule on each finished gradient tile (any optimizer)
};

template <typename T>
struct StepPlan {
  WeightUpdate update = WeightUpdate::store_gradient;
  T lr = T(0), mu = T(0), keep = T(1);
  kernels::UpdateRule<T> rule{};       // the step as a rule: optimizer_rule, and the online kernels
  bool refuse_non_finite_loss = true;  // throw NonFiniteLoss before any change
  // store_gradient: told each layer as soon as its gradient is complete (last layer first),
  // while the layers below it are still to come (data-parallel sums start there).
  const std::function<void(std::size_t layer)>* gradient_done = nullptr;
};

}  // namespace fastbp::detail

// The passes of backpropagation over a batch, each one call of the GEMM driver with its named
// epilogue (oneDNN's forward / backward_data / backward_weights):
//   forward           out[l] = act(in @ W[l] + b[l]), layer by layer
//   backward_data     delta[l-1] = (delta[l] @ W[l].T) * hidden'(u[l-1])
//   backward_weights  x[l].T @ delta[l]: the gradient, or a step on W[l] (and b[l]) taken inside
//                     the same GEMM, as the step's plan says
#pragma once

#include <algorithm>
#include <cstdint>
#include <vector>

#include "architecture.hpp"
#include "descriptors.hpp"
#include "elementwise.hpp"
#include "gemm.hpp"
#include "optimizer_rules.hpp"
#include "optimizer_state.hpp"
#include "parameters.hpp"
#include "sparse_layer.hpp"
#include "step_plan.hpp"

namespace fastbp::detail {

// Every W[l] packed once by pack_b_panels for the kernels `packed_for` (a Predictor's).
template <typename T>
struct WeightPanels {
  std::vector<const T*> layer;
  const void* packed_for = nullptr;
};

// Forward through all layers for n samples (rows[i] of X, or row i). Layer l's output goes to
// outputs[l], its pre-activation to preactivations[l] where given; the last layer leaves its
// logits for the loss layer when `leave_logits`, else applies the output activation (softmax
// too). Sparse X goes through the sparse first layer. With arch.bfloat16_operands every product
// reads its operands rounded to bfloat16 (the GEMM's packing rounds them). With weight_panels
// (a Predictor's) the products read W[l] from its panels instead of packing it.
template <typename T>
void forward(const Architecture& arch, const Parameters<T>& p, const Inputs<T>& X,
             const std::int64_t* rows, std::ptrdiff_t n, T* const* outputs,
             T* const* preactivations, bool leave_logits,
             const WeightPanels<T>* weight_panels = nullptr) {
  const std::size_t L = arch.n_weight_layers();
  for (std::size_t l = 0; l < L; ++l) {
    const std::ptrdiff_t n_in = arch.layers[l], n_out = arch.layers[l + 1];
    const bool last = l + 1 == L;
    const Activation act = arch.activation_of(l);
    const bool in_epilogue = !last || (!leave_logits && act != Activation::softmax);
    T* const z = preactivations ? preactivations[l] : nullptr;
    if (l == 0 && X.is_sparse())
      sparse_forward(sparse_view(X.sparse, rows), n, n_out, p.W(0), p.b(0),
                     in_epilogue ? act : Activation::identity, outputs[0], z);
    else
      gemm<T>(n, n_out, n_in,
              (l == 0 ? row_major(X.dense, n_in, rows) : row_major<T>(outputs[l - 1], n_in))
                  .at_bfloat16(arch.bfloat16_operands),
              row_major(p.W(l), n_out)
                  .at_bfloat16(arch.bfloat16_operands)
                  .with_panels(weight_panels ? weight_panels->layer[l] : nullptr,
                               weight_panels ? weight_panels->packed_for : nullptr),
              outputs[l], n_out,
              forward_epilogue(p.b(l), in_epilogue ? act : Activation::identity, z, n_out));
    if (last && !leave_logits && act == Activation::softmax)
      activate_inplace(act, n, n_out, outputs[l]);
  }
}

// The delta of layer l - 1 from the delta of layer l (n rows); u is that layer's output, or its
// pre-activation when the hidden activation's derivative needs it. Must see W[l] from before
// this step's update.
template <typename T>
void backward_data(const Architecture& arch, const Parameters<T>& p, std::size_t l,
                   std::ptrdiff_t n, const T* delta, const T* u, T* delta_below) {
  const std::ptrdiff_t n_in = arch.layers[l], n_out = arch.layers[l + 1];
  const bool bf16 = arch.bfloat16_operands;
  gemm<T>(n, n_in, n_out, row_major<T>(delta, n_out).at_bfloat16(bf16),
          row_major(p.W(l), n_out).transposed().at_bfloat16(bf16), delta_below, n_in,
          backward_data_epilogue(arch.hidden, u, n_in));
}

// The weight pass of layer l: the gradient of W[l] is input.T @ delta (n rows), of b[l] the
// column sums of delta (into bias_gradient). With store_gradient both go to `gradient` (laid out
// like the parameters); otherwise W[l] and b[l] take the plan's step. `partial_sums` holds the
// GEMM's partial sums between k-blocks for optimizer_rule. With `sparse_input` (layer 0 only) the
// input is those sparse rows, and the sparse weight pass replaces the GEMM.
template <typename T>
void backward_weights(const Architecture& arch, Parameters<T>& p, OptimizerState<T>& state,
                      std::size_t l, std::ptrdiff_t n, const MatrixView<T>& input, const T* delta,
                      const StepPlan<T>& plan, T* bias_gradient, T* gradient, T* partial_sums,
                      const kernels::SparseView<T>* sparse_input = nullptr) {
  const std::ptrdiff_t n_in = arch.layers[l], n_out = arch.layers[l + 1];
  const MatrixView<T> dz = row_major<T>(delta, n_out).at_bfloat16(arch.bfloat16_operands);
  const MatrixView<T> x_t = input.transposed().at_bfloat16(arch.bfloat16_operands);
  column_sums(n, n_out, delta, bias_gradient);
  const std::size_t w = p.weight_offset[l], b = p.bias_offset[l];
  if (sparse_input)
    sparse_weight_pass(*sparse_input, n, n_in, n_out, delta, plan, p.W(l), state.at(w),
                       plan.update == WeightUpdate::store_gradient   ? gradient + w
                       : plan.update == WeightUpdate::optimizer_rule ? partial_sums + w
                                                                     : nullptr);
  T* bias = p.b(l);
  switch (plan.update) {
    case WeightUpdate::store_gradient:
      if (!sparse_input) gemm<T>(n_in, n_out, n, x_t, dz, gradient + w, n_out, store_gradient<T>());
      std::copy(bias_gradient, bias_gradient + n_out, gradient + b);
      break;
    case WeightUpdate::sgd:
      if (!sparse_input)
        gemm<T>(n_in, n_out, n, x_t, dz, p.W(l), n_out, sgd_step(plan.lr, plan.keep));
      for (std::ptrdiff_t j = 0; j < n_out; ++j) bias[j] -= plan.lr * bias_gradient[j];
      break;
    case WeightUpdate::momentum: {
      if (!sparse_input)
        gemm<T>(n_in, n_out, n, x_t, dz, state.at(w).array[0], n_out,
                momentum_step(plan.lr, plan.mu, p.W(l), n_out));
      T* bias_velocity = state.at(b).array[0];
      for (std::ptrdiff_t j = 0; j < n_out; ++j) {
        bias_velocity[j] = plan.mu * bias_velocity[j] - plan.lr * bias_gradient[j];
        bias[j] += bias_velocity[j];
      }
      break;
    }
    case WeightUpdate::optimizer_rule:
      if (!sparse_input)
        gemm<T>(n_in, n_out, n, x_t, dz, partial_sums + w, n_out,
                optimizer_step(&plan.rule, p.W(l), state.at(w), n_out));
      apply_update(plan.rule, bias, bias_gradient, state.at(b), n_out, /*decay=*/false);
      break;
  }
}

}  // namespace fastbp::detail

// The contract between the GEMM driver (blocking, packing, threads; compiled for baseline
// x86-64) and the per-ISA kernels (compiled with -mavx2 / -mavx512f). Only plain structs and
// function pointers cross it.
#pragma once

#include <cstddef>
#include <cstdint>

#include "../matrix_view.hpp"
#include "fastbp/activation.hpp"
#include "fastbp/optimizer.hpp"

namespace fastbp::kernels {

// One optimizer step's constants. State: sgd s1 = velocity; adam/adamw s1 = first moment,
// s2 = second moment; rprop s1 = previous gradient, s2 = step sizes.
template <typename T>
struct UpdateRule {
  OptimizerKind kind;
  T lr, momentum;
  bool nesterov;
  T weight_decay;
  T beta1, beta2, epsilon;
  T step_scale;            // adam: lr / (1 - beta1^t)
  T inv_sqrt_correction2;  // adam: 1 / sqrt(1 - beta2^t)
  T eta_minus, eta_plus, step_min, step_max;
};
// The epilogue for one k-block, pointers at the block's origin. Only the last k-block applies
// bias, activation, derivative and add_to; earlier ones accumulate into C.
template <typename T>
struct BlockEpilogue {
  T alpha;
  T beta;
  bool last;
  const T* bias;
  Activation activation;
  const T* deriv_of;
  std::ptrdiff_t deriv_ld;
  Activation deriv_activation;
  T* add_to;
  std::ptrdiff_t add_to_ld;
  // the optimizer step on finished gradient tiles (see detail::Epilogue); param and the state
  // arrays share C's leading dimension
  const UpdateRule<T>* update;
  T* param;
  T* state1;
  T* state2;
};

// One (m x kc) @ (kc x n) block. A is either packed (micro-panels of mr rows, k-major) or read
// directly through rows a_base + r(i) * a_rs with elements a_cs apart. B is either packed
// (micro-panels of nr columns) or read directly as rows b_base + p * b_rs, with a zero-padded
// copy of the partial last panel in b_edge.
template <typename T>
struct MacroBlock {
  std::ptrdiff_t m, n, kc;
  const T* a_packed;
  const T* a_base;
  std::ptrdiff_t a_rs, a_cs;
  const std::int64_t* a_row_index;
  const T* b_packed;
  const T* b_base;
  std::ptrdiff_t b_rs;
  const T* b_edge;
  T* c;
  std::ptrdiff_t ldc;
  BlockEpilogue<T> epilogue;
};

// Computes the tiles [tile_begin, tile_end) of a block; tile t covers column panel t / m_panels
// and row panel t % m_panels, so neighbouring tiles reuse the same B panel from L1.
template <typename T>
using MacroKernel = void (*)(const MacroBlock<T>& block, std::ptrdiff_t tile_begin,
                             std::ptrdiff_t tile_end);

// Rows [i0, i0+rows) x columns [p0, p0+kc) of A into one micro-panel: element (r, p) at
// dst[p * mr + r]; rows beyond `rows` are not written (the kernels never read them).
template <typename T>
using PackA = void (*)(const detail::MatrixView<T>& a, std::ptrdiff_t i0, std::ptrdiff_t rows,
                       std::ptrdiff_t p0, std::ptrdiff_t kc, T* dst);
// Rows [p0, p0+kc) x columns [j0, j0+cols) of B into one micro-panel: element (p, c) at
// dst[p * nr + c], columns beyond `cols` zero.
template <typename T>
using PackB = void (*)(const detail::MatrixView<T>& b, std::ptrdiff_t p0, std::ptrdiff_t kc,
                       std::ptrdiff_t j0, std::ptrdiff_t cols, T* dst);

// A network seen by the online kernels: one sample per step, every layer a loop over rows of W
// in registers, with no GEMM driver, packing or tiling.
template <typename T>
struct OnlineNet {
  std::size_t n_layers;          // weight layers
  const std::ptrdiff_t* widths;  // n_layers + 1 sizes
  T* const* weights;             // W[l], row-major (widths[l], widths[l+1])
  T* const* biases;
  T* const* weight_velocity;  // momentum state (first optimizer state); null when unused
  T* const* bias_velocity;
  T* const* weight_state2;  // second optimizer state (Adam's v, RProp's steps); null when unused
  T* const* bias_state2;
  T* row_gradient;  // a buffer of the widest layer, for online_backward_rule
  Activation hidden, output;
  T* const* outputs;    // layer outputs; the last layer leaves its logits
  T* delta_scratch[2];  // two buffers of the widest layer
};
// Forward pass of one sample x. When first_product is not null it already holds x @ W[0] (from
// the previous step's fused update) and the first layer only adds the bias and activates.
template <typename T>
using OnlineForward = void (*)(const OnlineNet<T>& net, const T* x, const T* first_product);
// Backward pass and SGD (momentum mu) update, given dL/dz of the last layer. When next_x is not
// null, the update of W[0] also computes next_x @ W[0] (with the updated weights) into
// next_product: the next step's first product costs no second pass over W[0].
template <typename T>
using OnlineBackward = void (*)(const OnlineNet<T>& net, const T* x, const T* output_delta, T lr,
                                T mu, const T* next_x, T* next_product);

template <typename T>
using ApplyUpdate = void (*)(const UpdateRule<T>& rule, T* w, const T* g, T* s1, T* s2,
                             std::ptrdiff_t n, bool decay);

// Backward pass and the update of any optimizer (see UpdateRule) for one sample.
template <typename T>
using OnlineBackwardRule = void (*)(const OnlineNet<T>& net, const T* x, const T* output_delta,
                                    const UpdateRule<T>& rule);

template <typename T>
struct GemmKernel {
  int mr, nr;                 // register tile
  std::ptrdiff_t kc, mc, nc;  // cache blocking
  MacroKernel<T> macro_kernel;
  PackA<T> pack_a;
  PackB<T> pack_b;
  OnlineForward<T> online_forward;
  OnlineBackward<T> online_backward;
  // True when none of the n values is NaN or infinite.
  bool (*all_finite)(const T* x, std::ptrdiff_t n);
  ApplyUpdate<T> apply_update;
  OnlineBackwardRule<T> online_backward_rule;
};

struct KernelSet {
  const char* name;
  GemmKernel<float> f32;
  GemmKernel<double> f64;
};

KernelSet portable_kernels();
#if defined(FASTBP_HAVE_X86_KERNELS)
KernelSet avx2_kernels();
KernelSet avx512_kernels();
#endif

// The kernel set chosen at start-up (or by set_simd_level).
const KernelSet& active_kernels();
template <typename T>
const GemmKernel<T>& gemm_kernel();

}  // namespace fastbp::kernels

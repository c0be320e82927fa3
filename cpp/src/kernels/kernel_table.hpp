// The contract between the baseline-compiled engine (GEMM driver, network, dispatcher) and the
// kernels of each ISA level (compiled with -mavx2 / -mavx512f, or for the portable vector width,
// or the scalar reference set). Only plain structs and function pointers cross it; the table of
// pointers is filled in by dispatch.cpp, which is compiled without ISA flags.
//
// Where things are (one file per pass x ISA, e.g. gemm_forward_avx512.cpp, each a build of one
// .inc file):
//   gemm_forward          register tiles of act(x @ W + b)
//   gemm_backward_data    register tiles of (delta @ W.T) * act'(...)
//   gemm_backward_weights register tiles of x.T @ delta: the gradient, an SGD or momentum step,
//                         or any optimizer's step on the finished tile; and, for batches of at
//                         most kThinK rows, the rank-k sweep of W that replaces the tiles
//   pack                  operand packing
//   online                whole-network batch-1 steps
//   elementwise           optimizer rules on arrays, the finite check
//   sparse                the first layer over sparse (CSR) input: gathered forward rows and
//                         the scattered weight gradient
//   reference.cpp         every kernel again in plain scalar loops: the oracle, last in the list
// Shared by them: simd.inc (the SIMD vocabulary), vector_math.inc, gemm_tile.inc (the register
// tile and the macro-kernel), and the descriptors (cpp/src/descriptors/).
#pragma once

#include <cstddef>
#include <cstdint>
#include <utility>

#include "../matrix_view.hpp"
#include "fastbp/activation.hpp"
#include "fastbp/optimizer.hpp"

namespace fastbp::kernels {

// ---- The ISA levels ---------------------------------------------------------------------------

// Register tile rows and cache blocking of one level (the columns are two vectors wide). kc x nr
// floats of a B micro-panel stay in L1 (32 KiB at kc=256, nr=32); mc x kc of packed A in L2;
// kc x nc of packed B in L2/L3.
struct IsaParameters {
  int vector_bytes;
  int mr;
  std::ptrdiff_t kc, mc, nc_f32, nc_f64;
};
namespace avx512 {
inline constexpr IsaParameters kIsa{64, 12, 256, 12 * 12, 2048, 1024};
}
namespace avx2 {
inline constexpr IsaParameters kIsa{32, 6, 256, 6 * 20, 2048, 1024};
}
namespace portable {
inline constexpr IsaParameters kIsa{16, 6, 256, 6 * 20, 2048, 1024};
}
// The scalar reference set: an odd tile (3 x 5) so the driver's edge handling is exercised too.
namespace reference {
inline constexpr int kMR = 3, kNR = 5;
inline constexpr std::ptrdiff_t kKC = 64, kMC = 3 * 8, kNC = 5 * 16;
}

// How the running CPU wants some things done, decided once from cpuid by dispatch.cpp before any
// kernel runs (fastbp::cpu_info() reports it).
struct CpuTuning {
  // AVX2's masked stores (vmaskmovps/pd) are microcoded on AMD's cores: 8.4 ns a vector against
  // 1.8 ns for a plain store, measured on an EPYC (Zen 3). Partial rows are then stored element
  // by element instead.
  bool slow_masked_stores = false;
  // Elements of a packed panel that one block may hold when threads share it (see gemm.cpp);
  // tuned on a Xeon's 1 MiB L2. A quarter of a Zen 3's 512 KiB L2 instead (2^17) measured
  // within noise on mnist-mlp and wide (bench/ab.py, 6 pairs), so it stays for every CPU;
  // FASTBP_GEMM_BLOCKING=panel=N sets it for experiments.
  std::ptrdiff_t shared_panel_elements = std::ptrdiff_t(1) << 18;
};
extern CpuTuning cpu_tuning;

// ---- Optimizer steps --------------------------------------------------------------------------

inline constexpr int kMaxStateArrays = 2;

// An optimizer's state arrays (see descriptors/optimizers.inc for their names), at one position.
template <typename T>
struct StatePointers {
  T* array[kMaxStateArrays] = {};
  StatePointers at(std::ptrdiff_t offset) const {
    StatePointers s;
    for (int i = 0; i < kMaxStateArrays; ++i) s.array[i] = array[i] ? array[i] + offset : nullptr;
    return s;
  }
};

// One optimizer step's constants, filled in by the optimizer's descriptor.
template <typename T>
struct UpdateRule {
  OptimizerKind kind;
  T lr, weight_decay;
  T momentum;
  bool nesterov;
  T beta1, beta2, epsilon;
  T step_scale;            // adam: lr / (1 - beta1^t)
  T inv_sqrt_correction2;  // adam: 1 / sqrt(1 - beta2^t)
  T eta_minus, eta_plus, step_min, step_max;
};

// ---- GEMM: the three passes' epilogues ---------------------------------------------------------
// What each pass does to a finished tile of the product, in registers, before its one store. The
// driver runs k in blocks: `accumulate` says C holds the partial sum of the earlier blocks (add
// it), `last` that this block completes the product (apply the rest). Pointers are at the origin
// of C; at(i, j) moves them to element (i, j) for a block.

// Forward: C = act(A @ B + bias); the pre-activation also goes to `preactivation` when set (for
// activations whose derivative needs it).
template <typename T>
struct ForwardEpilogue {
  bool accumulate = false, last = true;
  const T* bias = nullptr;
  Activation activation = Activation::identity;
  T* preactivation = nullptr;
  std::ptrdiff_t preactivation_ld = 0;
  ForwardEpilogue() = default;
  ForwardEpilogue(const T* b, Activation act, T* z, std::ptrdiff_t z_ld)
      : bias(b), activation(act), preactivation(z), preactivation_ld(z_ld) {}
  ForwardEpilogue at(std::ptrdiff_t i, std::ptrdiff_t j) const {
    ForwardEpilogue e = *this;
    if (bias) e.bias += j;
    if (preactivation) e.preactivation += i * preactivation_ld + j;
    return e;
  }
};

// Backward data: C = (A @ B) * act'(u), u read from `derivative_input` (the layer's output, or its
// pre-activation when the activation's derivative needs it).
template <typename T>
struct BackwardDataEpilogue {
  bool accumulate = false, last = true;
  Activation activation = Activation::identity;
  const T* derivative_input = nullptr;
  std::ptrdiff_t derivative_input_ld = 0;
  BackwardDataEpilogue() = default;
  BackwardDataEpilogue(Activation act, const T* u, std::ptrdiff_t u_ld)
      : activation(act), derivative_input(u), derivative_input_ld(u_ld) {}
  BackwardDataEpilogue at(std::ptrdiff_t i, std::ptrdiff_t j) const {
    BackwardDataEpilogue e = *this;
    if (derivative_input) e.derivative_input += i * derivative_input_ld + j;
    return e;
  }
};

// Backward weights: v = alpha (A @ B) + beta C (C not read when beta == 0), C = v, and on the
// last block add_to += v (momentum: V = mu V - lr g, W += V). With `rule`, the finished tile is
// the gradient and takes the optimizer step on the same tile of `param` and its state arrays
// (laid out like C) straight from registers; C then holds only partial sums between k-blocks.
template <typename T>
struct BackwardWeightsEpilogue {
  T alpha = T(1), beta = T(0);
  bool last = true;
  T* add_to = nullptr;
  std::ptrdiff_t add_to_ld = 0;
  const UpdateRule<T>* rule = nullptr;
  T* param = nullptr;
  StatePointers<T> state{};
  std::ptrdiff_t param_ld = 0;
  BackwardWeightsEpilogue() = default;
  BackwardWeightsEpilogue(T a, T b, T* add, std::ptrdiff_t add_ld)
      : alpha(a), beta(b), add_to(add), add_to_ld(add_ld) {}
  BackwardWeightsEpilogue(const UpdateRule<T>* r, T* p, StatePointers<T> s, std::ptrdiff_t p_ld)
      : rule(r), param(p), state(s), param_ld(p_ld) {}
  BackwardWeightsEpilogue at(std::ptrdiff_t i, std::ptrdiff_t j) const {
    BackwardWeightsEpilogue e = *this;
    if (add_to) e.add_to += i * add_to_ld + j;
    if (param) e.param += i * param_ld + j;
    e.state = state.at(i * param_ld + j);
    return e;
  }
};

// One (m x kc) @ (kc x n) block. A is either packed (micro-panels of mr rows, k-major) or read
// directly through rows a_base + r(i) * a_rs with elements a_cs apart. B is either packed
// (micro-panels of nr columns, b_panel_stride apart) or read directly as rows b_base + p * b_rs,
// with a zero-padded copy of the partial last panel in b_edge. C has leading dimension ldc.
template <typename T>
struct MacroBlock {
  std::ptrdiff_t m, n, kc;
  const T* a_packed;
  const T* a_base;
  std::ptrdiff_t a_rs, a_cs;
  const std::int64_t* a_row_index;
  const T* b_packed;
  std::ptrdiff_t b_panel_stride;  // kc * nr, or k * nr for B packed once for every k-block
  const T* b_base;
  std::ptrdiff_t b_rs;
  const T* b_edge;
  T* c;
  std::ptrdiff_t ldc;
};

// A weight step from a batch of at most kThinK rows, as a rank-k update of rows [row_begin,
// row_end) of C: C = beta C + (sum_p (alpha A(i, p)) B(p, :)), then add_to += C, with A read
// through its view and B's rows where they are (plain SGD, momentum, or the gradient; no rule).
// The driver sends only 1 <= k <= kThinK: the SIMD kernels have a variant per k.
inline constexpr int kThinK = 8;
template <typename T>
struct ThinProduct {
  std::ptrdiff_t n, k;
  const detail::MatrixView<T>* a;
  const T* b;
  std::ptrdiff_t ldb;
  T* c;
  std::ptrdiff_t ldc;
};
template <typename T>
using ThinBackwardWeights = void (*)(const ThinProduct<T>& product,
                                     const BackwardWeightsEpilogue<T>& epilogue,
                                     std::ptrdiff_t row_begin, std::ptrdiff_t row_end);

// Computes the register tiles [tile_begin, tile_end) of a block (BLIS's first and second loops
// around the microkernel); tile t covers column panel t / m_panels and row panel t % m_panels,
// so neighbouring tiles reuse the same B panel from L1.
template <typename T, typename Epilogue>
using MacroKernel = void (*)(const MacroBlock<T>& block, const Epilogue& epilogue,
                             std::ptrdiff_t tile_begin, std::ptrdiff_t tile_end);

// Rows [i0, i0+rows) x columns [p0, p0+kc) of A into one micro-panel: element (r, p) at
// dst[p * mr + r]; rows beyond `rows` may hold anything (the kernels never read them).
template <typename T>
using PackA = void (*)(const detail::MatrixView<T>& a, std::ptrdiff_t i0, std::ptrdiff_t rows,
                       std::ptrdiff_t p0, std::ptrdiff_t kc, T* dst);
// Rows [p0, p0+kc) x columns [j0, j0+cols) of B into one micro-panel: element (p, c) at
// dst[p * nr + c], columns beyond `cols` zero.
template <typename T>
using PackB = void (*)(const detail::MatrixView<T>& b, std::ptrdiff_t p0, std::ptrdiff_t kc,
                       std::ptrdiff_t j0, std::ptrdiff_t cols, T* dst);

// ---- Online (batch-1) steps ---------------------------------------------------------------------

// A network seen by the online kernels: one sample per step, every layer a loop over rows of W
// in registers, with no GEMM driver, packing or tiling.
template <typename T>
struct OnlineNet {
  std::size_t n_layers;          // weight layers
  const std::ptrdiff_t* widths;  // n_layers + 1 sizes
  T* const* weights;             // W[l], row-major (widths[l], widths[l+1])
  T* const* biases;
  // The optimizer's state arrays of W[l] and b[l] (null where unused).
  const StatePointers<T>* weight_state;
  const StatePointers<T>* bias_state;
  T* row_gradient;  // a buffer of the widest layer, for rule updates
  Activation hidden, output;
  T* const* outputs;         // layer outputs; the last layer leaves its logits
  T* const* preactivations;  // per layer, where the hidden activation's derivative needs z
  T* delta_scratch[2];       // two buffers of the widest layer
  // online_forward on a team: member share_index of share_count computes its share of every
  // layer's columns and calls between_layers (a team barrier) before the next layer reads them.
  int share_index = 0, share_count = 1;
  void (*between_layers)(int share_count) = nullptr;
  // When set, online_backward_sgd leaves W[0] alone and writes the first layer's delta here, for
  // online_first_layer_pass to apply with a group's other updates.
  T* first_layer_delta = nullptr;
};

// Plain online SGD updates W[0] a group of samples at a time: one sweep of W[0] applies the
// group's updates and computes the next group's products with the updated W[0], instead of a
// sweep per sample, so a first layer that the one-sample step streams through L2 (mnist-online's
// 401 KB, read and written per sample) is swept a quarter as often and the sweep is bound by its
// FMAs. A sample's forward pass adds the corrections for the earlier samples of its group:
// x_i W = x_i W_group - lr sum_{s<i} (x_i . x_s) d_s.
inline constexpr int kOnlineGroup = 4;

template <typename T>
struct OnlineGroupPass {
  T lr;
  // Samples whose update of W[0] is still to apply, in the order they were trained: their inputs
  // and their first-layer deltas (rows of widths[1]).
  int pending = 0;
  const T* const* pending_x = nullptr;
  const T* pending_delta = nullptr;
  T* scaled = nullptr;  // scratch for -lr x of the pending samples: kOnlineGroup rows of widths[0]
  // Samples whose first-layer products (rows of widths[1], kOnlineGroup of them, rows past `next`
  // scratch) and correction coefficients (-lr x_k . x_s at [k * kOnlineGroup + s] for s < k) to
  // compute.
  int next = 0;
  const T* const* next_x = nullptr;
  T* next_products = nullptr;
  T* next_coefficients = nullptr;
};

// Member `index` of `count`'s share [begin, end) of `total` items: detail::share's split with a
// grain of one, here because the kernels stay below the threading layer.
inline std::pair<std::ptrdiff_t, std::ptrdiff_t> member_share(std::ptrdiff_t total, int index,
                                                              int count) {
  if (count == 1) return {0, total};  // the online step's case: two divisions cost ~5% of it
  return {total * index / count, total * (index + 1) / count};
}

// The columns [begin, end) of a layer `width` wide that member `index` of a team of `count` owns
// in the online kernels: whole blocks of `grain` (a table's nr), so that every block is computed
// as on one thread, and a layer's columns in the forward pass and the same entries as rows of
// the next W in the backward pass have one owner.
inline std::pair<std::ptrdiff_t, std::ptrdiff_t> member_columns(std::ptrdiff_t width,
                                                                std::ptrdiff_t grain, int index,
                                                                int count) {
  const auto [first, end] = member_share((width + grain - 1) / grain, index, count);
  return {std::min(first * grain, width), std::min(end * grain, width)};
}

// Forward pass of one sample x. When first_product is not null it already holds x @ W[0] (from
// the previous step's fused update) and the first layer only adds the bias and activates.
template <typename T>
using OnlineForward = void (*)(const OnlineNet<T>& net, const T* x, const T* first_product);
// Backward pass and SGD (momentum mu) update, given dL/dz of the last layer. When next_x is not
// null, the update of W[0] also computes next_x @ W[0] (with the updated weights) into
// next_product: the next step's first product costs no second pass over W[0].
template <typename T>
using OnlineBackwardSgd = void (*)(const OnlineNet<T>& net, const T* x, const T* output_delta,
                                   T lr, T mu, const T* next_x, T* next_product);
// The sweep of W[0] of grouped online SGD (OnlineGroupPass): a member of a team sweeps its share
// of the columns and computes all the coefficients.
template <typename T>
using OnlineFirstLayerPass = void (*)(const OnlineNet<T>& net, const OnlineGroupPass<T>& pass);
// Backward pass and any optimizer's update (its rule) for one sample.
template <typename T>
using OnlineBackwardRule = void (*)(const OnlineNet<T>& net, const T* x, const T* output_delta,
                                    const UpdateRule<T>& rule);
// Backward pass storing the gradient of one sample: W[l]'s into weight_gradients[l], b[l]'s into
// bias_gradients[l] (laid out like the layer); the network is not changed.
template <typename T>
using OnlineBackwardGradient = void (*)(const OnlineNet<T>& net, const T* x, const T* output_delta,
                                        T* const* weight_gradients, T* const* bias_gradients);

// ---- Element-wise -------------------------------------------------------------------------------

// The optimizer's rule on n elements of w with gradient g and state s; weight decay when `decay`.
template <typename T>
using ApplyUpdate = void (*)(const UpdateRule<T>& rule, T* w, const T* g, StatePointers<T> s,
                             std::ptrdiff_t n, bool decay);
// True when none of the n values is NaN or infinite.
template <typename T>
using AllFinite = bool (*)(const T* x, std::ptrdiff_t n);

// ---- Sparse first layer ------------------------------------------------------------------------
// A CSR matrix's rows: row r holds values[indptr[r] .. indptr[r+1]) at columns indices[...];
// row i of the view is row row_index[i] (fit's shuffled batch), or row i.
template <typename T>
struct SparseView {
  const std::int64_t* indptr;
  const std::int64_t* indices;
  const T* values;
  const std::int64_t* row_index;
  std::ptrdiff_t row(std::ptrdiff_t i) const { return row_index ? row_index[i] : i; }
};

// Forward over rows [i0, i1), columns [j0, j1) of the first layer: z = bias + the sum over row
// i's stored x_ip of x_ip W[p, :] (the rows of W the nonzeros select), out = act(z); z also goes
// to `preactivation` when set. out and preactivation have row stride ldo, W has ldw.
template <typename T>
using SparseForward = void (*)(const SparseView<T>& x, std::ptrdiff_t i0, std::ptrdiff_t i1,
                               const T* w, std::ptrdiff_t ldw, const T* bias, Activation act,
                               std::ptrdiff_t j0, std::ptrdiff_t j1, T* out, T* preactivation,
                               std::ptrdiff_t ldo);
// x.T @ d scattered: c[p, j0:j1] += alpha x_ip d[i, j0:j1] for every stored x_ip of rows [0, n).
// Only the rows of c the nonzeros select are touched; threads own disjoint column ranges.
template <typename T>
using SparseScatter = void (*)(const SparseView<T>& x, std::ptrdiff_t n, const T* d,
                               std::ptrdiff_t ldd, T alpha, T* c, std::ptrdiff_t ldc,
                               std::ptrdiff_t j0, std::ptrdiff_t j1);

// ---- The table --------------------------------------------------------------------------------

template <typename T>
struct KernelTable {
  int mr, nr;                 // register tile
  std::ptrdiff_t kc, mc, nc;  // cache blocking
  MacroKernel<T, ForwardEpilogue<T>> gemm_forward;
  MacroKernel<T, BackwardDataEpilogue<T>> gemm_backward_data;
  MacroKernel<T, BackwardWeightsEpilogue<T>> gemm_backward_weights;
  ThinBackwardWeights<T> gemm_backward_weights_thin;
  PackA<T> pack_a;
  PackB<T> pack_b;
  OnlineForward<T> online_forward;
  OnlineBackwardSgd<T> online_backward_sgd;
  OnlineFirstLayerPass<T> online_first_layer_pass;
  OnlineBackwardRule<T> online_backward_rule;
  OnlineBackwardGradient<T> online_backward_gradient;
  ApplyUpdate<T> apply_update;
  AllFinite<T> all_finite;
  SparseForward<T> sparse_forward;
  SparseScatter<T> sparse_scatter;
};

struct KernelSet {
  const char* name;
  KernelTable<float> f32;
  KernelTable<double> f64;
};

// The set chosen at start-up (or by set_simd_level).
const KernelSet& active_kernels();
template <typename T>
const KernelTable<T>& kernel_table();

// ---- What each level defines (in its own namespace: avx512, avx2, portable, reference) ----------
// Templates explicitly instantiated for float and double in that level's files.
#define FASTBP_DECLARE_KERNELS                                                                   \
  template <typename T>                                                                          \
  void gemm_forward(const MacroBlock<T>&, const ForwardEpilogue<T>&, std::ptrdiff_t,             \
                    std::ptrdiff_t);                                                             \
  template <typename T>                                                                          \
  void gemm_backward_data(const MacroBlock<T>&, const BackwardDataEpilogue<T>&, std::ptrdiff_t,  \
                          std::ptrdiff_t);                                                       \
  template <typename T>                                                                          \
  void gemm_backward_weights(const MacroBlock<T>&, const BackwardWeightsEpilogue<T>&,            \
                             std::ptrdiff_t, std::ptrdiff_t);                                    \
  template <typename T>                                                                          \
  void gemm_backward_weights_thin(const ThinProduct<T>&, const BackwardWeightsEpilogue<T>&,      \
                                  std::ptrdiff_t, std::ptrdiff_t);                               \
  template <typename T>                                                                          \
  void pack_a(const detail::MatrixView<T>&, std::ptrdiff_t, std::ptrdiff_t, std::ptrdiff_t,      \
              std::ptrdiff_t, T*);                                                               \
  template <typename T>                                                                          \
  void pack_b(const detail::MatrixView<T>&, std::ptrdiff_t, std::ptrdiff_t, std::ptrdiff_t,      \
              std::ptrdiff_t, T*);                                                               \
  template <typename T>                                                                          \
  void online_forward(const OnlineNet<T>&, const T*, const T*);                                  \
  template <typename T>                                                                          \
  void online_backward_sgd(const OnlineNet<T>&, const T*, const T*, T, T, const T*, T*);         \
  template <typename T>                                                                          \
  void online_first_layer_pass(const OnlineNet<T>&, const OnlineGroupPass<T>&);                  \
  template <typename T>                                                                          \
  void online_backward_rule(const OnlineNet<T>&, const T*, const T*, const UpdateRule<T>&);      \
  template <typename T>                                                                          \
  void online_backward_gradient(const OnlineNet<T>&, const T*, const T*, T* const*, T* const*);  \
  template <typename T>                                                                          \
  void apply_update(const UpdateRule<T>&, T*, const T*, StatePointers<T>, std::ptrdiff_t, bool); \
  template <typename T>                                                                          \
  bool all_finite(const T*, std::ptrdiff_t);                                                     \
  template <typename T>                                                                          \
  void sparse_forward(const SparseView<T>&, std::ptrdiff_t, std::ptrdiff_t, const T*,            \
                      std::ptrdiff_t, const T*, Activation, std::ptrdiff_t, std::ptrdiff_t, T*,  \
                      T*, std::ptrdiff_t);                                                       \
  template <typename T>                                                                          \
  void sparse_scatter(const SparseView<T>&, std::ptrdiff_t, const T*, std::ptrdiff_t, T, T*,     \
                      std::ptrdiff_t, std::ptrdiff_t, std::ptrdiff_t);

namespace avx512 {
FASTBP_DECLARE_KERNELS
}
namespace avx2 {
FASTBP_DECLARE_KERNELS
}
namespace portable {
FASTBP_DECLARE_KERNELS
}
namespace reference {
FASTBP_DECLARE_KERNELS
}

}  // namespace fastbp::kernels

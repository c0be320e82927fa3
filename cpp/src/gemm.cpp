// GotoBLAS/BLIS-style blocking around the per-ISA macro-kernels. BLIS's five loops around the
// microkernel: here the 5th (jc: column panels of nc), the 4th (pc: k-blocks of kc, B packed)
// and the 3rd (ic: row blocks of mc, A packed); the macro-kernel runs the 2nd and 1st over the
// register tiles of a block, split across threads. Packing absorbs every layout (transposes,
// shuffled rows), so the kernels only ever see unit-stride panels.
#include "gemm.hpp"

#include <algorithm>
#include <cstring>
#include <tuple>
#include <type_traits>

#include "allocation.hpp"
#include "bfloat16.hpp"
#include "descriptors.hpp"
#include "kernels/kernel_table.hpp"
#include "scratch.hpp"
#include "threading_internal.hpp"

namespace fastbp::detail {
namespace {

// A threaded GEMM pays a fork/join and up to three barriers per k-block: below ~1.5 MFLOP per
// thread they cost more than the second core saves. Measured with fit on 2 cores: digits
// [64,100,10] at batch 32 (0.4 MFLOP products) ran 2.2x slower on two threads at 0.2 MFLOP per
// thread; mnist-mlp's 64x256x128 product (4.2 MFLOP) still gains from two (272k -> 309k
// samples/s).
constexpr double kGemmMinFlopsPerThread = 1.5e6;

// The pass's macro-kernel, and its epilogue for one k-block: a block after the first adds the
// partial sum already in C, and only the last one applies the rest of the epilogue.
template <typename T>
kernels::MacroKernel<T, ForwardEpilogue<T>> macro_kernel_of(const kernels::KernelTable<T>& k,
                                                            const ForwardEpilogue<T>&) {
  return k.gemm_forward;
}
template <typename T>
kernels::MacroKernel<T, BackwardDataEpilogue<T>> macro_kernel_of(
    const kernels::KernelTable<T>& k, const BackwardDataEpilogue<T>&) {
  return k.gemm_backward_data;
}
template <typename T>
kernels::MacroKernel<T, BackwardWeightsEpilogue<T>> macro_kernel_of(
    const kernels::KernelTable<T>& k, const BackwardWeightsEpilogue<T>&) {
  return k.gemm_backward_weights;
}

template <typename Epilogue>
Epilogue for_k_block(Epilogue e, bool first, bool last) {
  e.accumulate = !first;
  e.last = last;
  return e;
}
template <typename T>
BackwardWeightsEpilogue<T> for_k_block(BackwardWeightsEpilogue<T> e, bool first, bool last) {
  if (!first) e.beta = T(1);
  e.last = last;
  return e;
}

// Emulated bfloat16 products round each packed panel once, where it is written: the tiles then
// multiply values of 8 significant bits, whose products float holds exactly.
template <typename T>
void round_panel(bool bfloat16, T* panel, std::ptrdiff_t count) {
  if constexpr (std::is_same_v<T, float>) {
    if (bfloat16) round_to_bfloat16(panel, count);
  }
}

// A weight step from a batch of at most kThinK rows (plain SGD, momentum, or the gradient
// itself) is a rank-k update of W. Its register tiles would run a k loop too short to pay for
// packing A and for their edges (odd-deep, batch 7: the tiles took 34% of the step, a quarter
// of that in the edge tiles of its 129, 65 and 3 columns); B's k rows are instead read in place,
// a block of columns at a time loaded once for every row of W.
template <typename T>
bool is_thin(std::ptrdiff_t k, const MatrixView<T>& a, const MatrixView<T>& b,
             const BackwardWeightsEpilogue<T>& ep) {
  return k >= 1 && k <= kernels::kThinK && !ep.rule && !a.bfloat16 && !b.bfloat16 && !b.row_index &&
         !b.col_index && b.col_stride == 1;
}

template <typename T>
void thin_gemm(std::ptrdiff_t m, std::ptrdiff_t n, std::ptrdiff_t k, const MatrixView<T>& a,
               const MatrixView<T>& b, T* c, std::ptrdiff_t ldc,
               const BackwardWeightsEpilogue<T>& ep) {
  const kernels::KernelTable<T>& kern = kernels::kernel_table<T>();
  const kernels::ThinProduct<T> product{n, k, &a, b.data, b.row_stride, c, ldc};
  const double flops = 2.0 * double(m) * double(n) * double(k);
  run_team(threads_for_work(flops, kGemmMinFlopsPerThread), flops, [&](int tid, int team) {
    const auto [begin, end] = share(m, tid, team);
    if (begin < end) kern.gemm_backward_weights_thin(product, ep, begin, end);
  });
}

}  // namespace

template <typename T, typename Epilogue>
void gemm(std::ptrdiff_t m, std::ptrdiff_t n, std::ptrdiff_t k, const MatrixView<T>& a,
          const MatrixView<T>& b, T* c, std::ptrdiff_t ldc, const Epilogue& ep) {
  if (m <= 0 || n <= 0) return;
  if constexpr (std::is_same_v<Epilogue, BackwardWeightsEpilogue<T>>) {
    if (is_thin(k, a, b, ep)) return thin_gemm(m, n, k, a, b, c, ldc, ep);
  }
  const kernels::KernelTable<T>& kern = kernels::kernel_table<T>();
  const auto macro_kernel = macro_kernel_of(kern, ep);
  const int mr = kern.mr, nr = kern.nr;
  const std::ptrdiff_t NC = kern.nc;

  // Packing pays when an operand is large and reused: A by several column panels, B by several
  // row panels. Small operands are read in place from cache. Layouts the kernels cannot read
  // (indexed k, or B without contiguous rows) are always packed, and so is a transposed A: its
  // micro-panel is a run of contiguous copies, and packed broadcasts take one instruction
  // instead of two (odd-deep: +4%). A bfloat16 operand is always packed: packing rounds it.
  constexpr std::ptrdiff_t kSmallOperand = 4096;  // elements: 16 KiB of float, L1-resident
  static_assert(std::is_same_v<T, float> || std::is_same_v<T, double>);
  const bool pack_a = a.bfloat16 || a.col_index != nullptr || a.col_stride != 1 ||
                      (n > nr && m * k > kSmallOperand);
  const bool b_wants_packing = b.bfloat16 || b.row_index != nullptr || b.col_index != nullptr ||
                               b.col_stride != 1 || (m > 2 * mr && k * n > kSmallOperand);
  // B packed ahead of time for these kernels is read as it is, with the blocking B would have
  // had otherwise, so that the products round alike (after a change of SIMD level it is packed
  // from b.data as any other B).
  const bool b_prepacked = b.panels != nullptr && b.panels_for == &kern;
  const bool pack_b = b_wants_packing && !b_prepacked;

  const int threads =
      threads_for_work(2.0 * double(m) * double(n) * double(k), kGemmMinFlopsPerThread);

  // k-blocking keeps packed B panels in cache; with B read in place and A small, one pass over
  // k saves the partial-sum round trips through C. The k-blocks are of equal size (784 =
  // 4 x 196, not 3 x 256 + 16): a short last block would pay a full round trip of C for little
  // work. On several threads each k-block costs three barriers, so when all of B fits in L2 it
  // is packed in one block (measured on 64x784x256: 179 -> 228 GFLOP/s on 2 threads).
  const std::ptrdiff_t kSharedPanelBudget = kernels::cpu_tuning.shared_panel_elements;
  std::ptrdiff_t kc_target = kern.kc;
  if (threads > 1 && k * std::min(n, NC) <= kSharedPanelBudget) kc_target = std::max<std::ptrdiff_t>(k, 1);
  const std::ptrdiff_t k_blocks =
      !b_wants_packing && m * k <= (std::ptrdiff_t(1) << 16) ? 1 : (k + kc_target - 1) / kc_target;
  const std::ptrdiff_t KC =
      std::max<std::ptrdiff_t>((k + k_blocks - 1) / std::max<std::ptrdiff_t>(k_blocks, 1), 1);
  // Likewise one m-block when all of packed A fits the same budget.
  const std::ptrdiff_t MC =
      threads > 1 && m * KC <= kSharedPanelBudget ? std::max<std::ptrdiff_t>(m, 1) : kern.mc;
  const std::ptrdiff_t kc_max = std::min<std::ptrdiff_t>(KC, std::max<std::ptrdiff_t>(k, 1));
  const std::ptrdiff_t nc_max = (std::min(NC, n) + nr - 1) / nr * nr;
  const std::ptrdiff_t mc_max = (std::min(MC, m) + mr - 1) / mr * mr;
  T* packed_a = pack_a ? thread_scratch<T>(ScratchSlot::packed_a, mc_max * kc_max) : nullptr;
  T* packed_b = pack_b ? thread_scratch<T>(ScratchSlot::packed_b, kc_max * nc_max) : nullptr;
  T* b_edge = pack_b || b_prepacked ? nullptr : thread_scratch<T>(ScratchSlot::b_edge, kc_max * nr);

  // Each thread takes a static share of every stage, with a barrier between stages.
  auto run = [&](int tid, int team) {
    auto share = [tid, team](std::ptrdiff_t count, std::ptrdiff_t& begin, std::ptrdiff_t& end) {
      std::tie(begin, end) = detail::share(count, tid, team);
    };
    std::ptrdiff_t begin, end;
    for (std::ptrdiff_t jc = 0; jc < n; jc += NC) {  // 5th loop: column panels
      const std::ptrdiff_t nc = std::min(NC, n - jc);
      const std::ptrdiff_t n_panels = (nc + nr - 1) / nr;
      std::ptrdiff_t pc = 0;
      do {  // 4th loop: k-blocks (one pass even when k == 0, for the epilogue)
        const std::ptrdiff_t kc = std::min(KC, k - pc);
        if (pack_b) {
          share(n_panels, begin, end);
          // B with contiguous rows is packed a few rows of every panel of the share at a time,
          // so its rows are read in memory order: panel by panel, 64 bytes from each of kc rows
          // in turn, packing B of 256x1024x2048 took 1.4x as long (chunks of 4 and 16 rows:
          // 1.1x).
          const std::ptrdiff_t rows_at_once = b.col_stride == 1 && !b.col_index ? 8 : kc;
          for (std::ptrdiff_t p = 0; p < kc; p += rows_at_once)
            for (std::ptrdiff_t jp = begin; jp < end; ++jp)
              kern.pack_b(b, pc + p, std::min(rows_at_once, kc - p), jc + jp * nr,
                          std::min<std::ptrdiff_t>(nr, nc - jp * nr),
                          packed_b + jp * kc * nr + p * nr);
          for (std::ptrdiff_t jp = begin; jp < end; ++jp)
            round_panel(b.bfloat16, packed_b + jp * kc * nr, kc * nr);
        } else if (!b_prepacked && nc % nr != 0 && tid == 0) {
          const std::ptrdiff_t j_edge = nc / nr * nr;
          kern.pack_b(b, pc, kc, jc + j_edge, nc - j_edge, b_edge);
        }
        if (pack_b || (!b_prepacked && nc % nr != 0)) team_barrier(team);

        kernels::MacroBlock<T> blk{};
        blk.n = nc;
        blk.kc = kc;
        // (panel jc / nr starts (jc / nr) * nr * k in: NC, hence jc, is a multiple of nr)
        blk.b_packed = b_prepacked ? b.panels + (jc / nr) * nr * k + pc * nr : packed_b;
        blk.b_panel_stride = b_prepacked ? k * nr : kc * nr;
        blk.b_base = pack_b || b_prepacked ? nullptr : b.data + b.row(pc) * b.row_stride + jc;
        blk.b_rs = b.row_stride;
        blk.b_edge = b_edge;
        blk.ldc = ldc;
        const Epilogue block_ep = for_k_block(ep, pc == 0, pc + kc >= k);

        for (std::ptrdiff_t ic = 0; ic < m; ic += MC) {  // 3rd loop: row blocks
          const std::ptrdiff_t mc = std::min(MC, m - ic);
          const std::ptrdiff_t m_panels = (mc + mr - 1) / mr;
          if (pack_a) {
            share(m_panels, begin, end);
            for (std::ptrdiff_t ip = begin; ip < end; ++ip) {
              const std::ptrdiff_t rows = std::min<std::ptrdiff_t>(mr, mc - ip * mr);
              kern.pack_a(a, ic + ip * mr, rows, pc, kc, packed_a + ip * kc * mr);
              // (only the packed rows: the rest of a short panel is never read)
              for (std::ptrdiff_t p = 0; a.bfloat16 && p < kc; ++p)
                round_panel(true, packed_a + ip * kc * mr + p * mr, rows);
            }
            team_barrier(team);
          }
          kernels::MacroBlock<T> block = blk;
          block.m = mc;
          block.a_packed = packed_a;
          block.a_base = a.data + pc * a.col_stride + (a.row_index ? 0 : ic * a.row_stride);
          block.a_rs = a.row_stride;
          block.a_cs = a.col_stride;
          block.a_row_index = a.row_index ? a.row_index + ic : nullptr;
          block.c = c + ic * ldc + jc;
          share(m_panels * n_panels, begin, end);  // 2nd and 1st loops, in the macro-kernel
          if (begin < end) macro_kernel(block, block_ep.at(ic, jc), begin, end);
          team_barrier(team);  // the next block rewrites the packed buffers and b_edge
        }
        pc += kc;
      } while (pc < k);
    }
  };
  run_team(threads, 2.0 * double(m) * double(n) * double(k), run);
}

template <typename T>
const void* pack_b_panels(std::ptrdiff_t k, std::ptrdiff_t n, const MatrixView<T>& b,
                          AlignedVector<T>& panels) {
  const kernels::KernelTable<T>& kern = kernels::kernel_table<T>();
  const std::ptrdiff_t nr = kern.nr;
  assign_or_explain(panels, std::size_t((n + nr - 1) / nr * nr * std::max<std::ptrdiff_t>(k, 1)),
                    T(0), "the packed weights");
  for (std::ptrdiff_t j = 0; j < n; j += nr) {
    T* panel = panels.data() + j * k;  // panel j / nr, of k rows of nr
    kern.pack_b(b, 0, k, j, std::min(nr, n - j), panel);
    round_panel(b.bfloat16, panel, k * nr);
  }
  return &kern;
}

namespace {

template <typename T>
T reference_epilogue(const ForwardEpilogue<T>& e, std::ptrdiff_t i, std::ptrdiff_t j, T acc, T) {
  const T z = acc + (e.bias ? e.bias[j] : T(0));
  if (e.preactivation) e.preactivation[i * e.preactivation_ld + j] = z;
  return activate(e.activation, z);
}
template <typename T>
T reference_epilogue(const BackwardDataEpilogue<T>& e, std::ptrdiff_t i, std::ptrdiff_t j, T acc,
                     T) {
  if (!e.derivative_input) return acc;
  return acc *
         activation_derivative(e.activation, e.derivative_input[i * e.derivative_input_ld + j]);
}
template <typename T>
T reference_epilogue(const BackwardWeightsEpilogue<T>& e, std::ptrdiff_t i, std::ptrdiff_t j,
                     T acc, T c) {
  T v = e.alpha * acc;
  if (e.beta != T(0)) v += e.beta * c;
  if (e.rule) {
    const std::ptrdiff_t at = i * e.param_ld + j;
    apply_rule(*e.rule, e.param + at, &v, e.state.at(at), 1, /*decay=*/true);
    return c;  // the gradient is not stored
  }
  if (e.add_to) e.add_to[i * e.add_to_ld + j] += v;
  return v;
}

}  // namespace

template <typename T, typename Epilogue>
void gemm_reference(std::ptrdiff_t m, std::ptrdiff_t n, std::ptrdiff_t k, const MatrixView<T>& a,
                    const MatrixView<T>& b, T* c, std::ptrdiff_t ldc, const Epilogue& ep) {
  for (std::ptrdiff_t i = 0; i < m; ++i) {
    for (std::ptrdiff_t j = 0; j < n; ++j) {
      T acc = T(0);
      for (std::ptrdiff_t p = 0; p < k; ++p) {
        T x = a(i, p), y = b(p, j);
        if constexpr (std::is_same_v<T, float>) {
          if (a.bfloat16) x = round_to_bfloat16(x);
          if (b.bfloat16) y = round_to_bfloat16(y);
        }
        acc += x * y;
      }
      c[i * ldc + j] = reference_epilogue(ep, i, j, acc, c[i * ldc + j]);
    }
  }
}

#define FASTBP_INSTANTIATE_GEMM(T, E)                                                        \
  template void gemm<T, E<T>>(std::ptrdiff_t, std::ptrdiff_t, std::ptrdiff_t,                \
                              const MatrixView<T>&, const MatrixView<T>&, T*, std::ptrdiff_t, \
                              const E<T>&);                                                  \
  template void gemm_reference<T, E<T>>(std::ptrdiff_t, std::ptrdiff_t, std::ptrdiff_t,      \
                                        const MatrixView<T>&, const MatrixView<T>&, T*,      \
                                        std::ptrdiff_t, const E<T>&);
FASTBP_INSTANTIATE_GEMM(float, ForwardEpilogue)
FASTBP_INSTANTIATE_GEMM(double, ForwardEpilogue)
FASTBP_INSTANTIATE_GEMM(float, BackwardDataEpilogue)
FASTBP_INSTANTIATE_GEMM(double, BackwardDataEpilogue)
FASTBP_INSTANTIATE_GEMM(float, BackwardWeightsEpilogue)
FASTBP_INSTANTIATE_GEMM(double, BackwardWeightsEpilogue)
#undef FASTBP_INSTANTIATE_GEMM
template const void* pack_b_panels<float>(std::ptrdiff_t, std::ptrdiff_t, const MatrixView<float>&,
                                          AlignedVector<float>&);
template const void* pack_b_panels<double>(std::ptrdiff_t, std::ptrdiff_t,
                                           const MatrixView<double>&, AlignedVector<double>&);

}  // namespace fastbp::detail

// GotoBLAS-style blocking around the per-ISA macro-kernels: loop over (nc, kc, mc) blocks, pack
// the operands that are reused enough to pay for it, and split the register tiles of a block
// across threads. Packing absorbs every layout (transposes, shuffled rows), so the kernels only
// ever see unit-stride panels.
#include "gemm.hpp"

#include <algorithm>
#include <cstring>
#include <stdexcept>

#include "activation_math.hpp"
#include "kernels/kernel_table.hpp"
#include "scratch.hpp"
#include "threading_internal.hpp"

namespace fastbp::detail {

// A threaded GEMM pays a fork/join and up to three barriers per k-block: below ~1.5 MFLOP per
// thread they cost more than the second core saves. Measured with fit on 2 cores: digits
// [64,100,10] at batch 32 (0.4 MFLOP products) ran 2.2x slower on two threads at 0.2 MFLOP per
// thread; mnist-mlp's 64x256x128 product (4.2 MFLOP) still gains from two (272k -> 309k
// samples/s).
constexpr double kGemmMinFlopsPerThread = 1.5e6;

template <typename T>
void gemm(std::ptrdiff_t m, std::ptrdiff_t n, std::ptrdiff_t k, const MatrixView<T>& a,
          const MatrixView<T>& b, T* c, std::ptrdiff_t ldc, const Epilogue<T>& ep) {
  if (m <= 0 || n <= 0) return;
  const kernels::GemmKernel<T>& kern = kernels::gemm_kernel<T>();
  const int mr = kern.mr, nr = kern.nr;
  const std::ptrdiff_t NC = kern.nc;

  // Packing pays when an operand is large and reused: A by several column panels, B by several
  // row panels. Small operands are read in place from cache. Layouts the kernels cannot read
  // (indexed k, or B without contiguous rows) are always packed, and so is a transposed A: its
  // micro-panel is a run of contiguous copies, and packed broadcasts take one instruction
  // instead of two (odd-deep: +4%).
  constexpr std::ptrdiff_t kSmallOperand = 4096;  // elements: 16 KiB of float, L1-resident
  const bool pack_a =
      a.col_index != nullptr || a.col_stride != 1 || (n > nr && m * k > kSmallOperand);
  const bool pack_b = b.row_index != nullptr || b.col_index != nullptr || b.col_stride != 1 ||
                      (m > 2 * mr && k * n > kSmallOperand);

  const int threads =
      threads_for_work(2.0 * double(m) * double(n) * double(k), kGemmMinFlopsPerThread);

  // k-blocking keeps packed B panels in cache; with B read in place and A small, one pass over
  // k saves the partial-sum round trips through C. The k-blocks are of equal size (784 =
  // 4 x 196, not 3 x 256 + 16): a short last block would pay a full round trip of C for little
  // work. On several threads each k-block costs three barriers, so when all of B fits in L2 it
  // is packed in one block (measured on 64x784x256: 179 -> 228 GFLOP/s on 2 threads).
  constexpr std::ptrdiff_t kSharedPanelBudget = std::ptrdiff_t(1) << 18;  // elements
  std::ptrdiff_t kc_target = kern.kc;
  if (threads > 1 && k * std::min(n, NC) <= kSharedPanelBudget) kc_target = k;
  const std::ptrdiff_t k_blocks =
      !pack_b && m * k <= (std::ptrdiff_t(1) << 16) ? 1 : (k + kc_target - 1) / kc_target;
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
  T* b_edge = pack_b ? nullptr : thread_scratch<T>(ScratchSlot::b_edge, kc_max * nr);

  // Each thread takes a static share of every stage, with a barrier between stages.
  auto run = [&](int tid, int team) {
    auto share = [tid, team](std::ptrdiff_t count, std::ptrdiff_t& begin, std::ptrdiff_t& end) {
      begin = count * tid / team;
      end = count * (tid + 1) / team;
    };
    auto barrier = [team]() { team_barrier(team); };
    std::ptrdiff_t begin, end;
    for (std::ptrdiff_t jc = 0; jc < n; jc += NC) {
      const std::ptrdiff_t nc = std::min(NC, n - jc);
      const std::ptrdiff_t n_panels = (nc + nr - 1) / nr;
      std::ptrdiff_t pc = 0;
      do {
        const std::ptrdiff_t kc = std::min(KC, k - pc);
        if (pack_b) {
          share(n_panels, begin, end);
          for (std::ptrdiff_t jp = begin; jp < end; ++jp)
            kern.pack_b(b, pc, kc, jc + jp * nr, std::min<std::ptrdiff_t>(nr, nc - jp * nr),
                        packed_b + jp * kc * nr);
        } else if (nc % nr != 0 && tid == 0) {
          const std::ptrdiff_t j_edge = nc / nr * nr;
          kern.pack_b(b, pc, kc, jc + j_edge, nc - j_edge, b_edge);
        }
        if (pack_b || nc % nr != 0) barrier();

        kernels::MacroBlock<T> blk{};
        blk.n = nc;
        blk.kc = kc;
        blk.b_packed = packed_b;
        blk.b_base = pack_b ? nullptr : b.data + b.row(pc) * b.row_stride + jc;
        blk.b_rs = b.row_stride;
        blk.b_edge = b_edge;
        blk.ldc = ldc;
        blk.epilogue = kernels::BlockEpilogue<T>{ep.alpha,      pc == 0 ? ep.beta : T(1),
                                                 pc + kc >= k,  ep.bias ? ep.bias + jc : nullptr,
                                                 ep.activation, nullptr,
                                                 ep.deriv_ld,   ep.deriv_activation,
                                                 nullptr,       ep.add_to_ld,
                                                 ep.update,     nullptr,
                                                 nullptr,       nullptr};

        for (std::ptrdiff_t ic = 0; ic < m; ic += MC) {
          const std::ptrdiff_t mc = std::min(MC, m - ic);
          const std::ptrdiff_t m_panels = (mc + mr - 1) / mr;
          if (pack_a) {
            share(m_panels, begin, end);
            for (std::ptrdiff_t ip = begin; ip < end; ++ip)
              kern.pack_a(a, ic + ip * mr, std::min<std::ptrdiff_t>(mr, mc - ip * mr), pc, kc,
                          packed_a + ip * kc * mr);
            barrier();
          }
          kernels::MacroBlock<T> block = blk;
          block.m = mc;
          block.a_packed = packed_a;
          block.a_base = a.data + pc * a.col_stride + (a.row_index ? 0 : ic * a.row_stride);
          block.a_rs = a.row_stride;
          block.a_cs = a.col_stride;
          block.a_row_index = a.row_index ? a.row_index + ic : nullptr;
          block.c = c + ic * ldc + jc;
          if (ep.deriv_of) block.epilogue.deriv_of = ep.deriv_of + ic * ep.deriv_ld + jc;
          if (ep.add_to) block.epilogue.add_to = ep.add_to + ic * ep.add_to_ld + jc;
          if (ep.update) {
            const auto at = [&](T* p) { return p ? p + ic * ldc + jc : nullptr; };
            block.epilogue.param = at(ep.param);
            block.epilogue.state1 = at(ep.state1);
            block.epilogue.state2 = at(ep.state2);
          }
          share(m_panels * n_panels, begin, end);
          if (begin < end) kern.macro_kernel(block, begin, end);
          barrier();  // the next block rewrites the packed buffers and b_edge
        }
        pc += kc;
      } while (pc < k);
    }
  };

  run_team(threads, run);
}

template <typename T>
void gemm_reference(std::ptrdiff_t m, std::ptrdiff_t n, std::ptrdiff_t k, const MatrixView<T>& a,
                    const MatrixView<T>& b, T* c, std::ptrdiff_t ldc, const Epilogue<T>& ep) {
  if (ep.update) throw std::invalid_argument("gemm_reference: no reference for a fused update");
  for (std::ptrdiff_t i = 0; i < m; ++i) {
    for (std::ptrdiff_t j = 0; j < n; ++j) {
      T acc = T(0);
      for (std::ptrdiff_t p = 0; p < k; ++p) acc += a(i, p) * b(p, j);
      T v = ep.alpha * acc;
      if (ep.beta != T(0)) v += ep.beta * c[i * ldc + j];
      if (ep.bias) v += ep.bias[j];
      v = activate(ep.activation, v);
      if (ep.deriv_of)
        v *= derivative_from_output(ep.deriv_activation, ep.deriv_of[i * ep.deriv_ld + j]);
      c[i * ldc + j] = v;
      if (ep.add_to) ep.add_to[i * ep.add_to_ld + j] += v;
    }
  }
}

#define FASTBP_INSTANTIATE_GEMM(T)                                                                \
  template void gemm<T>(std::ptrdiff_t, std::ptrdiff_t, std::ptrdiff_t, const MatrixView<T>&,     \
                        const MatrixView<T>&, T*, std::ptrdiff_t, const Epilogue<T>&);            \
  template void gemm_reference<T>(std::ptrdiff_t, std::ptrdiff_t, std::ptrdiff_t,                 \
                                  const MatrixView<T>&, const MatrixView<T>&, T*, std::ptrdiff_t, \
                                  const Epilogue<T>&);
FASTBP_INSTANTIATE_GEMM(float)
FASTBP_INSTANTIATE_GEMM(double)
#undef FASTBP_INSTANTIATE_GEMM

}  // namespace fastbp::detail

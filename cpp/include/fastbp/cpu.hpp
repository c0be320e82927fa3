// What fastbp found out about the CPU it runs on and what it chose from it: the vendor and model,
// the cache sizes, the kernel level, and the GEMM's register tile and cache blocking.
#pragma once

#include <cstddef>
#include <string>

namespace fastbp {

struct GemmBlocking {
  int mr = 0, nr = 0;                   // register tile: rows x columns
  std::ptrdiff_t kc = 0, mc = 0, nc = 0;  // cache blocking: depth, rows, columns
};

struct CpuInfo {
  std::string vendor;      // cpuid's vendor string ("AuthenticAMD", "GenuineIntel"); "" off x86
  std::string model_name;  // the brand string, as lscpu shows it
  int family = 0, model = 0;
  std::size_t l1d_bytes = 0, l2_bytes = 0, l3_bytes = 0;  // 0 where the OS does not say
  std::string simd_level;
  bool slow_masked_stores = false;  // AMD: partial rows are stored element by element
  // The most elements of a packed panel one block holds when threads share it.
  std::ptrdiff_t shared_panel_elements = 0;
  GemmBlocking f32, f64;            // at the active level
  // "built in" (per level, from the ISA), or "FASTBP_GEMM_BLOCKING" when the environment
  // variable (e.g. "mc=240,kc=256,nc=2048,panel=131072", for tuning experiments) set any.
  std::string blocking_source;
};

CpuInfo cpu_info();

}  // namespace fastbp

// Thread count used by every parallel kernel of the library.
#pragma once

namespace fastbp {

inline constexpr int kMaxThreads = 1024;

// Defaults to OpenMP's maximum (OMP_NUM_THREADS or the number of cores). The kernels never run
// more threads than there are processors, whatever the setting.
int get_num_threads();
// 1 <= n <= kMaxThreads; throws std::invalid_argument otherwise.
void set_num_threads(int n);

// The SIMD instruction set the kernels run with: "avx512", "avx2" or "portable".
// FASTBP_SIMD=portable|avx2|avx512 in the environment caps it (never raises it above the CPU).
const char* simd_level();
// Forces a level for this process (for tests and benchmarks). Throws std::invalid_argument if
// the CPU lacks it or the name is unknown.
void set_simd_level(const char* name);

}  // namespace fastbp

// CPU feature detection and the choice of kernel set. Compiled without ISA flags, so nothing
// here executes an instruction the CPU may lack.
#include <atomic>
#include <cstdlib>
#include <stdexcept>
#include <string>

#include "fastbp/threading.hpp"
#include "kernels/kernel_table.hpp"

namespace fastbp::kernels {
namespace {

enum Level { kPortable = 0, kAvx2 = 1, kAvx512 = 2 };

Level cpu_level() {
#if defined(FASTBP_HAVE_X86_KERNELS)
  __builtin_cpu_init();
  // __builtin_cpu_supports also checks that the OS saves the wide registers (XGETBV).
  if (__builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512dq") &&
      __builtin_cpu_supports("avx512vl") && __builtin_cpu_supports("avx512bw") &&
      __builtin_cpu_supports("fma"))
    return kAvx512;
  if (__builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma")) return kAvx2;
#endif
  return kPortable;
}

Level parse_level(const std::string& name) {
  if (name == "portable" || name == "scalar") return kPortable;
  if (name == "avx2") return kAvx2;
  if (name == "avx512") return kAvx512;
  throw std::invalid_argument("unknown SIMD level '" + name +
                              "'; expected one of portable, avx2, avx512");
}

// Each table is built the first time its level is chosen, never before: the functions that build
// them are compiled with that level's ISA flags, and the compiler is free to use wide registers
// even to fill in a struct (avx512_kernels() did, with vinserti64x4, and crashed the first call
// into the library on CPUs without AVX-512).
const KernelSet& kernel_set(Level level) {
#if defined(FASTBP_HAVE_X86_KERNELS)
  if (level == kAvx512) {
    static const KernelSet avx512 = avx512_kernels();
    return avx512;
  }
  if (level == kAvx2) {
    static const KernelSet avx2 = avx2_kernels();
    return avx2;
  }
#endif
  (void)level;
  static const KernelSet portable = portable_kernels();
  return portable;
}

Level startup_level() {
  Level level = cpu_level();
  if (const char* forced = std::getenv("FASTBP_SIMD")) {
    try {
      const Level wanted = parse_level(forced);
      if (wanted < level) level = wanted;
    } catch (const std::invalid_argument&) {
      // An unknown value in the environment must not stop the library from loading; the
      // detected level stays.
    }
  }
  return level;
}

std::atomic<const KernelSet*>& active() {
  static std::atomic<const KernelSet*> set{&kernel_set(startup_level())};
  return set;
}

}  // namespace

const KernelSet& active_kernels() {
  return *active().load(std::memory_order_acquire);
}

template <>
const GemmKernel<float>& gemm_kernel<float>() {
  return active_kernels().f32;
}
template <>
const GemmKernel<double>& gemm_kernel<double>() {
  return active_kernels().f64;
}

}  // namespace fastbp::kernels

namespace fastbp {

const char* simd_level() {
  return kernels::active_kernels().name;
}

void set_simd_level(const char* name) {
  using namespace kernels;
  const Level wanted = parse_level(name ? name : "");
  if (wanted > cpu_level())
    throw std::invalid_argument(std::string("this CPU does not support SIMD level '") + name + "'");
  active().store(&kernel_set(wanted), std::memory_order_release);
}

}  // namespace fastbp

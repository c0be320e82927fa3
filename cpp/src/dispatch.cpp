// CPU feature detection and the table of kernel pointers. Compiled without ISA flags: nothing here
// executes an instruction the CPU may lack, and the tables are filled in here, not in the kernel
// files (a table built in a file compiled with -mavx512f used zmm registers to fill in the struct
// and crashed the first call on CPUs without AVX-512).
#include <algorithm>
#include <atomic>
#include <cctype>
#include <cstdlib>
#include <stdexcept>
#include <string>
#include <vector>

#include "fastbp/threading.hpp"
#include "kernels/kernel_table.hpp"

namespace fastbp::kernels {

// Read by every kernel on every core: a cache line of its own.
alignas(64) CpuTuning cpu_tuning;

namespace {

// Best first; the scalar reference set last, as oneDNN keeps its reference implementations.
enum Level { kReference = 0, kPortable = 1, kAvx2 = 2, kAvx512 = 3 };
constexpr const char* kLevelNames[] = {"reference", "portable", "avx2", "avx512"};

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

// Case-insensitive; "scalar" is the old name of the portable level. -1 when unknown.
int find_level(std::string name) {
  std::transform(name.begin(), name.end(), name.begin(),
                 [](unsigned char c) { return char(std::tolower(c)); });
  if (name == "scalar") return kPortable;
  for (int level = kReference; level <= kAvx512; ++level)
    if (name == kLevelNames[level]) return level;
  return -1;
}

#define FASTBP_KERNEL_TABLE(isa, T, nr, nc)                                                   \
  KernelTable<T> {                                                                            \
    isa::kIsa.mr, nr, isa::kIsa.kc, isa::kIsa.mc, nc, &isa::gemm_forward<T>,                  \
        &isa::gemm_backward_data<T>, &isa::gemm_backward_weights<T>, &isa::pack_a<T>,         \
        &isa::pack_b<T>, &isa::online_forward<T>, &isa::online_backward_sgd<T>,               \
        &isa::online_backward_rule<T>, &isa::apply_update<T>, &isa::all_finite<T>,            \
        &isa::sparse_forward<T>, &isa::sparse_scatter<T>                                       \
  }
#define FASTBP_SIMD_KERNEL_SET(isa)                                                              \
  KernelSet {                                                                                    \
    #isa, FASTBP_KERNEL_TABLE(isa, float, 2 * isa::kIsa.vector_bytes / 4, isa::kIsa.nc_f32),     \
        FASTBP_KERNEL_TABLE(isa, double, 2 * isa::kIsa.vector_bytes / 8, isa::kIsa.nc_f64)       \
  }

template <typename T>
KernelTable<T> reference_table() {
  using namespace reference;
  return {kMR,
          kNR,
          kKC,
          kMC,
          kNC,
          &gemm_forward<T>,
          &gemm_backward_data<T>,
          &gemm_backward_weights<T>,
          &pack_a<T>,
          &pack_b<T>,
          &online_forward<T>,
          &online_backward_sgd<T>,
          &online_backward_rule<T>,
          &apply_update<T>,
          &all_finite<T>,
          &sparse_forward<T>,
          &sparse_scatter<T>};
}

const KernelSet& kernel_set(Level level) {
  switch (level) {
#if defined(FASTBP_HAVE_X86_KERNELS)
    case kAvx512: {
      static const KernelSet set = FASTBP_SIMD_KERNEL_SET(avx512);
      return set;
    }
    case kAvx2: {
      static const KernelSet set = FASTBP_SIMD_KERNEL_SET(avx2);
      return set;
    }
#endif
    case kReference: {
      static const KernelSet set{"reference", reference_table<float>(), reference_table<double>()};
      return set;
    }
    default: {
      static const KernelSet set = FASTBP_SIMD_KERNEL_SET(portable);
      return set;
    }
  }
}

// FASTBP_SIMD caps the level (never raising it above the CPU's). An unknown value must not stop
// the library from loading: the detected level stays, and the value is kept for the Python
// package to warn about.
std::string& unrecognised_request() {
  static std::string value;
  return value;
}

CpuTuning tuning_for_this_cpu() {
  CpuTuning t;
#if defined(FASTBP_HAVE_X86_KERNELS)
  __builtin_cpu_init();
  t.slow_masked_stores = __builtin_cpu_is("amd");
#endif
  return t;
}

Level startup_level() {
  cpu_tuning = tuning_for_this_cpu();
  Level level = cpu_level();
  if (const char* requested = std::getenv("FASTBP_SIMD")) {
    const int wanted = find_level(requested);
    if (wanted < 0)
      unrecognised_request() = requested;
    else if (wanted < level)
      level = Level(wanted);
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
const KernelTable<float>& kernel_table<float>() {
  return active_kernels().f32;
}
template <>
const KernelTable<double>& kernel_table<double>() {
  return active_kernels().f64;
}

}  // namespace fastbp::kernels

namespace fastbp {

const char* simd_level() {
  return kernels::active_kernels().name;
}

std::vector<std::string> available_simd_levels() {
  std::vector<std::string> levels;
  for (int level = kernels::cpu_level(); level >= kernels::kReference; --level)
    levels.push_back(kernels::kLevelNames[level]);
  return levels;
}

std::string unrecognised_simd_request() {
  (void)kernels::active();
  return kernels::unrecognised_request();
}

void set_simd_level(const char* name) {
  using namespace kernels;
  const int wanted = find_level(name ? name : "");
  if (wanted < 0)
    throw std::invalid_argument(std::string("unknown SIMD level '") + (name ? name : "") +
                                "'; expected one of reference, portable, avx2, avx512");
  if (wanted > cpu_level())
    throw std::invalid_argument(std::string("this CPU does not support SIMD level '") + name + "'");
  active().store(&kernel_set(Level(wanted)), std::memory_order_release);
}

}  // namespace fastbp

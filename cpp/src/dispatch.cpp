// CPU feature detection and the table of kernel pointers. Compiled without ISA flags: nothing here
// executes an instruction the CPU may lack, and the tables are filled in here, not in the kernel
// files (a table built in a file compiled with -mavx512f used zmm registers to fill in the struct
// and crashed the first call on CPUs without AVX-512).
#include <algorithm>
#include <atomic>
#include <cctype>
#include <cstdlib>
#include <cstring>
#include <stdexcept>
#include <string>
#include <vector>

#include <unistd.h>
#if defined(FASTBP_HAVE_X86_KERNELS)
#include <cpuid.h>
#endif

#include "fastbp/cpu.hpp"
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

#define FASTBP_KERNEL_TABLE(isa, T, nr, nc)                                                      \
  KernelTable<T> {                                                                               \
    isa::kIsa.mr, nr, isa::kIsa.kc, isa::kIsa.mc, nc, &isa::gemm_forward<T>,                     \
        &isa::gemm_backward_data<T>, &isa::gemm_backward_weights<T>,                             \
        &isa::gemm_backward_weights_thin<T>, &isa::pack_a<T>, &isa::pack_b<T>,                   \
        &isa::online_forward<T>, &isa::online_backward_sgd<T>, &isa::online_first_layer_pass<T>, \
        &isa::online_backward_rule<T>, &isa::online_backward_gradient<T>, &isa::apply_update<T>, \
        &isa::all_finite<T>, &isa::sparse_forward<T>, &isa::sparse_scatter<T>                    \
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
          &gemm_backward_weights_thin<T>,
          &pack_a<T>,
          &pack_b<T>,
          &online_forward<T>,
          &online_backward_sgd<T>,
          &online_first_layer_pass<T>,
          &online_backward_rule<T>,
          &online_backward_gradient<T>,
          &apply_update<T>,
          &all_finite<T>,
          &sparse_forward<T>,
          &sparse_scatter<T>};
}

// FASTBP_GEMM_BLOCKING="mc=240,kc=256,nc=2048" (any of them) overrides the SIMD levels' cache
// blocking, for tuning experiments on a new CPU; mc and nc are rounded up to whole tiles. Names
// it does not know and values below 1 are ignored.
bool& blocking_overridden() {
  static bool value = false;
  return value;
}

// The value FASTBP_GEMM_BLOCKING gives `name`, or 0 (absent or below 1).
long long blocking_setting(const std::string& name) {
  const char* spec = std::getenv("FASTBP_GEMM_BLOCKING");
  const std::string text = spec ? spec : "";
  long long value = 0;
  for (std::size_t at = 0; at < text.size();) {
    const std::size_t end = std::min(text.find(',', at), text.size());
    const std::string item = text.substr(at, end - at);
    at = end + 1;
    if (item.compare(0, name.size() + 1, name + "=") == 0)
      value = std::max(0LL, std::atoll(item.c_str() + name.size() + 1));
  }
  if (value > 0) blocking_overridden() = true;
  return value;
}

template <typename T>
void override_blocking(KernelTable<T>& table) {
  if (const long long kc = blocking_setting("kc")) table.kc = kc;
  if (const long long mc = blocking_setting("mc"))
    table.mc = (mc + table.mr - 1) / table.mr * table.mr;
  if (const long long nc = blocking_setting("nc"))
    table.nc = (nc + table.nr - 1) / table.nr * table.nr;
}

KernelSet with_blocking_override(KernelSet set) {
  override_blocking(set.f32);
  override_blocking(set.f64);
  return set;
}

const KernelSet& kernel_set(Level level) {
  switch (level) {
#if defined(FASTBP_HAVE_X86_KERNELS)
    case kAvx512: {
      static const KernelSet set = with_blocking_override(FASTBP_SIMD_KERNEL_SET(avx512));
      return set;
    }
    case kAvx2: {
      static const KernelSet set = with_blocking_override(FASTBP_SIMD_KERNEL_SET(avx2));
      return set;
    }
#endif
    case kReference: {
      static const KernelSet set{"reference", reference_table<float>(), reference_table<double>()};
      return set;
    }
    default: {
      static const KernelSet set = with_blocking_override(FASTBP_SIMD_KERNEL_SET(portable));
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
  if (const long long panel = blocking_setting("panel")) t.shared_panel_elements = panel;
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

namespace {

std::size_t cache_bytes(int level) {
#if defined(_SC_LEVEL1_DCACHE_SIZE)
  const int name = level == 1   ? _SC_LEVEL1_DCACHE_SIZE
                   : level == 2 ? _SC_LEVEL2_CACHE_SIZE
                                : _SC_LEVEL3_CACHE_SIZE;
  const long bytes = sysconf(name);
  return bytes > 0 ? std::size_t(bytes) : 0;
#else
  (void)level;
  return 0;
#endif
}

template <typename T>
GemmBlocking blocking_of(const kernels::KernelTable<T>& t) {
  return {t.mr, t.nr, t.kc, t.mc, t.nc};
}

}  // namespace

CpuInfo cpu_info() {
  CpuInfo info;
#if defined(FASTBP_HAVE_X86_KERNELS)
  unsigned a = 0, b = 0, c = 0, d = 0;
  if (__get_cpuid(0, &a, &b, &c, &d)) {
    char vendor[13] = {};
    std::memcpy(vendor, &b, 4);
    std::memcpy(vendor + 4, &d, 4);
    std::memcpy(vendor + 8, &c, 4);
    info.vendor = vendor;
  }
  if (__get_cpuid(1, &a, &b, &c, &d)) {
    const unsigned base_family = (a >> 8) & 0xf, base_model = (a >> 4) & 0xf;
    info.family = int(base_family + (base_family == 0xf ? (a >> 20) & 0xff : 0));
    info.model = int(base_model | (base_family >= 0x6 ? ((a >> 16) & 0xf) << 4 : 0));
  }
  unsigned top = 0;
  if (__get_cpuid(0x80000000, &top, &b, &c, &d) && top >= 0x80000004) {
    char brand[49] = {};
    for (unsigned leaf = 0; leaf < 3; ++leaf) {
      unsigned r[4];
      __get_cpuid(0x80000002 + leaf, &r[0], &r[1], &r[2], &r[3]);
      std::memcpy(brand + 16 * leaf, r, 16);
    }
    info.model_name = brand;
    const auto first = info.model_name.find_first_not_of(' ');
    info.model_name = first == std::string::npos ? "" : info.model_name.substr(first);
    while (!info.model_name.empty() && info.model_name.back() == ' ') info.model_name.pop_back();
  }
#endif
  info.l1d_bytes = cache_bytes(1);
  info.l2_bytes = cache_bytes(2);
  info.l3_bytes = cache_bytes(3);
  info.simd_level = simd_level();
  info.slow_masked_stores = kernels::cpu_tuning.slow_masked_stores;
  info.shared_panel_elements = kernels::cpu_tuning.shared_panel_elements;
  info.f32 = blocking_of(kernels::kernel_table<float>());
  info.f64 = blocking_of(kernels::kernel_table<double>());
  info.blocking_source = kernels::blocking_overridden() ? "FASTBP_GEMM_BLOCKING" : "built in";
  return info;
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

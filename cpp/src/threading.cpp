#include "fastbp/threading.hpp"

#include <algorithm>
#include <atomic>
#include <stdexcept>
#include <string>

#include "threading_internal.hpp"

#if defined(_OPENMP)
#include <omp.h>
#endif

namespace fastbp {
namespace {

int available_processors() {
#if defined(_OPENMP)
  return std::max(omp_get_num_procs(), 1);
#else
  return 1;
#endif
}

int default_threads() {
#if defined(_OPENMP)
  return omp_get_max_threads();
#else
  return 1;
#endif
}

std::atomic<int>& thread_setting() {
  static std::atomic<int> n{default_threads()};
  return n;
}

}  // namespace

int get_num_threads() {
  return thread_setting().load(std::memory_order_relaxed);
}

void set_num_threads(int n) {
  if (n < 1 || n > kMaxThreads)
    throw std::invalid_argument("number of threads must be in [1, " + std::to_string(kMaxThreads) +
                                "], got " + std::to_string(n));
  thread_setting().store(n, std::memory_order_relaxed);
}

namespace detail {

int threads_for_work(double flops, double min_flops_per_thread) {
  // More threads than processors only adds context switches to every barrier.
  static const int processors = available_processors();
  const int n = std::min(get_num_threads(), processors);
  if (n <= 1 || flops < 2 * min_flops_per_thread) return 1;
  const int useful = int(flops / min_flops_per_thread);
  return useful < n ? useful : n;
}

}  // namespace detail
}  // namespace fastbp

#include "fastbp/threading.hpp"

#include <atomic>
#include <stdexcept>
#include <string>

#include "threading_internal.hpp"

#if defined(_OPENMP)
#include <omp.h>
#endif

namespace fastbp {
namespace {

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
  if (n < 1)
    throw std::invalid_argument("number of threads must be >= 1, got " + std::to_string(n));
  thread_setting().store(n, std::memory_order_relaxed);
}

namespace detail {

int threads_for_work(double flops) {
  const int n = get_num_threads();
  // Below this a fork/join costs more than the second core saves.
  constexpr double kMinFlopsPerThread = 2.0e5;
  if (n <= 1 || flops < 2 * kMinFlopsPerThread) return 1;
  const int useful = int(flops / kMinFlopsPerThread);
  return useful < n ? useful : n;
}

}  // namespace detail
}  // namespace fastbp

// The thread setting, the work thresholds, fork safety and the record of team sizes.
#include "fastbp/threading.hpp"

#include <pthread.h>
#include <sys/resource.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cmath>
#include <mutex>
#include <stdexcept>
#include <string>

#include "load_monitor.hpp"
#include "threading_internal.hpp"

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

// Each on a cache line of its own: largest_team is written by the thread starting a team, and a
// neighbour read by the kernels on another core would be evicted from its cache every time.
// Negative: each kernel's own measured threshold.
alignas(64) std::atomic<double> threshold_override{-1.0};
// Set once this process (or, inherited through fork, an ancestor) has started an OpenMP team.
alignas(64) std::atomic<bool> team_pool_exists{false};
// Set in a child forked after that: its OpenMP pool has no threads, so it must never start a team.
alignas(64) std::atomic<bool> forked_after_teams{false};
alignas(64) std::atomic<int> largest_team{1};

// The monitor is updated under its mutex once per team; the kernels read only the end of the
// current back-off, from an atomic of its own.
alignas(64) std::atomic<bool> adapt_to_load{true};
alignas(64) std::atomic<std::int64_t> back_off_until{INT64_MIN};
// copies for load_adaptation, lock-free
std::atomic<long long> late_signals{0}, back_offs{0}, false_alarms{0};
std::mutex monitor_mutex;
detail::LoadMonitor& monitor() {
  static detail::LoadMonitor m;
  return m;
}

// What the kernels read: the end of the monitor's back-off while there is one. The end itself is
// only the latest one (a back-off ends sooner, once the library has run its length on one
// thread), so it must not outlive the back-off.
void publish_back_off(const detail::LoadMonitor& m, std::int64_t now_ns) {
  back_off_until.store(m.backing_off(now_ns) ? m.back_off_until_ns() : INT64_MIN,
                       std::memory_order_relaxed);
}

void on_fork_child() {
  if (team_pool_exists.load(std::memory_order_relaxed))
    forked_after_teams.store(true, std::memory_order_relaxed);
}

// Registered when the library is loaded, before any team can exist.
const bool fork_handler_registered = [] {
  return pthread_atfork(nullptr, nullptr, &on_fork_child) == 0;
}();

}  // namespace

int get_num_threads() {
  if (forked_after_teams.load(std::memory_order_relaxed)) return 1;
  return thread_setting().load(std::memory_order_relaxed);
}

void set_num_threads(int n) {
  if (n < 1 || n > kMaxThreads)
    throw std::invalid_argument("set_num_threads: n must be in [1, " +
                                std::to_string(kMaxThreads) + "], got " + std::to_string(n));
  thread_setting().store(n, std::memory_order_relaxed);
}

bool threads_disabled_by_fork() {
  (void)fork_handler_registered;
  return forked_after_teams.load(std::memory_order_relaxed);
}

void set_parallel_threshold(double flops_per_thread) {
  if (!std::isfinite(flops_per_thread))
    throw std::invalid_argument("set_parallel_threshold: expected a finite number, got " +
                                std::to_string(flops_per_thread));
  threshold_override.store(flops_per_thread < 0 ? -1.0 : flops_per_thread,
                           std::memory_order_relaxed);
}

double parallel_threshold() {
  return threshold_override.load(std::memory_order_relaxed);
}

int threads_used() {
  return largest_team.load(std::memory_order_relaxed);
}

void reset_threads_used() {
  largest_team.store(1, std::memory_order_relaxed);
}

void set_adapt_to_load(bool on) {
  adapt_to_load.store(on, std::memory_order_relaxed);
  if (on) return;
  // The monitor's back-off ends too: its budget of one-thread time would otherwise be published
  // again by the first team after adaptation is back on.
  std::lock_guard<std::mutex> lock(monitor_mutex);
  monitor().end_back_off();
  back_off_until.store(INT64_MIN, std::memory_order_relaxed);
}

bool adapts_to_load() { return adapt_to_load.load(std::memory_order_relaxed); }

LoadAdaptation load_adaptation() {
  LoadAdaptation a;
  a.late_signals = late_signals.load(std::memory_order_relaxed);
  a.back_offs = back_offs.load(std::memory_order_relaxed);
  a.false_alarms = false_alarms.load(std::memory_order_relaxed);
  a.backing_off = adapts_to_load() &&
                  detail::team_clock_ns() < back_off_until.load(std::memory_order_relaxed);
  return a;
}

namespace detail {

int threads_for_work(double flops, double min_flops_per_thread) {
  // More threads than processors only adds context switches to every barrier.
  static const int processors = available_processors();
  const int n = std::min(get_num_threads(), processors);
  if (n <= 1) return 1;
  const double forced = threshold_override.load(std::memory_order_relaxed);
  const double per_thread = forced >= 0 ? forced : min_flops_per_thread;
  if (per_thread <= 0) return n;
  if (flops < 2 * per_thread) return 1;
  const double useful = flops / per_thread;
  return useful < double(n) ? int(useful) : n;
}

void note_team_starting() {
  if (!team_pool_exists.load(std::memory_order_relaxed))  // written once, not at every team
    team_pool_exists.store(true, std::memory_order_relaxed);
}

bool backing_off_now() {
  return adapt_to_load.load(std::memory_order_relaxed) &&
         team_clock_ns() < back_off_until.load(std::memory_order_relaxed);
}

void back_off_for(std::int64_t ns) {
  std::lock_guard<std::mutex> lock(monitor_mutex);
  LoadMonitor& m = monitor();
  const std::int64_t now = team_clock_ns();
  m.back_off_for(now, ns);
  publish_back_off(m, now);
}

std::int64_t team_clock_ns() {
  return std::chrono::duration_cast<std::chrono::nanoseconds>(
             std::chrono::steady_clock::now().time_since_epoch())
      .count();
}

// Preemptions of the calling thread since its previous sample, sampled at most every 5 ms (a
// getrusage call costs about a microsecond); 0 when the last sample is older than 50 ms (the
// thread was idle or on one thread in between: nothing to compare).
int recent_preemptions(std::int64_t now_ns) {
#if defined(RUSAGE_THREAD)
  constexpr std::int64_t kEvery = 5'000'000, kStale = 50'000'000;
  thread_local std::int64_t last_sample = INT64_MIN / 2;
  thread_local long last_count = 0;
  if (now_ns - last_sample < kEvery) return 0;
  rusage usage{};
  if (getrusage(RUSAGE_THREAD, &usage) != 0) return 0;
  const long count = usage.ru_nivcsw;
  const int preempted = now_ns - last_sample <= kStale ? int(count - last_count) : 0;
  last_sample = now_ns;
  last_count = count;
  return preempted;
#else
  (void)now_ns;
  return 0;
#endif
}

void note_solo_timing(std::int64_t start_ns, std::int64_t end_ns, double work) {
  std::lock_guard<std::mutex> lock(monitor_mutex);
  LoadMonitor& m = monitor();
  m.record_solo(end_ns, end_ns - start_ns, work);
  publish_back_off(m, end_ns);
}

void note_team_timing(std::int64_t start_ns, std::int64_t end_ns, std::int64_t lost_ns,
                      double work) {
  if (!adapt_to_load.load(std::memory_order_relaxed)) return;
  const bool preempted = recent_preemptions(end_ns) >= 3;
  std::lock_guard<std::mutex> lock(monitor_mutex);
  LoadMonitor& m = monitor();
  m.record(start_ns, end_ns - start_ns, lost_ns, preempted, work);
  publish_back_off(m, end_ns);
  late_signals.store(m.late_signals(), std::memory_order_relaxed);
  back_offs.store(m.back_offs(), std::memory_order_relaxed);
  false_alarms.store(m.false_alarms(), std::memory_order_relaxed);
}

void note_team_size(int size) {
  int seen = largest_team.load(std::memory_order_relaxed);
  while (size > seen &&
         !largest_team.compare_exchange_weak(seen, size, std::memory_order_relaxed)) {
  }
}

}  // namespace detail
}  // namespace fastbp

// Thread teams: every parallel region of the library starts here, so the rules that keep threads
// safe and worth their cost live in one place: how many threads a piece of work gets, one thread
// without any OpenMP call, and no team at all in a process forked after teams ran (GNU OpenMP
// keeps its thread pool in the forking thread's state; the child inherits the pool but not its
// threads, and the first team would wait for them forever).
#pragma once

#include <algorithm>
#include <atomic>
#include <cstddef>
#include <cstdint>
#include <utility>

#if defined(_OPENMP)
#include <omp.h>
#endif

namespace fastbp::detail {

// Below this much work per thread, a fork/join of a single-pass kernel costs more than the
// second core saves.
inline constexpr double kMinFlopsPerThread = 2.0e5;

// How many threads a piece of work of this many flops should use: 1 below the break-even (the
// measured `min_flops_per_thread`, or the threshold set by set_parallel_threshold), never more
// than the setting or the processors, and 1 in a child forked after this process ran teams.
// Kernels plan their blocking for this count whatever the load; run_team may then run the plan
// on one thread (see backing_off_now), so results do not depend on how busy the machine is.
int threads_for_work(double flops, double min_flops_per_thread = kMinFlopsPerThread);

// Bookkeeping of run_team: the pool now exists (what a fork must know), and the team's size
// (what tests read back through threads_used()).
void note_team_starting();
void note_team_size(int size);

// The load monitor's view of a team (load_monitor.hpp): a steady clock, and the time the team
// lost waiting for members that were off their cores: the last member's late start, the longest
// any member waited at the team's barriers, and the spread of the members' finishing times.
std::int64_t team_clock_ns();
// True while the load monitor has the kernels on one thread; back_off_for(ns) starts such a
// period (tests use it to check that results do not change).
bool backing_off_now();
void back_off_for(std::int64_t ns);
// `work`: what run_team was given (a GEMM's flops, or 0).
void note_team_timing(std::int64_t start_ns, std::int64_t end_ns, std::int64_t lost_ns,
                      double work);
// Work that a team would have done, run on one thread because the monitor backs off.
void note_solo_timing(std::int64_t start_ns, std::int64_t end_ns, double work);
// This thread's wait at team_barrier since its team started.
inline thread_local std::int64_t barrier_wait_ns = 0;

inline void atomic_max(std::atomic<std::int64_t>& a, std::int64_t v) {
  std::int64_t seen = a.load(std::memory_order_relaxed);
  while (v > seen && !a.compare_exchange_weak(seen, v, std::memory_order_relaxed)) {
  }
}

inline void atomic_min(std::atomic<std::int64_t>& a, std::int64_t v) {
  std::int64_t seen = a.load(std::memory_order_relaxed);
  while (v < seen && !a.compare_exchange_weak(seen, v, std::memory_order_relaxed)) {
  }
}

// The static work split of every team: [begin, end) of `total` items for member t of `team`,
// contiguous and in whole multiples of `grain` (but the last, which ends at total), so that with
// a grain of a cache line no two members write the same line.
inline std::pair<std::ptrdiff_t, std::ptrdiff_t> share(std::ptrdiff_t total, int t, int team,
                                                       std::ptrdiff_t grain = 1) {
  const std::ptrdiff_t units = (total + grain - 1) / grain;
  return {std::min(total, units * t / team * grain),
          std::min(total, units * (t + 1) / team * grain)};
}

// Runs body(thread_index, team_size) on `threads` threads; with one, on the calling thread with
// no OpenMP call at all. The body may call team_barrier(team_size). While the machine is busy
// (backing_off_now) the body runs as a team of one: the same work, split the same way by what it
// plans, in the same arithmetic. `work`: the GEMM's flops, from which the load monitor compares
// what teams and one thread get done per second; 0 for other work (elementwise passes, sparse
// layers, online kernels), whose rates differ too much from a GEMM's to share one measure.
template <typename Body>
void run_team(int threads, double work, Body&& body) {
#if defined(_OPENMP)
  if (threads > 1 && backing_off_now()) {
    const std::int64_t start = team_clock_ns();
    body(0, 1);
    note_solo_timing(start, team_clock_ns(), work);
    return;
  }
  if (threads > 1) {
    note_team_starting();
    const std::int64_t start = team_clock_ns();
    std::atomic<std::int64_t> last_start{start}, longest_wait{0}, first_end{INT64_MAX}, last_end{0};
#pragma omp parallel num_threads(threads)
    {
      const int index = omp_get_thread_num(), size = omp_get_num_threads();
      if (index == 0)
        note_team_size(size);
      else
        atomic_max(last_start, team_clock_ns());
      barrier_wait_ns = 0;
      body(index, size);
      const std::int64_t end = team_clock_ns();
      atomic_max(longest_wait, barrier_wait_ns);
      atomic_max(last_end, end);
      atomic_min(first_end, end);
    }
    note_team_timing(
        start, team_clock_ns(),
        (last_start.load() - start) + longest_wait.load() + (last_end.load() - first_end.load()),
        work);
    return;
  }
#endif
  (void)threads;
  (void)work;
  body(0, 1);
}

inline void team_barrier(int team_size) {
#if defined(_OPENMP)
  if (team_size > 1) {
    const std::int64_t before = team_clock_ns();
#pragma omp barrier
    barrier_wait_ns += team_clock_ns() - before;
  }
#else
  (void)team_size;
#endif
}

}  // namespace fastbp::detail

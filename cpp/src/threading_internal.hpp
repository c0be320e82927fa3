// Thread teams: every parallel region of the library starts here, so the rules that keep threads
// safe and worth their cost live in one place: how many threads a piece of work gets, one thread
// without any OpenMP call, and no team at all in a process forked after teams ran (GNU OpenMP
// keeps its thread pool in the forking thread's state; the child inherits the pool but not its
// threads, and the first team would wait for them forever).
#pragma once

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
int threads_for_work(double flops, double min_flops_per_thread = kMinFlopsPerThread);

// Bookkeeping of run_team: the pool now exists (what a fork must know), and the team's size
// (what tests read back through threads_used()).
void note_team_starting();
void note_team_size(int size);

// Runs body(thread_index, team_size) on `threads` threads; with one, on the calling thread with
// no OpenMP call at all. The body may call team_barrier(team_size).
template <typename Body>
void run_team(int threads, Body&& body) {
#if defined(_OPENMP)
  if (threads > 1) {
    note_team_starting();
#pragma omp parallel num_threads(threads)
    {
      const int index = omp_get_thread_num(), size = omp_get_num_threads();
      if (index == 0) note_team_size(size);
      body(index, size);
    }
    return;
  }
#endif
  (void)threads;
  body(0, 1);
}

inline void team_barrier(int team_size) {
#if defined(_OPENMP)
  if (team_size > 1) {
#pragma omp barrier
  }
#else
  (void)team_size;
#endif
}

}  // namespace fastbp::detail

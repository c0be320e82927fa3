// Threads and SIMD level used by every kernel of the library.
#pragma once

#include <string>
#include <vector>

namespace fastbp {

inline constexpr int kMaxThreads = 1024;

// Defaults to OpenMP's maximum (OMP_NUM_THREADS or the number of cores). The kernels never run
// more threads than there are processors, whatever the setting. In a process forked after this
// one (or an ancestor) ran thread teams, get_num_threads() is 1 whatever the setting: see
// threads_disabled_by_fork().
int get_num_threads();
// 1 <= n <= kMaxThreads; throws std::invalid_argument otherwise.
void set_num_threads(int n);

// True in a child process forked after fastbp ran thread teams in this process's ancestry. GNU
// OpenMP keeps its thread pool in the state of the thread that forked, and the child inherits
// the pool without its threads: the first team would wait for them forever. Such a child trains
// and predicts on one thread (as PyTorch does); start children with "spawn" or "forkserver" to
// give them threads.
bool threads_disabled_by_fork();

// Each parallel kernel goes parallel only above a measured amount of work per thread (a product
// of 1.5 MFLOP per thread for the GEMMs). set_parallel_threshold(f) replaces those thresholds by
// f flops per thread (0: every kernel uses every thread it may, as tests do to exercise the
// threaded paths on small data); a negative value restores the measured thresholds.
void set_parallel_threshold(double flops_per_thread);
// The threshold set by set_parallel_threshold, or a negative value for the measured ones.
double parallel_threshold();

// Busy machines: while other processes compete for the cores, a team member is often off its core
// and every barrier waits for it, so teams run slower than one thread. The library notices late
// teams and runs its kernels on one thread for a while (from 50 ms, doubling while it lasts, up
// to 2 s, and at least ten times what the late teams waited; counted in the library's own time
// on one thread, so idle time does not end it, though about 10 s of the clock does), then tries
// its threads again. It measures the work one thread gets done meanwhile, and late teams that
// still beat that keep their threads (a host whose other tenants take a core away now and then);
// with no such measurement fresh, the first late teams start a 20 ms probe that takes it. On by
// default; set_adapt_to_load(false) ends any back-off and keeps every team at the size the work
// asks for (tests that must take the threaded paths do this).
void set_adapt_to_load(bool on);
bool adapts_to_load();
struct LoadAdaptation {
  long long late_signals = 0;  // windows of teams that mostly waited, preempted callers
  long long back_offs = 0;   // times the kernels went to one thread
  // late signals ignored because the teams still got more done per second than one thread
  long long false_alarms = 0;
  bool backing_off = false;  // on one thread now
};
LoadAdaptation load_adaptation();

// The largest thread team any kernel ran since reset_threads_used() (1 if none): what tests read
// to know that the threaded paths were really taken.
int threads_used();
void reset_threads_used();

// The kernel level the library runs with: "avx512", "avx2", "portable" (the vector width every
// CPU has) or "reference" (plain scalar loops, the oracle the others are tested against; never
// chosen unless asked for). FASTBP_SIMD=reference|portable|avx2|avx512 in the environment caps it
// (never raising it above the CPU's).
const char* simd_level();
// Every level this CPU can run, best first (the reference set last).
std::vector<std::string> available_simd_levels();
// The value of FASTBP_SIMD if it names no level (it was ignored), else "".
std::string unrecognised_simd_request();
// Forces a level for this process (for tests and benchmarks). Throws std::invalid_argument if
// the CPU lacks it or the name is unknown.
void set_simd_level(const char* name);

}  // namespace fastbp

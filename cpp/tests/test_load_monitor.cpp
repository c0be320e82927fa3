// The load monitor's decisions (load_monitor.hpp) on made-up team timings: a quiet machine and a
// woken thread's start-up only ever probe one thread's rate, briefly; late teams back off, for
// longer while trials keep failing, and from the start again once teams run on time; late teams
// that still get more done than one thread did keep their threads.
#include <cstdint>
#include <random>
#include <thread>
#include <vector>

#include "check.hpp"
#include "fastbp/fastbp.hpp"
#include "load_monitor.hpp"
#include "threading_internal.hpp"

using fastbp::detail::LoadMonitor;

namespace {

constexpr std::int64_t kUs = 1000, kMs = 1000 * kUs;

// At most a probe of kProbeNs per kSoloFresh: 20 ms on one thread in 5 s.
void test_quiet_machine_only_probes() {
  LoadMonitor m;
  std::int64_t now = 0, on_one_thread = 0;
  for (int i = 0; i < 50000; ++i, now += 200 * kUs) {
    // lateness of a spinning thread, of a woken one; every 100 ms a member preempted for a
    // whole long team (a shared machine's hiccup), and a preemption sample of the caller
    const bool hiccup = i % 500 == 0;
    const std::int64_t wall = hiccup ? 4 * kMs : 100 * kUs;
    const std::int64_t lost = hiccup ? 3 * kMs : (i % 3 == 0 ? 30 * kUs : 2 * kUs);
    if (m.backing_off(now)) {  // the same work on one thread
      m.record_solo(now, 200 * kUs, 0);
      on_one_thread += 200 * kUs;
      continue;
    }
    m.record(now, wall, lost, i % 500 == 250);
  }
  CHECK(m.back_offs() == m.probes());
  CHECK(m.probes() >= 1 && m.probes() <= 2);  // 10 s
  CHECK(on_one_thread <= m.probes() * (LoadMonitor::kProbeNs + 5 * kMs));
  CHECK(m.late_signals() >= 40);  // each preemption sample is a signal, on its own harmless
}

// Runs on one thread that say no work, until the back-off has had its length of them.
std::int64_t end_back_off(LoadMonitor& m, std::int64_t now) {
  for (; m.backing_off(now); now += 5 * kMs) m.record_solo(now, 5 * kMs, 0);
  return now;
}

// Teams of 5 ms that wait 2 ms for a member: every window of two teams is late, and waits less
// than a tenth of the first back-off.
std::int64_t run_late_teams(LoadMonitor& m, std::int64_t now, int teams) {
  for (int i = 0; i < teams && !m.backing_off(now); ++i, now += 6 * kMs)
    m.record(now, 5 * kMs, 2 * kMs);
  return now;
}

void test_late_teams_back_off_longer_while_trials_fail() {
  LoadMonitor m;
  std::int64_t now = 0;
  // The first late window, with no rate of one thread to judge it by, starts a probe.
  m.record(now, 5 * kMs, 2 * kMs);
  m.record(now + 6 * kMs, 5 * kMs, 2 * kMs);
  CHECK(m.probes() == 1);
  CHECK(m.solo_left_ns() == LoadMonitor::kProbeNs);
  // These teams say no work, so the probe measured nothing: its trial is judged by lateness,
  // where one late window is not yet a busy machine.
  now = end_back_off(m, now + 12 * kMs);
  m.record(now, 5 * kMs, 2 * kMs);
  m.record(now + 6 * kMs, 5 * kMs, 2 * kMs);
  CHECK(!m.backing_off(now + 6 * kMs));
  now = run_late_teams(m, now + 12 * kMs, 10);
  CHECK(m.back_offs() == 2);
  CHECK(m.backing_off(now));
  CHECK(m.current_back_off_ns() == LoadMonitor::kFirstBackOffNs);  // the probe does not double it
  std::int64_t expected = LoadMonitor::kFirstBackOffNs;
  for (int trial = 0; trial < 8; ++trial) {
    // Time alone does not end a back-off: the library must have run its length on one thread.
    CHECK(m.backing_off(now + LoadMonitor::kIdleCreditNs / 2));
    now = end_back_off(m, now);  // the threads are tried again
    CHECK(!m.backing_off(now));
    m.record(now, 5 * kMs, 10 * kUs);  // a trial's first team may well be on time
    now = run_late_teams(m, now + 6 * kMs, 10);
    CHECK(m.back_offs() == trial + 3);
    expected = expected * 2 > LoadMonitor::kLongestBackOffNs ? LoadMonitor::kLongestBackOffNs
                                                             : expected * 2;
    CHECK(m.current_back_off_ns() == expected);
    CHECK(m.backing_off(now + expected / 2));
  }
  CHECK(m.current_back_off_ns() == LoadMonitor::kLongestBackOffNs);
  CHECK(m.probes() == 1);
  // A minute without teams says nothing of the load: a probe first, then the next failed trial
  // still backs off for the longest time, not from the first back-off again.
  now = end_back_off(m, now) + 60'000 * kMs;
  m.record(now, 5 * kMs, 10 * kUs);
  now = run_late_teams(m, now + 6 * kMs, 10);
  CHECK(m.probes() == 2);
  now = end_back_off(m, now);
  now = run_late_teams(m, now, 10);
  CHECK(m.backing_off(now));
  CHECK(m.current_back_off_ns() == LoadMonitor::kLongestBackOffNs);
  // The load is gone: on-time teams for long enough bring the first back-off back.
  now = end_back_off(m, now);
  for (int i = 0; i < 200000 && m.current_back_off_ns() != LoadMonitor::kFirstBackOffNs; ++i) {
    m.record(now, 100 * kUs, 2 * kUs);
    now += 100 * kUs;
  }
  CHECK(m.current_back_off_ns() == LoadMonitor::kFirstBackOffNs);
  CHECK(!m.backing_off(now));
}

void test_preemptions_between_teams_back_off() {
  LoadMonitor m;
  std::int64_t now = 0;
  for (int i = 0; i < 100 && !m.backing_off(now); ++i, now += 100 * kUs)
    m.record(now, 50 * kUs, 2 * kUs, i % 50 == 49);  // a preemption sample every 5 ms
  CHECK(m.backing_off(now));
  CHECK(m.back_offs() == 1);
}

// Late teams of 5 ms (3 ms of it waiting) doing `rate` work per ns, until the monitor backs off
// or `teams` have run.
std::int64_t run_late_teams_at(LoadMonitor& m, std::int64_t now, int teams, double rate) {
  for (int i = 0; i < teams && !m.backing_off(now); ++i, now += 6 * kMs)
    m.record(now, 5 * kMs, 3 * kMs, false, rate * double(5 * kMs));
  return now;
}

// One thread doing one work unit per ns until the back-off ends.
std::int64_t run_one_thread(LoadMonitor& m, std::int64_t now) {
  for (; m.backing_off(now); now += 5 * kMs) m.record_solo(now, 5 * kMs, double(5 * kMs));
  return now;
}

// The first back-off measures one thread's rate on the same work.
std::int64_t back_off_and_measure_one_thread(LoadMonitor& m, std::int64_t now) {
  now = run_late_teams_at(m, now, 10, 1.5);
  CHECK(m.back_offs() == 1);
  CHECK(m.probes() == 1);  // short: one thread's rate is all it is for
  CHECK(m.solo_left_ns() == LoadMonitor::kProbeNs);
  return run_one_thread(m, now);
}

// A host whose other tenants take a core away now and then: the teams wait, but still get 1.5x
// one thread's work done, so they keep their threads until that measurement is stale.
void test_late_teams_that_beat_one_thread_keep_their_threads() {
  LoadMonitor m;
  std::int64_t now = back_off_and_measure_one_thread(m, 0);
  now = run_late_teams_at(m, now, 100, 1.5);
  CHECK(m.back_offs() == 1);
  CHECK(!m.backing_off(now));
  CHECK(m.false_alarms() > 20);
  // Stale after kSoloFresh: the next late teams back off again, and so measure it afresh.
  now += LoadMonitor::kSoloFreshNs;
  now = run_late_teams_at(m, now, 10, 1.5);
  CHECK(m.back_offs() == 2);
}

// A competing process: teams now get less done than one thread did, and back off again at the
// first late window (two teams), without waiting for a second late signal.
void test_late_teams_slower_than_one_thread_back_off() {
  LoadMonitor m;
  std::int64_t now = back_off_and_measure_one_thread(m, 0);
  const std::int64_t trial = now;
  now = run_late_teams_at(m, now, 10, 0.6);
  CHECK(m.back_offs() == 2);
  CHECK(m.backing_off(now));
  CHECK(now - trial == 2 * 6 * kMs);
  // Teams only slightly faster than one thread are not worth their waits either.
  LoadMonitor n;
  now = back_off_and_measure_one_thread(n, 0);
  now = run_late_teams_at(n, now, 10, 1.05);
  CHECK(n.back_offs() == 2);
}

// A trial whose one team waited 21 ms for a member that was off its core (a 50 us product beside
// a busy process) backs off for ten times that, not for the first back-off's 50 ms.
void test_back_off_outlasts_the_wait_that_started_it() {
  LoadMonitor m;
  std::int64_t now = back_off_and_measure_one_thread(m, 0);
  CHECK(m.probes() == 1);
  m.record(now, 22 * kMs, 21 * kMs, false, 0.1 * double(22 * kMs));
  CHECK(m.back_offs() == 2);
  CHECK(m.current_back_off_ns() == LoadMonitor::kTrialCostRatio * 21 * kMs);
  CHECK(m.solo_left_ns() == LoadMonitor::kTrialCostRatio * 21 * kMs);
}

// A library that sits idle through a back-off finds it still on when it runs again (the load it
// saw has not been tested since), until kIdleCredit has passed since its length would have ended.
void test_idle_time_does_not_end_a_back_off() {
  LoadMonitor m;
  std::int64_t now = back_off_and_measure_one_thread(m, 0);
  now = run_late_teams_at(m, now, 10, 0.6);
  CHECK(m.back_offs() == 2);
  CHECK(m.backing_off(now + 1000 * kMs));
  m.record_solo(now + 1000 * kMs, m.solo_left_ns() - kMs, 0);
  CHECK(m.backing_off(now + 1001 * kMs));
  m.record_solo(now + 1001 * kMs, kMs, 0);
  CHECK(!m.backing_off(now + 1001 * kMs));
  // and a back-off that the library never runs ends kIdleCredit after its length
  now = run_late_teams_at(m, now + 1002 * kMs, 10, 0.6);
  CHECK(m.back_offs() == 3);
  CHECK(m.backing_off(now + LoadMonitor::kIdleCreditNs - kMs));
  CHECK(!m.backing_off(now + LoadMonitor::kIdleCreditNs + m.solo_left_ns() + 6 * kMs));
}

// Teams that do not say their work (elementwise passes, sparse layers) count for lateness only:
// half of every window in them leaves the measured teams' rate at 1.5, still well ahead.
void test_unmeasured_teams_leave_the_rate_alone() {
  LoadMonitor m;
  std::int64_t now = back_off_and_measure_one_thread(m, 0);
  for (int i = 0; i < 100 && !m.backing_off(now); ++i, now += 6 * kMs)
    m.record(now, 5 * kMs, 3 * kMs, false, i % 2 ? 0.0 : 1.5 * double(5 * kMs));
  CHECK(m.back_offs() == 1);
  CHECK(m.false_alarms() > 20);
}

// After a busy spell has pushed the back-off to its longest, late teams that beat one thread
// count as time on time: the first back-off comes back, so the next stale measurement costs
// 50 ms on one thread, not 2 s.
void test_false_alarms_forget_failed_trials() {
  LoadMonitor m;
  std::int64_t now = back_off_and_measure_one_thread(m, 0);
  for (int trial = 0; trial < 8; ++trial) {
    now = run_late_teams_at(m, now, 10, 0.6);
    now = run_one_thread(m, now);
  }
  CHECK(m.current_back_off_ns() == LoadMonitor::kLongestBackOffNs);
  now = run_late_teams_at(m, now, 40, 1.5);
  CHECK(!m.backing_off(now));
  CHECK(m.current_back_off_ns() == LoadMonitor::kFirstBackOffNs);
}

// A back-off shorter than kSoloSample measures nothing: the next trial is judged by lateness.
void test_one_thread_needs_a_full_sample() {
  LoadMonitor m;
  std::int64_t now = run_late_teams_at(m, 0, 10, 1.5);
  CHECK(m.back_offs() == 1);
  m.record_solo(now, LoadMonitor::kSoloSampleNs / 2, double(LoadMonitor::kSoloSampleNs / 2));
  now = end_back_off(m, now);
  now = run_late_teams_at(m, now, 10, 1.5);
  CHECK(m.back_offs() == 2);
  CHECK(m.false_alarms() == 0);
}

// Through the library's own bookkeeping (threading.cpp): a back-off ends once its length has run
// on one thread, and the teams after it run as teams, though its latest end is seconds away.
void test_the_kernels_see_a_back_off_end() {
  namespace detail = fastbp::detail;
  fastbp::set_adapt_to_load(true);
  detail::back_off_for(2 * kMs);
  CHECK(detail::backing_off_now());
  const std::int64_t start = detail::team_clock_ns();
  detail::note_solo_timing(start, start + 3 * kMs, 0);  // its length, on one thread
  CHECK(!detail::backing_off_now());
  const std::int64_t team = detail::team_clock_ns();
  detail::note_team_timing(team, team + 100 * kUs, 0, 0);  // a team on time
  CHECK(!detail::backing_off_now());
  // Turning adaptation off ends a back-off, in the monitor too: the first team after it is back
  // on does not bring it back.
  detail::back_off_for(60'000 * kMs);
  fastbp::set_adapt_to_load(false);
  fastbp::set_adapt_to_load(true);
  CHECK(!detail::backing_off_now());
  const std::int64_t later = detail::team_clock_ns();
  detail::note_team_timing(later, later + 100 * kUs, 0, 0);
  CHECK(!detail::backing_off_now());
}

// Backing off runs the same plan on one thread: the weights after training are the same bits as
// on a full team, so a busy machine never changes a seeded run's results.
void test_backing_off_leaves_the_results_unchanged() {
  const std::ptrdiff_t n = 64;
  std::mt19937 rng(1);
  std::normal_distribution<float> normal(0, 1);
  std::vector<float> X(std::size_t(n * 300)), T(std::size_t(n * 5));
  for (float& v : X) v = normal(rng);
  for (float& v : T) v = normal(rng);
  fastbp::Targets<float> t;
  t.values = T.data();
  fastbp::FitOptions options;
  options.epochs = 3;
  options.batch_size = 32;
  options.optimizer = fastbp::Optimizer::adam(0.01);
  fastbp::set_num_threads(2);
  fastbp::set_parallel_threshold(0);
  std::vector<float> weights[2];
  int teams[2];
  for (int busy = 0; busy < 2; ++busy) {
    fastbp::set_adapt_to_load(busy == 1);
    if (busy) fastbp::detail::back_off_for(60'000'000'000);
    fastbp::reset_threads_used();
    fastbp::Network<float> net({300, 129, 33, 5}, fastbp::Activation::gelu,
                               fastbp::Activation::identity, fastbp::Loss::mse, 7);
    net.fit(X.data(), n, t, options);
    teams[busy] = fastbp::threads_used();
    weights[busy].assign(net.parameters(), net.parameters() + net.n_parameters());
  }
  fastbp::set_adapt_to_load(false);  // (ends the back-off)
  fastbp::set_adapt_to_load(true);
  fastbp::set_parallel_threshold(-1);
  CHECK(teams[1] == 1);
  CHECK(teams[0] == (std::thread::hardware_concurrency() > 1 ? 2 : 1));
  CHECK(weights[0] == weights[1]);
}

}  // namespace

int main() {
  test_quiet_machine_only_probes();
  test_back_off_outlasts_the_wait_that_started_it();
  test_idle_time_does_not_end_a_back_off();
  test_late_teams_back_off_longer_while_trials_fail();
  test_preemptions_between_teams_back_off();
  test_late_teams_that_beat_one_thread_keep_their_threads();
  test_late_teams_slower_than_one_thread_back_off();
  test_unmeasured_teams_leave_the_rate_alone();
  test_false_alarms_forget_failed_trials();
  test_one_thread_needs_a_full_sample();
  test_the_kernels_see_a_back_off_end();
  test_backing_off_leaves_the_results_unchanged();
  return fastbp_test::finish("test_load_monitor");
}

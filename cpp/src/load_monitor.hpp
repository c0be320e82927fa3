// Backing off to one thread while the machine is busy. With another process competing for the
// cores, a team member is sometimes off its core when the team starts (the OS gave the core to
// the other process), and every barrier of the team then waits a scheduler time slice for it:
// two threads ran mnist-mlp at half the speed of one. The teams themselves show it: the monitor
// is told how long each team waited for its members (a late start, waits at its barriers, a late
// finish) and whether the thread running it keeps being preempted. Teams that waited for most
// of their time over a window, or a preempted caller, twice within kPair, and the library runs
// its kernels on one thread for a while, then tries its threads again. The wait doubles each
// time the trial fails (up to kLongestBackOff) and starts from kFirstBackOff again once teams
// have run on time for kForgetNs of their own time: a library that sat idle (between a
// benchmark's repeats, between a server's requests) has seen nothing of the machine meanwhile,
// and relearning the load from the first back-off cost two-thread fits a tenth of their speed.
//
// Lateness alone also fires on a host whose other tenants take our cores away for a millisecond
// now and then: teams wait, yet still do twice the work of one thread (measured on a shared
// 2-core VM: mnist-mlp fit 128k samples/s on two threads, 89k while such false alarms kept it on
// one). So the work done is measured too: a back-off measures one thread's rate on the work the
// teams would have done, and while that rate is fresh, late teams that still beat it by
// kTeamAdvantage keep their threads.
//
// A back-off is also how one thread's rate is measured, so while no rate is fresh (and there was no
// back-off for kSoloFresh) a late window, or two late signals, start a short probe (kProbeNs), not
// a full back-off: on a quiet but noisy host a false alarm then costs about 20 ms on one thread
// (the run that ends it may overrun it) per kSoloFresh, and the trial after the probe is judged by
// rates. A trial that fails costs the time its late teams waited, which can be a
// scheduler slice or more (beside one busy process, the first mnist-mlp product after a pause,
// a fraction of a millisecond of work, waited 15 to 19 ms for a member woken from its sleep), so
// a back-off lasts at least kTrialCostRatio times the wait that started it: a failed trial then
// costs about a tenth of the time it buys at most.
//
// A back-off is a length of the library's own time on one thread (the runs that teams would
// have made), not of the clock: between calls (a benchmark's repeats, a user's fits of a quarter
// of a second each) the library sees nothing of the load, and a back-off that ran out while it
// sat idle made every call start with a failed trial, whose first team waited for a member woken
// from its sleep (mnist-mlp beside a busy process: 62k samples/s on two threads against 74k on
// one). A back-off still ends kIdleCreditNs after its length would have, however little the library
// ran; a failed trial after such an end is not counted as one (the back-off is not doubled).
#pragma once

#include <algorithm>
#include <cstdint>

namespace fastbp::detail {

class LoadMonitor {
 public:
  // The teams are judged over windows of at least this much team time: one preempted member in
  // one team is a hiccup of a shared machine, a team waiting most of a window is a busy one.
  static constexpr std::int64_t kWindowNs = 10'000'000;
  // A window is late when its teams spent more than this share of their time waiting for
  // members: then two threads do little better than one.
  static constexpr double kLateShare = 0.3;
  // Two late signals (windows, or preemption samples) this close together mean a busy machine.
  static constexpr std::int64_t kPairNs = 30'000'000;
  static constexpr std::int64_t kFirstBackOffNs = 50'000'000;
  static constexpr std::int64_t kLongestBackOffNs = 2'000'000'000;
  // Team time on time, with no late signal, after which failed trials are forgotten.
  static constexpr std::int64_t kForgetNs = 100'000'000;
  // One thread's rate needs this much time on one thread to count, and is trusted this long
  // (then the next late signals back off again, and so measure it afresh).
  static constexpr std::int64_t kSoloSampleNs = 10'000'000;
  static constexpr std::int64_t kSoloFreshNs = 5'000'000'000;
  // Teams must do this many times one thread's work per second to be worth their waits.
  static constexpr double kTeamAdvantage = 1.15;
  // Long enough for one thread to run a full kSoloSampleNs of the teams' work.
  static constexpr std::int64_t kProbeNs = 20'000'000;
  static constexpr std::int64_t kTrialCostRatio = 10;
  static constexpr std::int64_t kIdleCreditNs = 10'000'000'000;

  // A team started at `now_ns` ran `wall_ns` in all and lost `lost_ns` of it waiting for members
  // that were off their cores (see run_team). `preempted`: the thread that ran the team was
  // preempted (involuntary context switches, not sleeps or waits of its own) three times or more in
  // the last few milliseconds, which spinning team members and a busy machine do to it between
  // teams, where no team timing shows it.
  // `work`: the team's flops (a GEMM's; the same measure for record_solo); 0 for work that is not
  // measured, whose time then counts for lateness only.
  void record(std::int64_t now_ns, std::int64_t wall_ns, std::int64_t lost_ns,
              bool preempted = false, double work = 0) {
    window_.wall += wall_ns;
    window_.lost += std::min(lost_ns, wall_ns);
    if (work > 0) {
      window_.work += work;
      window_.work_wall += wall_ns;
    }
    bool late = preempted, window_closed = false;
    std::int64_t waited = std::min(lost_ns, wall_ns);  // what the signal cost the teams
    if (window_.wall >= kWindowNs) {
      late = late || double(window_.lost) > kLateShare * double(window_.wall);
      waited = window_.lost;
      team_rate_ = window_.work_wall > 0 ? window_.work / double(window_.work_wall) : 0;
      window_closed = true;
      window_ = {};
    }
    if (!late) return count_on_time(wall_ns);
    ++late_signals_;
    const Verdict verdict = teams_against_one_thread(now_ns);
    if (verdict == Verdict::teams_faster) {  // time well spent: on time as far as trials go
      ++false_alarms_;
      return count_on_time(wall_ns);
    }
    on_time_ns_ = 0;
    // With no fresh rate of one thread, and no back-off for kSoloFresh (while trials keep failing,
    // the back-offs themselves measure it), a late window or two late signals start a probe.
    // Otherwise two late signals close together mean a busy machine; so does one
    // late window whose teams were not kTeamAdvantage ahead of one thread.
    const bool probe = verdict == Verdict::unknown && now_ns - last_back_off_ns_ > kSoloFreshNs;
    const bool slower = window_closed && verdict == Verdict::teams_slower;
    const bool busy = ((probe && window_closed) || slower || now_ns - last_late_ns_ <= kPairNs) &&
                      !backing_off(now_ns);
    last_late_ns_ = now_ns;
    if (!busy) return;
    last_back_off_ns_ = now_ns;
    if (probe) {
      solo_left_ns_ = kProbeNs;
    } else {
      // A back-off soon after the last one ended means the trial failed: wait longer this time
      // (but not for a probe's trial: the probe was no back-off of the doubling series).
      if (!last_was_probe_ && now_ns - back_off_ended_ns_ < back_off_ns_)
        back_off_ns_ = std::min(2 * back_off_ns_, kLongestBackOffNs);
      back_off_ns_ = std::min(std::max(back_off_ns_, kTrialCostRatio * waited), kLongestBackOffNs);
      solo_left_ns_ = back_off_ns_;
    }
    back_off_until_ns_ = now_ns + wall_ns + solo_left_ns_ + kIdleCreditNs;
    last_was_probe_ = probe;
    probes_ += probe;
    ++back_offs_;
    // The trial after it is judged by its own teams, not by the late ones before it, and one
    // thread by this back-off's runs alone.
    team_rate_ = 0;
    window_ = {};
    solo_ = {};
  }

  // Work that teams would have done, run on one thread during a back-off (`work` as for record).
  void record_solo(std::int64_t now_ns, std::int64_t wall_ns, double work) {
    if (solo_left_ns_ > 0) {
      solo_left_ns_ -= wall_ns;
      if (solo_left_ns_ <= 0) back_off_ended_ns_ = now_ns;
    }
    if (work <= 0) return;
    solo_.wall += wall_ns;
    solo_.work += work;
    if (solo_.wall < kSoloSampleNs) return;
    solo_rate_ = solo_.work / double(solo_.wall);
    solo_measured_ns_ = now_ns;
    solo_ = {};
  }

  // Adaptation turned off: no back-off, whatever is left of it.
  void end_back_off() { solo_left_ns_ = 0; }

  // A back-off of `ns` on one thread from now, whatever the teams did (tests).
  void back_off_for(std::int64_t now_ns, std::int64_t ns) {
    solo_left_ns_ = ns;
    back_off_until_ns_ = now_ns + ns + kIdleCreditNs;
  }

  // True while the kernels should run on one thread.
  bool backing_off(std::int64_t now_ns) const {
    return solo_left_ns_ > 0 && now_ns < back_off_until_ns_;
  }

  std::int64_t back_offs() const { return back_offs_; }  // probes included
  std::int64_t probes() const { return probes_; }
  std::int64_t false_alarms() const { return false_alarms_; }
  std::int64_t late_signals() const { return late_signals_; }
  // The latest end of the back-off: it ends sooner, once the library has run solo_left_ns() on
  // one thread.
  std::int64_t back_off_until_ns() const { return back_off_until_ns_; }
  std::int64_t solo_left_ns() const { return solo_left_ns_; }
  std::int64_t current_back_off_ns() const { return back_off_ns_; }

 private:
  void count_on_time(std::int64_t wall_ns) {
    on_time_ns_ += wall_ns;
    if (on_time_ns_ >= kForgetNs) back_off_ns_ = kFirstBackOffNs;
  }

  enum class Verdict { unknown, teams_faster, teams_slower };
  Verdict teams_against_one_thread(std::int64_t now_ns) const {
    if (solo_rate_ <= 0 || team_rate_ <= 0 || now_ns - solo_measured_ns_ > kSoloFreshNs)
      return Verdict::unknown;
    return team_rate_ >= kTeamAdvantage * solo_rate_ ? Verdict::teams_faster
                                                     : Verdict::teams_slower;
  }

  struct Window {
    std::int64_t wall = 0, lost = 0;
    double work = 0;
    std::int64_t work_wall = 0;  // the time in teams that said their work
  } window_;
  double team_rate_ = 0;  // work per ns of the last full window of teams
  struct SoloSample {
    std::int64_t wall = 0;
    double work = 0;
  } solo_;                // one thread's runs towards the next sample
  double solo_rate_ = 0;  // work per ns on one thread, measured during the last back-off
  std::int64_t solo_measured_ns_ = INT64_MIN / 2;
  std::int64_t false_alarms_ = 0;
  std::int64_t on_time_ns_ = 0;  // team time since the last late signal
  std::int64_t back_off_ns_ = kFirstBackOffNs;
  std::int64_t back_off_until_ns_ = INT64_MIN / 2;
  std::int64_t solo_left_ns_ = 0;  // of the current back-off
  std::int64_t back_off_ended_ns_ = INT64_MIN / 2;
  std::int64_t last_late_ns_ = INT64_MIN / 2;
  std::int64_t back_offs_ = 0, late_signals_ = 0, probes_ = 0;
  std::int64_t last_back_off_ns_ = INT64_MIN / 2;
  bool last_was_probe_ = false;
};

}  // namespace fastbp::detail

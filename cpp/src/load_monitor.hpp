// Backing off to one thread while the machine is busy. With another process competing for the
// cores, a team member is sometimes off its core when the team starts (the OS gave the core to
// the other process), and every barrier of the team then waits a scheduler time slice for it:
// two threads ran mnist-mlp at half the speed of one. The teams themselves show it: the monitor
// is told how long each team waited for its members (a late start, waits at its barriers, a late
// finish) and whether the thread running it keeps being preempted; two such signals within
// kWindow and the library runs its kernels on one thread for a while, then tries its threads
// again. The wait doubles each time the trial fails (up to kLongestBackOff) and starts from
// kFirstBackOff again once teams run on time.
#pragma once

#include <algorithm>
#include <cstdint>

namespace fastbp::detail {

class LoadMonitor {
 public:
  // Lateness below this is a woken thread's ordinary start-up, not a lost time slice.
  static constexpr std::int64_t kLateFloorNs = 250'000;
  // Two late signals this close together mean a busy machine; one alone is a hiccup.
  static constexpr std::int64_t kWindowNs = 20'000'000;
  static constexpr std::int64_t kFirstBackOffNs = 50'000'000;
  static constexpr std::int64_t kLongestBackOffNs = 2'000'000'000;

  // A team started at `now_ns` ran `wall_ns` in all and lost `lost_ns` of it waiting for members
  // that were off their cores (see run_team). `preempted`: the thread that ran the team was
  // preempted (involuntary context switches, not sleeps or waits of its own) at least twice in
  // the last few milliseconds, which spinning team members and a busy machine do to it between
  // teams, where no team timing shows it.
  void record(std::int64_t now_ns, std::int64_t wall_ns, std::int64_t lost_ns,
              bool preempted = false) {
    const bool late = preempted || lost_ns > std::max<std::int64_t>(kLateFloorNs, wall_ns / 5);
    if (!late) {
      // on time for a good while since the last late team and back-off: forget failed trials
      if (now_ns - std::max(last_late_ns_, back_off_until_ns_) > 4 * back_off_ns_)
        back_off_ns_ = kFirstBackOffNs;
      return;
    }
    ++late_teams_;
    const bool busy = now_ns - last_late_ns_ <= kWindowNs && now_ns >= back_off_until_ns_;
    last_late_ns_ = now_ns;
    if (!busy) return;
    // A back-off soon after the last one ended means the trial failed: wait longer this time.
    if (back_offs_ > 0 && now_ns - back_off_until_ns_ < back_off_ns_)
      back_off_ns_ = std::min(2 * back_off_ns_, kLongestBackOffNs);
    back_off_until_ns_ = now_ns + wall_ns + back_off_ns_;
    ++back_offs_;
  }

  // True while the kernels should run on one thread.
  bool backing_off(std::int64_t now_ns) const { return now_ns < back_off_until_ns_; }

  std::int64_t back_offs() const { return back_offs_; }
  std::int64_t late_teams() const { return late_teams_; }
  std::int64_t back_off_until_ns() const { return back_off_until_ns_; }
  std::int64_t current_back_off_ns() const { return back_off_ns_; }

 private:
  std::int64_t back_off_ns_ = kFirstBackOffNs;
  std::int64_t back_off_until_ns_ = INT64_MIN / 2;
  std::int64_t last_late_ns_ = INT64_MIN / 2;
  std::int64_t back_offs_ = 0, late_teams_ = 0;
};

}  // namespace fastbp::detail

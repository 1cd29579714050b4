// Who may send an app's heartbeats: its own process or one of its
// descendants, judged by the sender's pid from the kernel (the ipc://
// connection's credentials), never by anything the message says.
//
// Contract: pure but for two questions the caller answers: when the
// process that now has a pid started (sys/proc reads /proc/<pid>/stat),
// and whether it descends from the app (sys/proc walks /proc). A pid may be
// reused, but pid and start time together name one process. A connection's
// pid is fixed, so a flood from one sender costs one walk: the last
// accepted process is remembered by pid and start time until the app gets
// a new process (reset()). Its start is asked again for each of its
// messages: once that process is gone its pid is judged afresh, so neither
// a connection it left behind nor a stranger that got its pid keeps the app
// alive. The app's own pid needs no start: the app is hbmond's child, and
// its pid is not reused before hbmond has reaped it and called reset().
// The last refused pid is remembered for `negative_cache`.
#pragma once

#include "core/function_ref.hpp"

#include <chrono>
#include <cstdint>
#include <optional>
#include <sys/types.h>

namespace hbmon {

class SenderCheck {
public:
  using TimePoint = std::chrono::steady_clock::time_point;
  using Duration = TimePoint::duration;
  using Now = FunctionRef<TimePoint()>;
  using StartOf = FunctionRef<std::optional<std::uint64_t>(pid_t)>;
  using IsDescendant = FunctionRef<bool(pid_t, pid_t)>;

  explicit SenderCheck(Duration negative_cache) : negative_cache_(negative_cache) {}

  // The app has a new process (or none): forget who was judged.
  void reset() {
    accepted_ = 0;
    refused_ = 0;
  }

  // May `sender` beat for the app whose process is `app_pid` (0: none)?
  // `now()` gives the time, `start_of(pid)` the start time of the process
  // that has `pid` now (an optional, empty when there is none) and
  // `is_descendant(pid, ancestor)` walks the process tree; each is called
  // only when needed (the common case, the app's own pid, costs two
  // comparisons).
  bool accept(pid_t app_pid, pid_t sender, Now now, StartOf start_of, IsDescendant is_descendant);

private:
  Duration negative_cache_;
  pid_t accepted_ = 0;
  std::uint64_t accepted_start_ = 0;
  pid_t refused_ = 0;
  TimePoint refused_at_{};
};

} // namespace hbmon

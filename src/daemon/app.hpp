// One supervised app: everything hbmond holds for it, in one place.
//
// Contract: an App lives at a fixed address from its creation by the
// registry until the registry hands it back as gone (callbacks capture it).
// `cfg` is the settings it runs with; `wd` decides, the supervisor carries
// out. `pid` mirrors the ProcessRunner's child while there is one. Making
// an App makes its output pipe (it throws std::system_error when it cannot).
#pragma once

#include "core/config.hpp"
#include "core/handover.hpp"
#include "core/watchdog.hpp"
#include "daemon/heartbeat_intake.hpp"
#include "daemon/output.hpp"
#include "sys/loop.hpp"

#include <algorithm>
#include <array>
#include <cstdint>
#include <functional>
#include <memory>
#include <vector>

namespace hbmon {

struct App {
  using Beat = std::function<void(App &, HeartbeatMsg)>;
  App(Loop &loop, IntakeSet &intakes, const AppConfig &c, const Beat &beat)
      : cfg(c), wd(c), output(loop, c.name),
        intake(c.name, intakes, [this, beat](HeartbeatMsg m) { beat(*this, std::move(m)); }) {}
  // One an hbmond before a re-exec supervised (its watchdog not resumed
  // yet, its process not adopted yet: the supervisor does both).
  App(Loop &loop, IntakeSet &intakes, const handover::App &was, const Beat &beat)
      : cfg(was.config), wd(was.config, was.memory), output(loop, was.config.name, was.output),
        intake(was.config.name, intakes,
               [this, beat](HeartbeatMsg m) { beat(*this, std::move(m)); }),
        since(was.since), admin_down(was.admin_down) {}
  App(const App &) = delete;
  App &operator=(const App &) = delete;

  AppConfig cfg;
  Watchdog wd;
  OutputPipe output;
  HeartbeatIntake intake;
  Loop::Timer timer; // the watchdog's one deadline

  pid_t pid = 0; // the current child, while there is one
  // Its child exists but has not exec'd yet: the watchdog hears of the run
  // (Spawned or SpawnFailed) only once it has, and the app's other events
  // wait in `held` until then (the watchdog's contract: the outcome first).
  bool execing = false;
  bool boot_exec = false; // ... and it is a start at boot (READY=1 waits for it)
  std::vector<Event> held;
  Loop::TimePoint since = Loop::now(); // when the watchdog entered its state

  // When its last heartbeats came, for a forensics record.
  void beat_at(Loop::TimePoint t) { beat_times_[beats_seen_++ % beat_times_.size()] = t; }
  std::vector<Loop::TimePoint> last_beats() const {
    std::vector<Loop::TimePoint> out;
    const std::size_t n = std::min<std::uint64_t>(beats_seen_, beat_times_.size());
    for (std::size_t i = 0; i < n; ++i)
      out.push_back(beat_times_[(beats_seen_ - n + i) % beat_times_.size()]);
    return out;
  }

  // Admin intent that outlives a reload of this app's settings.
  bool admin_down = false;
  // Leaving (removed or changed by a reload): once its process is gone the
  // app is dropped, and replaced by `successor` when there is one (made,
  // with its resources, when the reload was applied).
  bool retiring = false;
  std::unique_ptr<App> successor;

private:
  std::array<Loop::TimePoint, 10> beat_times_{};
  std::uint64_t beats_seen_ = 0;
};

} // namespace hbmon

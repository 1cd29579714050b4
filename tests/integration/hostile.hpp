// The hostile suite's fixture, shared by its files (test_hostile.cpp and
// hostile_*.cpp, one per kind of attack): after each attack hbmond must
// still supervise (a hung app is still killed on time) and still answer
// `status` promptly.
#pragma once

#include "harness.hpp"

#include <gtest/gtest.h>

namespace hbtest {

// Environment that preloads `shim` into hbmond (in the ASan build the shim
// comes before the sanitizer runtime, which must be told that is fine).
inline std::vector<std::string> preloading(const std::string &shim) {
  const char *asan = std::getenv("ASAN_OPTIONS");
  const std::string opts = asan && *asan ? std::string(asan) + ":" : "";
  return {"LD_PRELOAD=" + shim, "ASAN_OPTIONS=" + opts + "verify_asan_link_order=0"};
}

// An app that exits 1 at once and is restarted after `delay` seconds,
// forever (no backoff, no start limit): a steady stream of state changes
// and of hbmond's own log lines.
inline std::string crasher(const std::string &name, double delay) {
  const std::string d = std::to_string(delay);
  return app_json(name, "--then exit 1",
                  R"("heartbeat": null, "restart_delay": )" + d + R"(, "backoff_max": )" + d +
                      R"(, "start_limit": {"interval": 0})");
}

class Hostile : public ::testing::Test {
protected:
  TempDir work;

  std::string app(const std::string &name, const std::string &args, const std::string &extra) {
    return app_json(name, args, extra, work / (name + ".trace"));
  }

  // An app that beats `beats` times, 0.1 s apart, then hangs: killed 0.6 s
  // after its last beat, and not restarted for a minute.
  std::string hangs_after(const std::string &name, int beats) {
    return app(name, "--beats " + std::to_string(beats) + " --period 0.1 --then stall",
               R"("heartbeat": {"interval": 0.3, "misses": 2}, "restart_delay": 60)");
  }

  // Has run `pid` of app `name` traced `kind` yet?
  bool traced(const std::string &name, pid_t pid, const std::string &kind) {
    bool mine = false;
    for (const auto &t : read_trace(work / (name + ".trace"))) {
      if (t.kind == "start")
        mine = !t.values.empty() && t.values[0] == pid;
      else if (mine && t.kind == kind)
        return true;
    }
    return false;
  }

  // A hung app watched from outside: killed no earlier than due (its last
  // beat + misses x interval: hbmond got that beat a little later, so its
  // own due time is later still) and no later than 250 ms after.
  // Watches the nth run, or the first later one still alive (a slow, e.g.
  // sanitized, build may get here after that run has been killed).
  // `clock_offset`: what to add to the trace's times to make them
  // CLOCK_MONOTONIC ones (a shell app traces CLOCK_REALTIME).
  void expect_hang_killed_on_time(Daemon &d, const std::string &name, double interval, int misses,
                                  std::size_t nth = 1, long long clock_offset = 0) {
    std::optional<pid_t> pid;
    int fd = -1;
    for (std::size_t n = nth; fd < 0; ++n) {
      pid = d.wait_started(name, 10s, n);
      ASSERT_TRUE(pid) << d.log();
      fd = pidfd_open(*pid);
    }
    expect_killed_on_time(name, *pid, fd, interval, misses, d.log(), clock_offset, &d);
  }

  // The kill of `pid` (its pidfd `fd`, closed here) came no earlier than due
  // and at most 250 ms after; `log` is shown when it did not. With `d`, its
  // log is drained meanwhile (a full pipe would stop hbmond in a write).
  void expect_killed_on_time(const std::string &name, pid_t pid, int fd, double interval,
                             int misses, const std::string &log, long long clock_offset = 0,
                             Daemon *d = nullptr) {
    std::optional<long long> gone;
    for (const auto end = Clock::now() + 15s; !gone && Clock::now() < end && !giving_up();) {
      gone = wait_pidfd(fd, d ? 20ms : 15s);
      if (d)
        d->poll_log();
    }
    ::close(fd);
    ASSERT_TRUE(gone) << name << " never killed\n" << log;
    // Its last heartbeat: the last beat after its own start line.
    std::optional<long long> last_beat;
    bool mine = false;
    for (const auto &t : read_trace(work / (name + ".trace"))) {
      if (t.kind == "start")
        mine = !t.values.empty() && t.values[0] == pid;
      else if (mine && t.kind == "beat")
        last_beat = t.values[0];
    }
    ASSERT_TRUE(last_beat) << "pid " << pid << " never beat";
    long long due = *last_beat + clock_offset + static_cast<long long>(misses * interval * 1e9);
    EXPECT_GE(*gone, due) << name << " killed " << secs(due - *gone) << " s before due";
    EXPECT_LE(secs(*gone - due), 0.25) << name << " killed late";
  }
};

} // namespace hbtest

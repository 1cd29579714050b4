// A busy systemd: PID 1 does not read its notify socket (a long
// daemon-reload), so the socket's queue is full. hbmond must not wait for
// it: hangs are still killed on time and requests answered; what must
// arrive (READY=1, WATCHDOG=1) arrives once systemd reads again, and STATUS=
// is coalesced however fast the apps change state.
#include "hostile.hpp"

#include <gtest/gtest.h>

using namespace hbtest;

TEST_F(Hostile, ABusySystemdNeverStallsTheLoop) {
  NotifyListener sd(work / "notify.sock");
  const std::size_t fillers = sd.fill();
  ASSERT_GT(fillers, 0u);
  Daemon::Options o;
  o.env = {"NOTIFY_SOCKET=" + work / "notify.sock", "WATCHDOG_USEC=1000000"};
  o.log_level = "info";
  Daemon d(config_of({app("hang", "--beats 3 --period 0.1 --then hang",
                          R"("heartbeat": {"interval": 0.3, "misses": 2})"),
                      crasher("crash1", 0.02), crasher("crash2", 0.02), crasher("crash3", 0.02),
                      crasher("crash4", 0.02)}),
           o);
  expect_hang_killed_on_time(d, "hang", 0.3, 2);
  expect_status_fast("ipc://" + d.dir() / "control");

  // systemd reads again: its old queue, then what hbmond kept for it.
  auto ready = sd.wait("READY=1", 5s);
  ASSERT_TRUE(ready) << "READY=1 never arrived\n" << d.log();
  std::size_t old = 0;
  for (const auto &[m, t] : sd.seen)
    old += m == "filler";
  EXPECT_EQ(old, fillers);
  EXPECT_TRUE(sd.wait("WATCHDOG=1", 2s)) << "a ping that could not go was not tried again";

  // The apps keep changing state, dozens of times a second; STATUS= goes
  // out at most every 250 ms.
  d.poll_log();
  const std::size_t starts_before = d.count("started, pid");
  std::size_t statuses = 0;
  const auto window = 2s;
  const auto end = Clock::now() + window;
  while (Clock::now() < end) {
    auto left = std::chrono::duration_cast<std::chrono::milliseconds>(end - Clock::now());
    auto m = sd.next(left);
    if (!m)
      break;
    statuses += m->first.rfind("STATUS=", 0) == 0;
  }
  d.poll_log();
  const std::size_t starts = d.count("started, pid") - starts_before;
  EXPECT_GE(starts, 20u) << "the apps did not change state often enough to tell";
  EXPECT_GE(statuses, 1u);
  EXPECT_LE(statuses, 10u) << statuses << " STATUS= in 2 s, for " << starts << " starts";
}

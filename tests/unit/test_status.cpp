#include "app_config.hpp"
#include "core/status.hpp"

#include <gtest/gtest.h>

using namespace hbmon;
using namespace std::chrono_literals;

namespace {
AppConfig app(const char *name) { return hbtest::app_config(name); }
} // namespace

TEST(Status, SummaryInCanonicalOrder) {
  StateCounts c{};
  c[static_cast<std::size_t>(State::backoff)] = 1;
  c[static_cast<std::size_t>(State::running)] = 2;
  EXPECT_EQ(summary(c), "3 apps: 2 running, 1 backoff");
}

TEST(Status, SummaryOfOneAndOfNone) {
  StateCounts c{};
  EXPECT_EQ(summary(c), "0 apps");
  c[static_cast<std::size_t>(State::failed)] = 1;
  EXPECT_EQ(summary(c), "1 app: 1 failed");
}

TEST(Status, SnapshotOfARunningApp) {
  Watchdog wd(app("web"));
  TimePoint t0{};
  wd.on(ev::Start{}, t0);
  wd.on(ev::Spawned{42}, t0);
  HeartbeatMsg m;
  m.status = "serving";
  wd.on(ev::Heartbeat{m}, t0 + 1s);
  AppCounters counters;
  counters.heartbeats_refused = 3;
  auto s = snapshot("web", wd, counters, t0 + 1500ms);
  EXPECT_EQ(s.state, State::running);
  EXPECT_EQ(s.pid, 42);
  EXPECT_DOUBLE_EQ(s.uptime, 1.5);
  ASSERT_TRUE(s.last_heartbeat_age);
  EXPECT_DOUBLE_EQ(*s.last_heartbeat_age, 0.5);
  auto j = to_json(s);
  EXPECT_EQ(j["name"], "web");
  EXPECT_EQ(j["state"], "running");
  EXPECT_EQ(j["pid"], 42);
  EXPECT_EQ(j["status"], "serving");
  EXPECT_EQ(j["heartbeats"], 1);
  EXPECT_EQ(j["heartbeats_refused"], 3);
  EXPECT_TRUE(j["last_exit"].is_null());
  EXPECT_EQ(count_states({s})[static_cast<std::size_t>(State::running)], 1u);
}

TEST(Status, SnapshotAfterACrash) {
  Watchdog wd(app("web"));
  TimePoint t0{};
  wd.on(ev::Start{}, t0);
  wd.on(ev::Spawned{42}, t0);
  wd.on(ev::Exited{ExitStatus::with_signal(11)}, t0 + 1s);
  auto j = to_json(snapshot("web", wd, {}, t0 + 1s));
  EXPECT_EQ(j["state"], "backoff");
  EXPECT_TRUE(j["pid"].is_null());
  EXPECT_TRUE(j["last_heartbeat_age"].is_null());
  EXPECT_EQ(j["last_exit"]["signal"], "SIGSEGV");
  EXPECT_EQ(j["reason"], "killed by SIGSEGV");
  EXPECT_EQ(j["result"], "signal");
}

TEST(Status, ResultIsTypedAndFirstFailureWins) {
  AppConfig c = app("web");
  Watchdog wd(c);
  TimePoint t0{};
  EXPECT_EQ(to_json(snapshot("web", wd, {}, t0))["result"], "success"); // nothing ended yet
  wd.on(ev::Start{}, t0);
  wd.on(ev::Spawned{42}, t0);
  wd.on(ev::Panic{"stuck"}, t0 + 1s);
  wd.on(ev::Exited{ExitStatus::with_signal(9)}, t0 + 1s);
  auto j = to_json(snapshot("web", wd, {}, t0 + 1s));
  EXPECT_EQ(j["result"], "panic"); // not "signal": the SIGKILL was ours
  EXPECT_EQ(j["last_exit"]["signal"], "SIGKILL");
}

TEST(Status, TheLastProbeAndItsAge) {
  AppConfig c = app("db");
  c.heartbeat.reset();
  c.probe = ProbeConfig{};
  Watchdog wd(c);
  TimePoint t0{};
  wd.on(ev::Start{}, t0);
  wd.on(ev::Spawned{42}, t0);
  EXPECT_TRUE(to_json(snapshot("db", wd, {}, t0))["last_probe"].is_null());
  wd.on(ev::Probe{42, true}, t0 + 10s);
  wd.on(ev::Probe{42, false, "connection refused"}, t0 + 20s);
  auto j = to_json(snapshot("db", wd, {}, t0 + 22500ms));
  EXPECT_EQ(j["last_probe"]["ok"], false);
  EXPECT_EQ(j["last_probe"]["reason"], "connection refused");
  EXPECT_DOUBLE_EQ(j["last_probe"]["age"].get<double>(), 2.5);
  EXPECT_EQ(j["last_probe"]["failures"], 1);
  wd.on(ev::Probe{42, true}, t0 + 30s);
  j = to_json(snapshot("db", wd, {}, t0 + 30s));
  EXPECT_EQ(j["last_probe"]["ok"], true);
  EXPECT_TRUE(j["last_probe"]["reason"].is_null());
  EXPECT_EQ(j["last_probe"]["failures"], 0);
}

// The re-exec handover's state (core/handover.hpp) and a watchdog that goes
// on from one (Watchdog::resume): fake clock, no processes.
#include "app_config.hpp"
#include "core/handover.hpp"
#include "fake_clock.hpp"

#include <fmt/format.h>
#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

using namespace hbmon;
using namespace std::chrono_literals;
using ::testing::HasSubstr;

namespace {

using hbtest::t0;

// A watchdog that has lived a little: started, beat, crashed, restarted,
// said something of itself.
Watchdog lived(const AppConfig &c) {
  Watchdog wd(c);
  TimePoint now = t0;
  wd.on(ev::Start{}, now);
  wd.on(ev::Spawned{100}, now);
  wd.on(ev::Heartbeat{HeartbeatMsg{}}, now += 300ms);
  wd.on(ev::Exited{ExitStatus::with_signal(11, true)}, now += 2s);
  wd.on(ev::Deadline{}, now += 1s); // the backoff is over: RestartDue
  wd.on(ev::Restart{}, now);
  wd.on(ev::Spawned{101}, now);
  HeartbeatMsg m;
  m.status = "warming up";
  wd.on(ev::Heartbeat{m}, now += 200ms);
  wd.on(ev::Probe{101, false, "connection refused"}, now += 100ms);
  return wd;
}

AppConfig every_field(const std::string &name) {
  AppConfig c = hbtest::app_config(name, 250ms, 3, 700ms);
  c.heartbeat->protocol = HeartbeatProtocol::notify;
  c.heartbeat->endpoint = "/run/hbmond/" + name + ".notify";
  ProbeConfig p;
  p.kind = ProbeKind::http;
  p.url = "http://[::1]:8080/health?x=1";
  p.host = "::1";
  p.port = 8080;
  p.path = "/health?x=1";
  p.interval = 3s;
  p.timeout = 500ms;
  p.failures = 4;
  p.initial_delay = 1500ms;
  c.probe = p;
  c.restart = RestartPolicy::always;
  c.restart_delay = 300ms;
  c.backoff_max = 7s;
  c.start_limit = {5, 60s};
  c.stop_signal = 2;
  c.stop_timeout = 9s;
  c.hang_signal = 6;
  c.abort_timeout = 4s;
  c.user = "nobody";
  c.group = "nogroup";
  c.cwd = "/var/lib/" + name;
  c.env = {{"A", "1"}, {"B", "two words"}};
  c.env_file = "/etc/default/" + name;
  c.enabled = false;
  c.uid = 65534;
  c.gid = 65534;
  c.supplementary_groups = {4, 27};
  c.account = "nobody";
  c.home = "/nonexistent";
  return c;
}

handover::State full_state() {
  handover::State s;
  s.version = "9.8.7";
  s.started = 1780000000.25;
  s.reexecs = 3;
  s.loop_lag.observe(metrics::loop_lag_bounds, 0.003);
  s.written = t0 + 10s;
  s.child_nofile = 1024;
  s.config.path = "/etc/hbmond/apps.json";
  s.config.dropins = {"/etc/hbmond/apps.d/a.json"};
  s.config.control = "ipc:///run/hbmond/control";
  s.config.events = "ipc:///run/hbmond/events";
  s.config.log_level = "debug";
  s.config.metrics = MetricsConfig{"[::1]:9464", "::1", 9464};
  s.config.forensics = ForensicsConfig{"/srv/records", 3};
  s.guardian = handover::Guardian{77, 5, 6, 7};
  s.event_seq = 12345;
  s.counters = {{"control_requests", 77}, {"events_connections_refused", 3}};

  handover::App a;
  a.config = every_field("web");
  a.memory = lived(a.config).memory();
  a.memory.kills[static_cast<std::size_t>(metrics::KillReason::probe)] = 2;
  a.memory.gaps.observe(metrics::gap_bounds, 1.7);
  a.memory.aborting = true;
  a.pidfd = 9;
  a.since = t0 + 3s;
  a.admin_down = true;
  a.queued = handover::Queued::restart;
  a.output.fds = {10, 11, 12, 13};
  a.output.partial = {"half a li", ""};
  a.output.lines = 42;
  a.output.dropped = 2;
  a.output.ring = {{40, 1780000001000000, 6, "hello"}, {41, 1780000002000000, 3, "<oops>"}};
  a.output.ring_next = 42;
  a.notify_fd = 14;
  a.counters = {1, 2, 3, 4, 5};
  a.probe_next = t0 + 12s;
  s.apps.push_back(a);

  handover::App b;
  b.config = hbtest::app_config("batch");
  b.memory = Watchdog(b.config).memory();
  b.retiring = true;
  b.successor = hbtest::app_config("batch", 2s);
  b.output.fds = {15, 16, 17, 18};
  s.apps.push_back(b);
  s.config.apps = {a.config, *b.successor};
  return s;
}

TEST(Handover, EveryFieldComesBackAsItWasWritten) {
  const handover::State s = full_state();
  // A watchdog that lived has set what a fresh one leaves unset.
  const Watchdog::Memory &m = s.apps[0].memory;
  ASSERT_TRUE(m.last_exit && m.status_text && m.last_probe && m.started_at && m.last_heartbeat);
  ASSERT_EQ(m.restarts, 1u);
  ASSERT_EQ(m.restarts_by_result[static_cast<std::size_t>(Result::core_dump)], 1u);
  ASSERT_EQ(m.gaps.count(), 1u);
  ASSERT_EQ(s.loop_lag.count(), 1u);
  const handover::State back = handover::read(handover::write(s));
  EXPECT_TRUE(back == s);
  EXPECT_EQ(back.apps[0].memory, s.apps[0].memory);
  EXPECT_EQ(back.apps[0].config, s.apps[0].config);
  EXPECT_EQ(back.apps[0].output, s.apps[0].output);
  EXPECT_EQ(back.apps[1].successor, s.apps[1].successor);
}

TEST(Handover, AStateOfHbmond020HasNoMetricsAndTheyStartAtZero) {
  nlohmann::json doc = nlohmann::json::parse(handover::write(full_state()));
  doc["apps"][0]["memory"].erase("metrics");
  doc.erase("loop_lag");
  doc.erase("counters");
  const handover::State back = handover::read(doc.dump());
  EXPECT_EQ(back.loop_lag.count(), 0u);
  EXPECT_TRUE(back.counters.empty());
  const Watchdog::Memory &m = back.apps[0].memory;
  EXPECT_EQ(m.restarts_by_result, decltype(m.restarts_by_result){});
  EXPECT_EQ(m.kills, decltype(m.kills){});
  EXPECT_EQ(m.gaps.count(), 0u);
  EXPECT_EQ(m.restarts, 1u); // the rest as written
}

TEST(Handover, ListsEveryFdItHandsOver) {
  std::vector<int> fds = full_state().fds();
  std::sort(fds.begin(), fds.end());
  EXPECT_EQ(fds, (std::vector<int>{5, 6, 7, 9, 10, 11, 12, 13, 14, 15, 16, 17, 18}));
}

TEST(Handover, AnotherFormatIsRefusedNamingBothAndTheWriter) {
  nlohmann::json doc = nlohmann::json::parse(handover::write(full_state()));
  doc["format"] = handover::format + 1;
  try {
    handover::read(doc.dump());
    FAIL() << "read a format it does not know";
  } catch (const handover::HandoverError &e) {
    EXPECT_THAT(e.what(), HasSubstr("state format " + std::to_string(handover::format + 1)));
    EXPECT_THAT(e.what(), HasSubstr("hbmond 9.8.7"));
    EXPECT_THAT(e.what(), HasSubstr(fmt::format("a format {}-{} this", handover::oldest_format,
                                                handover::format)));
  }
  doc["format"] = handover::oldest_format - 1;
  EXPECT_THROW(handover::read(doc.dump()), handover::HandoverError);
}

// An upgrade from an hbmond that held its apps' output pipes' write ends
// (format 1): the state is read, the write ends listed so they are closed.
TEST(Handover, AFormerFormatIsReadWriteEndsAndAll) {
  nlohmann::json doc = nlohmann::json::parse(handover::write(full_state()));
  doc["format"] = 1;
  const handover::State s = handover::read(doc.dump());
  EXPECT_EQ(s.format, 1);
  EXPECT_EQ(s.apps, full_state().apps);
  EXPECT_EQ(s.fds(), full_state().fds());
}

// An upgrade from an hbmond whose watchdogs told which deadline kills
// (format 2, for a start queue that held starts back for a kill): read,
// that field left aside.
TEST(Handover, AFormatTwoStateIsReadItsAnnouncedKillsLeftAside) {
  nlohmann::json doc = nlohmann::json::parse(handover::write(full_state()));
  doc["format"] = 2;
  for (auto &app : doc["apps"])
    app["memory"]["announced_kills"] = true;
  const handover::State s = handover::read(doc.dump());
  EXPECT_EQ(s.format, 2);
  EXPECT_EQ(s.apps, full_state().apps);
}

TEST(Handover, TextThatIsNotAStateIsRefusedWithTheReason) {
  EXPECT_THROW(handover::read(""), handover::HandoverError);
  EXPECT_THROW(handover::read("{\"apps\": []}"), handover::HandoverError);
  EXPECT_THROW(handover::read("[1, 2]"), handover::HandoverError);
  nlohmann::json doc = nlohmann::json::parse(handover::write(full_state()));
  doc["apps"][0]["memory"].erase("deadline");
  try {
    handover::read(doc.dump());
    FAIL() << "read a state with a key missing";
  } catch (const handover::HandoverError &e) {
    EXPECT_THAT(e.what(), HasSubstr("deadline"));
  }
  doc = nlohmann::json::parse(handover::write(full_state()));
  doc["apps"][0]["memory"]["state"] = "dancing";
  EXPECT_THROW(handover::read(doc.dump()), handover::HandoverError);
}

TEST(Handover, InvalidUtf8InAnAppsOutputStillWrites) {
  handover::State s = full_state();
  s.apps[0].output.partial[0] = "bad \xff\xfe byte";
  const handover::State back = handover::read(handover::write(s));
  EXPECT_THAT(back.apps[0].output.partial[0], HasSubstr("bad "));
}

// --- Watchdog::resume: the handover's gap in the heartbeat timeline ---

// Running with a 1 s interval, 2 misses: its last heartbeat at `beat`.
Watchdog running(TimePoint beat) {
  Watchdog wd(hbtest::app_config("w"));
  wd.on(ev::Start{}, beat - 500ms);
  wd.on(ev::Spawned{7}, beat - 500ms);
  wd.on(ev::Heartbeat{HeartbeatMsg{}}, beat);
  return wd;
}

std::optional<act::Timer> timer_of(const Actions &acts) {
  std::optional<act::Timer> t;
  for (const Action &a : acts)
    if (const auto *x = std::get_if<act::Timer>(&a))
      t = *x;
  return t;
}

TEST(Resume, AHeartbeatDueInsideTheHandoverIsJudgedGraceAfterIt) {
  const Watchdog before = running(t0);
  ASSERT_EQ(before.deadline(), t0 + 1s);
  Watchdog wd(before.config(), before.memory());
  Actions out;
  const TimePoint restored = t0 + 1100ms; // the due time passed during the exec
  wd.resume(restored, handover::grace, out);
  const auto t = timer_of(out);
  ASSERT_TRUE(t);
  EXPECT_EQ(t->at, restored + handover::grace);
  EXPECT_EQ(wd.deadline(), restored + handover::grace);
  // A heartbeat that was queued during the exec arrives: no miss at all.
  Actions a = wd.on(ev::Heartbeat{HeartbeatMsg{}}, restored + 50ms);
  EXPECT_EQ(wd.misses(), 0u);
  EXPECT_EQ(wd.state(), State::running);
  EXPECT_EQ(wd.heartbeats(), before.heartbeats() + 1);
}

TEST(Resume, ADeadlineLaterThanTheGraceKeepsItsTime) {
  const Watchdog before = running(t0);
  Watchdog wd(before.config(), before.memory());
  Actions out;
  wd.resume(t0 + 100ms, handover::grace, out);
  EXPECT_EQ(wd.deadline(), t0 + 1s);
  ASSERT_TRUE(timer_of(out));
  EXPECT_EQ(timer_of(out)->at, t0 + 1s);
  // The timeline goes on as if there had been no exec: the miss, then the kill.
  wd.on(ev::Deadline{}, t0 + 1s);
  EXPECT_EQ(wd.misses(), 1u);
  Actions k = wd.on(ev::Deadline{}, t0 + 2s);
  EXPECT_EQ(wd.state(), State::stopping);
}

TEST(Resume, AHungAppIsStillKilledWithItsLastMissMovedOnlyByTheHandover) {
  Watchdog before = running(t0);
  before.on(ev::Deadline{}, t0 + 1s); // miss 1 of 2: the next deadline kills
  ASSERT_EQ(before.misses(), 1u);
  Watchdog wd(before.config(), before.memory());
  Actions out;
  const TimePoint restored = t0 + 2050ms;
  wd.resume(restored, handover::grace, out);
  ASSERT_TRUE(timer_of(out));
  EXPECT_EQ(timer_of(out)->at, restored + handover::grace);
  Actions k = wd.on(ev::Deadline{}, restored + handover::grace);
  EXPECT_EQ(wd.state(), State::stopping);
  EXPECT_EQ(wd.misses_total(), 2u);
}

TEST(Resume, AStopsTimeoutAndABackoffsEndAreNotMoved) {
  Watchdog stopping = running(t0);
  stopping.on(ev::Stop{}, t0 + 100ms);
  ASSERT_EQ(stopping.state(), State::stopping);
  const auto stop_deadline = stopping.deadline();
  Watchdog a(stopping.config(), stopping.memory());
  Actions out;
  a.resume(*stop_deadline + 1ms, handover::grace, out);
  EXPECT_EQ(a.deadline(), stop_deadline);
  ASSERT_TRUE(timer_of(out));
  EXPECT_EQ(timer_of(out)->at, stop_deadline);

  Watchdog crashed = running(t0);
  crashed.on(ev::Exited{ExitStatus::with_code(3)}, t0 + 100ms);
  ASSERT_EQ(crashed.state(), State::backoff);
  const auto backoff_end = crashed.deadline();
  Watchdog b(crashed.config(), crashed.memory());
  Actions out2;
  b.resume(*backoff_end, handover::grace, out2);
  EXPECT_EQ(b.deadline(), backoff_end);
}

TEST(Resume, EverythingElseIsAsItWas) {
  const Watchdog before = lived(every_field("x"));
  Watchdog wd(before.config(), before.memory());
  Actions out;
  wd.resume(t0, handover::grace, out);
  Watchdog::Memory expected = before.memory();
  expected.deadline = wd.memory().deadline;
  EXPECT_EQ(wd.memory(), expected);
  EXPECT_EQ(wd.restarts(), 1u);
  EXPECT_EQ(wd.status_text(), "warming up");
}

} // namespace

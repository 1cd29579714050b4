// The watchdog state machine, driven by hand with a fake clock: no processes,
// no sleeps, no real time. The caller's side (execute the actions, feed
// Spawned back after a Spawn) is played by Harness.
#include "app_config.hpp"
#include "core/watchdog.hpp"
#include "fake_clock.hpp"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <fmt/format.h>

#include <algorithm>
#include <csignal>
#include <ostream>
#include <string>
#include <vector>

namespace hbmon {

// Failures print state names, not bytes.
static void PrintTo(State s, std::ostream *os) { *os << to_string(s); }

namespace {

using namespace std::chrono_literals;
using ::testing::Contains;
using ::testing::ElementsAre;
using ::testing::HasSubstr;
using ::testing::IsEmpty;
using ::testing::Not;

constexpr pid_t kPid = 42;
using hbtest::t0;

// 1 s interval, 2 misses, 2 s grace, on-failure, 1 s first delay.
AppConfig base_config() { return hbtest::app_config("naughty_worker"); }

AppConfig heartbeat_config(Duration interval, unsigned misses, Duration grace) {
  AppConfig c = base_config();
  c.heartbeat->interval = interval;
  c.heartbeat->misses = misses;
  c.heartbeat->grace = grace;
  return c;
}

AppConfig no_heartbeat_config() {
  AppConfig c = base_config();
  c.heartbeat.reset();
  return c;
}

// "Spawn Kill(9) Changed": every action but the logs, in order.
std::string kinds(const Actions &actions) {
  std::string out;
  for (const Action &a : actions) {
    std::string k;
    if (std::holds_alternative<act::Spawn>(a))
      k = "Spawn";
    else if (const auto *kill = std::get_if<act::Kill>(&a))
      k = "Kill(" + std::to_string(kill->signal) + ")";
    else if (std::holds_alternative<act::Changed>(a))
      k = "Changed";
    else if (std::holds_alternative<act::RestartDue>(a))
      k = "RestartDue";
    else
      continue;
    out += out.empty() ? k : " " + k;
  }
  return out;
}

std::vector<std::string> log_texts(const Actions &actions) {
  std::vector<std::string> out;
  for (const Action &a : actions)
    if (const auto *l = std::get_if<act::Log>(&a))
      out.push_back(l->text);
  return out;
}

std::vector<act::Changed> changes(const Actions &actions) {
  std::vector<act::Changed> out;
  for (const Action &a : actions)
    if (const auto *c = std::get_if<act::Changed>(&a))
      out.push_back(*c);
  return out;
}

bool has_spawn(const Actions &actions) { return kinds(actions).find("Spawn") != std::string::npos; }

ev::Exited exit_code(int code) { return {ExitStatus::with_code(code)}; }
ev::Exited exit_signal(int sig) { return {ExitStatus::with_signal(sig)}; }
ev::Heartbeat beat() { return {HeartbeatMsg{}}; }
ev::Heartbeat trigger() {
  HeartbeatMsg m;
  m.trigger = true;
  return {m};
}

// One watchdog, a hand-driven clock, and every log line it produced. Each
// call checks the invariants that hold after any event.
class Harness {
public:
  explicit Harness(AppConfig cfg = base_config()) : wd(std::move(cfg)) {}

  Actions on(const Event &e) {
    const State before = wd.state();
    const auto deadline_before = wd.deadline();
    Actions out = wd.on(e, now);
    check(before, e, out);
    check_timer(deadline_before, out);
    for (std::string &text : log_texts(out))
      logs.push_back(std::move(text));
    return out;
  }

  Actions at(TimePoint t, const Event &e) {
    now = t;
    return on(e);
  }

  // Deliver the pending deadline exactly when it is due.
  Actions fire() {
    if (!wd.deadline()) {
      ADD_FAILURE() << "no deadline pending in state " << to_string(wd.state());
      return {};
    }
    now = *wd.deadline();
    return on(ev::Deadline{});
  }

  // Admin start (or a restart deadline) followed by the caller's Spawned.
  void spawned(pid_t pid = kPid) {
    on(ev::Spawned{pid});
    EXPECT_EQ(wd.pid(), pid);
  }
  void start(pid_t pid = kPid) {
    Actions a = on(ev::Start{});
    ASSERT_EQ(kinds(a), "Spawn");
    spawned(pid);
  }
  // The backoff deadline says a restart is due, and the caller's turn for
  // it comes at once: what the watchdog does then.
  Actions fire_restart() {
    EXPECT_EQ(wd.state(), State::backoff);
    EXPECT_EQ(kinds(fire()), "RestartDue");
    EXPECT_TRUE(wd.restart_due());
    return on(ev::Restart{});
  }
  // Started, crashed, backoff over: a restart is due and not yet run.
  void crash_until_restart_due() {
    start();
    at(now + 100ms, exit_code(1));
    ASSERT_EQ(kinds(fire()), "RestartDue");
  }
  void restart(pid_t pid = kPid) {
    ASSERT_EQ(kinds(fire_restart()), "Spawn");
    spawned(pid);
  }

  Watchdog wd;
  TimePoint now = t0;
  std::vector<std::string> logs;

private:
  // A Timer action comes exactly when the deadline moved, and tells where to.
  void check_timer(std::optional<TimePoint> before, const Actions &out) {
    int timers = 0;
    for (const Action &a : out)
      if (const auto *t = std::get_if<act::Timer>(&a)) {
        ++timers;
        EXPECT_EQ(t->at, wd.deadline()) << "a Timer action that is not the deadline";
      }
    EXPECT_LE(timers, 1) << "more than one Timer action for one event";
    if (wd.deadline() != before) {
      EXPECT_EQ(timers, 1) << "the deadline moved without a Timer action";
    }
  }

  void check(State before, const Event &e, const Actions &out) const {
    SCOPED_TRACE(::testing::Message() << event_name(e) << " in " << to_string(before));
    const auto cs = changes(out);
    if (cs.empty()) {
      EXPECT_EQ(wd.state(), before) << "the state moved without a Changed action";
    } else {
      EXPECT_EQ(cs.front().from, before);
      for (std::size_t i = 1; i < cs.size(); ++i)
        EXPECT_EQ(cs[i].from, cs[i - 1].to);
      EXPECT_EQ(cs.back().to, wd.state());
      EXPECT_EQ(cs.back().reason, wd.reason());
    }
    if (wd.deadline()) {
      EXPECT_GE(*wd.deadline(), now) << "a deadline in the past";
    }
    switch (wd.state()) {
    case State::starting:
    case State::running:
      EXPECT_GT(wd.pid(), 0);
      break;
    case State::stopping:
      break;
    case State::backoff:
    case State::stopped:
    case State::exited:
    case State::failed:
      EXPECT_EQ(wd.pid(), 0);
      EXPECT_FALSE(wd.has_process());
      break;
    }
    if (wd.state() == State::backoff) {
      EXPECT_TRUE(wd.deadline() || wd.restart_due() || has_spawn(out))
          << "backoff without a restart deadline";
    }
  }
};

// --- names ------------------------------------------------------------------

TEST(WatchdogNames, States) {
  std::vector<std::string> names;
  for (const auto &[s, name] : state_names.entries)
    names.emplace_back(to_string(s));
  EXPECT_THAT(names, ElementsAre("starting", "running", "stopping", "backoff", "stopped", "exited",
                                 "failed"));
}

TEST(WatchdogNames, Events) {
  EXPECT_EQ(event_name(ev::Start{}), "start");
  EXPECT_EQ(event_name(ev::Stop{}), "stop");
  EXPECT_EQ(event_name(ev::Spawned{1}), "spawned");
  EXPECT_EQ(event_name(ev::SpawnFailed{"x"}), "spawn-failed");
  EXPECT_EQ(event_name(beat()), "heartbeat");
  EXPECT_EQ(event_name(exit_code(0)), "exited");
  EXPECT_EQ(event_name(ev::Deadline{}), "deadline");
  EXPECT_EQ(event_name(ev::Panic{"x"}), "panic");
  EXPECT_EQ(event_name(ev::Probe{1, true}), "probe");
}

TEST(WatchdogNames, ExitStatusDescribe) {
  EXPECT_EQ(ExitStatus::with_code(0).describe(), "exit status 0");
  EXPECT_EQ(ExitStatus::with_code(255).describe(), "exit status 255");
  EXPECT_EQ(ExitStatus::with_signal(SIGKILL).describe(), "killed by SIGKILL");
  EXPECT_EQ(ExitStatus::exec_failed("exec /x: ENOENT").describe(), "exec /x: ENOENT");
  EXPECT_TRUE(ExitStatus::with_code(0).clean());
  EXPECT_FALSE(ExitStatus::with_code(1).clean());
  EXPECT_FALSE(ExitStatus::with_signal(SIGTERM).clean());
  EXPECT_FALSE(ExitStatus::exec_failed("x").clean());
}

TEST(Watchdog, InitialState) {
  Watchdog wd(base_config());
  EXPECT_EQ(wd.state(), State::stopped);
  EXPECT_FALSE(wd.wants_up());
  EXPECT_FALSE(wd.deadline());
  EXPECT_EQ(wd.pid(), 0);
  EXPECT_EQ(wd.restarts(), 0u);
  EXPECT_EQ(wd.next_delay(), 1s);

  AppConfig off = base_config();
  off.enabled = false;
  EXPECT_EQ(Watchdog(off).reason(), "disabled");
}

// --- every state x every event ------------------------------------------------

enum class Given {
  starting,
  running,
  stopping_up,
  stopping_down,
  backoff,
  stopped,
  exited,
  failed
};
enum class Ev {
  start,
  stop,
  spawned,
  spawn_failed,
  heartbeat,
  trigger,
  exit0,
  exit1,
  exit_signal,
  deadline,
  panic,
  restart
};

const char *name(Given g) {
  static const char *const names[] = {"starting", "running", "stopping_up", "stopping_down",
                                      "backoff",  "stopped", "exited",      "failed"};
  return names[static_cast<int>(g)];
}

const char *name(Ev e) {
  static const char *const names[] = {"start",       "stop",     "spawned", "spawn_failed",
                                      "heartbeat",   "trigger",  "exit0",   "exit1",
                                      "exit_signal", "deadline", "panic",   "restart"};
  return names[static_cast<int>(e)];
}

// The table's app: the base config with a start limit of 3, so `failed` is
// quick to reach.
AppConfig table_config() {
  AppConfig c = base_config();
  c.start_limit = {3, 300s};
  return c;
}

// Drive a fresh watchdog into `g` the way it happens in production.
void drive(Harness &h, Given g) {
  switch (g) {
  case Given::stopped: // never started
    break;
  case Given::starting:
    h.start();
    break;
  case Given::running:
    h.start();
    h.at(h.now + 500ms, beat());
    break;
  case Given::stopping_up: // killed for missed heartbeats, to be restarted
    drive(h, Given::running);
    h.fire();
    h.fire();
    ASSERT_EQ(h.wd.reason(), "missed 2 heartbeats");
    break;
  case Given::stopping_down: // admin stop, SIGTERM sent
    drive(h, Given::running);
    h.at(h.now + 100ms, ev::Stop{});
    break;
  case Given::backoff:
    drive(h, Given::running);
    h.at(h.now + 100ms, exit_code(1));
    break;
  case Given::exited:
    drive(h, Given::running);
    h.at(h.now + 100ms, exit_code(0));
    break;
  case Given::failed: // three starts that cannot fork, the fourth hits the limit
    ASSERT_EQ(kinds(h.on(ev::Start{})), "Spawn");
    h.on(ev::SpawnFailed{"fork: Resource temporarily unavailable"});
    for (int i = 0; i < 2; ++i) {
      ASSERT_EQ(kinds(h.fire_restart()), "Spawn");
      h.on(ev::SpawnFailed{"fork: Resource temporarily unavailable"});
    }
    h.fire_restart();
    break;
  }
  const State expected[] = {State::starting, State::running, State::stopping, State::stopping,
                            State::backoff,  State::stopped, State::exited,   State::failed};
  ASSERT_EQ(h.wd.state(), expected[static_cast<int>(g)]) << name(g);
}

Event make(Ev e) {
  switch (e) {
  case Ev::start:
    return ev::Start{};
  case Ev::stop:
    return ev::Stop{};
  case Ev::spawned:
    return ev::Spawned{43};
  case Ev::spawn_failed:
    return ev::SpawnFailed{"fork: Resource temporarily unavailable"};
  case Ev::heartbeat:
    return beat();
  case Ev::trigger:
    return trigger();
  case Ev::exit0:
    return exit_code(0);
  case Ev::exit1:
    return exit_code(1);
  case Ev::exit_signal:
    return exit_signal(SIGSEGV);
  case Ev::deadline:
    return ev::Deadline{};
  case Ev::panic:
    return ev::Panic{"pressed by root"};
  case Ev::restart:
    return ev::Restart{};
  }
  return ev::Deadline{};
}

struct Row {
  Given given;
  Ev event;
  State next;          // right after the event (a Spawn completes with Spawned)
  const char *actions; // kinds(), logs left out
  bool deadline;       // a deadline is pending afterwards
  bool want_up;
};

void PrintTo(const Row &r, std::ostream *os) { *os << name(r.given) << " x " << name(r.event); }

using S = State;
using G = Given;
constexpr bool up = true, down = false, dl = true, no_dl = false;

// clang-format off
const Row transitions[] = {
    // starting: spawned, waiting for the first heartbeat (grace deadline)
    {G::starting, Ev::start,        S::starting, "",                dl,    up},
    {G::starting, Ev::stop,         S::stopping, "Kill(15) Changed", dl,   down},
    {G::starting, Ev::spawned,      S::starting, "",                dl,    up},
    {G::starting, Ev::spawn_failed, S::starting, "",                dl,    up},
    {G::starting, Ev::heartbeat,    S::running,  "Changed",         dl,    up},
    {G::starting, Ev::trigger,      S::stopping, "Kill(9) Changed", no_dl, up},
    {G::starting, Ev::exit0,        S::exited,   "Changed",         no_dl, down},
    {G::starting, Ev::exit1,        S::backoff,  "Changed",         dl,    up},
    {G::starting, Ev::exit_signal,  S::backoff,  "Changed",         dl,    up},
    {G::starting, Ev::deadline,     S::starting, "",                dl,    up},   // miss 1/2
    {G::starting, Ev::panic,        S::stopping, "Kill(9) Changed", no_dl, up},
    {G::starting, Ev::restart,      S::starting, "",                dl,    up},
    // running
    {G::running, Ev::start,         S::running,  "",                dl,    up},
    {G::running, Ev::stop,          S::stopping, "Kill(15) Changed", dl,   down},
    {G::running, Ev::spawned,       S::running,  "",                dl,    up},
    {G::running, Ev::spawn_failed,  S::running,  "",                dl,    up},
    {G::running, Ev::heartbeat,     S::running,  "",                dl,    up},
    {G::running, Ev::trigger,       S::stopping, "Kill(9) Changed", no_dl, up},
    {G::running, Ev::exit0,         S::exited,   "Changed",         no_dl, down},
    {G::running, Ev::exit1,         S::backoff,  "Changed",         dl,    up},
    {G::running, Ev::exit_signal,   S::backoff,  "Changed",         dl,    up},
    {G::running, Ev::deadline,      S::running,  "",                dl,    up},   // miss 1/2
    {G::running, Ev::panic,         S::stopping, "Kill(9) Changed", no_dl, up},
    {G::running, Ev::restart,       S::running,  "",                dl,    up},
    // stopping, want up: SIGKILLed for missed heartbeats; the exit restarts it
    {G::stopping_up, Ev::start,        S::stopping, "",        no_dl, up},
    {G::stopping_up, Ev::stop,         S::stopping, "",        no_dl, down},
    {G::stopping_up, Ev::spawned,      S::stopping, "",        no_dl, up},
    {G::stopping_up, Ev::spawn_failed, S::stopping, "",        no_dl, up},
    {G::stopping_up, Ev::heartbeat,    S::stopping, "",        no_dl, up},
    {G::stopping_up, Ev::trigger,      S::stopping, "",        no_dl, up},
    {G::stopping_up, Ev::exit0,        S::backoff,  "Changed", dl,    up},  // still a health kill
    {G::stopping_up, Ev::exit1,        S::backoff,  "Changed", dl,    up},
    {G::stopping_up, Ev::exit_signal,  S::backoff,  "Changed", dl,    up},
    {G::stopping_up, Ev::deadline,     S::stopping, "",        no_dl, up},
    {G::stopping_up, Ev::panic,        S::stopping, "Kill(9)", no_dl, up},
    {G::stopping_up, Ev::restart,      S::stopping, "",        no_dl, up},
    // stopping, want down: admin stop, stop_signal sent, stop_timeout pending
    {G::stopping_down, Ev::start,        S::stopping, "",        dl,    up},  // restarts on exit
    {G::stopping_down, Ev::stop,         S::stopping, "",        dl,    down},
    {G::stopping_down, Ev::spawned,      S::stopping, "",        dl,    down},
    {G::stopping_down, Ev::spawn_failed, S::stopping, "",        dl,    down},
    {G::stopping_down, Ev::heartbeat,    S::stopping, "",        dl,    down},
    {G::stopping_down, Ev::trigger,      S::stopping, "",        dl,    down},
    {G::stopping_down, Ev::exit0,        S::stopped,  "Changed", no_dl, down},
    {G::stopping_down, Ev::exit1,        S::stopped,  "Changed", no_dl, down},
    {G::stopping_down, Ev::exit_signal,  S::stopped,  "Changed", no_dl, down},
    {G::stopping_down, Ev::deadline,     S::stopping, "Kill(9)", no_dl, down},
    {G::stopping_down, Ev::panic,        S::stopping, "Kill(9)", no_dl, down},
    {G::stopping_down, Ev::restart,      S::stopping, "",        dl,    down},
    // backoff: no process, restart deadline pending
    {G::backoff, Ev::start,        S::backoff, "Spawn",   no_dl, up},  // admin start: now
    {G::backoff, Ev::stop,         S::stopped, "Changed", no_dl, down},
    {G::backoff, Ev::spawned,      S::backoff, "",        dl,    up},
    {G::backoff, Ev::spawn_failed, S::backoff, "",        dl,    up},
    {G::backoff, Ev::heartbeat,    S::backoff, "",        dl,    up},
    {G::backoff, Ev::trigger,      S::backoff, "",        dl,    up},
    {G::backoff, Ev::exit0,        S::backoff, "",        dl,    up},
    {G::backoff, Ev::exit1,        S::backoff, "",        dl,    up},
    {G::backoff, Ev::exit_signal,  S::backoff, "",        dl,    up},
    {G::backoff, Ev::deadline,     S::backoff, "RestartDue", no_dl, up},  // the scheduler says when
    {G::backoff, Ev::panic,        S::backoff, "",        dl,    up},
    {G::backoff, Ev::restart,      S::backoff, "",        dl,    up},  // not due yet
    // stopped: never started
    {G::stopped, Ev::start,        S::stopped, "Spawn", no_dl, up},
    {G::stopped, Ev::stop,         S::stopped, "",      no_dl, down},
    {G::stopped, Ev::spawned,      S::stopped, "",      no_dl, down},
    {G::stopped, Ev::spawn_failed, S::stopped, "",      no_dl, down},
    {G::stopped, Ev::heartbeat,    S::stopped, "",      no_dl, down},
    {G::stopped, Ev::trigger,      S::stopped, "",      no_dl, down},
    {G::stopped, Ev::exit0,        S::stopped, "",      no_dl, down},
    {G::stopped, Ev::exit1,        S::stopped, "",      no_dl, down},
    {G::stopped, Ev::exit_signal,  S::stopped, "",      no_dl, down},
    {G::stopped, Ev::deadline,     S::stopped, "",      no_dl, down},
    {G::stopped, Ev::panic,        S::stopped, "",      no_dl, down},
    {G::stopped, Ev::restart,      S::stopped, "",      no_dl, down},
    // exited: finished with exit 0 under on-failure
    {G::exited, Ev::start,        S::exited,  "Spawn",   no_dl, up},
    {G::exited, Ev::stop,         S::stopped, "Changed", no_dl, down},
    {G::exited, Ev::spawned,      S::exited,  "",        no_dl, down},
    {G::exited, Ev::spawn_failed, S::exited,  "",        no_dl, down},
    {G::exited, Ev::heartbeat,    S::exited,  "",        no_dl, down},
    {G::exited, Ev::trigger,      S::exited,  "",        no_dl, down},
    {G::exited, Ev::exit0,        S::exited,  "",        no_dl, down},
    {G::exited, Ev::exit1,        S::exited,  "",        no_dl, down},
    {G::exited, Ev::exit_signal,  S::exited,  "",        no_dl, down},
    {G::exited, Ev::deadline,     S::exited,  "",        no_dl, down},
    {G::exited, Ev::panic,        S::exited,  "",        no_dl, down},
    {G::exited, Ev::restart,      S::exited,  "",        no_dl, down},
    // failed: start limit hit; only an admin start (or stop) moves it
    {G::failed, Ev::start,        S::failed,  "Spawn",   no_dl, up},
    {G::failed, Ev::stop,         S::stopped, "Changed", no_dl, down},
    {G::failed, Ev::spawned,      S::failed,  "",        no_dl, down},
    {G::failed, Ev::spawn_failed, S::failed,  "",        no_dl, down},
    {G::failed, Ev::heartbeat,    S::failed,  "",        no_dl, down},
    {G::failed, Ev::trigger,      S::failed,  "",        no_dl, down},
    {G::failed, Ev::exit0,        S::failed,  "",        no_dl, down},
    {G::failed, Ev::exit1,        S::failed,  "",        no_dl, down},
    {G::failed, Ev::exit_signal,  S::failed,  "",        no_dl, down},
    {G::failed, Ev::deadline,     S::failed,  "",        no_dl, down},
    {G::failed, Ev::panic,        S::failed,  "",        no_dl, down},
    {G::failed, Ev::restart,      S::failed,  "",        no_dl, down},
};
// clang-format on

class Transitions : public ::testing::TestWithParam<Row> {};

TEST_P(Transitions, Row) {
  const Row &r = GetParam();
  Harness h(table_config());
  drive(h, r.given);
  if (HasFatalFailure())
    return;
  const State before = h.wd.state();
  const pid_t pid_before = h.wd.pid();
  const auto deadline_before = h.wd.deadline();

  // A deadline is delivered when it is due; everything else a little later.
  if (r.event == Ev::deadline && deadline_before)
    h.now = *deadline_before;
  else
    h.now += 100ms;
  const Actions a = h.on(make(r.event));

  EXPECT_EQ(h.wd.state(), r.next);
  EXPECT_EQ(kinds(a), r.actions);
  EXPECT_EQ(h.wd.deadline().has_value(), r.deadline);
  EXPECT_EQ(h.wd.wants_up(), r.want_up);

  // Events that change nothing leave no trace: no log either.
  if (kinds(a).empty() && h.wd.state() == before && r.event != Ev::deadline &&
      r.event != Ev::heartbeat) {
    EXPECT_THAT(log_texts(a), IsEmpty());
    EXPECT_EQ(h.wd.pid(), pid_before);
    EXPECT_EQ(h.wd.deadline(), deadline_before);
  }
  // Any kill is logged with the pid it is for.
  if (kinds(a).find("Kill") != std::string::npos) {
    EXPECT_THAT(log_texts(a), Contains(HasSubstr("pid 42")));
  }
  // The caller completes a Spawn with Spawned: the new run is `starting`.
  if (has_spawn(a)) {
    h.on(ev::Spawned{43});
    EXPECT_EQ(h.wd.state(), State::starting);
    EXPECT_EQ(h.wd.pid(), 43);
    EXPECT_EQ(h.wd.deadline(), h.now + 2s);
  }
}

INSTANTIATE_TEST_SUITE_P(AllStatesAllEvents, Transitions, ::testing::ValuesIn(transitions),
                         [](const ::testing::TestParamInfo<Row> &info) {
                           return std::string(name(info.param.given)) + "_x_" +
                                  name(info.param.event);
                         });

TEST(TransitionTable, CoversEveryStateAndEvent) {
  constexpr int n_given = 8, n_ev = 12;
  int seen[n_given][n_ev] = {};
  for (const Row &r : transitions)
    ++seen[static_cast<int>(r.given)][static_cast<int>(r.event)];
  for (int g = 0; g < n_given; ++g)
    for (int e = 0; e < n_ev; ++e)
      EXPECT_EQ(seen[g][e], 1) << name(static_cast<Given>(g)) << " x " << name(static_cast<Ev>(e));
}

// --- missed-heartbeat timing --------------------------------------------------

struct Timing {
  Duration interval;
  unsigned misses;
  Duration grace;
};

void PrintTo(const Timing &t, std::ostream *os) {
  *os << "interval " << t.interval.count() << "ns, misses " << t.misses << ", grace "
      << t.grace.count() << "ns";
}

class MissedHeartbeats : public ::testing::TestWithParam<Timing> {
protected:
  MissedHeartbeats()
      : h(heartbeat_config(GetParam().interval, GetParam().misses, GetParam().grace)) {}
  Harness h;
  const Duration I = GetParam().interval;
  const unsigned N = GetParam().misses;
  const Duration G = GetParam().grace;
};

// After a start: miss k is due at start + G + (k-1)*I; the N-th miss kills.
TEST_P(MissedHeartbeats, FromStart) {
  h.start();
  const TimePoint start = h.now;
  EXPECT_EQ(h.wd.deadline(), start + G);
  for (unsigned k = 1; k <= N; ++k) {
    SCOPED_TRACE(::testing::Message() << "miss " << k);
    const TimePoint due = start + G + (k - 1) * I;
    Actions early = h.at(due - 1ns, ev::Deadline{});
    EXPECT_THAT(early, IsEmpty());
    EXPECT_EQ(h.wd.misses(), k - 1);

    Actions a = h.at(due, ev::Deadline{});
    EXPECT_EQ(h.wd.misses(), k);
    EXPECT_THAT(log_texts(a), Contains(fmt::format("missed heartbeat {}/{}", k, N)));
    if (k < N) {
      EXPECT_EQ(kinds(a), "");
      EXPECT_EQ(h.wd.state(), State::starting);
      EXPECT_EQ(h.wd.deadline(), due + I);
    } else {
      EXPECT_EQ(kinds(a), "Kill(9) Changed");
      EXPECT_EQ(h.wd.state(), State::stopping);
      EXPECT_FALSE(h.wd.deadline());
      EXPECT_EQ(h.wd.reason(), fmt::format("missed {} heartbeat{}", N, N == 1 ? "" : "s"));
    }
  }
  EXPECT_EQ(h.wd.misses_total(), N);
}

// After a heartbeat at hb the kill is due at hb + N*I exactly.
TEST_P(MissedHeartbeats, FromLastHeartbeat) {
  h.start();
  const TimePoint hb = h.now + G / 2;
  h.at(hb, beat());
  EXPECT_EQ(h.wd.state(), State::running);
  EXPECT_EQ(h.wd.deadline(), hb + I);

  Actions before = h.at(hb + N * I - 1ns, ev::Deadline{});
  EXPECT_EQ(h.wd.state(), State::running);
  EXPECT_EQ(h.wd.misses(), N - 1);
  EXPECT_EQ(kinds(before), "");

  Actions kill = h.at(hb + N * I, ev::Deadline{});
  EXPECT_EQ(kinds(kill), "Kill(9) Changed");
  EXPECT_EQ(h.wd.misses(), N);
}

// A heartbeat at any point, even between misses, starts the count again.
TEST_P(MissedHeartbeats, HeartbeatResetsTheCount) {
  h.start();
  if (N > 1) {
    h.fire(); // miss 1
    EXPECT_EQ(h.wd.misses(), 1u);
  }
  const TimePoint hb = h.now + I / 3;
  h.at(hb, beat());
  EXPECT_EQ(h.wd.misses(), 0u);
  EXPECT_EQ(h.wd.deadline(), hb + I);
  EXPECT_EQ(h.wd.last_heartbeat(), hb);

  for (unsigned k = 1; k < N; ++k) {
    h.fire();
    EXPECT_EQ(h.wd.state(), State::running);
  }
  EXPECT_EQ(h.wd.deadline(), hb + N * I);
  EXPECT_EQ(kinds(h.fire()), "Kill(9) Changed");
  EXPECT_EQ(h.now, hb + N * I);
}

// A deadline delivered late counts every due time that passed.
TEST_P(MissedHeartbeats, LateDeadlineCountsEveryPassedDueTime) {
  h.start();
  const TimePoint start = h.now;
  if (N > 1) {
    // all but the last due time passed: N-1 misses in one go, no kill
    Actions a = h.at(start + G + (N - 2) * I + I / 2, ev::Deadline{});
    EXPECT_EQ(h.wd.misses(), N - 1);
    EXPECT_EQ(log_texts(a).size(), N - 1);
    EXPECT_EQ(kinds(a), "");
    EXPECT_EQ(h.wd.deadline(), start + G + (N - 1) * I);
  }
  // far too late: the count stops at N with a single kill
  Actions a = h.at(start + G + 100 * I, ev::Deadline{});
  EXPECT_EQ(h.wd.misses(), N);
  EXPECT_EQ(kinds(a), "Kill(9) Changed");
  EXPECT_EQ(h.wd.state(), State::stopping);
  EXPECT_EQ(h.wd.misses_total(), N);
}

INSTANTIATE_TEST_SUITE_P(Configs, MissedHeartbeats,
                         ::testing::Values(Timing{1s, 2, 2s}, Timing{3s, 3, 5s},
                                           Timing{250ms, 1, 250ms}, Timing{1500ms, 4, 1s},
                                           Timing{10ms, 10, 1s}, Timing{1s, 1, 2s}));

TEST(MissedHeartbeat, HeartbeatAtTheDueTimeIsNotAMiss) {
  Harness h;
  h.start();
  const TimePoint due = *h.wd.deadline();
  h.at(due, beat()); // the loop drains sockets before it runs deadlines
  Actions a = h.at(due, ev::Deadline{});
  EXPECT_THAT(a, IsEmpty());
  EXPECT_EQ(h.wd.misses(), 0u);
  EXPECT_EQ(h.wd.deadline(), due + 1s);
}

TEST(MissedHeartbeat, HeartbeatDuringGraceShortensTheWait) {
  Harness h(heartbeat_config(1s, 2, 10s));
  h.start();
  h.at(h.now + 1ns, beat());
  EXPECT_EQ(h.wd.deadline(), t0 + 1ns + 1s);
}

TEST(MissedHeartbeat, HeartbeatsKeepItRunningForever) {
  Harness h;
  h.start();
  for (int i = 0; i < 1000; ++i) {
    h.at(h.now + 999ms, beat());
    EXPECT_THAT(h.on(ev::Deadline{}), IsEmpty());
  }
  EXPECT_EQ(h.wd.state(), State::running);
  EXPECT_EQ(h.wd.heartbeats(), 1000u);
  EXPECT_EQ(h.wd.misses_total(), 0u);
}

// --- restart delay ------------------------------------------------------------

AppConfig backoff_config(Duration delay, Duration max) {
  AppConfig c = no_heartbeat_config();
  c.restart_delay = delay;
  c.backoff_max = max;
  c.start_limit = {1000, 300s};
  return c;
}

// Crash right away and return the delay chosen for the restart.
Duration crash(Harness &h) {
  const TimePoint at = h.now;
  Actions a = h.on(exit_code(1));
  EXPECT_EQ(h.wd.state(), State::backoff);
  if (!h.wd.deadline())
    return Duration::max();
  const Duration wait = *h.wd.deadline() - at;
  EXPECT_THAT(log_texts(a), Contains(fmt::format("restarting in {:g}s", to_seconds(wait))));
  return wait;
}

TEST(Backoff, DoublesUpToTheCap) {
  Harness h(backoff_config(1s, 10s));
  h.start();
  std::vector<Duration> waits;
  for (int i = 0; i < 7; ++i) {
    waits.push_back(crash(h));
    h.restart();
  }
  EXPECT_THAT(waits, ElementsAre(1s, 2s, 4s, 8s, 10s, 10s, 10s));
  EXPECT_EQ(h.wd.restarts(), 7u);
}

TEST(Backoff, FractionalDelays) {
  Harness h(backoff_config(250ms, 1500ms));
  h.start();
  std::vector<Duration> waits;
  for (int i = 0; i < 5; ++i) {
    waits.push_back(crash(h));
    h.restart();
  }
  EXPECT_THAT(waits, ElementsAre(250ms, 500ms, 1s, 1500ms, 1500ms));
  EXPECT_THAT(h.logs, Contains("restarting in 0.25s"));
  EXPECT_THAT(h.logs, Contains("restarting in 1.5s"));
}

TEST(Backoff, ResetsAfterAHealthyRun) {
  Harness h(backoff_config(1s, 60s));
  h.start();
  EXPECT_EQ(crash(h), 1s);
  h.restart();
  EXPECT_EQ(crash(h), 2s);
  h.restart();
  EXPECT_EQ(crash(h), 4s);
  h.restart();
  h.now += healthy_run - 1ns; // not quite healthy
  EXPECT_EQ(crash(h), 8s);
  h.restart();
  h.now += healthy_run; // healthy: back to the first delay
  EXPECT_EQ(crash(h), 1s);
  h.restart();
  EXPECT_EQ(crash(h), 2s);
}

// With heartbeats, `running` begins at the first heartbeat, not at the spawn.
TEST(Backoff, HealthyMeansRunningNotStarting) {
  for (const Duration extra : {Duration(0), Duration(-1ns)}) {
    Harness h(heartbeat_config(1s, 2, 2s));
    h.start();
    h.on(exit_code(1));
    h.restart(); // next delay: 2s
    const TimePoint first = h.now + 1500ms;
    h.at(first, beat());
    while (h.now + 1s < first + healthy_run)
      h.at(h.now + 1s, beat());
    h.now = first + healthy_run + extra;
    EXPECT_EQ(crash(h), extra == Duration(0) ? 1s : 2s);
  }
}

TEST(Backoff, ZeroDelayStaysZero) {
  Harness h(backoff_config(0s, 60s));
  h.start();
  for (int i = 0; i < 5; ++i) {
    EXPECT_EQ(crash(h), 0s);
    EXPECT_EQ(h.wd.deadline(), h.now);
    h.restart();
  }
  EXPECT_THAT(h.logs, Contains("restarting in 0s"));
}

TEST(Backoff, CapEqualToDelayIsConstant) {
  Harness h(backoff_config(3s, 3s));
  h.start();
  for (int i = 0; i < 4; ++i) {
    EXPECT_EQ(crash(h), 3s);
    h.restart();
  }
}

TEST(Backoff, AdminStartResetsTheDelay) {
  Harness h(backoff_config(1s, 60s));
  h.start();
  crash(h);
  h.restart();
  crash(h);
  h.restart();
  EXPECT_EQ(h.wd.next_delay(), 4s);
  h.on(ev::Stop{});
  h.on(exit_signal(SIGTERM));
  h.start();
  EXPECT_EQ(h.wd.restarts(), 0u);
  EXPECT_EQ(crash(h), 1s);
}

// --- start limit --------------------------------------------------------------

AppConfig limit_config(unsigned burst, Duration interval) {
  AppConfig c = backoff_config(1s, 1s);
  c.start_limit = {burst, interval};
  return c;
}

TEST(StartLimit, OneStartTooManyFails) {
  Harness h(limit_config(3, 60s));
  h.start(); // 1
  h.on(exit_code(1));
  h.restart(); // 2
  h.on(exit_code(1));
  h.restart(); // 3
  h.on(exit_code(1));
  Actions a = h.fire_restart(); // 4: over the limit
  EXPECT_EQ(kinds(a), "Changed");
  EXPECT_EQ(h.wd.state(), State::failed);
  EXPECT_THAT(h.wd.reason(), HasSubstr("start limit"));
  EXPECT_EQ(h.wd.reason(), "start limit hit: 3 starts within 60s");
  EXPECT_FALSE(h.wd.deadline());
  EXPECT_EQ(h.wd.pid(), 0);
  ASSERT_FALSE(log_texts(a).empty());
  const auto &log = std::get<act::Log>(a.front());
  EXPECT_EQ(log.level, LogLevel::error);
  EXPECT_THAT(log.text, HasSubstr("start limit"));
  EXPECT_EQ(h.wd.last_exit(), ExitStatus::with_code(1));

  // it stays failed: nothing pending, time passing changes nothing
  EXPECT_THAT(h.at(h.now + 1h, ev::Deadline{}), IsEmpty());
  EXPECT_EQ(h.wd.state(), State::failed);
}

TEST(StartLimit, AdminStartClearsTheHistory) {
  Harness h(limit_config(2, 60s));
  h.start();
  h.on(exit_code(1));
  h.restart();
  h.on(exit_code(1));
  h.fire_restart();
  ASSERT_EQ(h.wd.state(), State::failed);

  h.now += 1s; // well within the interval: only an admin start helps
  h.start();
  EXPECT_EQ(h.wd.state(), State::running);
  EXPECT_EQ(h.wd.restarts(), 0u);
  h.on(exit_code(1));
  h.restart(); // 2 starts since the admin start: allowed again
  EXPECT_EQ(h.wd.state(), State::running);
  h.on(exit_code(1));
  h.fire_restart();
  EXPECT_EQ(h.wd.state(), State::failed);
}

// Starts at t0, t0+1, t0+2; the third run lasts until `exit_at`, the fourth
// start comes 1 s later.
State fourth_start(Duration exit_at) {
  Harness h(limit_config(3, 10s));
  h.start();
  h.on(exit_code(1));
  h.restart();
  h.on(exit_code(1));
  h.restart();
  EXPECT_EQ(h.now, t0 + 2s);
  h.at(t0 + exit_at, exit_code(1));
  h.fire_restart();
  EXPECT_EQ(h.now, t0 + exit_at + 1s);
  return h.wd.state();
}

TEST(StartLimit, StartsOlderThanTheIntervalAgeOut) {
  EXPECT_EQ(fourth_start(9s), State::backoff); // t0 is exactly 10 s old: aged out
  EXPECT_EQ(fourth_start(9s - 1ns), State::failed);
  EXPECT_EQ(fourth_start(30s), State::backoff);
}

TEST(StartLimit, SlowCrashLoopNeverFails) {
  Harness h(limit_config(3, 10s));
  h.start();
  for (int i = 0; i < 100; ++i) {
    h.now += 4s; // at most 3 starts in any 10 s: start, +5 s, +10 s ...
    h.on(exit_code(1));
    h.restart();
    ASSERT_EQ(h.wd.state(), State::running) << "restart " << i;
  }
}

TEST(StartLimit, ExecFailuresCount) {
  Harness h(limit_config(3, 60s));
  h.start();
  Actions a = h.on(ev::Exited{ExitStatus::exec_failed("exec /nope: No such file or directory")});
  EXPECT_EQ(h.wd.state(), State::backoff);
  EXPECT_THAT(log_texts(a), Contains("failed to start: exec /nope: No such file or directory"));
  EXPECT_EQ(h.wd.reason(), "exec /nope: No such file or directory");
  h.restart();
  h.on(ev::Exited{ExitStatus::exec_failed("exec /nope: No such file or directory")});
  ASSERT_EQ(kinds(h.fire_restart()), "Spawn");
  h.on(ev::SpawnFailed{"fork: Resource temporarily unavailable"}); // counts as well
  EXPECT_EQ(h.wd.state(), State::backoff);
  EXPECT_EQ(h.wd.reason(), "fork: Resource temporarily unavailable");
  h.fire_restart();
  EXPECT_EQ(h.wd.state(), State::failed);
}

// --- restart policies ---------------------------------------------------------

enum class End { exit0, exit1, signal, missed, panic, trigger, exec_error };

const char *name(End e) {
  static const char *const names[] = {"exit0", "exit1",   "signal",    "missed",
                                      "panic", "trigger", "exec_error"};
  return names[static_cast<int>(e)];
}

struct PolicyRow {
  RestartPolicy policy;
  End end;
  State next;
};

void PrintTo(const PolicyRow &r, std::ostream *os) {
  *os << to_string(r.policy) << " x " << name(r.end);
}

class Policies : public ::testing::TestWithParam<PolicyRow> {};

TEST_P(Policies, EndOfRun) {
  const PolicyRow &r = GetParam();
  AppConfig c = base_config();
  c.restart = r.policy;
  Harness h(c);
  h.start();
  h.at(h.now + 500ms, beat());
  ASSERT_EQ(h.wd.state(), State::running);

  std::string reason;
  ExitStatus status;
  Result result = Result::success; // first failure wins
  switch (r.end) {
  case End::exit0:
    status = ExitStatus::with_code(0), reason = "exit status 0";
    break;
  case End::exit1:
    status = ExitStatus::with_code(1), reason = "exit status 1", result = Result::exit_code;
    break;
  case End::signal:
    status = ExitStatus::with_signal(SIGSEGV), reason = "killed by SIGSEGV",
    result = Result::signal;
    break;
  case End::exec_error:
    status = ExitStatus::exec_failed("exec: Permission denied"), reason = "exec: Permission denied";
    result = Result::exec_failed;
    break;
  case End::missed:
    h.fire();
    EXPECT_EQ(kinds(h.fire()), "Kill(9) Changed");
    status = ExitStatus::with_signal(SIGKILL), reason = "missed 2 heartbeats";
    result = Result::watchdog;
    break;
  case End::panic:
    EXPECT_EQ(kinds(h.on(ev::Panic{"pressed by root"})), "Kill(9) Changed");
    status = ExitStatus::with_signal(SIGKILL), reason = "panic: pressed by root";
    result = Result::panic;
    break;
  case End::trigger:
    EXPECT_EQ(kinds(h.on(trigger())), "Kill(9) Changed");
    status = ExitStatus::with_signal(SIGKILL), reason = "app requested it (WATCHDOG=trigger)";
    result = Result::watchdog;
    break;
  }
  h.now += 10ms;
  Actions a = h.on(ev::Exited{status});
  EXPECT_EQ(h.wd.state(), r.next);
  EXPECT_EQ(h.wd.reason(), reason);
  EXPECT_EQ(h.wd.result(), result) << to_string(h.wd.result());
  EXPECT_EQ(h.wd.last_exit(), status);
  EXPECT_EQ(h.wd.pid(), 0);
  if (r.next == State::backoff) {
    EXPECT_TRUE(h.wd.wants_up());
    EXPECT_EQ(h.wd.deadline(), h.now + 1s);
    EXPECT_THAT(log_texts(a), Contains("restarting in 1s"));
    h.restart(43);
    EXPECT_EQ(h.wd.state(), State::starting);
    EXPECT_EQ(h.wd.restarts(), 1u);
    EXPECT_EQ(h.wd.reason(), "waiting for the first heartbeat");
  } else {
    EXPECT_FALSE(h.wd.wants_up());
    EXPECT_FALSE(h.wd.deadline());
    EXPECT_THAT(log_texts(a),
                Contains(fmt::format("not restarting (restart: {})", to_string(r.policy))));
  }
}

using P = RestartPolicy;
// clang-format off
const PolicyRow policy_rows[] = {
    {P::on_failure, End::exit0, S::exited},    {P::on_failure, End::exit1, S::backoff},
    {P::on_failure, End::signal, S::backoff},  {P::on_failure, End::missed, S::backoff},
    {P::on_failure, End::panic, S::backoff},   {P::on_failure, End::trigger, S::backoff},
    {P::on_failure, End::exec_error, S::backoff},
    {P::always, End::exit0, S::backoff},       {P::always, End::exit1, S::backoff},
    {P::always, End::signal, S::backoff},      {P::always, End::missed, S::backoff},
    {P::always, End::panic, S::backoff},       {P::always, End::trigger, S::backoff},
    {P::always, End::exec_error, S::backoff},
    {P::never, End::exit0, S::exited},         {P::never, End::exit1, S::exited},
    {P::never, End::signal, S::exited},        {P::never, End::missed, S::exited},
    {P::never, End::panic, S::exited},         {P::never, End::trigger, S::exited},
    {P::never, End::exec_error, S::failed},
};
// clang-format on

INSTANTIATE_TEST_SUITE_P(AllPolicies, Policies, ::testing::ValuesIn(policy_rows),
                         [](const ::testing::TestParamInfo<PolicyRow> &info) {
                           std::string p(to_string(info.param.policy));
                           std::replace(p.begin(), p.end(), '-', '_');
                           return p + "_x_" + name(info.param.end);
                         });

// --- stop ---------------------------------------------------------------------

TEST(Stop, StopSignalThenSigkillAfterTheTimeout) {
  AppConfig c = base_config();
  c.stop_signal = SIGINT;
  c.stop_timeout = 3s;
  Harness h(c);
  h.start();
  h.at(h.now + 500ms, beat());
  const TimePoint stop_at = h.now + 100ms;
  Actions a = h.at(stop_at, ev::Stop{});
  EXPECT_EQ(kinds(a), "Kill(2) Changed");
  EXPECT_THAT(log_texts(a), Contains("stopping pid 42 with SIGINT: stopped by admin"));
  EXPECT_EQ(h.wd.state(), State::stopping);
  EXPECT_FALSE(h.wd.wants_up());
  EXPECT_EQ(h.wd.deadline(), stop_at + 3s);

  // heartbeats no longer matter, and the heartbeat deadline is gone
  h.at(stop_at + 1s, beat());
  EXPECT_EQ(h.wd.deadline(), stop_at + 3s);

  EXPECT_THAT(h.at(stop_at + 3s - 1ns, ev::Deadline{}), IsEmpty());
  a = h.at(stop_at + 3s, ev::Deadline{});
  EXPECT_EQ(kinds(a), "Kill(9)");
  EXPECT_EQ(h.wd.state(), State::stopping);
  EXPECT_FALSE(h.wd.deadline());

  a = h.at(stop_at + 3100ms, exit_signal(SIGKILL));
  EXPECT_EQ(kinds(a), "Changed");
  EXPECT_EQ(h.wd.state(), State::stopped);
  EXPECT_EQ(h.wd.reason(), "stopped by admin");
  EXPECT_EQ(h.wd.last_exit(), ExitStatus::with_signal(SIGKILL));
  EXPECT_FALSE(h.wd.deadline());
  EXPECT_EQ(h.wd.pid(), 0);
}

TEST(Stop, GracefulExitBeforeTheTimeout) {
  Harness h;
  h.start();
  Actions a = h.on(ev::Stop{"shutting down"});
  EXPECT_EQ(kinds(a), "Kill(15) Changed");
  EXPECT_EQ(h.wd.reason(), "shutting down");
  h.at(h.now + 1s, exit_code(0));
  EXPECT_EQ(h.wd.state(), State::stopped);
  EXPECT_EQ(h.wd.reason(), "shutting down");
  EXPECT_FALSE(h.wd.deadline());
  // a non-zero exit on SIGTERM is not a failure either
  Harness h2;
  h2.start();
  h2.on(ev::Stop{});
  h2.on(exit_code(143));
  EXPECT_EQ(h2.wd.state(), State::stopped);
  EXPECT_EQ(h2.wd.reason(), "stopped by admin");
}

TEST(Stop, DuringBackoffStopsWithoutADeadline) {
  Harness h;
  h.start();
  h.on(exit_code(1));
  ASSERT_TRUE(h.wd.deadline());
  const TimePoint was_due = *h.wd.deadline();
  Actions a = h.on(ev::Stop{});
  EXPECT_EQ(kinds(a), "Changed");
  EXPECT_EQ(h.wd.state(), State::stopped);
  EXPECT_FALSE(h.wd.deadline());
  EXPECT_THAT(h.at(was_due, ev::Deadline{}), IsEmpty());
  EXPECT_EQ(h.wd.state(), State::stopped);
}

// stop, then start while it is still stopping: the exit starts it again at once
TEST(Stop, StartWhileStoppingRestartsOnExit) {
  Harness h;
  h.start();
  h.on(ev::Stop{});
  EXPECT_THAT(h.on(ev::Start{}), IsEmpty());
  EXPECT_TRUE(h.wd.wants_up());
  Actions a = h.at(h.now + 1s, exit_signal(SIGTERM));
  EXPECT_EQ(kinds(a), "Spawn");
  h.spawned(43);
  EXPECT_EQ(h.wd.state(), State::starting);
  EXPECT_EQ(h.wd.restarts(), 0u);
}

// `hbmonctl restart` is a stop and a start: the start is an admin start like
// any other, so it clears the start history, the delay and the restart count.
TEST(Stop, StartWhileStoppingIsAFreshBeginning) {
  AppConfig c = backoff_config(1s, 60s);
  c.start_limit = {3, 60s};
  Harness h(c);
  h.start();
  crash(h);
  h.restart();
  crash(h);
  h.restart(); // 3 starts within 60 s, the next delay is 4 s
  EXPECT_EQ(h.wd.restarts(), 2u);
  h.on(ev::Stop{});
  h.on(ev::Start{});
  Actions a = h.on(exit_signal(SIGTERM));
  EXPECT_EQ(kinds(a), "Spawn");
  h.spawned(43);
  EXPECT_EQ(h.wd.state(), State::running);
  EXPECT_EQ(h.wd.restarts(), 0u);
  EXPECT_EQ(crash(h), 1s);
  h.restart();
  crash(h);
  h.restart(); // 3 starts since the admin start: still allowed
  EXPECT_EQ(h.wd.state(), State::running);
}

// A start while a health kill is under way changes nothing: it is already up.
TEST(Stop, StartDuringAHealthKillIsANoOp) {
  Harness h;
  h.start();
  h.on(exit_code(1));
  h.restart(); // restarts 1, next delay 2 s
  h.fire();
  h.fire(); // killed: missed 2 heartbeats
  EXPECT_THAT(h.on(ev::Start{}), IsEmpty());
  h.on(exit_signal(SIGKILL));
  EXPECT_EQ(h.wd.state(), State::backoff);
  EXPECT_EQ(*h.wd.deadline() - h.now, 2s);
  EXPECT_EQ(h.wd.restarts(), 1u);
}

TEST(Stop, StopAfterAHealthKillEndsStopped) {
  Harness h;
  h.start();
  h.fire();
  h.fire(); // killed: missed 2 heartbeats
  EXPECT_THAT(h.on(ev::Stop{}), IsEmpty());
  h.on(exit_signal(SIGKILL));
  EXPECT_EQ(h.wd.state(), State::stopped);
  EXPECT_FALSE(h.wd.deadline());
}

// --- panic, trigger, heartbeat-less apps ----------------------------------------

TEST(Panic, KillsNowAndRestarts) {
  Harness h;
  h.start();
  h.at(h.now + 500ms, beat());
  Actions a = h.on(ev::Panic{"pressed by root"});
  EXPECT_EQ(kinds(a), "Kill(9) Changed");
  EXPECT_THAT(log_texts(a), ElementsAre("panic button pressed: pressed by root",
                                        "killing pid 42: panic: pressed by root"));
  EXPECT_EQ(h.wd.reason(), "panic: pressed by root");
  h.on(exit_signal(SIGKILL));
  EXPECT_EQ(h.wd.state(), State::backoff);
  EXPECT_EQ(h.wd.reason(), "panic: pressed by root");
}

TEST(Panic, WithoutAProcessDoesNothing) {
  Harness h;
  EXPECT_THAT(h.on(ev::Panic{"x"}), IsEmpty());
  h.start();
  h.on(exit_code(1));
  EXPECT_THAT(h.on(ev::Panic{"x"}), IsEmpty());
  EXPECT_EQ(h.wd.state(), State::backoff);
}

TEST(Trigger, KillsNowAndRestarts) {
  Harness h;
  h.start();
  Actions a = h.on(trigger());
  EXPECT_EQ(kinds(a), "Kill(9) Changed");
  EXPECT_THAT(log_texts(a), Contains("killing pid 42: app requested it (WATCHDOG=trigger)"));
  h.on(exit_signal(SIGKILL));
  EXPECT_EQ(h.wd.state(), State::backoff);
  EXPECT_EQ(h.wd.reason(), "app requested it (WATCHDOG=trigger)");
}

TEST(NoHeartbeat, RunningOnSpawnedAndNoDeadline) {
  Harness h(no_heartbeat_config());
  h.on(ev::Start{});
  Actions a = h.on(ev::Spawned{kPid});
  EXPECT_EQ(kinds(a), "Changed");
  EXPECT_EQ(h.wd.state(), State::running);
  EXPECT_FALSE(h.wd.deadline());
  EXPECT_THAT(h.at(h.now + 24h, ev::Deadline{}), IsEmpty());
  h.on(beat()); // a stray message is harmless
  EXPECT_FALSE(h.wd.deadline());
  EXPECT_EQ(h.wd.state(), State::running);

  // crash supervision still works, and the restarted run has no deadline either
  h.on(exit_code(1));
  h.restart(43);
  EXPECT_EQ(h.wd.state(), State::running);
  EXPECT_FALSE(h.wd.deadline());
}

// --- reasons, logs, snapshot fields -----------------------------------------------

TEST(Reason, MissedHeartbeatsWinOverTheSignal) {
  Harness h;
  h.start();
  EXPECT_THAT(h.logs, ElementsAre("started, pid 42"));
  EXPECT_EQ(h.wd.started_at(), t0);

  Actions a = h.fire();
  EXPECT_THAT(log_texts(a), ElementsAre("missed heartbeat 1/2"));
  EXPECT_EQ(std::get<act::Log>(a.front()).level, LogLevel::warning);

  a = h.fire();
  EXPECT_THAT(log_texts(a),
              ElementsAre("missed heartbeat 2/2", "killing pid 42: missed 2 heartbeats"));
  const auto c = changes(a);
  ASSERT_EQ(c.size(), 1u);
  EXPECT_EQ(c[0].from, State::starting);
  EXPECT_EQ(c[0].to, State::stopping);
  EXPECT_EQ(c[0].reason, "missed 2 heartbeats");

  h.now += 5ms;
  a = h.on(exit_signal(SIGKILL));
  EXPECT_EQ(h.wd.state(), State::backoff);
  EXPECT_EQ(h.wd.reason(), "missed 2 heartbeats");
  EXPECT_EQ(h.wd.last_exit(), ExitStatus::with_signal(SIGKILL));
  EXPECT_THAT(log_texts(a), ElementsAre("pid 42 exited: killed by SIGKILL", "restarting in 1s"));
  EXPECT_EQ(changes(a).at(0).reason, "missed 2 heartbeats");

  // the next run starts with a clean slate
  h.restart(43);
  EXPECT_EQ(h.wd.misses(), 0u);
  EXPECT_EQ(h.wd.misses_total(), 2u);
  EXPECT_FALSE(h.wd.last_heartbeat());
  h.at(h.now + 100ms, beat());
  h.on(exit_code(3));
  EXPECT_EQ(h.wd.reason(), "exit status 3");
}

TEST(Reason, FirstReasonWins) {
  Harness h;
  h.start();
  h.fire();
  h.fire(); // missed 2 heartbeats
  h.on(ev::Panic{"too"});
  h.on(trigger());
  h.on(exit_signal(SIGKILL));
  EXPECT_EQ(h.wd.reason(), "missed 2 heartbeats");

  Harness s;
  s.start();
  s.on(ev::Stop{});
  s.on(ev::Panic{"hurry"});
  s.on(exit_signal(SIGKILL));
  EXPECT_EQ(s.wd.state(), State::stopped);
  EXPECT_EQ(s.wd.reason(), "stopped by admin");
}

TEST(Snapshot, StatusTextAndCounters) {
  Harness h;
  h.start();
  HeartbeatMsg m;
  m.ready = true;
  m.status = "loading";
  h.at(h.now + 100ms, ev::Heartbeat{m});
  EXPECT_EQ(h.wd.reason(), "ready");
  EXPECT_EQ(h.wd.status_text(), "loading");
  h.at(h.now + 100ms, beat()); // no STATUS= keeps the last one
  EXPECT_EQ(h.wd.status_text(), "loading");
  EXPECT_EQ(h.wd.last_heartbeat(), h.now);
  EXPECT_EQ(h.wd.heartbeats(), 2u);

  h.on(exit_code(1));
  h.restart(43);
  EXPECT_FALSE(h.wd.status_text()); // a new run says nothing yet
  EXPECT_EQ(h.wd.restarts(), 1u);
  EXPECT_EQ(h.wd.started_at(), h.now);
}

// --- events stream ----------------------------------------------------------

std::vector<std::string> event_tags(const Actions &acts) {
  std::vector<std::string> out;
  for (const auto &a : acts)
    if (auto *l = std::get_if<act::Log>(&a); l && !l->event.empty())
      out.emplace_back(l->event);
  return out;
}

TEST(WatchdogEvents, EachLifecycleStepIsTagged) {
  Harness h;
  EXPECT_TRUE(event_tags(h.on(ev::Start{})).empty());
  EXPECT_EQ(event_tags(h.on(ev::Spawned{kPid})), (std::vector<std::string>{"started"}));
  EXPECT_EQ(event_tags(h.fire()), (std::vector<std::string>{"missed"}));
  EXPECT_EQ(event_tags(h.fire()), (std::vector<std::string>{"missed", "killed"}));
  EXPECT_EQ(event_tags(h.on(ev::Exited{ExitStatus::with_signal(9)})),
            (std::vector<std::string>{"exited", "backoff"}));
  h.restart();
  EXPECT_EQ(event_tags(h.on(ev::Panic{"why"})), (std::vector<std::string>{"panic", "killed"}));
  EXPECT_EQ(event_tags(h.on(ev::Exited{ExitStatus::exec_failed("exec /x: gone")})),
            (std::vector<std::string>{"start-failed", "backoff"}));
}

} // namespace
} // namespace hbmon

namespace hbmon {
namespace {

// --- typed results ------------------------------------------------------------

TEST(Result, NamesAsSystemdSpellsThem) {
  std::vector<std::string> names;
  for (const auto &[r, name] : result_names.entries)
    names.emplace_back(name);
  EXPECT_THAT(names, ElementsAre("success", "exit-code", "signal", "core-dump", "watchdog", "panic",
                                 "start-limit", "exec-failed", "oom-kill", "timeout"));
}

TEST(Result, OfAnExitStatus) {
  EXPECT_EQ(result_of(ExitStatus::with_code(0)), Result::success);
  EXPECT_EQ(result_of(ExitStatus::with_code(3)), Result::exit_code);
  EXPECT_EQ(result_of(ExitStatus::with_signal(SIGTERM)), Result::signal);
  EXPECT_EQ(result_of(ExitStatus::with_signal(SIGSEGV, /*core=*/true)), Result::core_dump);
  EXPECT_EQ(result_of(ExitStatus::exec_failed("exec /x: ENOENT")), Result::exec_failed);
}

TEST(Result, AStopByAnAdminIsASuccessWhateverTheSignal) {
  Harness h;
  h.start();
  h.at(h.now + 100ms, beat());
  h.at(h.now + 100ms, ev::Stop{});
  h.at(h.now + 100ms, exit_signal(SIGTERM));
  EXPECT_EQ(h.wd.state(), State::stopped);
  EXPECT_EQ(h.wd.result(), Result::success);
}

TEST(Result, ACoreDumpIsAFailureUnderOnFailure) {
  Harness h;
  h.start();
  h.at(h.now + 100ms, beat());
  h.at(h.now + 100ms, ev::Exited{ExitStatus::with_signal(SIGSEGV, true)});
  EXPECT_EQ(h.wd.state(), State::backoff);
  EXPECT_EQ(h.wd.result(), Result::core_dump);
  EXPECT_EQ(h.wd.reason(), "killed by SIGSEGV");
}

TEST(Result, TheStartLimitIsItsOwnResult) {
  AppConfig c = base_config();
  c.start_limit = {2, 60s};
  Harness h(c);
  h.start();
  h.at(h.now + 100ms, exit_code(1));
  h.restart();
  h.at(h.now + 100ms, exit_code(1));
  h.fire_restart();
  ASSERT_EQ(h.wd.state(), State::failed);
  EXPECT_EQ(h.wd.result(), Result::start_limit);
  h.on(ev::Start{}); // an admin start: the next run has its own result
  h.spawned();
  h.at(h.now + 100ms, exit_code(0));
  EXPECT_EQ(h.wd.result(), Result::success);
}

// --- restarts: the watchdog says when one is due, the caller when it runs -----

TEST(RestartDue, ARestartThatLostItsRaceDoesNothing) {
  Harness h;
  h.crash_until_restart_due();
  h.at(h.now + 1ms, ev::Stop{}); // an admin stop while it waited its turn
  ASSERT_EQ(h.wd.state(), State::stopped);
  EXPECT_FALSE(h.wd.restart_due());
  EXPECT_THAT(h.on(ev::Restart{}), IsEmpty());
  EXPECT_EQ(h.wd.state(), State::stopped);
}

TEST(RestartDue, AnAdminStartTakesTheRestartsPlace) {
  Harness h;
  h.crash_until_restart_due();
  ASSERT_EQ(kinds(h.on(ev::Start{})), "Spawn");
  h.spawned(43);
  EXPECT_THAT(kinds(h.on(ev::Restart{})), IsEmpty()); // no second process
  EXPECT_EQ(h.wd.pid(), 43);
  EXPECT_EQ(h.wd.restarts(), 0u); // an admin start is a fresh beginning
}

TEST(RestartDue, ItWaitsAsLongAsTheCallerSays) {
  Harness h;
  h.crash_until_restart_due();
  EXPECT_FALSE(h.wd.deadline()); // nothing of its own left to time
  h.now += 50ms;                 // the start scheduler held it back
  ASSERT_EQ(kinds(h.on(ev::Restart{})), "Spawn");
  h.spawned(44);
  EXPECT_EQ(h.wd.restarts(), 1u);
  EXPECT_EQ(h.wd.started_at(), h.now);
}

} // namespace
} // namespace hbmon

namespace hbmon {
namespace {

// --- the systemd notify protocol (heartbeat.protocol "notify") --------------------

HeartbeatMsg said(std::string_view text) {
  return parse_heartbeat(text, HeartbeatProtocol::notify);
}
ev::Heartbeat beat_said(std::string_view text) { return {said(text)}; }

AppConfig notify_config() {
  AppConfig c = base_config(); // 1 s interval, 2 misses, 2 s grace, 5 s stop_timeout
  c.heartbeat->protocol = HeartbeatProtocol::notify;
  return c;
}

TEST(Notify, OnlyWatchdogOneKeepsTheAppAlive) {
  Harness h(notify_config());
  h.start();
  h.at(h.now + 100ms, beat_said("READY=1"));
  EXPECT_EQ(h.wd.state(), State::running);
  EXPECT_EQ(h.wd.heartbeats(), 0u);
  // Anything but WATCHDOG=1 is no heartbeat: the grace runs out regardless.
  h.at(h.now + 100ms, beat_said("STATUS=busy"));
  h.at(h.now + 100ms, beat_said("BARRIER=1"));
  EXPECT_EQ(*h.wd.deadline(), t0 + 2s);
  h.at(h.now + 100ms, beat_said("WATCHDOG=1"));
  EXPECT_EQ(h.wd.heartbeats(), 1u);
  EXPECT_EQ(*h.wd.deadline(), h.now + 1s);
  EXPECT_EQ(h.wd.status_text(), "busy");
}

TEST(Notify, TheKillFallsAtWatchdogUsecAfterTheLastPing) {
  Harness h(notify_config());
  h.start();
  h.at(h.now + 300ms, beat_said("READY=1\nWATCHDOG=1"));
  const TimePoint last = h.now;
  h.fire();
  EXPECT_EQ(h.wd.misses(), 1u);
  Actions a = h.fire();
  EXPECT_EQ(h.now, last + h.wd.config().heartbeat->watchdog_usec()); // 2 s, as under systemd
  EXPECT_EQ(kinds(a), "Kill(9) Changed");
  EXPECT_EQ(h.wd.reason(), "missed 2 heartbeats");
}

TEST(Notify, APingBeforeReadyEndsTheStartAsAnAppWrittenForTypeSimpleExpects) {
  Harness h(notify_config());
  h.start();
  h.at(h.now + 100ms, beat_said("WATCHDOG=1"));
  EXPECT_EQ(h.wd.state(), State::running);
  EXPECT_EQ(h.wd.reason(), "");
}

TEST(Notify, ReadyWithoutAPingLeavesTheFirstPingDueNoSoonerThanOneInterval) {
  Harness h(notify_config());
  h.start();
  h.at(t0 + 1900ms, beat_said("READY=1"));
  EXPECT_EQ(h.wd.state(), State::running);
  EXPECT_EQ(h.wd.reason(), "ready");
  EXPECT_EQ(*h.wd.deadline(), t0 + 2900ms);
}

TEST(Notify, ExtendTimeoutUsecExtendsTheStartOnly) {
  Harness h(notify_config());
  h.start();
  h.at(t0 + 1s, beat_said("EXTEND_TIMEOUT_USEC=10000000"));
  EXPECT_EQ(h.wd.state(), State::starting);
  EXPECT_EQ(*h.wd.deadline(), t0 + 11s);
  h.at(t0 + 2s, beat_said("EXTEND_TIMEOUT_USEC=1000000")); // never shortens it
  EXPECT_EQ(*h.wd.deadline(), t0 + 11s);
  h.at(t0 + 10s, beat_said("READY=1\nWATCHDOG=1"));
  EXPECT_EQ(*h.wd.deadline(), t0 + 11s);
  h.at(t0 + 10500ms,
       beat_said("EXTEND_TIMEOUT_USEC=60000000")); // running: no effect on the watchdog
  EXPECT_EQ(*h.wd.deadline(), t0 + 11s);
}

TEST(Notify, WatchdogUsecSetsThisRunsInterval) {
  Harness h(notify_config());
  h.start();
  h.at(t0 + 100ms, beat_said("READY=1\nWATCHDOG=1"));
  h.at(t0 + 200ms, beat_said("WATCHDOG_USEC=10000000"));
  EXPECT_EQ(h.wd.interval(), 5s);
  EXPECT_EQ(*h.wd.deadline(), t0 + 5100ms); // one new interval after the last ping
  EXPECT_EQ(h.wd.heartbeats(), 1u);         // the change is no heartbeat
  EXPECT_THAT(h.logs, Contains(HasSubstr("heartbeat interval 5s for this run")));
  h.at(t0 + 5s, beat_said("WATCHDOG=1"));
  EXPECT_EQ(*h.wd.deadline(), t0 + 10s);
  // Out of range: refused, logged, nothing changes.
  h.at(t0 + 6s, beat_said("WATCHDOG_USEC=100"));
  EXPECT_EQ(h.wd.interval(), 5s);
  EXPECT_THAT(h.logs, Contains(HasSubstr("ignored WATCHDOG_USEC=100")));
  // The next run starts from the config again.
  h.at(t0 + 7s, exit_code(1));
  h.restart();
  EXPECT_EQ(h.wd.interval(), 1s);
}

TEST(Notify, StoppingOneMeansNoHangKillAndTheExitIsJudgedByThePolicy) {
  Harness h(notify_config()); // restart: on-failure
  h.start();
  h.at(t0 + 100ms, beat_said("READY=1\nWATCHDOG=1"));
  Actions a = h.at(t0 + 200ms, beat_said("STOPPING=1"));
  EXPECT_EQ(kinds(a), "Changed"); // no signal: it is stopping by itself
  EXPECT_EQ(h.wd.state(), State::stopping);
  EXPECT_EQ(*h.wd.deadline(), t0 + 5200ms);                // stop_timeout, not the next ping
  h.at(t0 + 3s, beat_said("EXTEND_TIMEOUT_USEC=4000000")); // a stopping app may ask for time
  EXPECT_EQ(*h.wd.deadline(), t0 + 7s);
  h.at(t0 + 4s, exit_code(0));
  EXPECT_EQ(h.wd.state(), State::exited); // a clean exit: on-failure does not restart it
  EXPECT_EQ(h.wd.result(), Result::success);
}

TEST(Notify, StoppingOneThenAFailedExitIsRestarted) {
  Harness h(notify_config());
  h.start();
  h.at(t0 + 100ms, beat_said("STOPPING=1"));
  h.at(t0 + 200ms, exit_code(3));
  EXPECT_EQ(h.wd.state(), State::backoff);
  EXPECT_EQ(h.wd.result(), Result::exit_code);
}

TEST(Notify, AnAppThatSaysStoppingAndStaysIsKilledAfterStopTimeout) {
  Harness h(notify_config());
  h.start();
  h.at(t0 + 100ms, beat_said("STOPPING=1"));
  Actions a = h.fire();
  EXPECT_EQ(kinds(a), "Kill(9)");
  EXPECT_THAT(log_texts(a), Contains(HasSubstr("still running 5s after STOPPING=1")));
  h.at(h.now + 10ms, exit_signal(SIGKILL));
  EXPECT_EQ(h.wd.result(), Result::timeout);
  EXPECT_EQ(h.wd.state(), State::backoff);
}

TEST(Notify, ReloadingAndErrnoAreShownUntilReadyOrTheRunEnds) {
  Harness h(notify_config());
  h.start();
  h.at(t0 + 100ms, beat_said("READY=1\nWATCHDOG=1"));
  h.at(t0 + 200ms, beat_said("RELOADING=1\nMONOTONIC_USEC=1"));
  EXPECT_TRUE(h.wd.reloading());
  h.at(t0 + 300ms, beat_said("ERRNO=5"));
  EXPECT_EQ(h.wd.error(), 5);
  h.at(t0 + 400ms, beat_said("READY=1"));
  EXPECT_FALSE(h.wd.reloading());
  h.at(t0 + 500ms, exit_code(1));
  EXPECT_FALSE(h.wd.error());
}

TEST(Notify, WatchdogTriggerKillsAtOnce) {
  Harness h(notify_config());
  h.start();
  Actions a = h.at(t0 + 100ms, beat_said("WATCHDOG=trigger"));
  EXPECT_EQ(kinds(a), "Kill(9) Changed");
  EXPECT_EQ(h.wd.reason(), "app requested it (WATCHDOG=trigger)");
}

} // namespace
} // namespace hbmon

namespace hbmon {
namespace {

// An app built on sd-event pings between 1/2 and 3/4 of WATCHDOG_USEC, so
// just after each due time: under the rule a miss every time, and no
// warning for it (only the last miss, the kill, is one).
TEST(Notify, MissesShortOfTheKillAreNotWarnings) {
  AppConfig c = base_config();
  c.heartbeat->protocol = HeartbeatProtocol::notify;
  Harness h(c);
  h.start();
  h.at(t0 + 100ms, beat_said("READY=1\nWATCHDOG=1"));
  Actions a = h.fire(); // 1.1 s: the ping comes at 1.2 s
  EXPECT_EQ(h.wd.misses(), 1u);
  for (const Action &x : a)
    if (const auto *l = std::get_if<act::Log>(&x)) {
      EXPECT_EQ(l->level, LogLevel::debug) << l->text;
      EXPECT_TRUE(l->event.empty()) << l->text;
    }
  h.at(t0 + 1200ms, beat_said("WATCHDOG=1"));
  EXPECT_EQ(h.wd.misses(), 0u);
  h.fire();
  a = h.fire();
  EXPECT_EQ(kinds(a), "Kill(9) Changed");
  EXPECT_THAT(h.logs, Contains("missed heartbeat 2/2"));
}

} // namespace
} // namespace hbmon

namespace hbmon {
namespace {

// --- liveness probes: the watchdog judges their verdicts -----------------------------

AppConfig probed(bool heartbeat) {
  AppConfig c = base_config();
  if (!heartbeat)
    c.heartbeat.reset();
  c.probe = ProbeConfig{};
  c.probe->failures = 3;
  return c;
}

ev::Probe probe_ok(pid_t pid = kPid) { return {pid, true}; }
ev::Probe probe_failed(std::string why, pid_t pid = kPid) { return {pid, false, std::move(why)}; }

TEST(Probes, WithoutAHeartbeatTheFirstGoodProbeEndsTheStart) {
  Harness h(probed(false));
  h.start();
  EXPECT_EQ(h.wd.state(), State::starting);
  EXPECT_EQ(h.wd.reason(), "waiting for the first successful probe");
  EXPECT_FALSE(h.wd.deadline()); // failed probes, not a timer, bound the start
  h.at(t0 + 10s, probe_failed("connection refused"));
  EXPECT_EQ(h.wd.state(), State::starting);
  h.at(t0 + 20s, probe_ok());
  EXPECT_EQ(h.wd.state(), State::running);
  EXPECT_EQ(h.wd.reason(), "probe ok");
  EXPECT_EQ(h.wd.probe_failures(), 0u);
}

TEST(Probes, FailuresInARowKillAndASuccessStartsTheCountAgain) {
  Harness h(probed(false));
  h.start();
  h.at(t0 + 1s, probe_ok());
  h.at(t0 + 2s, probe_failed("HTTP 500"));
  h.at(t0 + 3s, probe_failed("HTTP 500"));
  h.at(t0 + 4s, probe_ok());
  EXPECT_EQ(h.wd.probe_failures(), 0u);
  h.at(t0 + 5s, probe_failed("timed out after 1s"));
  h.at(t0 + 6s, probe_failed("timed out after 1s"));
  EXPECT_EQ(h.wd.state(), State::running);
  Actions a = h.at(t0 + 7s, probe_failed("timed out after 1s"));
  EXPECT_EQ(kinds(a), "Kill(9) Changed");
  EXPECT_EQ(h.wd.reason(), "failed 3 probes");
  EXPECT_THAT(h.logs, Contains("probe failed 3/3: timed out after 1s"));
  ASSERT_TRUE(h.wd.last_probe());
  EXPECT_FALSE(h.wd.last_probe()->ok);
  EXPECT_EQ(h.wd.last_probe()->at, t0 + 7s);
  h.at(t0 + 7100ms, exit_signal(SIGKILL));
  EXPECT_EQ(h.wd.state(), State::backoff);
  EXPECT_EQ(h.wd.result(), Result::watchdog);
  // The next run starts its count afresh.
  h.restart(kPid + 1);
  EXPECT_EQ(h.wd.probe_failures(), 0u);
  EXPECT_FALSE(h.wd.last_probe());
}

TEST(Probes, AVerdictOnAProcessThatIsGoneOrAnAppNotUpIsIgnored) {
  Harness h(probed(false));
  h.start();
  h.at(t0 + 1s, probe_ok());
  for (int i = 0; i < 5; ++i)
    h.at(t0 + 2s, probe_failed("refused", kPid + 7)); // an earlier run's process
  EXPECT_EQ(h.wd.state(), State::running);
  EXPECT_EQ(h.wd.probe_failures(), 0u);
  h.at(t0 + 3s, ev::Stop{});
  for (int i = 0; i < 5; ++i)
    h.at(t0 + 4s, probe_failed("refused"));
  EXPECT_EQ(h.wd.state(), State::stopping);
  EXPECT_EQ(h.wd.probe_failures(), 0u);
}

TEST(Probes, WithAHeartbeatEitherVerdictKills) {
  Harness h(probed(true));
  h.start();
  h.at(t0 + 100ms, beat());
  EXPECT_EQ(h.wd.state(), State::running);
  h.at(t0 + 200ms, probe_failed("refused"));
  h.at(t0 + 300ms, beat());
  h.at(t0 + 400ms, probe_failed("refused"));
  h.at(t0 + 500ms, beat());
  Actions a = h.at(t0 + 600ms, probe_failed("refused"));
  EXPECT_EQ(kinds(a), "Kill(9) Changed"); // beating, yet dead to its probe
  EXPECT_EQ(h.wd.reason(), "failed 3 probes");
}

TEST(Probes, AGoodProbeDoesNotEndTheStartOfAnAppThatShouldBeat) {
  Harness h(probed(true));
  h.start();
  h.at(t0 + 100ms, probe_ok());
  EXPECT_EQ(h.wd.state(), State::starting);
}

// --- the metrics' counters: they only grow ----------------------------------------

std::uint64_t kills(const Watchdog &wd, metrics::KillReason r) {
  return wd.memory().kills[static_cast<std::size_t>(r)];
}
std::uint64_t restarts_after(const Watchdog &wd, Result r) {
  return wd.memory().restarts_by_result[static_cast<std::size_t>(r)];
}

TEST(Metrics, EachGapBetweenTwoHeartbeatsIsCountedInIntervals) {
  Harness h(heartbeat_config(500ms, 3, 2s));
  h.start();
  h.at(t0 + 500ms, beat()); // the first of a run: no gap yet
  EXPECT_EQ(h.wd.memory().gaps.count(), 0u);
  h.at(t0 + 1000ms, beat()); // 1.0: bucket le=1
  h.at(t0 + 1600ms, beat()); // 1.2: le=1.25
  h.at(t0 + 2550ms, beat()); // 1.9: le=2 (a near miss of the second)
  h.at(t0 + 2650ms, beat()); // 0.2: le=0.5
  const auto &g = h.wd.memory().gaps;
  EXPECT_EQ(g.counts, (std::array<std::uint64_t, 8>{1, 1, 1, 0, 1, 0, 0, 0}));
  EXPECT_DOUBLE_EQ(g.sum, 1.0 + 1.2 + 1.9 + 0.2);
}

TEST(Metrics, ANewRunStartsWithoutAGap) {
  Harness h;
  h.start();
  h.at(t0 + 500ms, beat());
  h.at(h.now + 100ms, exit_code(1));
  h.restart();
  h.at(h.now + 4s, beat()); // the first of the new run, long after the last
  EXPECT_EQ(h.wd.memory().gaps.count(), 0u);
}

// The CPU counter: ended runs count their exit's rusage, the running one
// what was sampled, and the sum never goes back (members sampled while they
// ran, then gone with no rusage of theirs, stay counted).
TEST(Metrics, CpuSecondsKeepEndedRunsAndNeverGoDown) {
  Harness h;
  h.start();
  EXPECT_DOUBLE_EQ(h.wd.show_cpu(0.5), 0.5);
  EXPECT_DOUBLE_EQ(h.wd.show_cpu(0.25), 0.5); // a member left: not less
  ExitStatus st = ExitStatus::with_code(3);
  st.cpu_seconds = 0.75; // the leader and the children it waited for
  h.at(h.now + 100ms, ev::Exited{st});
  EXPECT_DOUBLE_EQ(h.wd.memory().cpu_ended, 0.75);
  h.restart();
  EXPECT_DOUBLE_EQ(h.wd.show_cpu(1.0), 1.75);
  // This run's leader saw less than was shown (an orphan spun, then died
  // unwaited for): the counter stays where it was.
  st.cpu_seconds = 0.5;
  h.at(h.now + 100ms, ev::Exited{st});
  EXPECT_DOUBLE_EQ(h.wd.memory().cpu_ended, 1.75);
  EXPECT_DOUBLE_EQ(h.wd.memory().cpu_shown, 1.75);
}

TEST(Metrics, RestartsAreCountedByTheResultOfTheRunThatEnded) {
  Harness h;
  h.start();
  h.at(h.now + 100ms, exit_code(3));
  h.restart();
  h.at(h.now + 100ms, exit_signal(SIGSEGV));
  h.restart();
  EXPECT_EQ(restarts_after(h.wd, Result::exit_code), 1u);
  EXPECT_EQ(restarts_after(h.wd, Result::signal), 1u);
  EXPECT_EQ(h.wd.restarts(), 2u);
  // An admin start begins the status count again; the metric goes on.
  h.on(ev::Stop{"admin"});
  h.at(h.now + 100ms, exit_signal(SIGTERM));
  h.start();
  EXPECT_EQ(h.wd.restarts(), 0u);
  EXPECT_EQ(restarts_after(h.wd, Result::exit_code), 1u);
  EXPECT_EQ(restarts_after(h.wd, Result::signal), 1u);
}

TEST(Metrics, KillsAreCountedByReason) {
  Harness h;
  h.start();
  h.fire(); // grace over: miss 1 of 2
  h.fire(); // miss 2: killed
  EXPECT_EQ(kills(h.wd, metrics::KillReason::heartbeat), 1u);
  h.at(h.now + 10ms, exit_signal(SIGKILL));
  h.restart();
  EXPECT_EQ(restarts_after(h.wd, Result::watchdog), 1u);
  h.on(ev::Panic{"pressed by root"});
  EXPECT_EQ(kills(h.wd, metrics::KillReason::panic), 1u);
  h.at(h.now + 10ms, exit_signal(SIGKILL));
  h.restart();
  EXPECT_EQ(restarts_after(h.wd, Result::panic), 1u);
  h.on(trigger());
  EXPECT_EQ(kills(h.wd, metrics::KillReason::heartbeat), 2u);
  EXPECT_EQ(kills(h.wd, metrics::KillReason::stop_timeout), 0u);
}

TEST(Metrics, AStopThatTimesOutAndAFailedProbeAreKillsToo) {
  Harness h(probed(false));
  h.start();
  h.at(t0 + 1s, probe_failed("a"));
  h.at(t0 + 2s, probe_failed("b"));
  h.at(t0 + 3s, probe_failed("c"));
  EXPECT_EQ(kills(h.wd, metrics::KillReason::probe), 1u);
  h.at(t0 + 4s, exit_signal(SIGKILL));
  h.restart();
  h.on(ev::Stop{"admin"});
  h.fire(); // still there after stop_timeout: SIGKILL
  EXPECT_EQ(kills(h.wd, metrics::KillReason::stop_timeout), 1u);
  EXPECT_EQ(kills(h.wd, metrics::KillReason::probe), 1u);
}

} // namespace
// --- hang_signal, abort_timeout and the forensics record -------------------------

const act::Kill *kill_of(const Actions &out) {
  for (const Action &a : out)
    if (const auto *k = std::get_if<act::Kill>(&a))
      return k;
  return nullptr;
}

TEST(HangSignal, TheDefaultKillsTheGroupAtOnceAfterARecord) {
  Harness h;
  h.start();
  h.fire();                     // miss 1
  const Actions out = h.fire(); // miss 2: killed
  const act::Kill *k = kill_of(out);
  ASSERT_TRUE(k);
  EXPECT_EQ(k->signal, SIGKILL);
  EXPECT_FALSE(k->main_only);
  EXPECT_EQ(k->record, "missed 2 heartbeats");
  EXPECT_FALSE(h.wd.deadline()); // SIGKILL: nothing more to send
}

TEST(HangSignal, SigabrtGoesToTheMainProcessThenSigkillToTheGroupAfterAbortTimeout) {
  AppConfig c = base_config();
  c.hang_signal = SIGABRT;
  c.abort_timeout = 3s;
  Harness h(c);
  h.start();
  h.fire();
  Actions out = h.fire(); // the hang
  const act::Kill *k = kill_of(out);
  ASSERT_TRUE(k);
  EXPECT_EQ(k->signal, SIGABRT);
  EXPECT_TRUE(k->main_only);
  EXPECT_EQ(k->record, "missed 2 heartbeats");
  EXPECT_EQ(h.wd.state(), State::stopping);
  ASSERT_TRUE(h.wd.deadline());
  EXPECT_EQ(*h.wd.deadline(), h.now + 3s);
  EXPECT_THAT(h.logs.back(), HasSubstr("sending SIGABRT, SIGKILL after 3s"));
  out = h.fire(); // still there: the group goes
  k = kill_of(out);
  ASSERT_TRUE(k);
  EXPECT_EQ(k->signal, SIGKILL);
  EXPECT_FALSE(k->main_only);
  EXPECT_TRUE(k->record.empty()); // recorded once, before the first
  EXPECT_THAT(h.logs.back(), HasSubstr("still running 3s after SIGABRT, sending SIGKILL"));
  EXPECT_EQ(kills(h.wd, metrics::KillReason::stop_timeout), 0u);
  EXPECT_EQ(kills(h.wd, metrics::KillReason::heartbeat), 1u);
  h.at(h.now + 10ms, exit_signal(SIGKILL));
  EXPECT_EQ(h.wd.memory().result, Result::watchdog);
}

TEST(HangSignal, AnAppThatDiesOfItsAbortIsNotKilledAgain) {
  AppConfig c = base_config();
  c.hang_signal = SIGABRT;
  Harness h(c);
  h.start();
  h.fire();
  h.fire();
  h.at(h.now + 50ms, ev::Exited{ExitStatus::with_signal(SIGABRT, true)});
  EXPECT_NE(h.wd.state(), State::stopping);
  EXPECT_FALSE(h.wd.memory().aborting);
  EXPECT_EQ(h.wd.memory().result, Result::watchdog); // the first failure wins
}

TEST(HangSignal, AProbeKillAndATriggerUseItAPanicNever) {
  AppConfig c = base_config();
  c.hang_signal = SIGQUIT;
  Harness h(c);
  h.start();
  Actions out = h.on(trigger());
  ASSERT_TRUE(kill_of(out));
  EXPECT_EQ(kill_of(out)->signal, SIGQUIT);
  EXPECT_EQ(kill_of(out)->record, "app requested it (WATCHDOG=trigger)");
  h.at(h.now + 10ms, exit_signal(SIGQUIT));
  h.restart();
  out = h.on(ev::Panic{"pressed by root"});
  ASSERT_TRUE(kill_of(out));
  EXPECT_EQ(kill_of(out)->signal, SIGKILL);
  EXPECT_FALSE(kill_of(out)->main_only);
  EXPECT_EQ(kill_of(out)->record, "panic: pressed by root");
}

TEST(HangSignal, AStopIsNeverRecorded) {
  Harness h;
  h.start();
  h.at(h.now + 500ms, beat());
  Actions out = h.on(ev::Stop{"admin"});
  ASSERT_TRUE(kill_of(out));
  EXPECT_TRUE(kill_of(out)->record.empty());
  out = h.fire(); // stop_timeout: SIGKILL, no record
  ASSERT_TRUE(kill_of(out));
  EXPECT_TRUE(kill_of(out)->record.empty());
}

} // namespace hbmon

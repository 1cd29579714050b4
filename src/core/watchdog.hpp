// One app's watchdog: a pure state machine.
//
// Contract: Watchdog::on(event, now) moves the machine and returns the
// actions the caller must carry out (spawn, signal the process group, log,
// announce a state change). It makes no system call and never reads a
// clock: time comes in with every event, and the single pending deadline is
// announced with a Timer action whenever it moves. The caller feeds the
// outcome of a Spawn action back as Spawned (the program has exec'd) or
// SpawnFailed (it could not: no process, or a step before the exec
// failed), and delivers nothing else for the app in between: the outcome
// may take its time (the caller does not wait for a child's exec), and the
// app's other events wait with the caller until it is known. The
// watchdog alone decides what happens and why; the
// caller decides only *when* a restart it was told is due (RestartDue)
// actually runs, and answers with Restart.
//
// `want` (up/down, what the admin asked for) is kept apart from `state`
// (where the app is); the machine moves the state toward the want.
#pragma once

#include "core/config.hpp"
#include "core/heartbeat.hpp"
#include "core/log_fields.hpp"
#include "core/log_level.hpp"
#include "core/metrics.hpp"
#include "core/names.hpp"

#include <algorithm>
#include <chrono>
#include <cstdint>
#include <deque>
#include <optional>
#include <string>
#include <string_view>
#include <sys/types.h>
#include <variant>
#include <vector>

namespace hbmon {

using Clock = std::chrono::steady_clock;
using TimePoint = Clock::time_point;

enum class State { starting, running, stopping, backoff, stopped, exited, failed };
inline constexpr Names<State, 7> state_names{{{
    {State::starting, "starting"},
    {State::running, "running"},
    {State::stopping, "stopping"},
    {State::backoff, "backoff"},
    {State::stopped, "stopped"},
    {State::exited, "exited"},
    {State::failed, "failed"},
}}};
static_assert(state_names.in_order(), "one name per State, in declaration order");
inline constexpr std::string_view to_string(State s) { return state_names.name(s); }

// How a process ended. Exactly one of: exec_error non-empty (the program
// never ran), signal != 0, or a plain exit code.
struct ExitStatus {
  int code = 0;
  int signal = 0;
  std::string exec_error;
  bool core_dumped = false; // with signal: the kernel wrote a core
  bool oom_killed = false;  // with SIGKILL: sent by the kernel's OOM killer (core/oom.hpp)
  // CPU time of the process and of the children it waited for (its rusage
  // when hbmond reaped it): hbmond_app_cpu_seconds_total keeps it.
  double cpu_seconds = 0;

  static ExitStatus with_code(int c) { return {c, 0, {}}; }
  static ExitStatus with_signal(int s, bool core = false) { return {0, s, {}, core}; }
  static ExitStatus exec_failed(std::string why) { return {127, 0, std::move(why)}; }
  bool clean() const { return exec_error.empty() && signal == 0 && code == 0; }
  // "exit status 3", "killed by SIGKILL", "killed by the OOM killer", "exec ...: ..."
  std::string describe() const;
  bool operator==(const ExitStatus &) const = default;
};

// How a run ended, as systemd's Result= says it: the first failure wins (an
// app killed for missing heartbeats is `watchdog`, not `signal`). Restart
// policies read it: on-failure restarts anything but success.
enum class Result {
  success,
  exit_code,
  signal,
  core_dump,
  watchdog,
  panic,
  start_limit,
  exec_failed,
  oom_kill,
  timeout
};
inline constexpr Names<Result, 10> result_names{{{
    {Result::success, "success"},
    {Result::exit_code, "exit-code"},
    {Result::signal, "signal"},
    {Result::core_dump, "core-dump"},
    {Result::watchdog, "watchdog"},
    {Result::panic, "panic"},
    {Result::start_limit, "start-limit"},
    {Result::exec_failed, "exec-failed"},
    {Result::oom_kill, "oom-kill"},
    {Result::timeout, "timeout"},
}}};
static_assert(result_names.in_order(), "one name per Result, in declaration order");
inline constexpr std::string_view to_string(Result r) { return result_names.name(r); }
// What a process's own ending says, when nothing of ours ended it.
Result result_of(const ExitStatus &st);

namespace ev {
struct Start {}; // admin start, or enabled at boot
struct Stop {    // admin stop, or shutdown
  std::string why = "stopped by admin";
};
struct Spawned {
  pid_t pid;
};
struct SpawnFailed {
  std::string reason;
};
struct Heartbeat {
  HeartbeatMsg msg;
};
struct Exited {
  ExitStatus status;
};
struct Deadline {};
struct Panic {
  std::string reason;
};
struct Restart {}; // the caller's turn for a RestartDue it was given
// A liveness probe's verdict on process `pid` (one that is gone by now is
// ignored): `reason` says why it failed.
struct Probe {
  pid_t pid;
  bool ok;
  std::string reason{};
};
} // namespace ev

using Event = std::variant<ev::Start, ev::Stop, ev::Spawned, ev::SpawnFailed, ev::Heartbeat,
                           ev::Exited, ev::Deadline, ev::Panic, ev::Restart, ev::Probe>;
std::string_view event_name(const Event &e);

namespace act {
struct Spawn {};
struct Kill { // signal the app's whole process group
  int signal;
  bool main_only = false; // the main process only (a hang_signal other than SIGKILL)
  // Not empty: a hang or panic kill, `record` its reason. Forensics first
  // reads the group as it is (SPEC "Forensics"), then the signal goes.
  std::string record;
};
struct Log {
  LogLevel level;
  std::string text;
  // For the events stream: started, missed, killed, panic, start-failed,
  // exited, backoff; empty for lines that are only logged.
  std::string_view event{};
  LogFields fields{}; // for the journal
};
struct Changed { // a state transition, for events and STATUS=
  State from;
  State to;
  std::string reason;
};
// The pending deadline moved (nullopt: none).
struct Timer {
  std::optional<TimePoint> at;
};
// The backoff is over: restart when the caller's start scheduler allows,
// by delivering ev::Restart.
struct RestartDue {};
} // namespace act

using Action =
    std::variant<act::Spawn, act::Kill, act::Log, act::Changed, act::Timer, act::RestartDue>;
using Actions = std::vector<Action>;

// A run that stays `running` this long resets the restart delay.
inline constexpr Duration healthy_run = std::chrono::seconds(10);

class Watchdog {
public:
  // Everything the machine remembers besides its config: what a re-exec
  // hands over (core/handover.hpp). Between two events, never during one.
  struct ProbeVerdict {
    TimePoint at;
    bool ok;
    std::string reason;
    bool operator==(const ProbeVerdict &) const = default;
  };
  struct Memory {
    State state = State::stopped;
    bool want_up = false;
    std::optional<TimePoint> deadline;
    std::string reason;

    pid_t pid = 0;
    std::optional<TimePoint> started_at;    // of the current/last run
    std::optional<TimePoint> running_since; // first heartbeat of this run
    std::optional<TimePoint> last_heartbeat;
    unsigned misses = 0;     // consecutive, this run
    std::string kill_reason; // first reason wins
    Result kill_result = Result::success;
    Result result = Result::success;
    bool spawn_pending = false;
    bool restart_due = false;
    std::deque<TimePoint> starts; // for start_limit
    Duration delay{};             // next restart delay
    std::optional<ExitStatus> last_exit;
    std::optional<std::string> status_text;
    std::optional<int> error;
    bool reloading = false;
    bool self_stop = false; // stopping by its own STOPPING=1
    bool aborting = false;  // sent hang_signal: SIGKILL to the group after abort_timeout
    Duration interval{};    // this run's heartbeat interval

    std::uint64_t restarts = 0;
    std::uint64_t heartbeats = 0;
    std::uint64_t misses_total = 0;
    unsigned probe_failures = 0; // consecutive, this run
    std::optional<ProbeVerdict> last_probe;

    // For the metrics: counters that only grow, whatever an admin does
    // (`restarts` above starts again at an admin start).
    std::array<std::uint64_t, result_names.entries.size()> restarts_by_result{};
    std::array<std::uint64_t, metrics::kill_reason_names.entries.size()> kills{};
    metrics::GapHistogram gaps; // accepted heartbeat to the next, in intervals
    // hbmond_app_cpu_seconds_total: the CPU seconds of the runs that ended
    // (each its exit's cpu_seconds, and never less than was shown), and
    // the most it has shown (the ended runs' and the sampled live group's).
    double cpu_ended = 0;
    double cpu_shown = 0;

    bool operator==(const Memory &) const = default;
  };
  const Memory &memory() const { return m_; }

  explicit Watchdog(AppConfig cfg);
  // One that goes on where another hbmond's left off (a re-exec). It acts
  // only once resume() has announced its deadline: a heartbeat's due time
  // before `now + grace` (the handover, in which none could arrive) moves
  // to `now + grace`; a stop's timeout or a backoff's end stays.
  Watchdog(AppConfig cfg, Memory memory);
  // The CPU seconds of the running group as sampled (off the loop): the
  // counter shows the ended runs' and these, and never goes down.
  double show_cpu(double live_seconds) {
    m_.cpu_shown = std::max(m_.cpu_shown, m_.cpu_ended + live_seconds);
    return m_.cpu_shown;
  }
  void resume(TimePoint now, Duration grace, Actions &out);

  Actions on(const Event &e, TimePoint now);
  // The same, appending to `out`: a caller that reuses one buffer pays no
  // allocation per event (a heartbeat's only action is its Timer).
  void on(const Event &e, TimePoint now, Actions &out);

  State state() const { return m_.state; }
  bool wants_up() const { return m_.want_up; }
  std::optional<TimePoint> deadline() const { return m_.deadline; }
  // A RestartDue was given and its Restart has not come yet.
  bool restart_due() const { return m_.restart_due; }
  const AppConfig &config() const { return cfg_; }

  // For status snapshots.
  pid_t pid() const { return m_.pid; }
  const std::string &reason() const { return m_.reason; }
  const std::optional<std::string> &status_text() const { return m_.status_text; }
  // What a notify-protocol app said of itself this run: RELOADING=1 (until
  // READY=1), ERRNO=.
  bool reloading() const { return m_.reloading; }
  const std::optional<int> &error() const { return m_.error; }
  // The heartbeat interval this run (the config's, unless WATCHDOG_USEC= changed it).
  Duration interval() const { return m_.interval; }
  const std::optional<ExitStatus> &last_exit() const { return m_.last_exit; }
  Result result() const { return m_.result; } // of the last run that ended
  std::optional<TimePoint> started_at() const { return m_.started_at; }
  std::optional<TimePoint> last_heartbeat() const { return m_.last_heartbeat; }
  std::uint64_t restarts() const { return m_.restarts; }
  std::uint64_t heartbeats() const { return m_.heartbeats; }
  std::uint64_t misses_total() const { return m_.misses_total; }
  // Consecutive failed probes this run, and the last verdict (when, ok, why).
  unsigned probe_failures() const { return m_.probe_failures; }
  const std::optional<ProbeVerdict> &last_probe() const { return m_.last_probe; }
  unsigned misses() const { return m_.misses; }
  Duration next_delay() const { return m_.delay; }
  bool has_process() const { return m_.pid > 0; }

private:
  void enter(State to, std::string reason, Actions &out);
  void log(Actions &out, LogLevel level, std::string text, std::string_view event = {},
           LogFields fields = {});
  // "Can't happen", said loudly: an error line, and an abort where
  // assertions are on (debug and sanitizer builds, the soak, the fuzzers).
  void broken(Actions &out, std::string_view what);
  void spawn(TimePoint now, Actions &out, bool restart = false);
  void kill_now(std::string why, Result result, metrics::KillReason reason, TimePoint now,
                Actions &out);
  void after_exit(const ExitStatus &st, TimePoint now, Actions &out);

  void on_start(TimePoint now, Actions &out);
  void on_stop(const ev::Stop &e, TimePoint now, Actions &out);
  void on_spawned(const ev::Spawned &e, TimePoint now, Actions &out);
  void on_heartbeat(const ev::Heartbeat &e, TimePoint now, Actions &out);
  void on_deadline(TimePoint now, Actions &out);
  void on_panic(const ev::Panic &e, TimePoint now, Actions &out);
  void on_restart(TimePoint now, Actions &out);
  void on_probe(const ev::Probe &e, TimePoint now, Actions &out);
  void self_stopping(TimePoint now, Actions &out);
  void override_interval(std::chrono::microseconds usec, Actions &out);

  AppConfig cfg_;
  Memory m_;
};

} // namespace hbmon

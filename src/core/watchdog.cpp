#include "core/watchdog.hpp"

#include "core/signal_names.hpp"

#include <algorithm>
#include <cassert>
#include <fmt/format.h>
#include <utility>

namespace hbmon {

std::string_view event_name(const Event &e) {
  static constexpr std::string_view names[] = {"start",     "stop",   "spawned",  "spawn-failed",
                                               "heartbeat", "exited", "deadline", "panic",
                                               "restart",   "probe"};
  static_assert(std::size(names) == std::variant_size_v<Event>, "one name per event");
  return names[e.index()];
}

std::string ExitStatus::describe() const {
  if (!exec_error.empty())
    return exec_error;
  if (oom_killed)
    return "killed by the OOM killer";
  if (signal != 0)
    return "killed by " + signal_name(signal);
  return fmt::format("exit status {}", code);
}

Result result_of(const ExitStatus &st) {
  if (!st.exec_error.empty())
    return Result::exec_failed;
  if (st.oom_killed)
    return Result::oom_kill;
  if (st.signal != 0)
    return st.core_dumped ? Result::core_dump : Result::signal;
  return st.code == 0 ? Result::success : Result::exit_code;
}

namespace {

std::string format_seconds(Duration d) { return fmt::format("{:g}s", to_seconds(d)); }

long long as_usec(Duration d) {
  return std::chrono::duration_cast<std::chrono::microseconds>(d).count();
}

// What heartbeat.interval may be (config_reader): WATCHDOG_USEC= keeps to it.
constexpr Duration min_interval = std::chrono::milliseconds(10);
constexpr Duration max_interval = std::chrono::hours(24);

} // namespace

Watchdog::Watchdog(AppConfig cfg) : cfg_(std::move(cfg)) {
  m_.delay = cfg_.restart_delay;
  if (cfg_.heartbeat)
    m_.interval = cfg_.heartbeat->interval;
  if (!cfg_.enabled)
    m_.reason = "disabled";
}

void Watchdog::log(Actions &out, LogLevel level, std::string text, std::string_view event,
                   LogFields fields) {
  out.emplace_back(act::Log{level, std::move(text), event, std::move(fields)});
}

void Watchdog::broken(Actions &out, std::string_view what) {
  log(out, LogLevel::error, fmt::format("internal error: {}", what));
  assert(!"a watchdog invariant broke; see the log line it gave");
}

void Watchdog::enter(State to, std::string reason, Actions &out) {
  State from = m_.state;
  m_.state = to;
  m_.reason = std::move(reason);
  if (to != State::backoff)
    m_.restart_due = false;
  if (to != State::starting && to != State::running && to != State::stopping)
    m_.pid = 0;
  out.emplace_back(act::Changed{from, to, m_.reason});
}

Actions Watchdog::on(const Event &e, TimePoint now) {
  Actions out;
  on(e, now, out);
  return out;
}

void Watchdog::on(const Event &e, TimePoint now, Actions &out) {
  const std::optional<TimePoint> before = m_.deadline;
  std::visit(
      [&](const auto &ev) {
        using T = std::decay_t<decltype(ev)>;
        if constexpr (std::is_same_v<T, ev::Start>)
          on_start(now, out);
        else if constexpr (std::is_same_v<T, ev::Stop>)
          on_stop(ev, now, out);
        else if constexpr (std::is_same_v<T, ev::Spawned>)
          on_spawned(ev, now, out);
        else if constexpr (std::is_same_v<T, ev::SpawnFailed>) {
          if (m_.spawn_pending) {
            m_.spawn_pending = false;
            after_exit(ExitStatus::exec_failed(ev.reason), now, out);
          }
        } else if constexpr (std::is_same_v<T, ev::Heartbeat>)
          on_heartbeat(ev, now, out);
        else if constexpr (std::is_same_v<T, ev::Exited>) {
          if (m_.pid > 0)
            after_exit(ev.status, now, out);
        } else if constexpr (std::is_same_v<T, ev::Deadline>)
          on_deadline(now, out);
        else if constexpr (std::is_same_v<T, ev::Panic>)
          on_panic(ev, now, out);
        else if constexpr (std::is_same_v<T, ev::Restart>)
          on_restart(now, out);
        else if constexpr (std::is_same_v<T, ev::Probe>)
          on_probe(ev, now, out);
      },
      e);
  if (m_.deadline != before)
    out.emplace_back(act::Timer{m_.deadline});
}

// Start a process now, unless the start limit forbids it.
void Watchdog::spawn(TimePoint now, Actions &out, bool restart) {
  m_.deadline.reset();
  const auto &lim = cfg_.start_limit;
  while (!m_.starts.empty() && now - m_.starts.front() >= lim.interval)
    m_.starts.pop_front();
  if (m_.starts.size() >= lim.burst) {
    std::string why = fmt::format("start limit hit: {} starts within {}", m_.starts.size(),
                                  format_seconds(lim.interval));
    log(out, LogLevel::error, fmt::format("{}, giving up until an admin start", why), {},
        {.message_id = message_id::start_limit, .reason = why});
    m_.want_up = false;
    m_.result = Result::start_limit;
    enter(State::failed, std::move(why), out);
    return;
  }
  m_.starts.push_back(now);
  if (restart) {
    ++m_.restarts;
    ++m_.restarts_by_result[static_cast<std::size_t>(m_.result)];
  }
  m_.spawn_pending = true;
  m_.restart_due = false;
  m_.kill_reason.clear();
  m_.kill_result = Result::success;
  m_.misses = 0;
  m_.running_since.reset();
  m_.last_heartbeat.reset();
  m_.status_text.reset();
  m_.error.reset();
  m_.reloading = false;
  m_.self_stop = false;
  m_.aborting = false;
  m_.probe_failures = 0;
  m_.last_probe.reset();
  if (cfg_.heartbeat)
    m_.interval = cfg_.heartbeat->interval; // WATCHDOG_USEC= lasts one run
  out.emplace_back(act::Spawn{});
}

void Watchdog::on_spawned(const ev::Spawned &e, TimePoint now, Actions &out) {
  if (!m_.spawn_pending)
    return;
  m_.spawn_pending = false;
  m_.pid = e.pid;
  m_.started_at = now;
  log(out, LogLevel::info, fmt::format("started, pid {}", e.pid), "started",
      {.message_id = message_id::started, .pid = e.pid});
  if (!cfg_.heartbeat && cfg_.probe) {
    // Up at its first good probe; failed ones bound the start.
    enter(State::starting, "waiting for the first successful probe", out);
  } else if (cfg_.heartbeat) {
    m_.deadline = now + cfg_.heartbeat->grace;
    enter(State::starting,
          cfg_.heartbeat->protocol == HeartbeatProtocol::notify
              ? "waiting for READY=1 or WATCHDOG=1"
              : "waiting for the first heartbeat",
          out);
  } else {
    m_.running_since = now;
    enter(State::running, "", out);
  }
}

void Watchdog::on_start(TimePoint now, Actions &out) {
  const bool was_up = std::exchange(m_.want_up, true);
  switch (m_.state) {
  case State::starting:
  case State::running:
    return;
  case State::stopping:
    // The exit will start it again. After an admin stop (`hbmonctl restart`)
    // this is an admin start like any other: a fresh beginning, or a
    // crash-looping app would go to `failed` on its manual restart.
    if (!was_up) {
      m_.starts.clear();
      m_.delay = cfg_.restart_delay;
      m_.restarts = 0;
    }
    return;
  case State::backoff:
  case State::stopped:
  case State::exited:
  case State::failed:
    // an admin start is a fresh beginning: no start-limit history, no backoff
    m_.starts.clear();
    m_.delay = cfg_.restart_delay;
    m_.restarts = 0;
    spawn(now, out);
    return;
  }
}

void Watchdog::on_stop(const ev::Stop &e, TimePoint now, Actions &out) {
  m_.want_up = false;
  switch (m_.state) {
  case State::starting:
  case State::running:
    log(out, LogLevel::info,
        fmt::format("stopping pid {} with {}: {}", m_.pid, signal_name(cfg_.stop_signal), e.why));
    m_.kill_reason = e.why;
    m_.kill_result = Result::success;
    m_.deadline = now + cfg_.stop_timeout;
    out.emplace_back(act::Kill{cfg_.stop_signal, false, {}});
    enter(State::stopping, e.why, out);
    return;
  case State::stopping:
    // already dying; it will end `stopped` now that the want is down
    return;
  case State::backoff:
  case State::exited:
  case State::failed:
    m_.deadline.reset();
    enter(State::stopped, e.why, out);
    return;
  case State::stopped:
    return;
  }
}

void Watchdog::on_heartbeat(const ev::Heartbeat &e, TimePoint now, Actions &out) {
  const HeartbeatMsg &m = e.msg;
  if (m_.state == State::stopping && m_.pid > 0) {
    // A stopping app may still say what it is doing, and ask for time.
    if (m.status)
      m_.status_text = m.status;
    if (m.extend_timeout && m_.deadline)
      m_.deadline = std::max(*m_.deadline, now + *m.extend_timeout);
    return;
  }
  if (m_.state != State::starting && m_.state != State::running)
    return;
  if (m.status)
    m_.status_text = m.status;
  if (m.error)
    m_.error = m.error;
  if (m.reloading)
    m_.reloading = true;
  else if (m.ready)
    m_.reloading = false; // READY=1 ends a reload, as under systemd
  if (m.trigger) {
    kill_now("app requested it (WATCHDOG=trigger)", Result::watchdog,
             metrics::KillReason::heartbeat, now, out);
    return;
  }
  if (m.stopping) {
    self_stopping(now, out);
    return;
  }
  if (m.watchdog_usec)
    override_interval(*m.watchdog_usec, out);
  if (m.beat) {
    ++m_.heartbeats;
    if (m_.last_heartbeat && m_.interval > Duration::zero())
      m_.gaps.observe(metrics::gap_bounds,
                      std::chrono::duration<double>(now - *m_.last_heartbeat) / m_.interval);
    m_.last_heartbeat = now;
    m_.misses = 0;
    if (cfg_.heartbeat)
      m_.deadline = now + m_.interval;
  }
  if (m_.state == State::starting) {
    if (!m.beat && !m.ready) {
      // Until READY=1 (or a ping), the start may ask for more time.
      if (m.extend_timeout && m_.deadline)
        m_.deadline = std::max(*m_.deadline, now + *m.extend_timeout);
      return;
    }
    if (!m.beat && cfg_.heartbeat && m_.deadline)
      m_.deadline = std::max(*m_.deadline, now + m_.interval); // the first ping is due
    m_.running_since = now;
    enter(State::running, m.ready ? "ready" : "", out);
  }
}

// A probe's verdict: a failure counts toward `failures` in a row, any
// success starts the count again (and, for an app with no heartbeat, ends
// `starting`).
void Watchdog::on_probe(const ev::Probe &e, TimePoint now, Actions &out) {
  if (!cfg_.probe || e.pid != m_.pid || (m_.state != State::starting && m_.state != State::running))
    return;
  m_.last_probe = ProbeVerdict{now, e.ok, e.reason};
  if (e.ok) {
    m_.probe_failures = 0;
    if (m_.state == State::starting && !cfg_.heartbeat) {
      m_.running_since = now;
      enter(State::running, "probe ok", out);
    }
    return;
  }
  const unsigned limit = cfg_.probe->failures;
  ++m_.probe_failures;
  log(out, LogLevel::warning,
      fmt::format("probe failed {}/{}: {}", m_.probe_failures, limit, e.reason), "probe-failed",
      {.reason = e.reason});
  if (m_.probe_failures >= limit)
    kill_now(fmt::format("failed {} probe{}", m_.probe_failures, m_.probe_failures == 1 ? "" : "s"),
             Result::watchdog, metrics::KillReason::probe, now, out);
}

// STOPPING=1: the app is on its way out by itself. No hang kill any more;
// SIGKILL if it is still there after stop_timeout; its exit is judged by
// its restart policy, as any exit it chose.
void Watchdog::self_stopping(TimePoint now, Actions &out) {
  log(out, LogLevel::info, fmt::format("pid {} is stopping (STOPPING=1)", m_.pid));
  m_.self_stop = true;
  m_.deadline = now + cfg_.stop_timeout;
  enter(State::stopping, "stopping by itself (STOPPING=1)", out);
}

// WATCHDOG_USEC=N: the app pings every N/2 from now on, for this run. The
// next ping is due one new interval after the last one (or the start).
void Watchdog::override_interval(std::chrono::microseconds usec, Actions &out) {
  const Duration half = std::chrono::duration_cast<Duration>(usec) / 2;
  if (!cfg_.heartbeat || half < min_interval || half > max_interval) {
    log(out, LogLevel::warning,
        fmt::format("ignored WATCHDOG_USEC={}: {}", usec.count(),
                    cfg_.heartbeat
                        ? fmt::format("it must be from {} to {} microseconds",
                                      2 * as_usec(min_interval), 2 * as_usec(max_interval))
                        : std::string("this app has no heartbeat")));
    return;
  }
  if (half == m_.interval)
    return;
  log(out, LogLevel::info,
      fmt::format("heartbeat interval {} for this run (WATCHDOG_USEC={})", format_seconds(half),
                  usec.count()));
  m_.interval = half;
  if (m_.deadline && m_.last_heartbeat && m_.misses == 0)
    m_.deadline = *m_.last_heartbeat + half;
}

Watchdog::Watchdog(AppConfig cfg, Memory memory) : cfg_(std::move(cfg)), m_(std::move(memory)) {}

// The handover took time in which no heartbeat could arrive: a heartbeat's
// due time inside it moves to just after it (SPEC "Re-exec"). Other
// deadlines (a stop's timeout, a backoff's end) keep their time.
void Watchdog::resume(TimePoint now, Duration grace, Actions &out) {
  const bool beats = m_.state == State::starting || m_.state == State::running;
  if (beats && m_.deadline && *m_.deadline < now + grace)
    m_.deadline = now + grace;
  out.emplace_back(act::Timer{m_.deadline});
}

void Watchdog::on_deadline(TimePoint now, Actions &out) {
  if (!m_.deadline || now < *m_.deadline)
    return;
  switch (m_.state) {
  case State::starting:
  case State::running: {
    if (!cfg_.heartbeat) {
      broken(out, "a deadline while up, for an app without heartbeats");
      return;
    }
    // Every due time that has passed is a miss, even several at once after
    // a stall; the loop drains heartbeat sockets before it runs deadlines,
    // so beats that did arrive are never counted as missed.
    const unsigned limit = cfg_.heartbeat->misses;
    while (m_.deadline && *m_.deadline <= now) {
      ++m_.misses;
      ++m_.misses_total;
      // systemd's watchdog knows no miss short of the kill, and apps written
      // for it ping at half of WATCHDOG_USEC, i.e. right at each due time
      // (sd-event's even between 1/2 and 3/4 of it): a notify app's misses
      // before the last are news at debug level only, not warnings.
      if (cfg_.heartbeat->protocol == HeartbeatProtocol::notify && m_.misses < limit)
        log(out, LogLevel::debug, fmt::format("missed heartbeat {}/{}", m_.misses, limit));
      else
        log(out, LogLevel::warning, fmt::format("missed heartbeat {}/{}", m_.misses, limit),
            "missed");
      if (m_.misses >= limit)
        kill_now(fmt::format("missed {} heartbeat{}", m_.misses, m_.misses == 1 ? "" : "s"),
                 Result::watchdog, metrics::KillReason::heartbeat, now, out);
      else
        *m_.deadline += m_.interval;
    }
    return;
  }
  case State::stopping: {
    m_.deadline.reset();
    if (m_.aborting) { // the hang kill's second step: not a stop that timed out
      log(out, LogLevel::warning,
          fmt::format("pid {} still running {} after {}, sending SIGKILL", m_.pid,
                      format_seconds(cfg_.abort_timeout), signal_name(cfg_.hang_signal)),
          "killed",
          {.message_id = message_id::killed, .pid = m_.pid, .signal = 9, .reason = m_.kill_reason});
      out.emplace_back(act::Kill{9, false, {}});
      return;
    }
    const std::string after =
        m_.self_stop ? std::string("STOPPING=1") : std::string(signal_name(cfg_.stop_signal));
    std::string why =
        fmt::format("still running {} after {}", format_seconds(cfg_.stop_timeout), after);
    log(out, LogLevel::warning, fmt::format("pid {} {}, sending SIGKILL", m_.pid, why), "killed",
        {.message_id = message_id::killed, .pid = m_.pid, .signal = 9, .reason = why});
    if (m_.kill_reason.empty()) { // a stop of its own that it did not finish
      m_.kill_reason = std::move(why);
      m_.kill_result = Result::timeout;
    }
    ++m_.kills[static_cast<std::size_t>(metrics::KillReason::stop_timeout)];
    out.emplace_back(act::Kill{9, false, {}});
    return;
  }
  case State::backoff:
    // When the restart runs is the caller's start scheduler's call.
    m_.deadline.reset();
    m_.restart_due = true;
    out.emplace_back(act::RestartDue{});
    return;
  case State::stopped:
  case State::exited:
  case State::failed:
    m_.deadline.reset();
    return;
  }
}

// A hang kill (heartbeats, WATCHDOG=trigger, probes) sends hang_signal to
// the main process and SIGKILL to the group abort_timeout later, unless
// hang_signal is SIGKILL (the group at once); a panic is SIGKILL at once.
// Either is recorded first (act::Kill::record).
void Watchdog::kill_now(std::string why, Result result, metrics::KillReason reason, TimePoint now,
                        Actions &out) {
  ++m_.kills[static_cast<std::size_t>(reason)];
  const int sig = reason == metrics::KillReason::panic ? 9 : cfg_.hang_signal;
  log(out, LogLevel::warning,
      sig == 9 ? fmt::format("killing pid {}: {}", m_.pid, why)
               : fmt::format("killing pid {}: {}; sending {}, SIGKILL after {}", m_.pid, why,
                             signal_name(sig), format_seconds(cfg_.abort_timeout)),
      "killed", {.message_id = message_id::killed, .pid = m_.pid, .signal = sig, .reason = why});
  if (m_.kill_reason.empty()) {
    m_.kill_reason = why;
    m_.kill_result = result;
  }
  m_.deadline.reset();
  if (sig != 9) {
    m_.aborting = true;
    m_.deadline = now + cfg_.abort_timeout;
  }
  out.emplace_back(act::Kill{sig, sig != 9, why});
  if (m_.state != State::stopping)
    enter(State::stopping, std::move(why), out);
}

void Watchdog::on_panic(const ev::Panic &e, TimePoint now, Actions &out) {
  if (m_.pid <= 0)
    return;
  log(out, LogLevel::warning, fmt::format("panic button pressed: {}", e.reason), "panic",
      {.message_id = message_id::panic, .pid = m_.pid, .reason = e.reason});
  kill_now("panic: " + e.reason, Result::panic, metrics::KillReason::panic, now, out);
}

void Watchdog::on_restart(TimePoint now, Actions &out) {
  // A Restart that lost its race (an admin start or stop came first) is
  // answered by nothing.
  if (m_.state == State::backoff && m_.restart_due)
    spawn(now, out, /*restart=*/true);
}

void Watchdog::after_exit(const ExitStatus &st, TimePoint now, Actions &out) {
  const pid_t pid = m_.pid;
  const bool healthy = m_.running_since && now - *m_.running_since >= healthy_run;
  m_.last_exit = st;
  m_.aborting = false; // whatever it died of, nothing more is sent
  // Members that outlived the leader were shown while they ran; their time
  // is not in its rusage, and the counter must not go back.
  m_.cpu_ended = std::max(m_.cpu_ended + st.cpu_seconds, m_.cpu_shown);
  m_.cpu_shown = m_.cpu_ended;
  m_.deadline.reset();
  m_.status_text.reset(); // it described a process that is gone
  m_.error.reset();
  m_.reloading = false;

  if (!st.exec_error.empty())
    log(out, LogLevel::error, fmt::format("failed to start: {}", st.exec_error), "start-failed",
        {.message_id = message_id::start_failed, .reason = st.exec_error});
  else
    // Exits we asked for (a stop) are news, not trouble.
    log(out,
        st.clean() || (!m_.kill_reason.empty() && m_.kill_result == Result::success)
            ? LogLevel::info
            : LogLevel::warning,
        fmt::format("pid {} exited: {}", pid, st.describe()), "exited",
        {.message_id = message_id::exited,
         .pid = pid,
         .exit_status = st.signal ? -1 : st.code,
         .signal = st.signal,
         .reason = m_.kill_reason});

  // first reason wins: "missed 2 heartbeats" rather than "killed by SIGKILL"
  const bool ours = !m_.kill_reason.empty();
  std::string why = ours ? m_.kill_reason : st.describe();
  m_.result = ours ? m_.kill_result : result_of(st);
  const bool failure = m_.result != Result::success;
  m_.kill_reason.clear();
  m_.running_since.reset();

  if (!m_.want_up) {
    enter(State::stopped, ours ? why : "stopped by admin", out);
    return;
  }
  if (m_.state == State::stopping && !failure && !m_.self_stop) {
    // stopped on the way to a start (an admin start during a stop)
    spawn(now, out);
    return;
  }
  const bool restart = cfg_.restart == RestartPolicy::always ||
                       (cfg_.restart == RestartPolicy::on_failure && failure);
  if (!restart) {
    log(out, LogLevel::info, fmt::format("not restarting (restart: {})", to_string(cfg_.restart)));
    m_.want_up = false;
    // A program that never ran "cannot be started": that needs an admin.
    enter(st.exec_error.empty() ? State::exited : State::failed, std::move(why), out);
    return;
  }
  if (healthy)
    m_.delay = cfg_.restart_delay;
  const Duration wait = m_.delay;
  m_.delay = std::min(m_.delay * 2, cfg_.backoff_max); // verify(): backoff_max >= restart_delay
  log(out, LogLevel::info, fmt::format("restarting in {}", format_seconds(wait)), "backoff");
  m_.deadline = now + wait;
  enter(State::backoff, std::move(why), out);
}

} // namespace hbmon

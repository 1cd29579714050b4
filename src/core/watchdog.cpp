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

Watchdog::Watchdog(AppConfig cfg) : cfg_(std::move(cfg)), delay_(cfg_.restart_delay) {
  if (cfg_.heartbeat)
    interval_ = cfg_.heartbeat->interval;
  if (!cfg_.enabled)
    reason_ = "disabled";
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
  State from = state_;
  state_ = to;
  reason_ = std::move(reason);
  if (to != State::backoff)
    restart_due_ = false;
  if (to != State::starting && to != State::running && to != State::stopping)
    pid_ = 0;
  out.emplace_back(act::Changed{from, to, reason_});
}

Actions Watchdog::on(const Event &e, TimePoint now) {
  Actions out;
  on(e, now, out);
  return out;
}

void Watchdog::on(const Event &e, TimePoint now, Actions &out) {
  const std::optional<TimePoint> before = deadline_;
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
          if (spawn_pending_) {
            spawn_pending_ = false;
            after_exit(ExitStatus::exec_failed(ev.reason), now, out);
          }
        } else if constexpr (std::is_same_v<T, ev::Heartbeat>)
          on_heartbeat(ev, now, out);
        else if constexpr (std::is_same_v<T, ev::Exited>) {
          if (pid_ > 0)
            after_exit(ev.status, now, out);
        } else if constexpr (std::is_same_v<T, ev::Deadline>)
          on_deadline(now, out);
        else if constexpr (std::is_same_v<T, ev::Panic>)
          on_panic(ev, out);
        else if constexpr (std::is_same_v<T, ev::Restart>)
          on_restart(now, out);
        else if constexpr (std::is_same_v<T, ev::Probe>)
          on_probe(ev, now, out);
      },
      e);
  if (const bool kills = deadline_kills(); deadline_ != before || kills != announced_kills_) {
    announced_kills_ = kills;
    out.emplace_back(act::Timer{deadline_, kills});
  }
}

// Start a process now, unless the start limit forbids it.
void Watchdog::spawn(TimePoint now, Actions &out, bool restart) {
  deadline_.reset();
  const auto &lim = cfg_.start_limit;
  while (!starts_.empty() && now - starts_.front() >= lim.interval)
    starts_.pop_front();
  if (starts_.size() >= lim.burst) {
    std::string why = fmt::format("start limit hit: {} starts within {}", starts_.size(),
                                  format_seconds(lim.interval));
    log(out, LogLevel::error, fmt::format("{}, giving up until an admin start", why), {},
        {.message_id = message_id::start_limit, .reason = why});
    want_up_ = false;
    result_ = Result::start_limit;
    enter(State::failed, std::move(why), out);
    return;
  }
  starts_.push_back(now);
  if (restart)
    ++restarts_;
  spawn_pending_ = true;
  restart_due_ = false;
  kill_reason_.clear();
  kill_result_ = Result::success;
  misses_ = 0;
  running_since_.reset();
  last_heartbeat_.reset();
  status_text_.reset();
  error_.reset();
  reloading_ = false;
  self_stop_ = false;
  probe_failures_ = 0;
  last_probe_.reset();
  if (cfg_.heartbeat)
    interval_ = cfg_.heartbeat->interval; // WATCHDOG_USEC= lasts one run
  out.emplace_back(act::Spawn{});
}

void Watchdog::on_spawned(const ev::Spawned &e, TimePoint now, Actions &out) {
  if (!spawn_pending_)
    return;
  spawn_pending_ = false;
  pid_ = e.pid;
  started_at_ = now;
  log(out, LogLevel::info, fmt::format("started, pid {}", e.pid), "started",
      {.message_id = message_id::started, .pid = e.pid});
  if (!cfg_.heartbeat && cfg_.probe) {
    // Up at its first good probe; failed ones bound the start.
    enter(State::starting, "waiting for the first successful probe", out);
  } else if (cfg_.heartbeat) {
    deadline_ = now + cfg_.heartbeat->grace;
    enter(State::starting,
          cfg_.heartbeat->protocol == HeartbeatProtocol::notify
              ? "waiting for READY=1 or WATCHDOG=1"
              : "waiting for the first heartbeat",
          out);
  } else {
    running_since_ = now;
    enter(State::running, "", out);
  }
}

void Watchdog::on_start(TimePoint now, Actions &out) {
  const bool was_up = std::exchange(want_up_, true);
  switch (state_) {
  case State::starting:
  case State::running:
    return;
  case State::stopping:
    // The exit will start it again. After an admin stop (`hbmonctl restart`)
    // this is an admin start like any other: a fresh beginning, or a
    // crash-looping app would go to `failed` on its manual restart.
    if (!was_up) {
      starts_.clear();
      delay_ = cfg_.restart_delay;
      restarts_ = 0;
    }
    return;
  case State::backoff:
  case State::stopped:
  case State::exited:
  case State::failed:
    // an admin start is a fresh beginning: no start-limit history, no backoff
    starts_.clear();
    delay_ = cfg_.restart_delay;
    restarts_ = 0;
    spawn(now, out);
    return;
  }
}

void Watchdog::on_stop(const ev::Stop &e, TimePoint now, Actions &out) {
  want_up_ = false;
  switch (state_) {
  case State::starting:
  case State::running:
    log(out, LogLevel::info,
        fmt::format("stopping pid {} with {}: {}", pid_, signal_name(cfg_.stop_signal), e.why));
    kill_reason_ = e.why;
    kill_result_ = Result::success;
    deadline_ = now + cfg_.stop_timeout;
    out.emplace_back(act::Kill{cfg_.stop_signal});
    enter(State::stopping, e.why, out);
    return;
  case State::stopping:
    // already dying; it will end `stopped` now that the want is down
    return;
  case State::backoff:
  case State::exited:
  case State::failed:
    deadline_.reset();
    enter(State::stopped, e.why, out);
    return;
  case State::stopped:
    return;
  }
}

void Watchdog::on_heartbeat(const ev::Heartbeat &e, TimePoint now, Actions &out) {
  const HeartbeatMsg &m = e.msg;
  if (state_ == State::stopping && pid_ > 0) {
    // A stopping app may still say what it is doing, and ask for time.
    if (m.status)
      status_text_ = m.status;
    if (m.extend_timeout && deadline_)
      deadline_ = std::max(*deadline_, now + *m.extend_timeout);
    return;
  }
  if (state_ != State::starting && state_ != State::running)
    return;
  if (m.status)
    status_text_ = m.status;
  if (m.error)
    error_ = m.error;
  if (m.reloading)
    reloading_ = true;
  else if (m.ready)
    reloading_ = false; // READY=1 ends a reload, as under systemd
  if (m.trigger) {
    kill_now("app requested it (WATCHDOG=trigger)", Result::watchdog, out);
    return;
  }
  if (m.stopping) {
    self_stopping(now, out);
    return;
  }
  if (m.watchdog_usec)
    override_interval(*m.watchdog_usec, out);
  if (m.beat) {
    ++heartbeats_;
    last_heartbeat_ = now;
    misses_ = 0;
    if (cfg_.heartbeat)
      deadline_ = now + interval_;
  }
  if (state_ == State::starting) {
    if (!m.beat && !m.ready) {
      // Until READY=1 (or a ping), the start may ask for more time.
      if (m.extend_timeout && deadline_)
        deadline_ = std::max(*deadline_, now + *m.extend_timeout);
      return;
    }
    if (!m.beat && cfg_.heartbeat && deadline_)
      deadline_ = std::max(*deadline_, now + interval_); // the first ping is due
    running_since_ = now;
    enter(State::running, m.ready ? "ready" : "", out);
  }
}

// A probe's verdict: a failure counts toward `failures` in a row, any
// success starts the count again (and, for an app with no heartbeat, ends
// `starting`).
void Watchdog::on_probe(const ev::Probe &e, TimePoint now, Actions &out) {
  if (!cfg_.probe || e.pid != pid_ || (state_ != State::starting && state_ != State::running))
    return;
  last_probe_ = ProbeVerdict{now, e.ok, e.reason};
  if (e.ok) {
    probe_failures_ = 0;
    if (state_ == State::starting && !cfg_.heartbeat) {
      running_since_ = now;
      enter(State::running, "probe ok", out);
    }
    return;
  }
  const unsigned limit = cfg_.probe->failures;
  ++probe_failures_;
  log(out, LogLevel::warning,
      fmt::format("probe failed {}/{}: {}", probe_failures_, limit, e.reason), "probe-failed",
      {.reason = e.reason});
  if (probe_failures_ >= limit)
    kill_now(fmt::format("failed {} probe{}", probe_failures_, probe_failures_ == 1 ? "" : "s"),
             Result::watchdog, out);
}

// STOPPING=1: the app is on its way out by itself. No hang kill any more;
// SIGKILL if it is still there after stop_timeout; its exit is judged by
// its restart policy, as any exit it chose.
void Watchdog::self_stopping(TimePoint now, Actions &out) {
  log(out, LogLevel::info, fmt::format("pid {} is stopping (STOPPING=1)", pid_));
  self_stop_ = true;
  deadline_ = now + cfg_.stop_timeout;
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
  if (half == interval_)
    return;
  log(out, LogLevel::info,
      fmt::format("heartbeat interval {} for this run (WATCHDOG_USEC={})", format_seconds(half),
                  usec.count()));
  interval_ = half;
  if (deadline_ && last_heartbeat_ && misses_ == 0)
    deadline_ = *last_heartbeat_ + half;
}

bool Watchdog::deadline_kills() const {
  if (!deadline_)
    return false;
  switch (state_) {
  case State::starting:
  case State::running:
    return cfg_.heartbeat && misses_ + 1 >= cfg_.heartbeat->misses;
  case State::stopping:
    return true;
  default:
    return false;
  }
}

void Watchdog::on_deadline(TimePoint now, Actions &out) {
  if (!deadline_ || now < *deadline_)
    return;
  switch (state_) {
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
    while (deadline_ && *deadline_ <= now) {
      ++misses_;
      ++misses_total_;
      // systemd's watchdog knows no miss short of the kill, and apps written
      // for it ping at half of WATCHDOG_USEC, i.e. right at each due time
      // (sd-event's even between 1/2 and 3/4 of it): a notify app's misses
      // before the last are news at debug level only, not warnings.
      if (cfg_.heartbeat->protocol == HeartbeatProtocol::notify && misses_ < limit)
        log(out, LogLevel::debug, fmt::format("missed heartbeat {}/{}", misses_, limit));
      else
        log(out, LogLevel::warning, fmt::format("missed heartbeat {}/{}", misses_, limit),
            "missed");
      if (misses_ >= limit)
        kill_now(fmt::format("missed {} heartbeat{}", misses_, misses_ == 1 ? "" : "s"),
                 Result::watchdog, out);
      else
        *deadline_ += interval_;
    }
    return;
  }
  case State::stopping: {
    deadline_.reset();
    const std::string after =
        self_stop_ ? std::string("STOPPING=1") : std::string(signal_name(cfg_.stop_signal));
    std::string why =
        fmt::format("still running {} after {}", format_seconds(cfg_.stop_timeout), after);
    log(out, LogLevel::warning, fmt::format("pid {} {}, sending SIGKILL", pid_, why), "killed",
        {.message_id = message_id::killed, .pid = pid_, .signal = 9, .reason = why});
    if (kill_reason_.empty()) { // a stop of its own that it did not finish
      kill_reason_ = std::move(why);
      kill_result_ = Result::timeout;
    }
    out.emplace_back(act::Kill{9});
    return;
  }
  case State::backoff:
    // When the restart runs is the caller's start scheduler's call.
    deadline_.reset();
    restart_due_ = true;
    out.emplace_back(act::RestartDue{});
    return;
  case State::stopped:
  case State::exited:
  case State::failed:
    deadline_.reset();
    return;
  }
}

void Watchdog::kill_now(std::string why, Result result, Actions &out) {
  log(out, LogLevel::warning, fmt::format("killing pid {}: {}", pid_, why), "killed",
      {.message_id = message_id::killed, .pid = pid_, .signal = 9, .reason = why});
  if (kill_reason_.empty()) {
    kill_reason_ = why;
    kill_result_ = result;
  }
  deadline_.reset();
  out.emplace_back(act::Kill{9});
  if (state_ != State::stopping)
    enter(State::stopping, std::move(why), out);
}

void Watchdog::on_panic(const ev::Panic &e, Actions &out) {
  if (pid_ <= 0)
    return;
  log(out, LogLevel::warning, fmt::format("panic button pressed: {}", e.reason), "panic",
      {.message_id = message_id::panic, .pid = pid_, .reason = e.reason});
  kill_now("panic: " + e.reason, Result::panic, out);
}

void Watchdog::on_restart(TimePoint now, Actions &out) {
  // A Restart that lost its race (an admin start or stop came first) is
  // answered by nothing.
  if (state_ == State::backoff && restart_due_)
    spawn(now, out, /*restart=*/true);
}

void Watchdog::after_exit(const ExitStatus &st, TimePoint now, Actions &out) {
  const pid_t pid = pid_;
  const bool healthy = running_since_ && now - *running_since_ >= healthy_run;
  last_exit_ = st;
  deadline_.reset();
  status_text_.reset(); // it described a process that is gone
  error_.reset();
  reloading_ = false;

  if (!st.exec_error.empty())
    log(out, LogLevel::error, fmt::format("failed to start: {}", st.exec_error), "start-failed",
        {.message_id = message_id::start_failed, .reason = st.exec_error});
  else
    // Exits we asked for (a stop) are news, not trouble.
    log(out,
        st.clean() || (!kill_reason_.empty() && kill_result_ == Result::success)
            ? LogLevel::info
            : LogLevel::warning,
        fmt::format("pid {} exited: {}", pid, st.describe()), "exited",
        {.message_id = message_id::exited,
         .pid = pid,
         .exit_status = st.signal ? -1 : st.code,
         .signal = st.signal,
         .reason = kill_reason_});

  // first reason wins: "missed 2 heartbeats" rather than "killed by SIGKILL"
  const bool ours = !kill_reason_.empty();
  std::string why = ours ? kill_reason_ : st.describe();
  result_ = ours ? kill_result_ : result_of(st);
  const bool failure = result_ != Result::success;
  kill_reason_.clear();
  running_since_.reset();

  if (!want_up_) {
    enter(State::stopped, ours ? why : "stopped by admin", out);
    return;
  }
  if (state_ == State::stopping && !failure && !self_stop_) {
    // stopped on the way to a start (an admin start during a stop)
    spawn(now, out);
    return;
  }
  const bool restart = cfg_.restart == RestartPolicy::always ||
                       (cfg_.restart == RestartPolicy::on_failure && failure);
  if (!restart) {
    log(out, LogLevel::info, fmt::format("not restarting (restart: {})", to_string(cfg_.restart)));
    want_up_ = false;
    // A program that never ran "cannot be started": that needs an admin.
    enter(st.exec_error.empty() ? State::exited : State::failed, std::move(why), out);
    return;
  }
  if (healthy)
    delay_ = cfg_.restart_delay;
  const Duration wait = delay_;
  delay_ = std::min(delay_ * 2, cfg_.backoff_max); // verify(): backoff_max >= restart_delay
  log(out, LogLevel::info, fmt::format("restarting in {}", format_seconds(wait)), "backoff");
  deadline_ = now + wait;
  enter(State::backoff, std::move(why), out);
}

} // namespace hbmon

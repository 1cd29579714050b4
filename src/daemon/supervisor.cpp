#include "daemon/supervisor.hpp"

#include "core/heartbeat.hpp"
#include "core/signal_names.hpp"
#include "daemon/log.hpp"

#include <fmt/format.h>
#include <set>

namespace hbmon {

namespace {
// A record holds the app's last lines: enough to see what it was doing.
constexpr std::size_t forensics_output_lines = 50;
} // namespace

Supervisor::Supervisor(Loop &loop, Reports &reports, Options opts)
    : loop_(loop), reports_(reports), runner_(loop, opts),
      probes_(loop, runner_,
              [this](App &a, pid_t pid, bool ok, std::string reason) {
                deliver(a, ev::Probe{pid, ok, std::move(reason)});
              }),
      zmq_(1), guardian_(opts.guardian),
      forensics_(loop, [this](const std::string &app, bool ok, const std::string &what) {
        if (ok) {
          logging::daemon_about(app, LogLevel::info,
                                fmt::format("{}: forensics record {}", app, what));
          publish(app, "forensics", what);
        } else {
          logging::daemon_about(app, LogLevel::warning,
                                fmt::format("{}: no forensics record: {}", app, what));
        }
      }) {
  zmq_.set(zmq::ctxopt::blocky, 0);
  zmq_.set(zmq::ctxopt::max_sockets, 65535);
  loop_.add_prepare([this] {
    finish_retired();
    resume_restored();
    bool busy = intakes_.drain();
    busy |= run_start_queue();
    if (status_dirty_) {
      status_dirty_ = false;
      reports_.status(summary());
    }
    return busy;
  });
}

Supervisor::~Supervisor() = default; // the runner kills what is left

std::unique_ptr<App> Supervisor::make_app(const AppConfig &ac) {
  return with_timer(std::make_unique<App>(
      loop_, intakes_, ac, [this](App &a, HeartbeatMsg m) { heartbeat(a, std::move(m)); }));
}

void Supervisor::send(pid_t pid, const act::Kill &k) {
  if (k.main_only)
    runner_.signal_main(pid, k.signal);
  else
    runner_.signal(pid, k.signal);
}

// What hbmond knows of the app as it is about to kill it.
forensics::Facts Supervisor::facts(const App &a, const std::string &reason) const {
  forensics::Facts f;
  f.app = a.cfg.name;
  f.pid = a.pid;
  f.reason = reason;
  f.time = std::chrono::system_clock::now();
  const auto now = Loop::now();
  for (const auto t : a.last_beats())
    f.last_heartbeats.push_back(
        f.time - std::chrono::duration_cast<std::chrono::system_clock::duration>(now - t));
  f.status = a.wd.memory().status_text;
  for (const auto &line : a.output.ring().last(forensics_output_lines))
    f.output.push_back(line.text);
  return f;
}

void Supervisor::heartbeat(App &a, HeartbeatMsg m) {
  if (m.beat)
    a.beat_at(Loop::now());
  deliver(a, ev::Heartbeat{std::move(m)});
}

std::unique_ptr<App> Supervisor::with_timer(std::unique_ptr<App> made) {
  made->timer = loop_.timer([this, &a = *made] {
    a.intake.drain_all(); // a heartbeat already queued on the socket beats the deadline
    deliver(a, ev::Deadline{});
  });
  return made;
}

// Into the table, its socket bound unless it is already (a failure here is
// retried by each spawn, which fails without it).
App &Supervisor::add_app(std::unique_ptr<App> made) {
  App &a = apps_.add(std::move(made));
  if (auto err = a.intake.bind(zmq_, loop_, a.cfg); !err.empty())
    logging::app_event(a.cfg.name, LogLevel::error, err);
  return a;
}

void Supervisor::start(const Config &cfg) {
  forensics_.configure(cfg.forensics);
  for (const auto &ac : cfg.apps)
    add_app(make_app(ac));
  for (const auto &[name, a] : apps_.all()) {
    if (a->cfg.enabled)
      starts_.push(a.get(), Starts::Kind::start);
    else
      logging::app_event(name, LogLevel::info, "disabled (enabled: false), not started");
  }
  booting_ = true;
  run_start_queue();
}

// Starts run here, a slice at a time (core/start_queue.hpp says when).
bool Supervisor::run_start_queue() {
  starts_.begin_slice(Loop::now());
  // Each start takes a set of spawn slots until its child has its own fds
  // (microseconds later, on its report pipe): with none free, the next turn.
  while (ProcessRunner::can_spawn()) {
    auto next = starts_.next(Loop::now());
    if (!next)
      break;
    App &a = *next->first;
    if (shutting_down_ || a.retiring)
      continue;
    if (next->second == Starts::Kind::start)
      deliver(a, ev::Start{});
    else
      deliver(a, ev::Restart{});
  }
  check_booted();
  // Come back at once for the rest, unless it waits for a free set (its
  // child's report pipe wakes the loop).
  return !starts_.empty() && ProcessRunner::can_spawn();
}

void Supervisor::check_booted() {
  if (!booting_ || !starts_.empty() || boot_execs_ > 0)
    return;
  // Every enabled app has been spawned and has exec'd (or has failed to).
  booting_ = false;
  status_dirty_ = false;
  reports_.booted(summary());
  logging::daemon(LogLevel::info, fmt::format("supervising {}", summary()));
}

// Events are handled one at a time, in the order they arise: one raised
// while another is being handled (a spawn's Spawned, from among the actions
// of a Start) waits until all of that one's actions are done.
void Supervisor::deliver(App &a, Event e) {
  if (held_back(a, e))
    return;
  if (delivering_) {
    pending_.emplace_back(&a, std::move(e));
    return;
  }
  delivering_ = true;
  struct Done {
    bool &flag;
    ~Done() { flag = false; }
  } done{delivering_};
  handle(a, e);
  while (!pending_.empty()) {
    auto [app, event] = std::move(pending_.front());
    pending_.pop_front();
    if (!held_back(*app, event)) // its child may have been spawned meanwhile
      handle(*app, event);
  }
}

// While the app's child has not exec'd, only the outcome goes to its
// watchdog; the rest waits in App::held (on_exec() delivers it).
bool Supervisor::held_back(App &a, Event &e) {
  if (!a.execing || std::holds_alternative<ev::Spawned>(e) ||
      std::holds_alternative<ev::SpawnFailed>(e))
    return false;
  a.held.push_back(std::move(e));
  return true;
}

void Supervisor::handle(App &a, const Event &e) {
  // One buffer for every event: handle() never runs inside execute() (a
  // follow-up event waits in pending_), so nothing reads it while it refills.
  actions_.clear();
  a.wd.on(e, Loop::now(), actions_);
  execute(a, actions_);
  apps_.settle(a);
}

void Supervisor::publish(const std::string &app, std::string_view event,
                         const std::string &message) {
  EventRecord e{app, event, std::nullopt, 0, message};
  if (const App *a = apps_.find(app)) {
    e.state = a->wd.state();
    e.pid = a->wd.pid();
  }
  reports_.event(e);
}

namespace {
// An app whose child exists but has not exec'd yet (App::execing) shows as
// starting, as it will be: an admin's start is under way, not refused.
constexpr std::string_view execing_reason = "starting its program";
} // namespace

Supervisor::Reply Supervisor::reply_for(const App &a, std::string message) const {
  Reply r;
  r.message = std::move(message);
  r.state = a.wd.state();
  r.reason = a.wd.reason();
  if (a.execing) { // what its watchdog will hear of once the exec is known
    r.state = State::starting;
    r.reason = std::string(execing_reason);
  }
  return r;
}

namespace {
Supervisor::Reply unknown_app(const std::string &name) {
  return {false, "unknown-app", fmt::format("no app named \"{}\"", printable(name)),
          State::stopped};
}
} // namespace

// panic and signal: what they do needs the app's process.
template <typename Act>
Supervisor::Reply Supervisor::with_process(const std::string &name, Act &&act) {
  App *found = apps_.find(name);
  if (!found)
    return unknown_app(name);
  App &a = *found;
  if (a.pid <= 0)
    return {false, "not-running",
            fmt::format("{} is not running ({})", name, to_string(a.wd.state())), a.wd.state()};
  return act(a);
}

Supervisor::Reply Supervisor::panic(const std::string &name, const std::string &reason,
                                    const std::string &who) {
  return with_process(name, [&](App &a) {
    const pid_t pid = a.pid;
    deliver(a, ev::Panic{fmt::format("{} (pressed by {})", reason, who)});
    return reply_for(a, fmt::format("killed pid {}", pid));
  });
}

// An admin's word on one app: it supersedes a queued start, and whether
// the app is to stay down outlives reloads of its settings.
template <typename Act>
Supervisor::Reply Supervisor::admin(const std::string &name, std::string_view verb,
                                    const std::string &who, bool down, Act &&act) {
  App *found = apps_.find(name);
  if (!found)
    return unknown_app(name);
  App &a = *found;
  if (shutting_down_ && !down) {
    // It would only be SIGKILLed at the end of the shutdown's stop timeout.
    logging::app_event(name, LogLevel::info,
                       fmt::format("refused {} from {}: hbmond is shutting down", verb, who));
    return {false, "shutting-down", "hbmond is shutting down", a.wd.state()};
  }
  a.admin_down = down;
  starts_.remove(&a);
  logging::app_event(name, LogLevel::info, fmt::format("{} requested by {}", verb, who));
  act(a);
  return reply_for(a, a.retiring && a.successor && !down
                          ? "will start with its new settings once the old process is gone"
                          : std::string(to_string(a.wd.state())));
}

Supervisor::Reply Supervisor::start_app(const std::string &name, const std::string &who) {
  return admin(name, "start", who, false, [&](App &a) {
    if (a.retiring) {
      if (a.successor)
        a.successor->cfg.enabled = true;
      return;
    }
    deliver(a, ev::Start{});
  });
}

Supervisor::Reply Supervisor::stop_app(const std::string &name, const std::string &who) {
  return admin(name, "stop", who, true,
               [&](App &a) { deliver(a, ev::Stop{fmt::format("stopped by {}", who)}); });
}

Supervisor::Reply Supervisor::signal_app(const std::string &name, int sig, const std::string &who) {
  return with_process(name, [&](App &a) {
    logging::app_event(name, LogLevel::info,
                       fmt::format("sending {} to pid {} and its group, requested by {}",
                                   signal_name(sig), a.pid, who));
    runner_.signal(a.pid, sig);
    return reply_for(a, fmt::format("sent {} to pid {}", signal_name(sig), a.pid));
  });
}

Supervisor::Reply Supervisor::restart_app(const std::string &name, const std::string &who) {
  return admin(name, "restart", who, false, [&](App &a) {
    // A graceful stop; the Start makes the watchdog spawn again on the exit.
    deliver(a, ev::Stop{fmt::format("restart requested by {}", who)});
    if (!a.retiring)
      deliver(a, ev::Start{});
  });
}

std::variant<ReloadPlan, std::string> Supervisor::reload(const Config &next) {
  ReloadPlan plan = plan_reload(apps_.headed_for(), next);
  // Endpoints that stay bound until their app is gone: their successors
  // bind them then. By socket file where there is one: an ipc:// endpoint
  // and a notify socket may name the same file.
  const auto key = [](const HeartbeatConfig &hb) {
    std::string file = hb.socket_file();
    return file.empty() ? hb.endpoint : file;
  };
  std::set<std::string, std::less<>> held;
  for (const auto &[name, a] : apps_.all())
    for (const App *app : {a.get(), a->successor.get()})
      if (app && app->cfg.heartbeat)
        held.insert(key(*app->cfg.heartbeat));
  // Every resource first; whatever was made goes again if one is short.
  std::map<std::string, std::unique_ptr<App>, std::less<>> made;
  for (const auto *names : {&plan.added, &plan.changed})
    for (const auto &name : *names) {
      const AppConfig &ac = *next.find(name);
      std::unique_ptr<App> app;
      try {
        app = make_app(ac);
      } catch (const std::exception &e) {
        return fmt::format("{}: {}", name, e.what());
      }
      if (ac.heartbeat && !held.count(key(*ac.heartbeat)))
        if (auto err = app->intake.bind(zmq_, loop_, ac); !err.empty())
          return fmt::format("{}: {}", name, err);
      made[name] = std::move(app);
    }
  for (const auto &name : plan.removed)
    retire(*apps_.find(name), nullptr);
  for (const auto &name : plan.changed)
    retire(*apps_.find(name), std::move(made[name]));
  for (const auto &name : plan.added) {
    App &a = add_app(std::move(made[name]));
    if (a.cfg.enabled && !shutting_down_)
      starts_.push(&a, Starts::Kind::start);
  }
  forensics_.configure(next.forensics);
  status_dirty_ = true;
  return plan;
}

// Stop `a` (gracefully) and drop it once its process is gone.
void Supervisor::retire(App &a, std::unique_ptr<App> successor) {
  if (apps_.retire(a, std::move(successor))) // else only the successor changed
    deliver(a, ev::Stop{a.successor ? "config changed" : "removed from the config"});
}

// Runs outside every callback (a prepare hook), so an App may be destroyed.
void Supervisor::finish_retired() {
  for (std::unique_ptr<App> &old : apps_.take_gone()) {
    const std::string name = old->cfg.name;
    starts_.remove(old.get());
    status_dirty_ = true;
    std::unique_ptr<App> next = std::move(old->successor);
    const bool admin_down = old->admin_down;
    old.reset(); // closes its socket before a successor binds the endpoint
    if (!next) {
      logging::app_event(name, LogLevel::info, "removed");
      continue;
    }
    App &a = add_app(std::move(next));
    a.admin_down = admin_down;
    logging::app_event(name, LogLevel::info, "new settings applied");
    if (a.cfg.enabled && !admin_down && !shutting_down_)
      starts_.push(&a, Starts::Kind::start);
  }
  if (shutting_down_)
    check_shutdown_done();
}

void Supervisor::execute(App &a, const Actions &acts) {
  for (const auto &action : acts) {
    if (auto *log = std::get_if<act::Log>(&action)) {
      logging::app_event(a.cfg.name, log->level, log->text, log->fields);
      if (!log->event.empty())
        publish(a.cfg.name, log->event, log->text);
    } else if (auto *ch = std::get_if<act::Changed>(&action)) {
      apps_.moved(ch->from, ch->to);
      status_dirty_ = true;
      if (ch->from != ch->to) {
        a.since = Loop::now();
        logging::app_event(a.cfg.name, LogLevel::debug,
                           fmt::format("{} -> {}{}{}", to_string(ch->from), to_string(ch->to),
                                       ch->reason.empty() ? "" : ": ", ch->reason));
        if (ch->to == State::running)
          publish(a.cfg.name, "ready", ch->reason.empty() ? "running" : "running: " + ch->reason);
        else if (ch->to == State::stopped)
          publish(a.cfg.name, "stopped", "stopped: " + ch->reason);
        else if (ch->to == State::failed) {
          // As systemd's "Failed with result": alerting matches its id.
          logging::app_event(a.cfg.name, LogLevel::error, "failed: " + ch->reason,
                             {.message_id = message_id::failed, .reason = ch->reason});
          publish(a.cfg.name, "failed", "failed: " + ch->reason);
        }
      }
      if (hook_)
        hook_(a.cfg.name, *ch);
    } else if (auto *k = std::get_if<act::Kill>(&action)) {
      if (a.pid <= 0)
        logging::invariant(
            fmt::format("{}: told to send signal {} with no process", a.cfg.name, k->signal));
      else if (k->record.empty())
        send(a.pid, *k);
      else
        forensics_.record_then(facts(a, k->record),
                               [this, name = a.cfg.name, pid = a.pid, kill = *k] {
                                 // Still that run (the record took its time)?
                                 const App *now = apps_.find(name);
                                 if (now && now->pid == pid)
                                   send(pid, kill);
                               });
    } else if (std::holds_alternative<act::Spawn>(action)) {
      do_spawn(a);
    } else if (auto *t = std::get_if<act::Timer>(&action)) {
      if (t->at)
        a.timer.arm(*t->at);
      else
        a.timer.disarm();
    } else if (std::holds_alternative<act::RestartDue>(action)) {
      starts_.push(&a, Starts::Kind::restart); // a spawn: it waits its turn
    }
  }
}

void Supervisor::do_spawn(App &a) {
  // Without its socket the app could never prove it is alive: a start that
  // cannot bind fails like one that cannot exec, and is retried likewise.
  const std::string error = a.intake.bind(zmq_, loop_, a.cfg);
  if (!error.empty()) {
    deliver(a, ev::SpawnFailed{error});
    return;
  }
  std::array<UniqueFd, 2> out;
  try {
    out = a.output.open_run();
  } catch (const std::system_error &e) {
    deliver(a, ev::SpawnFailed{e.what()});
    return;
  }
  // The run holds the only write ends of its pipes once `out` closes.
  auto started = runner_.start(
      a.cfg, out[0].get(), out[1].get(), [this, &a](const ExitStatus &st) { on_exit(a, st); },
      [this, &a](const std::string *error) { on_exec(a, error); });
  if (auto *err = std::get_if<std::string>(&started)) {
    deliver(a, ev::SpawnFailed{*err});
    return;
  }
  // Its lines and heartbeats are its own from now (it may beat as soon as
  // it has exec'd, before the loop reads that it has); the watchdog hears
  // of it once the exec's outcome is known.
  a.pid = std::get<pid_t>(started);
  a.output.set_pid(a.pid);
  a.intake.set_process(a.pid);
  a.execing = true;
  if (booting_) { // a first start: READY=1 waits for its outcome
    a.boot_exec = true;
    ++boot_execs_;
  }
}

void Supervisor::on_exec(App &a, const std::string *error) {
  a.execing = false;
  if (std::exchange(a.boot_exec, false))
    --boot_execs_;
  if (error) {
    a.output.end_of_run();
    a.output.set_pid(0);
    a.pid = 0;
    deliver(a, ev::SpawnFailed{*error});
  } else {
    deliver(a, ev::Spawned{a.pid});
    probes_.started(a);
  }
  for (Event &e : std::exchange(a.held, {}))
    deliver(a, std::move(e));
  check_booted();
}

void Supervisor::on_exit(App &a, const ExitStatus &st) {
  probes_.ended(a);
  a.output.end_of_run(); // its last words come before the news of its exit
  a.output.set_pid(0);
  a.pid = 0;
  deliver(a, ev::Exited{st});
  check_shutdown_done();
}

namespace {
// Each extension outlasts four missed ones: a busy loop late by a few
// seconds is not taken for a stalled one.
constexpr auto stop_extension = std::chrono::seconds(5);
constexpr auto stop_extension_every = std::chrono::seconds(1);
} // namespace

void Supervisor::shutdown(std::string why) {
  if (shutting_down_)
    return;
  shutting_down_ = true;
  reports_.stopping();
  logging::daemon(LogLevel::info, fmt::format("{}: stopping every app", why));
  Duration longest{};
  for (const auto &[name, a] : apps_.all()) {
    longest = std::max(longest, a->cfg.stop_timeout);
    deliver(*a, ev::Stop{why});
  }
  // An app stuck in the kernel may never die; do not wait for it forever.
  shutdown_timer_ = loop_.timer([this] {
    logging::daemon(LogLevel::error, "apps still running after their stop timeouts; exiting");
    loop_.quit();
  });
  shutdown_timer_.arm(Loop::now() + longest + std::chrono::seconds(5));
  // An app's stop_timeout may exceed the unit's TimeoutStopSec=: while apps
  // are stopping, ask systemd for a few seconds more, again every second
  // (a stalled hbmond then stops asking), so that it does not SIGKILL them
  // in the middle of a graceful stop. hbmond's own bound above still holds.
  stop_extension_ = loop_.timer([this] {
    if (runner_.running() == 0)
      return;
    reports_.stop_takes(stop_extension);
    stop_extension_.arm(Loop::now() + stop_extension_every);
  });
  stop_extension_.arm(Loop::now());
  check_shutdown_done();
}

void Supervisor::reap() {
  runner_.reap();
  check_shutdown_done(); // a stray's end may hand its children to hbmond
}

void Supervisor::check_shutdown_done() {
  if (!shutting_down_)
    return;
  if (runner_.running() > 0) // every app's process, counted where they are kept
    return;
  if (runner_.kill_strays()) // else one is dying: its SIGCHLD brings us back
    loop_.quit();
}

std::vector<handover::App> Supervisor::hand_over() const {
  std::vector<handover::App> out;
  for (const auto &[name, a] : apps_.all()) {
    handover::App h;
    h.config = a->cfg;
    h.memory = a->wd.memory();
    h.pidfd = a->pid > 0 ? runner_.pidfd(a->pid) : -1;
    h.since = a->since;
    h.admin_down = a->admin_down;
    h.retiring = a->retiring;
    if (a->retiring && a->successor)
      h.successor = a->successor->cfg;
    if (auto kind = starts_.kind_of(a.get()))
      h.queued = *kind == Starts::Kind::start ? handover::Queued::start : handover::Queued::restart;
    h.output = a->output.handover();
    h.notify_fd = a->intake.notify_fd();
    h.counters = a->intake.counters();
    h.probe_next = probes_.next_due(*a);
    out.push_back(std::move(h));
  }
  return out;
}

// The first turn of the loop after a re-exec, right before it drains every
// socket for the first time: each restored watchdog's deadline is armed
// again, a heartbeat's due time no earlier than handover::grace from now.
void Supervisor::resume_restored() {
  if (resuming_.empty())
    return;
  const auto now = Loop::now();
  for (App *a : std::exchange(resuming_, {})) {
    actions_.clear();
    a->wd.resume(now, handover::grace, actions_);
    execute(*a, actions_);
    apps_.settle(*a);
  }
}

void Supervisor::resume_probes() {
  for (const auto &[name, a] : apps_.all())
    if (a->pid > 0 && a->cfg.probe)
      probes_.resumed(*a, Loop::now());
}

void Supervisor::restore(const std::vector<handover::App> &apps) {
  const auto now = Loop::now();
  std::vector<pid_t> pids;
  for (const handover::App &h : apps) {
    auto made = with_timer(std::make_unique<App>(
        loop_, intakes_, h, [this](App &a, HeartbeatMsg m) { heartbeat(a, std::move(m)); }));
    made->intake.resume(h.counters, UniqueFd(h.notify_fd));
    App &a = add_app(std::move(made));
    if (const pid_t pid = h.memory.pid; pid > 0) {
      runner_.adopt(pid, UniqueFd(h.pidfd), [this, &a](const ExitStatus &st) { on_exit(a, st); });
      pids.push_back(pid);
      a.pid = pid;
      a.output.set_pid(pid);
      a.intake.set_process(pid);
      if (a.cfg.probe)
        probes_.resumed(a, std::max(h.probe_next.value_or(now), now));
    }
    if (h.retiring)
      apps_.retire(a, h.successor ? make_app(*h.successor) : nullptr);
    if (h.queued != handover::Queued::none)
      starts_.push(&a, h.queued == handover::Queued::start ? Starts::Kind::start
                                                           : Starts::Kind::restart);
    resuming_.push_back(&a);
  }
  if (guardian_)
    guardian_->forget_all_but(pids);
  status_dirty_ = true;
  reports_.booted(summary());
  logging::daemon(LogLevel::info, fmt::format("supervising {}", summary()));
}

std::vector<std::string> Supervisor::names() const {
  std::vector<std::string> out;
  for (const auto &[name, a] : apps_.all())
    out.push_back(name);
  return out;
}

std::vector<metrics::AppSample> Supervisor::metrics() const {
  std::vector<metrics::AppSample> out;
  out.reserve(apps_.all().size());
  for (const auto &[name, a] : apps_.all())
    out.emplace_back(name, a->wd.memory(), a->intake.counters());
  return out;
}

void Supervisor::show_cpu(const std::string &app, pid_t group, double live_cpu_seconds) {
  App *a = apps_.find(app);
  if (a && group > 0 && a->wd.pid() == group)
    a->wd.show_cpu(live_cpu_seconds);
}

std::vector<AppStatus> Supervisor::status() const {
  std::vector<AppStatus> out;
  auto now = Loop::now();
  const double wall = to_seconds(std::chrono::system_clock::now().time_since_epoch());
  for (const auto &[name, a] : apps_.all()) {
    AppCounters c = a->intake.counters();
    c.output_dropped = a->output.dropped();
    out.push_back(snapshot(name, a->wd, c, now));
    out.back().since = wall - to_seconds(now - a->since);
    if (a->execing) {
      out.back().state = State::starting;
      out.back().pid = a->pid;
      out.back().reason = std::string(execing_reason);
    }
  }
  return out;
}

} // namespace hbmon

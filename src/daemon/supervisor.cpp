#include "daemon/supervisor.hpp"

#include "core/app_env.hpp"
#include "core/heartbeat.hpp"
#include "core/log_limit.hpp"
#include "core/sender_check.hpp"
#include "daemon/log.hpp"
#include "sys/accounts.hpp"
#include "sys/proc.hpp"

#include <cerrno>
#include <csignal>
#include <cstring>
#include <dirent.h>
#include <fmt/format.h>
#include <sys/epoll.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

namespace hbmon {

struct Supervisor::App {
  using Beat = std::function<void(App &, const HeartbeatMsg &)>;
  App(Loop &loop, IntakeSet &intakes, const AppConfig &c, const Beat &beat)
      : cfg(c), wd(c), output(loop, c.name),
        intake(c.name, intakes, [this, beat](const HeartbeatMsg &m) { beat(*this, m); }) {}

  AppConfig cfg;
  Watchdog wd;
  OutputPipe output;
  HeartbeatIntake intake;
  Loop::Timer timer;

  pid_t pid = 0; // the current child (ProcessRunner has it), while there is one

  // Admin intent that outlives a reload of this app's settings.
  bool admin_down = false;
  // Leaving (removed or changed by a reload): once its process is gone the
  // app is dropped, and replaced by `successor` when there is one.
  bool retiring = false;
  std::optional<AppConfig> successor;
};

Supervisor::Supervisor(Loop &loop, Reports &reports, Options opts)
    : loop_(loop), reports_(reports), runner_(loop, opts), zmq_(1) {
  zmq_.set(zmq::ctxopt::blocky, 0);
  zmq_.set(zmq::ctxopt::max_sockets, 65535);
  loop_.add_prepare([this] {
    finish_retired();
    bool busy = intakes_.drain();
    busy |= run_start_queue();
    if (status_dirty_) {
      status_dirty_ = false;
      reports_.status(hbmon::summary(counts_));
    }
    return busy;
  });
}

Supervisor::~Supervisor() = default; // the runner kills what is left

Supervisor::App &Supervisor::add_app(const AppConfig &ac) {
  auto app = std::make_unique<App>(
      loop_, intakes_, ac, [this](App &a, const HeartbeatMsg &m) { deliver(a, ev::Heartbeat{m}); });
  App &a = *app;
  a.timer = loop_.timer([this, &a] {
    a.intake.drain_all(); // a heartbeat already queued on the socket beats the deadline
    deliver(a, ev::Deadline{});
  });
  ++counts_[static_cast<std::size_t>(a.wd.state())];
  apps_.emplace(ac.name, std::move(app));
  if (auto err = a.intake.bind(zmq_, loop_, a.cfg); !err.empty())
    logging::app_event(ac.name, LogLevel::error, err);
  return a;
}

void Supervisor::start(const Config &cfg) {
  counts_.fill(0);
  for (const auto &ac : cfg.apps)
    add_app(ac);
  for (auto &[name, a] : apps_) {
    if (a->cfg.enabled)
      starts_.push(a.get(), Starts::Kind::start, Loop::now());
    else
      logging::app_event(name, LogLevel::info, "disabled (enabled: false), not started");
  }
  booting_ = true;
  run_start_queue();
}

// Starts run here, a slice at a time (core/start_queue.hpp says when).
bool Supervisor::run_start_queue() {
  starts_.begin_slice(Loop::now());
  while (auto next = starts_.next(Loop::now())) {
    App &a = *next->first;
    if (shutting_down_ || a.retiring)
      continue;
    if (next->second == Starts::Kind::start)
      deliver(a, ev::Start{});
    else
      deliver(a, ev::Restart{});
  }
  if (booting_ && starts_.empty()) {
    // Every enabled app has been spawned (or has failed to be).
    booting_ = false;
    status_dirty_ = false;
    reports_.booted(hbmon::summary(counts_));
    logging::daemon(LogLevel::info, fmt::format("supervising {}", hbmon::summary(counts_)));
  }
  return !starts_.empty() && !starts_.held_for_kill();
}

// Events are handled one at a time, in the order they arise: one raised
// while another is being handled (a spawn's Spawned, from among the actions
// of a Start) waits until all of that one's actions are done.
void Supervisor::deliver(App &a, Event e) {
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
    handle(*app, event);
  }
}

void Supervisor::handle(App &a, const Event &e) {
  execute(a, a.wd.on(e, Loop::now()));
  if (a.retiring && a.pid == 0)
    retired_.push_back(a.cfg.name);
}

void Supervisor::publish(const std::string &app, std::string_view event,
                         const std::string &message) {
  EventRecord e{app, event, std::nullopt, 0, message};
  if (auto it = apps_.find(app); it != apps_.end()) {
    e.state = it->second->wd.state();
    e.pid = it->second->wd.pid();
  }
  reports_.event(e);
}

Supervisor::Reply Supervisor::reply_for(const App &a, std::string message) const {
  Reply r;
  r.message = std::move(message);
  r.state = a.wd.state();
  return r;
}

namespace {
Supervisor::Reply unknown_app(const std::string &name) {
  return {false, "unknown-app", fmt::format("no app named \"{}\"", printable(name)),
          State::stopped};
}
} // namespace

Supervisor::Reply Supervisor::panic(const std::string &name, const std::string &reason,
                                    const std::string &who) {
  auto it = apps_.find(name);
  if (it == apps_.end())
    return unknown_app(name);
  App &a = *it->second;
  if (a.pid <= 0)
    return {false, "not-running",
            fmt::format("{} is not running ({})", name, to_string(a.wd.state())), a.wd.state()};
  const pid_t pid = a.pid;
  deliver(a, ev::Panic{fmt::format("{} (pressed by {})", reason, who)});
  return reply_for(a, fmt::format("killed pid {}", pid));
}

// An admin's word on one app: it supersedes a queued start, and whether
// the app is to stay down outlives reloads of its settings.
template <typename Act>
Supervisor::Reply Supervisor::admin(const std::string &name, std::string_view verb,
                                    const std::string &who, bool down, Act &&act) {
  auto it = apps_.find(name);
  if (it == apps_.end())
    return unknown_app(name);
  App &a = *it->second;
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
        a.successor->enabled = true;
      return;
    }
    deliver(a, ev::Start{});
  });
}

Supervisor::Reply Supervisor::stop_app(const std::string &name, const std::string &who) {
  return admin(name, "stop", who, true,
               [&](App &a) { deliver(a, ev::Stop{fmt::format("stopped by {}", who)}); });
}

Supervisor::Reply Supervisor::restart_app(const std::string &name, const std::string &who) {
  return admin(name, "restart", who, false, [&](App &a) {
    // A graceful stop; the Start makes the watchdog spawn again on the exit.
    deliver(a, ev::Stop{fmt::format("restart requested by {}", who)});
    if (!a.retiring)
      deliver(a, ev::Start{});
  });
}

ReloadPlan Supervisor::reload(const Config &next) {
  std::map<std::string, const AppConfig *> headed_for;
  for (const auto &[name, a] : apps_)
    headed_for[name] = !a->retiring ? &a->cfg : a->successor ? &*a->successor : nullptr;
  ReloadPlan plan = plan_reload(headed_for, next);
  for (const auto &name : plan.removed)
    retire(*apps_.at(name), std::nullopt);
  for (const auto &name : plan.changed)
    retire(*apps_.at(name), *next.find(name));
  for (const auto &name : plan.added) {
    const AppConfig &ac = *next.find(name);
    App &a = add_app(ac);
    if (ac.enabled && !shutting_down_)
      starts_.push(&a, Starts::Kind::start, Loop::now());
  }
  status_dirty_ = true;
  return plan;
}

// Stop `a` (gracefully) and drop it once its process is gone.
void Supervisor::retire(App &a, std::optional<AppConfig> successor) {
  a.successor = std::move(successor);
  if (a.retiring)
    return; // already on its way out; only the successor changed
  a.retiring = true;
  deliver(a, ev::Stop{a.successor ? "config changed" : "removed from the config"});
}

// Runs outside every callback (a prepare hook), so an App may be destroyed.
void Supervisor::finish_retired() {
  std::vector<std::string> names;
  names.swap(retired_);
  for (const auto &name : names) {
    auto it = apps_.find(name);
    if (it == apps_.end() || !it->second->retiring || it->second->pid > 0)
      continue;
    std::unique_ptr<App> old = std::move(it->second);
    apps_.erase(it);
    --counts_[static_cast<std::size_t>(old->wd.state())];
    starts_.remove(old.get());
    starts_.set_kill_deadline(old.get(), std::nullopt);
    status_dirty_ = true;
    std::optional<AppConfig> next = std::move(old->successor);
    const bool admin_down = old->admin_down;
    old.reset(); // closes its socket before a successor binds the endpoint
    if (!next) {
      logging::app_event(name, LogLevel::info, "removed");
      continue;
    }
    App &a = add_app(*next);
    a.admin_down = admin_down;
    logging::app_event(name, LogLevel::info, "new settings applied");
    if (next->enabled && !admin_down && !shutting_down_)
      starts_.push(&a, Starts::Kind::start, Loop::now());
  }
  if (shutting_down_)
    check_shutdown_done();
}

void Supervisor::execute(App &a, const Actions &acts) {
  for (const auto &action : acts) {
    if (auto *log = std::get_if<act::Log>(&action)) {
      logging::app_event(a.cfg.name, log->level, log->text);
      if (!log->event.empty())
        publish(a.cfg.name, log->event, log->text);
    } else if (auto *ch = std::get_if<act::Changed>(&action)) {
      --counts_[static_cast<std::size_t>(ch->from)];
      ++counts_[static_cast<std::size_t>(ch->to)];
      status_dirty_ = true;
      if (ch->from != ch->to) {
        logging::app_event(a.cfg.name, LogLevel::debug,
                           fmt::format("{} -> {}{}{}", to_string(ch->from), to_string(ch->to),
                                       ch->reason.empty() ? "" : ": ", ch->reason));
        if (ch->to == State::running)
          publish(a.cfg.name, "ready", ch->reason.empty() ? "running" : "running: " + ch->reason);
        else if (ch->to == State::stopped)
          publish(a.cfg.name, "stopped", "stopped: " + ch->reason);
        else if (ch->to == State::failed)
          publish(a.cfg.name, "failed", "failed: " + ch->reason);
      }
      if (hook_)
        hook_(a.cfg.name, *ch);
    } else if (auto *k = std::get_if<act::Kill>(&action)) {
      if (a.pid > 0)
        runner_.signal(a.pid, k->signal);
      else
        logging::invariant(
            fmt::format("{}: told to send signal {} with no process", a.cfg.name, k->signal));
    } else if (std::holds_alternative<act::Spawn>(action)) {
      do_spawn(a);
    } else if (auto *t = std::get_if<act::Timer>(&action)) {
      if (t->at)
        a.timer.arm(*t->at);
      else
        a.timer.disarm();
      starts_.set_kill_deadline(&a, t->kills ? t->at : std::nullopt);
    } else if (std::holds_alternative<act::RestartDue>(action)) {
      starts_.push(&a, Starts::Kind::restart, Loop::now()); // a spawn: it waits its turn
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
  auto started = runner_.start(a.cfg, a.output.write_fd(),
                               [this, &a](const ExitStatus &st) { on_exit(a, st); });
  if (auto *err = std::get_if<std::string>(&started)) {
    deliver(a, ev::SpawnFailed{*err});
    return;
  }
  a.pid = std::get<pid_t>(started);
  a.output.set_pid(a.pid);
  a.intake.set_process(a.pid);
  deliver(a, ev::Spawned{a.pid});
}

void Supervisor::on_exit(App &a, const ExitStatus &st) {
  a.output.end_of_run(); // its last words come before the news of its exit
  a.output.set_pid(0);
  a.pid = 0;
  deliver(a, ev::Exited{st});
  check_shutdown_done();
}

void Supervisor::shutdown(std::string why) {
  if (shutting_down_)
    return;
  shutting_down_ = true;
  reports_.stopping();
  logging::daemon(LogLevel::info, fmt::format("{}: stopping every app", why));
  Duration longest{};
  for (auto &[name, a] : apps_) {
    longest = std::max(longest, a->cfg.stop_timeout);
    deliver(*a, ev::Stop{why});
  }
  // An app stuck in the kernel may never die; do not wait for it forever.
  shutdown_timer_ = loop_.timer([this] {
    logging::daemon(LogLevel::error, "apps still running after their stop timeouts; exiting");
    loop_.quit();
  });
  shutdown_timer_.arm(Loop::now() + longest + std::chrono::seconds(5));
  check_shutdown_done();
}

void Supervisor::check_shutdown_done() {
  if (!shutting_down_)
    return;
  for (auto &[name, a] : apps_)
    if (a->pid > 0)
      return;
  runner_.kill_strays();
  loop_.quit();
}

std::vector<AppStatus> Supervisor::status() const {
  std::vector<AppStatus> out;
  auto now = Loop::now();
  for (const auto &[name, a] : apps_)
    out.push_back(snapshot(name, a->wd, a->intake.counters(), now));
  return out;
}

} // namespace hbmon

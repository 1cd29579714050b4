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

extern char **environ;

namespace hbmon {

namespace {

constexpr std::size_t drain_budget = 512; // messages per socket per wake-up
constexpr auto refusal_log_every = std::chrono::seconds(10);
constexpr auto beat_log_every = std::chrono::seconds(1); // at debug level
constexpr auto negative_cache_for = std::chrono::seconds(1);
} // namespace

struct Supervisor::App {
  App(Loop &loop, const AppConfig &c) : cfg(c), wd(c), output(loop, c.name) {}

  AppConfig cfg;
  Watchdog wd;
  AppCounters counters;
  OutputPipe output;
  std::unique_ptr<HeartbeatSocket> hb;
  Loop::Timer timer;

  // The current child, while there is one.
  pid_t pid = 0;
  UniqueFd pidfd;
  Loop::Watch pid_watch;

  // Heartbeat intake: who may beat for it (core/sender_check.hpp), and
  // how often its refusals and beats are logged (core/log_limit.hpp).
  SenderCheck<TimePoint> senders{negative_cache_for};
  LogLimit<TimePoint> refusal_log{refusal_log_every};
  LogLimit<TimePoint> beat_log{beat_log_every};
  bool woken = false; // listed in Supervisor::woken_

  // Admin intent that outlives a reload of this app's settings.
  bool admin_down = false;
  // Leaving (removed or changed by a reload): once its process is gone the
  // app is dropped, and replaced by `successor` when there is one.
  bool retiring = false;
  std::optional<AppConfig> successor;
};

Supervisor::Supervisor(Loop &loop, Reports &reports, Options opts)
    : loop_(loop), reports_(reports), opts_(opts), zmq_(1) {
  zmq_.set(zmq::ctxopt::blocky, 0);
  zmq_.set(zmq::ctxopt::max_sockets, 65535);
  for (char **e = environ; e && *e; ++e)
    base_env_.emplace_back(*e); // app_env() leaves out what is not the apps
  loop_.add_prepare([this] {
    finish_retired();
    bool busy = drain_sockets();
    busy |= run_start_queue();
    if (status_dirty_) {
      status_dirty_ = false;
      reports_.status(hbmon::summary(counts_));
    }
    return busy;
  });
}

Supervisor::~Supervisor() {
  for (auto &[name, a] : apps_) {
    // Last resort (normally shutdown() has stopped everything): never leave
    // an app behind.
    if (a->pid > 0)
      kill_group(a->pid, SIGKILL);
  }
}

Supervisor::App &Supervisor::add_app(const AppConfig &ac) {
  auto app = std::make_unique<App>(loop_, ac);
  App &a = *app;
  a.timer = loop_.timer([this, &a] {
    // A heartbeat already queued on the socket beats the deadline.
    if (a.hb)
      while (a.hb->drain(drain_budget)) {
      }
    deliver(a, ev::Deadline{});
  });
  ++counts_[static_cast<std::size_t>(a.wd.state())];
  apps_.emplace(ac.name, std::move(app));
  if (auto err = bind_heartbeat(a); !err.empty())
    logging::app_event(ac.name, LogLevel::error, err);
  else if (ac.heartbeat && ac.heartbeat->endpoint.rfind("tcp://", 0) == 0)
    logging::app_event(ac.name, LogLevel::warning,
                       "heartbeats over tcp:// cannot be checked for their sender");
  return a;
}

// Bind the app's heartbeat socket unless it is bound already; the error
// text, or "" when bound (or when the app has no heartbeat).
std::string Supervisor::bind_heartbeat(App &a) {
  if (!a.cfg.heartbeat || a.hb)
    return {};
  try {
    a.hb = std::make_unique<HeartbeatSocket>(
        zmq_, loop_, a.cfg.heartbeat->endpoint, a.cfg.uid, a.cfg.gid,
        [this, &a](std::string_view d, std::optional<PeerCred> p, bool mp) {
          on_message(a, d, p, mp);
        },
        [this, &a] {
          if (!a.woken) {
            a.woken = true;
            woken_.push_back(&a);
          }
        });
  } catch (const std::exception &e) {
    return e.what();
  }
  return {};
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

Supervisor::ReloadReport Supervisor::reload(const Config &next) {
  ReloadReport rep;
  for (auto &[name, app] : apps_) {
    App &a = *app;
    const AppConfig *nc = next.find(name);
    if (!nc) {
      rep.removed.push_back(name);
      retire(a, std::nullopt);
    } else if (a.retiring ? (a.successor && *a.successor == *nc) : a.cfg == *nc) {
      rep.unchanged.push_back(name);
    } else {
      rep.changed.push_back(name);
      retire(a, *nc);
    }
  }
  for (const auto &ac : next.apps) {
    if (apps_.count(ac.name))
      continue;
    rep.added.push_back(ac.name);
    App &a = add_app(ac);
    if (ac.enabled && !shutting_down_)
      starts_.push(&a, Starts::Kind::start, Loop::now());
  }
  status_dirty_ = true;
  return rep;
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
    std::erase(woken_, old.get());
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
      if (a.pid > 0) {
        // The group reaches the app's children; the pidfd reaches the leader
        // even if it left its group.
        kill_group(a.pid, k->signal);
        pidfd_send_signal(a.pidfd.get(), k->signal);
      }
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

SpawnRequest Supervisor::make_request(const App &a, std::string &error) const {
  const AppConfig &c = a.cfg;
  SpawnRequest r;
  r.argv = c.command;
  r.cwd = c.cwd;
  r.uid = c.uid;
  r.gid = c.gid;
  r.groups = c.supplementary_groups;
  r.output_fd = a.output.write_fd();
  r.nofile_soft = opts_.child_nofile;

  // The account's name, also when the config gave a number.
  std::string account = c.user.value_or("");
  if (c.user && c.uid)
    if (auto name = name_of_uid(*c.uid))
      account = *name;
  AppEnv env = app_env(c, base_env_, account);
  r.env = std::move(env.env);
  const std::string &path_var = env.path;
  if (auto p = resolve_program(c.command[0], path_var))
    r.path = *p;
  else
    error = fmt::format("exec {}: command not found in PATH ({})", c.command[0], path_var);
  return r;
}

void Supervisor::do_spawn(App &a) {
  // Without its socket the app could never prove it is alive: a start that
  // cannot bind fails like one that cannot exec, and is retried likewise.
  std::string error = bind_heartbeat(a);
  if (!error.empty()) {
    deliver(a, ev::SpawnFailed{error});
    return;
  }
  SpawnRequest request = make_request(a, error);
  if (!error.empty()) {
    deliver(a, ev::SpawnFailed{error});
    return;
  }
  auto result = spawn(request);
  if (auto *err = std::get_if<std::string>(&result)) {
    deliver(a, ev::SpawnFailed{*err});
    return;
  }
  Child &c = std::get<Child>(result);
  a.pid = c.pid;
  a.pidfd = std::move(c.pidfd);
  if (opts_.guardian)
    opts_.guardian->watch(a.pid);
  a.output.set_pid(c.pid);
  a.senders.reset();
  by_pid_[a.pid] = &a;
  a.pid_watch = loop_.watch(a.pidfd.get(), EPOLLIN, [this, &a](std::uint32_t) { on_exit(a); });
  deliver(a, ev::Spawned{a.pid});
}

void Supervisor::on_exit(App &a) {
  if (a.pid <= 0)
    return;
  // While the leader is a zombie its pid cannot be reused, so the group
  // signal cannot reach a stranger: take the rest of the group down with it.
  kill_group(a.pid, SIGKILL);
  siginfo_t si{};
  if (::waitid(static_cast<idtype_t>(P_PIDFD), static_cast<id_t>(a.pidfd.get()), &si,
               WEXITED | WNOHANG) < 0 ||
      si.si_pid == 0)
    return; // not exited yet (spurious wake-up)
  ExitStatus st;
  if (si.si_code == CLD_EXITED)
    st = ExitStatus::with_code(si.si_status);
  else
    st = ExitStatus::with_signal(si.si_status, si.si_code == CLD_DUMPED);
  a.output.end_of_run(); // its last words come before the news of its exit
  a.output.set_pid(0);
  if (opts_.guardian)
    opts_.guardian->forget(a.pid);
  by_pid_.erase(a.pid);
  a.pid = 0;
  a.pid_watch.reset();
  a.pidfd.reset();
  deliver(a, ev::Exited{st});
  check_shutdown_done();
}

void Supervisor::reap() {
  while (true) {
    siginfo_t si{};
    if (::waitid(P_ALL, 0, &si, WEXITED | WNOHANG | WNOWAIT) < 0 || si.si_pid == 0)
      return;
    if (auto it = by_pid_.find(si.si_pid); it != by_pid_.end()) {
      on_exit(*it->second);
      continue;
    }
    if (opts_.guardian && si.si_pid == opts_.guardian->pid()) {
      opts_.guardian->on_exit();
      continue;
    }
    // An orphan of some app, inherited because we are a subreaper.
    ::waitpid(si.si_pid, nullptr, WNOHANG);
    logging::daemon(LogLevel::debug, fmt::format("reaped stray process {}", si.si_pid));
  }
}

void Supervisor::on_message(App &a, std::string_view data, std::optional<PeerCred> peer,
                            bool multipart) {
  const bool ipc = a.cfg.heartbeat && a.cfg.heartbeat->endpoint.rfind("ipc://", 0) == 0;
  if (multipart) {
    ++a.counters.messages_dropped;
    return;
  }
  const auto walk = [](pid_t pid, pid_t ancestor) { return is_descendant(pid, ancestor); };
  if (ipc && !(peer && a.senders.accept(a.pid, peer->pid, &Loop::now, walk))) {
    ++a.counters.heartbeats_refused;
    if (auto held = a.refusal_log.occurred(Loop::now()))
      logging::app_event(
          a.cfg.name, LogLevel::warning,
          fmt::format("refused a heartbeat from pid {} (uid {}): not pid {} or its descendant{}",
                      peer ? peer->pid : 0, peer ? peer->uid : 0, a.pid,
                      *held ? fmt::format(" ({} more since the last report)", *held) : ""));
    return;
  }
  if (logging::enabled(LogLevel::debug))
    if (auto held = a.beat_log.occurred(Loop::now()))
      logging::app_event(a.cfg.name, LogLevel::debug,
                         *held ? fmt::format("{} heartbeats", *held + 1) : "heartbeat");
  deliver(a, ev::Heartbeat{parse_heartbeat(data)});
}

bool Supervisor::drain_sockets() {
  // Only sockets that woke (or ran out of budget) are drained: no O(n) scan.
  std::vector<App *> todo;
  todo.swap(woken_);
  for (App *a : todo) {
    a->woken = false;
    if (a->hb && a->hb->drain(drain_budget) && !a->woken) {
      a->woken = true;
      woken_.push_back(a);
    }
  }
  return !woken_.empty();
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
  kill_strays();
  loop_.quit();
}

// Processes that left their app's process group (double-forked daemons)
// were re-parented to us as subreaper: they go too.
void Supervisor::kill_strays() {
  DIR *d = ::opendir("/proc");
  if (!d)
    return;
  const pid_t self = ::getpid();
  const pid_t guardian = opts_.guardian ? opts_.guardian->pid() : 0;
  while (dirent *e = ::readdir(d)) {
    char *end = nullptr;
    long pid = std::strtol(e->d_name, &end, 10);
    if (pid <= 0 || *end != '\0')
      continue;
    if (pid != guardian && parent_of(static_cast<pid_t>(pid)) == self) {
      logging::daemon(LogLevel::info, fmt::format("killing stray process {}", pid));
      ::kill(static_cast<pid_t>(pid), SIGKILL);
    }
  }
  ::closedir(d);
  reap();
}

std::vector<AppStatus> Supervisor::status() const {
  std::vector<AppStatus> out;
  auto now = Loop::now();
  for (const auto &[name, a] : apps_)
    out.push_back(snapshot(name, a->wd, a->counters, now));
  return out;
}

} // namespace hbmon

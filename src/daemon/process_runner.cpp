#include "daemon/process_runner.hpp"

#include "core/app_env.hpp"
#include "daemon/log.hpp"
#include "sys/cgroup.hpp"
#include "sys/env_file.hpp"
#include "sys/proc.hpp"
#include "sys/spawn.hpp"

#include <cerrno>
#include <csignal>
#include <cstdlib>
#include <dirent.h>
#include <fmt/format.h>
#include <poll.h>
#include <sys/epoll.h>
#include <sys/resource.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

extern char **environ;

namespace hbmon {

namespace {
double seconds_of(const timeval &t) {
  return static_cast<double>(t.tv_sec) + static_cast<double>(t.tv_usec) / 1e6;
}
} // namespace

ProcessRunner::ProcessRunner(Loop &loop, Options opts)
    : loop_(loop), opts_(std::move(opts)), oom_(read_oom_kills(opts_.oom_events)) {
  for (char **e = environ; e && *e; ++e)
    base_env_.emplace_back(*e); // app_env() leaves out what is not the apps
}

ProcessRunner::~ProcessRunner() {
  // Last resort (normally a shutdown has stopped everything). A child that
  // has not exec'd may not have its own group yet, and runs in memory that
  // is about to be freed: it goes by its pidfd.
  for (const auto &[pid, child] : children_) {
    kill_group(pid, SIGKILL);
    if (child.spawned.report)
      pidfd_send_signal(child.pidfd.get(), SIGKILL);
  }
}

std::variant<pid_t, std::string> ProcessRunner::start(const AppConfig &c, int stdout_fd,
                                                      int stderr_fd, ExitHandler on_exit,
                                                      ExecHandler on_exec) {
  SpawnRequest r;
  r.argv = c.command;
  r.cwd = c.cwd;
  r.uid = c.uid;
  r.gid = c.gid;
  r.groups = c.supplementary_groups;
  r.output_fd = stdout_fd;
  r.error_fd = stderr_fd;
  r.nofile_soft = opts_.child_nofile;
  r.watchdog_pid = c.heartbeat && c.heartbeat->protocol == HeartbeatProtocol::notify;
  EnvVars from_file;
  if (c.env_file) {
    auto read = read_env_file(*c.env_file, c.uid.value_or(::geteuid()));
    if (auto *why = std::get_if<std::string>(&read))
      return std::move(*why);
    from_file = std::move(std::get<EnvVars>(read));
  }
  AppEnv env = app_env(c, base_env_, from_file);
  r.env = std::move(env.env);
  if (auto p = resolve_program(c.command[0], env.path))
    r.path = *p;
  else
    return fmt::format("exec {}: command not found in PATH ({})", c.command[0], env.path);

  return launch(r, std::move(on_exit), std::move(on_exec));
}

std::variant<pid_t, std::string> ProcessRunner::launch(const SpawnRequest &r, ExitHandler on_exit,
                                                       ExecHandler on_exec) {
  // Every set of spawn slots is a child's that has not taken its own fds
  // yet (its first step, microseconds after the clone): wait for one, a
  // little. The start queue never gets here (it waits for a free set).
  const auto until = std::chrono::steady_clock::now() + std::chrono::milliseconds(100);
  while (spawn_slots_free() == 0 && std::chrono::steady_clock::now() < until) {
    // Its report says when it has taken its fds; its pidfd, when it died
    // before (its set is free then too).
    std::vector<pollfd> fds;
    std::vector<pid_t> pids;
    for (const auto &[pid, child] : children_)
      if (holds_slots(child.spawned)) {
        fds.push_back({child.spawned.report.get(), POLLIN, 0});
        fds.push_back({child.pidfd.get(), POLLIN, 0});
        pids.push_back(pid);
      }
    if (fds.empty())
      break;
    const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
        until - std::chrono::steady_clock::now());
    if (::poll(fds.data(), fds.size(), static_cast<int>(std::max<long>(left.count(), 0) + 1)) <= 0)
      break;
    for (std::size_t i = 0; i < pids.size(); ++i)
      if (fds[2 * i].revents || fds[2 * i + 1].revents)
        settle_exec(pids[i], has_exited(pids[i]));
  }
  auto result = spawn(r);
  if (auto *err = std::get_if<std::string>(&result))
    return std::move(*err);
  hbmon::Child &spawned = std::get<hbmon::Child>(result);
  const pid_t pid = spawned.pid;
  adopt(pid, std::move(spawned.pidfd), std::move(on_exit));
  Child &child = children_[pid];
  child.on_exec = std::move(on_exec);
  child.spawned = std::move(spawned);
  // End of file at the exec, a report first if a step before it failed.
  child.report_watch = loop_.watch(child.spawned.report.get(), EPOLLIN,
                                   [this, pid](std::uint32_t) { settle_exec(pid, false); });
  return pid;
}

bool ProcessRunner::settle_exec(pid_t pid, bool gone) {
  auto it = children_.find(pid);
  if (it == children_.end() || !it->second.spawned.report)
    return true;
  Child &child = it->second;
  ExecOutcome out = exec_outcome(child.spawned, gone);
  if (out.what == ExecOutcome::pending)
    return false;
  child.report_watch = {}; // also from inside its own callback
  ExecHandler on_exec = std::move(child.on_exec);
  if (out.what == ExecOutcome::failed) {
    child.exec_error = out.error;
    child.exec_told = static_cast<bool>(on_exec);
  }
  // Last: the handler may start children (children_ may rehash).
  if (on_exec)
    on_exec(out.what == ExecOutcome::failed ? &out.error : nullptr);
  return true;
}

bool ProcessRunner::settle_execs(std::chrono::milliseconds bound) {
  const auto until = std::chrono::steady_clock::now() + bound;
  std::vector<pid_t> pending;
  for (const auto &[pid, child] : children_)
    if (child.spawned.report)
      pending.push_back(pid);
  bool all = true;
  for (pid_t pid : pending) {
    while (!settle_exec(pid, has_exited(pid))) {
      const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
          until - std::chrono::steady_clock::now());
      auto it = children_.find(pid);
      if (left.count() <= 0 || it == children_.end()) {
        all = it == children_.end();
        break;
      }
      // The end of its report, or its death: another child may hold a
      // copy of its report's write end for a moment, so a child that died
      // before its exec may never make the report end.
      pollfd p[2]{{it->second.spawned.report.get(), POLLIN, 0},
                  {it->second.pidfd.get(), POLLIN, 0}};
      ::poll(p, 2, static_cast<int>(left.count()));
    }
  }
  return all;
}

void ProcessRunner::adopt(pid_t pid, UniqueFd pidfd, ExitHandler on_exit) {
  if (opts_.guardian)
    opts_.guardian->watch(pid);
  Child &child = children_[pid];
  child.pidfd = std::move(pidfd);
  child.on_exit = std::move(on_exit);
  // A pidfd is level-triggered readable once its process has exited: one
  // that ended during a re-exec is collected on the next turn.
  child.watch =
      loop_.watch(child.pidfd.get(), EPOLLIN, [this, pid](std::uint32_t) { collect(pid); });
}

int ProcessRunner::pidfd(pid_t pid) const {
  auto it = children_.find(pid);
  return it == children_.end() ? -1 : it->second.pidfd.get();
}

void ProcessRunner::signal_main(pid_t pid, int sig) {
  if (auto it = children_.find(pid); it != children_.end())
    pidfd_send_signal(it->second.pidfd.get(), sig);
}

void ProcessRunner::signal(pid_t pid, int sig) {
  auto it = children_.find(pid);
  if (it == children_.end()) {
    logging::invariant(fmt::format("asked to signal pid {}, which is not an app's child", pid));
    return;
  }
  kill_group(pid, sig);
  // The child itself too, but only when it has left its group: a second
  // SIGTERM to a process that traps it runs its trap twice (a shell's
  // `trap 'cleanup; exit' TERM` then takes twice as long to stop).
  if (::getpgid(pid) != pid)
    pidfd_send_signal(it->second.pidfd.get(), sig);
}

bool ProcessRunner::has_exited(pid_t pid) const {
  siginfo_t probe{};
  return ::waitid(P_PIDFD, static_cast<id_t>(pidfd(pid)), &probe, WEXITED | WNOHANG | WNOWAIT) ==
             0 &&
         probe.si_pid != 0;
}

void ProcessRunner::collect(pid_t pid) {
  // The outcome of its exec first (it is gone: the report has all it will).
  settle_exec(pid, has_exited(pid));
  auto it = children_.find(pid);
  if (it == children_.end())
    return;
  // While the leader is a zombie its pid cannot be reused, so the group
  // signal cannot reach a stranger: take the rest of the group down with it.
  kill_group(pid, SIGKILL);
  siginfo_t si{};
  rusage ru{};
  // The system call, not glibc's waitid(): it also gives the rusage of the
  // child and of every child it waited for (the app's CPU seconds).
  if (::syscall(SYS_waitid, P_PIDFD, it->second.pidfd.get(), &si, WEXITED | WNOHANG, &ru) < 0 ||
      si.si_pid == 0)
    return;                   // not exited yet (spurious wake-up)
  if (it->second.exec_told) { // its handler has heard why already
    if (opts_.guardian)
      opts_.guardian->forget(pid);
    children_.erase(it);
    return;
  }
  ExitStatus st;
  if (!it->second.exec_error.empty())
    st = ExitStatus::exec_failed(it->second.exec_error);
  else if (si.si_code == CLD_EXITED)
    st = ExitStatus::with_code(si.si_status);
  else
    st = ExitStatus::with_signal(si.si_status, si.si_code == CLD_DUMPED);
  st.cpu_seconds = seconds_of(ru.ru_utime) + seconds_of(ru.ru_stime);
  if (oom_.suspect(st))
    st.oom_killed = oom_.attribute(read_oom_kills(opts_.oom_events));
  if (opts_.guardian)
    opts_.guardian->forget(pid);
  ExitHandler on_exit = std::move(it->second.on_exit);
  children_.erase(it); // drops the watch, also from inside its own callback
  on_exit(st);
}

void ProcessRunner::reap() {
  while (true) {
    siginfo_t si{};
    if (::waitid(P_ALL, 0, &si, WEXITED | WNOHANG | WNOWAIT) < 0 || si.si_pid == 0)
      return;
    if (children_.count(si.si_pid)) {
      collect(si.si_pid);
      continue;
    }
    if (opts_.guardian && si.si_pid == opts_.guardian->pid()) {
      opts_.guardian->on_exit();
      continue;
    }
    // An orphan of some app, inherited because we are a subreaper.
    ::waitpid(si.si_pid, nullptr, WNOHANG);
    stray_kills_.erase(si.si_pid);
    logging::daemon(LogLevel::debug, fmt::format("reaped stray process {}", si.si_pid));
  }
}

// Processes that left their app's process group (double-forked daemons)
// were re-parented to us as subreaper: they go too, and so do their own
// children, which become ours only once their parent has died.
bool ProcessRunner::kill_strays() {
  while (true) {
    reap();
    const std::vector<pid_t> found = strays();
    if (found.empty())
      return true;
    for (pid_t pid : found) {
      if (stray_kills_.insert(pid).second)
        logging::daemon(LogLevel::info, fmt::format("killing stray process {}", pid));
      ::kill(pid, SIGKILL);
    }
    reap();
    // One still dying sends SIGCHLD when it is gone: the next sweep runs then.
    // Once all are reaped, their children are ours already: sweep again now.
    for (pid_t pid : found) {
      siginfo_t si{};
      if (::waitid(P_PID, static_cast<id_t>(pid), &si, WEXITED | WNOHANG | WNOWAIT) == 0)
        return false;
    }
  }
}

std::vector<pid_t> ProcessRunner::strays() const {
  std::vector<pid_t> found;
  DIR *d = ::opendir("/proc");
  if (!d)
    return found;
  const pid_t self = ::getpid();
  const pid_t guardian = opts_.guardian ? opts_.guardian->pid() : 0;
  while (dirent *e = ::readdir(d)) {
    char *end = nullptr;
    long pid = std::strtol(e->d_name, &end, 10);
    if (pid <= 0 || *end != '\0')
      continue;
    if (pid != guardian && !children_.count(static_cast<pid_t>(pid)) &&
        parent_of(static_cast<pid_t>(pid)) == self)
      found.push_back(static_cast<pid_t>(pid));
  }
  ::closedir(d);
  return found;
}

} // namespace hbmon

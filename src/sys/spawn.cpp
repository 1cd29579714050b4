#include "sys/spawn.hpp"

#include <algorithm>
#include <cerrno>
#include <csignal>
#include <cstring>
#include <fcntl.h>
#include <linux/close_range.h>
#include <pthread.h>
#include <sched.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

namespace hbmon {

namespace {

enum Stage : unsigned char {
  st_stdio = 1,
  st_setsid,
  st_groups,
  st_setgid,
  st_setuid,
  st_chdir,
  st_pdeathsig,
  st_exec,
};

struct ChildReport {
  unsigned char stage;
  int err;
};

} // namespace

int pidfd_open(pid_t pid) { return static_cast<int>(::syscall(SYS_pidfd_open, pid, 0)); }

int pidfd_send_signal(int pidfd, int sig) {
  return static_cast<int>(::syscall(SYS_pidfd_send_signal, pidfd, sig, nullptr, 0));
}

int kill_group(pid_t pgid, int sig) {
  if (pgid <= 1 || pgid == ::getpgrp())
    return -1;
  return ::kill(-pgid, sig);
}

std::optional<std::string> resolve_program(const std::string &name, const std::string &path_var) {
  if (name.find('/') != std::string::npos)
    return name;
  std::string_view rest = path_var;
  std::optional<std::string> found_not_exec;
  while (true) {
    auto colon = rest.find(':');
    std::string_view dir = rest.substr(0, colon);
    std::string candidate = (dir.empty() ? std::string(".") : std::string(dir)) + "/" + name;
    struct stat st {};
    if (::stat(candidate.c_str(), &st) == 0 && S_ISREG(st.st_mode)) {
      if (::access(candidate.c_str(), X_OK) == 0)
        return candidate;
      if (!found_not_exec)
        found_not_exec = candidate;
    }
    if (colon == std::string_view::npos)
      break;
    rest.remove_prefix(colon + 1);
  }
  // like execvp: a match that is not executable yields EACCES at exec
  return found_not_exec;
}

namespace {
std::string describe_exec_error(const ChildReport &r, const std::string &path,
                                const std::string &cwd) {
  const std::string err = std::strerror(r.err);
  switch (r.stage) {
  case st_stdio:
    return "set up stdio: " + err;
  case st_setsid:
    return "setsid: " + err;
  case st_chdir:
    return "chdir " + cwd + ": " + err;
  case st_groups:
    return "setgroups: " + err;
  case st_setgid:
    return "setgid: " + err;
  case st_setuid:
    return "setuid: " + err;
  case st_pdeathsig:
    return "prctl(PR_SET_PDEATHSIG): " + err;
  case st_exec:
    return "exec " + path + ": " + err;
  default:
    return "start failed: " + err;
  }
}
} // namespace

namespace {

// What the child needs, prepared by the parent: after clone() the child
// shares the parent's memory and may only make async-signal-safe calls.
struct ChildArgs {
  const SpawnRequest *req;
  char *const *argv;
  char *const *envp;
  pid_t parent;
  ChildReport report;     // written by the child when a step fails
  char *watchdog_pid_env; // "WATCHDOG_PID=" and room for the pid, or null
};

constexpr char watchdog_pid_prefix[] = "WATCHDOG_PID=";
using WatchdogPidEnv = char[sizeof watchdog_pid_prefix + 12];

// Four fds held from start-up, below the thousands of sockets and pipes
// hbmond opens later: /dev/null, and the places where the next child's
// stdin, stdout and stderr are put just before the clone. The child shares hbmond's
// fd table and unshares only the fds up to these (see child_main), so a
// start costs the same with 10 apps or 10,000.
struct StdioSlots {
  int null = -1, in = -1, out = -1, err = -1;
  int top = -1; // the highest of them
};
StdioSlots slots;

// The child runs on a stack the sanitizers know nothing about (and shares
// the parent's memory until exec): keep their instrumentation out of it.
#define HBMON_CHILD_CODE __attribute__((no_sanitize("address", "undefined")))

[[noreturn]] HBMON_CHILD_CODE void child_fail(ChildArgs *a, Stage stage) {
  a->report = ChildReport{stage, errno};
  ::_exit(127);
}

// The app starts at oom_score_adj 0, not at hbmond's own (the unit's
// OOMScoreAdjust=, which shields hbmond from the OOM killer): the kernel is
// to pick an app before the supervisor of them all. Written while the child
// still has hbmond's credentials: with CAP_SYS_RESOURCE the write also
// sets the floor an unprivileged app could later lower itself to back to
// 0. Raw calls, no allocation: the memory is hbmond's. A failure is left
// alone: raising the value is always allowed, so it only means that /proc
// is missing, or that an unprivileged hbmond runs above 0 (the app keeps
// that value, as it would under any supervisor).
HBMON_CHILD_CODE void reset_oom_score() {
  const long fd = ::syscall(SYS_openat, AT_FDCWD, "/proc/self/oom_score_adj", O_WRONLY | O_CLOEXEC);
  if (fd < 0)
    return;
  static constexpr char zero[] = "0";
  ::syscall(SYS_write, fd, zero, sizeof zero - 1);
  ::syscall(SYS_close, fd);
}

// The child's pid in decimal at `at` (the parent cannot know it before the
// clone, and the child runs until its exec while the parent sleeps).
HBMON_CHILD_CODE void write_own_pid(char *at) {
  auto pid = static_cast<unsigned long>(::syscall(SYS_getpid));
  char digits[12];
  int n = 0;
  do {
    digits[n++] = static_cast<char>('0' + pid % 10);
    pid /= 10;
  } while (pid != 0 && n < 11);
  while (n > 0)
    *at++ = digits[--n];
  *at = '\0';
}

HBMON_CHILD_CODE int child_main(void *arg) {
  auto *a = static_cast<ChildArgs *>(arg);
  const SpawnRequest &req = *a->req;
  // Dispositions first, then the mask: no handler may run in between.
  struct sigaction dfl {};
  dfl.sa_handler = SIG_DFL;
  for (int s = 1; s < NSIG; ++s)
    if (s != SIGKILL && s != SIGSTOP)
      ::sigaction(s, &dfl, nullptr);
  sigset_t none;
  sigemptyset(&none);
  ::sigprocmask(SIG_SETMASK, &none, nullptr);
  if (a->watchdog_pid_env)
    write_own_pid(a->watchdog_pid_env + sizeof watchdog_pid_prefix - 1);

  // The fd table is still hbmond's own (CLONE_FILES). Take a copy of the
  // low fds only: copying, then closing at exec, every socket hbmond holds
  // would make each start cost O(fds).
  const unsigned above = static_cast<unsigned>(slots.top) + 1;
  if (::syscall(SYS_close_range, above, ~0U, CLOSE_RANGE_UNSHARE) < 0) {
    if (::unshare(CLONE_FILES) < 0) // kernel < 5.9: copy it all
      child_fail(a, st_stdio);
    for (int fd = static_cast<int>(above); fd < 65536; ++fd)
      ::close(fd);
  }
  if (::dup2(slots.in, 0) < 0 || ::dup2(slots.out, 1) < 0 || ::dup2(slots.err, 2) < 0)
    child_fail(a, st_stdio);
  // Every other inherited fd goes at exec.
  if (::syscall(SYS_close_range, 3U, ~0U, CLOSE_RANGE_CLOEXEC) < 0) {
    for (int fd = 3; fd < static_cast<int>(above); ++fd)
      ::close(fd);
  }
  if (req.nofile_soft) {
    rlimit rl{};
    if (::getrlimit(RLIMIT_NOFILE, &rl) == 0) {
      rl.rlim_cur = std::min(*req.nofile_soft, rl.rlim_max);
      ::setrlimit(RLIMIT_NOFILE, &rl);
    }
  }
  reset_oom_score();
  if (::setsid() < 0)
    child_fail(a, st_setsid);
  // The raw system calls, as posix_spawn does: glibc's setgroups, setgid
  // and setuid would take its locks and signal every thread of the
  // process whose memory this child shares (hbmond's), to change theirs too.
  if (req.uid) {
    if (::syscall(SYS_setgroups, req.groups.size(), req.groups.data()) < 0)
      child_fail(a, st_groups);
  } else if (req.gid) {
    if (::syscall(SYS_setgroups, 1, &*req.gid) < 0)
      child_fail(a, st_groups);
  }
  if (req.gid && ::syscall(SYS_setresgid, *req.gid, *req.gid, *req.gid) < 0)
    child_fail(a, st_setgid);
  if (req.uid && ::syscall(SYS_setresuid, *req.uid, *req.uid, *req.uid) < 0)
    child_fail(a, st_setuid);
  // With the app's credentials, as systemd does: a directory its user may not
  // enter is a failed start, not one root entered on its behalf.
  if (::chdir(req.cwd.c_str()) < 0)
    child_fail(a, st_chdir);
  // After the credential change, which clears it. If hbmond is already
  // gone, do not start an orphan.
  if (::prctl(PR_SET_PDEATHSIG, SIGKILL) < 0)
    child_fail(a, st_pdeathsig);
  if (::getppid() != a->parent)
    ::_exit(127);
  ::execve(req.path.c_str(), a->argv, a->envp);
  child_fail(a, st_exec);
}

// The child runs on this stack until execve (CLONE_VFORK suspends the
// parent meanwhile, and only the loop thread spawns).
alignas(64) char child_stack[128 * 1024];

} // namespace

bool reserve_spawn_fds() {
  if (slots.null >= 0)
    return true;
  UniqueFd null(::open("/dev/null", O_RDWR | O_CLOEXEC));
  if (!null)
    return false;
  UniqueFd in(::fcntl(null.get(), F_DUPFD_CLOEXEC, 0));
  UniqueFd out(::fcntl(null.get(), F_DUPFD_CLOEXEC, 0));
  UniqueFd err(::fcntl(null.get(), F_DUPFD_CLOEXEC, 0));
  if (!in || !out || !err)
    return false;
  // The child keeps the fds up to the highest.
  slots = {null.release(), in.release(), out.release(), err.release()};
  slots.top = std::max({slots.null, slots.in, slots.out, slots.err});
  return true;
}

std::variant<Child, std::string> spawn(const SpawnRequest &req) {
  std::vector<char *> argv, envp;
  argv.reserve(req.argv.size() + 1);
  for (const auto &a : req.argv)
    argv.push_back(const_cast<char *>(a.c_str()));
  argv.push_back(nullptr);
  envp.reserve(req.env.size() + 2);
  for (const auto &e : req.env)
    envp.push_back(const_cast<char *>(e.c_str()));
  WatchdogPidEnv watchdog_pid{};
  if (req.watchdog_pid) {
    std::memcpy(watchdog_pid, watchdog_pid_prefix, sizeof watchdog_pid_prefix);
    envp.push_back(watchdog_pid);
  }
  envp.push_back(nullptr);

  if (!reserve_spawn_fds())
    return std::string("open /dev/null: ") + std::strerror(errno);
  // Put the child's stdio in the slots; /dev/null goes back in afterwards,
  // so no pipe end stays open here by accident.
  const int in_fd = req.stdin_fd >= 0 ? req.stdin_fd : slots.null;
  const int out_fd = req.output_fd >= 0 ? req.output_fd : slots.null;
  const int err_fd = req.error_fd >= 0 ? req.error_fd : out_fd;
  if (::dup3(in_fd, slots.in, O_CLOEXEC) < 0 || ::dup3(out_fd, slots.out, O_CLOEXEC) < 0 ||
      ::dup3(err_fd, slots.err, O_CLOEXEC) < 0) {
    const int err = errno;
    ::dup3(slots.null, slots.in, O_CLOEXEC);
    ::dup3(slots.null, slots.out, O_CLOEXEC);
    return std::string("dup3: ") + std::strerror(err);
  }
  ChildArgs args{&req,       argv.data(), envp.data(),
                 ::getpid(), {},          req.watchdog_pid ? watchdog_pid : nullptr};

  // Like posix_spawn: share memory and sleep until the child has exec'd
  // (or failed), which costs no page-table copy however big hbmond grows.
  // All signals stay blocked across the clone so none is handled on the
  // child's side of the shared memory.
  sigset_t all, old;
  sigfillset(&all);
  ::pthread_sigmask(SIG_BLOCK, &all, &old);
  const pid_t pid = ::clone(child_main, child_stack + sizeof child_stack,
                            CLONE_VM | CLONE_VFORK | CLONE_FILES | SIGCHLD, &args);
  const int clone_err = errno;
  ::pthread_sigmask(SIG_SETMASK, &old, nullptr);
  ::dup3(slots.null, slots.in, O_CLOEXEC);
  ::dup3(slots.null, slots.out, O_CLOEXEC);
  ::dup3(slots.null, slots.err, O_CLOEXEC);
  if (pid < 0)
    return std::string("clone: ") + std::strerror(clone_err);

  if (args.report.stage != 0) {
    ::waitpid(pid, nullptr, 0); // it has already called _exit
    return describe_exec_error(args.report, req.path, req.cwd);
  }

  Child c;
  c.pid = pid;
  c.pidfd.reset(pidfd_open(pid));
  if (!c.pidfd) {
    int err = errno;
    ::kill(pid, SIGKILL);
    ::waitpid(pid, nullptr, 0); // it is ours and already dying
    return std::string("pidfd_open: ") + std::strerror(err);
  }
  return c;
}

} // namespace hbmon

#include "sys/spawn.hpp"

#include <cerrno>
#include <csignal>
#include <cstring>
#include <fcntl.h>
#include <grp.h>
#include <linux/close_range.h>
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
  st_chdir,
  st_groups,
  st_setgid,
  st_setuid,
  st_pdeathsig,
  st_exec,
};

struct ChildReport {
  unsigned char stage;
  int err;
};

[[noreturn]] void child_fail(int fd, Stage stage) {
  ChildReport r{stage, errno};
  ssize_t ignored = ::write(fd, &r, sizeof r);
  (void)ignored;
  ::_exit(127);
}

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

std::variant<Child, std::string> spawn(const SpawnRequest &req) {
  // Everything the child needs is prepared here: after fork it may only
  // make async-signal-safe calls (the parent has other threads: libzmq's).
  std::vector<char *> argv, envp;
  argv.reserve(req.argv.size() + 1);
  for (const auto &a : req.argv)
    argv.push_back(const_cast<char *>(a.c_str()));
  argv.push_back(nullptr);
  envp.reserve(req.env.size() + 1);
  for (const auto &e : req.env)
    envp.push_back(const_cast<char *>(e.c_str()));
  envp.push_back(nullptr);

  UniqueFd devnull;
  if (req.stdin_fd < 0 || req.output_fd < 0) {
    devnull.reset(::open("/dev/null", O_RDWR | O_CLOEXEC));
    if (!devnull)
      return std::string("open /dev/null: ") + std::strerror(errno);
  }
  const int in_fd = req.stdin_fd >= 0 ? req.stdin_fd : devnull.get();
  const int out_fd = req.output_fd >= 0 ? req.output_fd : devnull.get();

  int status_pipe[2];
  if (::pipe2(status_pipe, O_CLOEXEC) < 0)
    return std::string("pipe: ") + std::strerror(errno);
  UniqueFd status_rd(status_pipe[0]), status_wr(status_pipe[1]);

  const pid_t parent = ::getpid();
  const pid_t pid = ::fork();
  if (pid < 0)
    return std::string("fork: ") + std::strerror(errno);

  if (pid == 0) {
    const int wfd = status_wr.get();
    sigset_t none;
    sigemptyset(&none);
    ::sigprocmask(SIG_SETMASK, &none, nullptr);
    struct sigaction dfl {};
    dfl.sa_handler = SIG_DFL;
    for (int s = 1; s < NSIG; ++s)
      if (s != SIGKILL && s != SIGSTOP)
        ::sigaction(s, &dfl, nullptr);

    if (::dup2(in_fd, 0) < 0 || ::dup2(out_fd, 1) < 0 || ::dup2(out_fd, 2) < 0)
      child_fail(wfd, st_stdio);
    // Every other inherited fd goes at exec; the status pipe is already
    // close-on-exec and must stay open until then.
    if (::syscall(SYS_close_range, 3U, ~0U, CLOSE_RANGE_CLOEXEC) < 0) {
      for (int fd = 3; fd < 65536; ++fd)
        if (fd != wfd)
          ::close(fd);
    }
    if (req.nofile_soft) {
      rlimit rl{};
      if (::getrlimit(RLIMIT_NOFILE, &rl) == 0) {
        rl.rlim_cur = std::min(*req.nofile_soft, rl.rlim_max);
        ::setrlimit(RLIMIT_NOFILE, &rl);
      }
    }
    if (::setsid() < 0)
      child_fail(wfd, st_setsid);
    if (::chdir(req.cwd.c_str()) < 0)
      child_fail(wfd, st_chdir);
    if (req.uid) {
      if (::setgroups(req.groups.size(), req.groups.data()) < 0)
        child_fail(wfd, st_groups);
    } else if (req.gid) {
      if (::setgroups(1, &*req.gid) < 0)
        child_fail(wfd, st_groups);
    }
    if (req.gid && ::setgid(*req.gid) < 0)
      child_fail(wfd, st_setgid);
    if (req.uid && ::setuid(*req.uid) < 0)
      child_fail(wfd, st_setuid);
    // After the credential change, which clears it. If hbmond is already
    // gone, do not start an orphan.
    if (::prctl(PR_SET_PDEATHSIG, SIGKILL) < 0)
      child_fail(wfd, st_pdeathsig);
    if (::getppid() != parent)
      ::_exit(127);
    ::execve(req.path.c_str(), argv.data(), envp.data());
    child_fail(wfd, st_exec);
  }

  status_wr.reset();
  int fl = ::fcntl(status_rd.get(), F_GETFL);
  ::fcntl(status_rd.get(), F_SETFL, fl | O_NONBLOCK);

  Child c;
  c.pid = pid;
  c.pidfd.reset(pidfd_open(pid));
  if (!c.pidfd) {
    int err = errno;
    ::kill(pid, SIGKILL);
    ::waitpid(pid, nullptr, 0); // it is ours and already dying
    return std::string("pidfd_open: ") + std::strerror(err);
  }
  c.exec_status = std::move(status_rd);
  return c;
}

std::string describe_exec_error(const unsigned char *buf, std::size_t len, const std::string &path,
                                const std::string &cwd) {
  if (len < sizeof(ChildReport))
    return len == 0 ? "" : "start failed (truncated report)";
  ChildReport r;
  std::memcpy(&r, buf, sizeof r);
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

std::string read_exec_error(int fd, const SpawnRequest &req) {
  unsigned char buf[sizeof(ChildReport)];
  std::size_t got = 0;
  while (got < sizeof buf) {
    ssize_t n = ::read(fd, buf + got, sizeof buf - got);
    if (n <= 0)
      break;
    got += static_cast<std::size_t>(n);
  }
  return describe_exec_error(buf, got, req.path, req.cwd);
}

} // namespace hbmon

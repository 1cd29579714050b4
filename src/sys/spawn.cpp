#include "sys/spawn.hpp"

#include <algorithm>
#include <cerrno>
#include <csignal>
#include <cstdio>
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
#include <type_traits>
#include <unistd.h>

namespace hbmon {

namespace spawn_detail {

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

// Where a child finds its stdin, stdout, stderr and the write end of its
// report pipe: four low fds put there just before the clone. The child
// shares hbmond's fd table and, first thing, takes a copy of the fds up to
// the highest slot only (see child_main): copying every socket hbmond holds
// would make a start cost O(fds), and would keep hbmond's listening sockets
// open in the child until its exec (a port hbmond closes could not be bound
// again meanwhile). A set is hbmond's again once its child says it has its
// own copy, or has gone.
struct SlotSet {
  int in = -1, out = -1, err = -1, report = -1;
};

// Held from start-up, below the thousands of sockets and pipes hbmond opens
// later: /dev/null and `slot_sets` sets, each /dev/null while free.
constexpr std::size_t slot_sets = 8;
struct Slots {
  int null = -1;
  SlotSet sets[slot_sets];
  bool busy[slot_sets] = {};
  int top = -1; // the highest of them all
};

// The byte a child writes to its report pipe once it has its own fds.
constexpr char unshared_byte = 'U';

} // namespace spawn_detail
using namespace spawn_detail;

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

// The child runs on a stack the sanitizers know nothing about, in memory it
// shares with hbmond until its exec: keep their instrumentation out of it.
#define HBMON_CHILD_CODE __attribute__((no_sanitize("address", "undefined")))
#define HBMON_CHILD_INLINE HBMON_CHILD_CODE __attribute__((always_inline)) inline

// System calls for the child, returning -errno on failure. Where the
// architecture is known they are made here, without glibc: its wrappers
// write errno, which lives in the TLS of hbmond's loop thread (the child
// runs with that thread's TLS pointer while the loop goes on), and glibc
// may take locks. Elsewhere glibc's syscall() is used and the parent waits
// for the exec (CLONE_VFORK), as posix_spawn does: its errno is then safe.
#if defined(__x86_64__)
constexpr bool async_spawn = true;
HBMON_CHILD_INLINE long sys(long n, long a = 0, long b = 0, long c = 0, long d = 0, long e = 0) {
  register long r10 asm("r10") = d;
  register long r8 asm("r8") = e;
  long ret;
  asm volatile("syscall"
               : "=a"(ret)
               : "a"(n), "D"(a), "S"(b), "d"(c), "r"(r10), "r"(r8)
               : "rcx", "r11", "memory");
  return ret;
}
#elif defined(__aarch64__)
constexpr bool async_spawn = true;
HBMON_CHILD_INLINE long sys(long n, long a = 0, long b = 0, long c = 0, long d = 0, long e = 0) {
  register long x8 asm("x8") = n;
  register long x0 asm("x0") = a;
  register long x1 asm("x1") = b;
  register long x2 asm("x2") = c;
  register long x3 asm("x3") = d;
  register long x4 asm("x4") = e;
  asm volatile("svc 0" : "+r"(x0) : "r"(x8), "r"(x1), "r"(x2), "r"(x3), "r"(x4) : "memory");
  return x0;
}
#else
constexpr bool async_spawn = false;
HBMON_CHILD_INLINE long sys(long n, long a = 0, long b = 0, long c = 0, long d = 0, long e = 0) {
  const long r = ::syscall(n, a, b, c, d, e);
  return r < 0 ? -errno : r;
}
#endif

template <typename T> HBMON_CHILD_INLINE long arg(T v) {
  if constexpr (std::is_pointer_v<T>)
    return reinterpret_cast<long>(v);
  else
    return static_cast<long>(v);
}

constexpr char watchdog_pid_prefix[] = "WATCHDOG_PID=";

Slots slots;

} // namespace

// Everything the child reads, as plain data prepared by the parent, and
// the stack it runs on: it stays until the child has exec'd or exited.
struct SpawnMemory {
  SpawnRequest req;
  std::vector<char *> argv, envp;
  char watchdog_pid[sizeof watchdog_pid_prefix + 12] = {};
  // Read by the child.
  const char *path = nullptr, *cwd = nullptr;
  const gid_t *groups = nullptr;
  long ngroups = 0;
  long uid = -1, gid = -1;
  long nofile_soft = -1;
  long parent = 0;
  char *const *argv_p = nullptr, *const *envp_p = nullptr;
  char *watchdog_pid_at = nullptr; // where the child writes its pid, or null
  SlotSet stdio;                   // the child's slots (`set`: which of slots.sets)
  long above = 0;                  // the lowest fd above every slot
  bool vfork = false;
  std::size_t set = 0;
  bool set_held = false; // the set is this child's until it has unshared
  // What the parent has read of the report so far (after unshared_byte).
  bool unshared = false;
  unsigned char got[sizeof(ChildReport)] = {};
  std::size_t got_bytes = 0;
  alignas(64) char stack[32 * 1024];
};

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

// The step that failed and its error go down the report pipe; then the
// child ends without running anything of hbmond's (exit_group, no atexit).
[[noreturn]] HBMON_CHILD_CODE void child_fail(SpawnMemory *m, Stage stage, long err) {
  ChildReport r;
  r.stage = stage;
  r.err = static_cast<int>(-err);
  sys(SYS_write, m->stdio.report, arg(&r), sizeof r);
  while (true)
    sys(SYS_exit_group, 127);
}

// The app runs at oom_score_adj 0, not at hbmond's own (the unit's
// OOMScoreAdjust=, which shields hbmond from the OOM killer): the kernel is
// to pick an app before the supervisor of them all. Written with hbmond's
// credentials: with CAP_SYS_RESOURCE the write also sets the floor an
// unprivileged app could later lower itself to back to 0. A failure is left
// alone: raising the value is always allowed, so it only means that /proc
// is missing, or that an unprivileged hbmond runs above 0 (the app keeps
// that value, as it would under any supervisor).
//
// The value belongs to the memory: a write by a child that shares hbmond's
// (CLONE_VM, no CLONE_VFORK) would set hbmond's own too. So only a vfork
// child writes it (the kernel leaves those out); otherwise hbmond writes
// the child's once it has exec'd into memory of its own (exec_outcome()).
HBMON_CHILD_CODE void reset_oom_score() {
  static constexpr char file[] = "/proc/self/oom_score_adj";
  const long fd = sys(SYS_openat, AT_FDCWD, arg(file), O_WRONLY | O_CLOEXEC);
  if (fd < 0)
    return;
  static constexpr char zero[] = "0";
  sys(SYS_write, fd, arg(zero), sizeof zero - 1);
  sys(SYS_close, fd);
}

// The child's pid in decimal at `at` (the parent cannot know it before the
// clone, and need not wait for the child to write it).
HBMON_CHILD_CODE void write_own_pid(char *at) {
  auto pid = static_cast<unsigned long>(sys(SYS_getpid));
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

// fd `from` onto `to`, without close-on-exec.
HBMON_CHILD_CODE long move_fd(long from, long to) {
  if (from == to)
    return sys(SYS_fcntl, to, F_SETFD, 0);
  return sys(SYS_dup3, from, to, 0);
}

HBMON_CHILD_CODE int child_main(void *arg_) {
  auto *m = static_cast<SpawnMemory *>(arg_);
  // First, the fd table, which is still hbmond's own (CLONE_FILES): a copy
  // of the low fds only (the slots), then word to hbmond that the slots
  // are its own again. (Kernel < 5.9: a copy of it all.)
  long r = sys(SYS_close_range, m->above, ~0U, CLOSE_RANGE_UNSHARE);
  if (r < 0 && (r = sys(SYS_unshare, CLONE_FILES)) < 0)
    child_fail(m, st_stdio, r);
  const char unshared = unshared_byte;
  sys(SYS_write, m->stdio.report, arg(&unshared), 1);
  // Dispositions first, then the mask: no handler may run in between. The
  // kernel's struct sigaction, zeroed: SIG_DFL, no flags, an empty mask.
  // (Element by element: an unoptimized build would call memset.)
  long kernel_sigaction[4];
  for (long &word : kernel_sigaction)
    word = 0;
  for (long s = 1; s <= 64; ++s)
    if (s != SIGKILL && s != SIGSTOP)
      sys(SYS_rt_sigaction, s, arg(kernel_sigaction), 0, 8);
  const unsigned long none = 0;
  sys(SYS_rt_sigprocmask, SIG_SETMASK, arg(&none), 0, 8);
  if (m->watchdog_pid_at)
    write_own_pid(m->watchdog_pid_at);

  if ((r = move_fd(m->stdio.in, 0)) < 0 || (r = move_fd(m->stdio.out, 1)) < 0 ||
      (r = move_fd(m->stdio.err, 2)) < 0)
    child_fail(m, st_stdio, r);
  // Every other fd goes now: the other sets' slots are other children's
  // (their report pipes end only once no copy is left). Only the report
  // pipe's end stays, close-on-exec: its end of file tells hbmond of the
  // exec.
  const long report = m->stdio.report;
  if (report > 3)
    sys(SYS_close_range, 3U, report - 1, 0);
  if (sys(SYS_close_range, report + 1, ~0U, 0) < 0)
    for (long fd = report + 1; fd < 65536; ++fd)
      sys(SYS_close, fd);
  if (m->nofile_soft >= 0) {
    struct {
      unsigned long long cur, max;
    } lim, old;
    old.cur = old.max = 0;
    if (sys(SYS_prlimit64, 0, RLIMIT_NOFILE, 0, arg(&old)) == 0) {
      lim.max = old.max;
      const auto soft = static_cast<unsigned long long>(m->nofile_soft);
      lim.cur = soft < old.max ? soft : old.max;
      sys(SYS_prlimit64, 0, RLIMIT_NOFILE, arg(&lim), 0);
    }
  }
  if (m->vfork) // (see reset_oom_score)
    reset_oom_score();
  if ((r = sys(SYS_setsid)) < 0)
    child_fail(m, st_setsid, r);
  if (m->ngroups >= 0 && (r = sys(SYS_setgroups, m->ngroups, arg(m->groups))) < 0)
    child_fail(m, st_groups, r);
  if (m->gid >= 0 && (r = sys(SYS_setresgid, m->gid, m->gid, m->gid)) < 0)
    child_fail(m, st_setgid, r);
  if (m->uid >= 0 && (r = sys(SYS_setresuid, m->uid, m->uid, m->uid)) < 0)
    child_fail(m, st_setuid, r);
  // With the app's credentials, as systemd does: a directory its user may not
  // enter is a failed start, not one root entered on its behalf.
  if ((r = sys(SYS_chdir, arg(m->cwd))) < 0)
    child_fail(m, st_chdir, r);
  // After the credential change, which clears it. If hbmond is already
  // gone, do not start an orphan.
  if ((r = sys(SYS_prctl, PR_SET_PDEATHSIG, SIGKILL)) < 0)
    child_fail(m, st_pdeathsig, r);
  if (sys(SYS_getppid) != m->parent)
    while (true)
      sys(SYS_exit_group, 127);
  r = sys(SYS_execve, arg(m->path), arg(m->argv_p), arg(m->envp_p));
  child_fail(m, st_exec, r);
}

// reset_oom_score() for a child that has exec'd, from hbmond.
void reset_oom_score_of(pid_t pid) {
  char file[40];
  std::snprintf(file, sizeof file, "/proc/%d/oom_score_adj", static_cast<int>(pid));
  UniqueFd fd(::open(file, O_WRONLY | O_CLOEXEC));
  if (fd)
    (void)!::write(fd.get(), "0", 1);
}

} // namespace

bool reserve_spawn_fds() {
  if (slots.null >= 0)
    return true;
  UniqueFd null(::open("/dev/null", O_RDWR | O_CLOEXEC));
  if (!null)
    return false;
  std::vector<UniqueFd> held;
  for (std::size_t i = 0; i < 4 * slot_sets; ++i) {
    held.emplace_back(::fcntl(null.get(), F_DUPFD_CLOEXEC, 0));
    if (!held.back())
      return false;
  }
  Slots made;
  made.top = null.get();
  for (std::size_t i = 0; i < slot_sets; ++i) {
    made.sets[i] = {held[4 * i].release(), held[4 * i + 1].release(), held[4 * i + 2].release(),
                    held[4 * i + 3].release()};
    for (int fd : {made.sets[i].in, made.sets[i].out, made.sets[i].err, made.sets[i].report})
      made.top = std::max(made.top, fd);
  }
  made.null = null.release();
  slots = made;
  return true;
}

namespace {

// /dev/null back in a set's slots (closing what the child had there, in
// hbmond's table), and the set free again.
void release_set(SpawnMemory &m) {
  if (!m.set_held)
    return;
  const SlotSet &s = slots.sets[m.set];
  for (int fd : {s.in, s.out, s.err, s.report})
    ::dup3(slots.null, fd, O_CLOEXEC);
  slots.busy[m.set] = false;
  m.set_held = false;
}

// Reads what the report pipe has; true at its end of file.
bool read_report(Child &c) {
  SpawnMemory &m = *c.memory;
  while (true) {
    unsigned char buf[sizeof m.got + 1];
    const ssize_t n = ::read(c.report.get(), buf, sizeof buf);
    if (n < 0 && errno == EINTR)
      continue;
    if (n < 0 && errno == EAGAIN)
      return false;
    if (n <= 0)
      return true; // end of file, or an error that cannot be waited out
    std::size_t at = 0;
    if (!m.unshared && buf[0] == static_cast<unsigned char>(unshared_byte)) {
      m.unshared = true;
      release_set(m); // the child has its own copy of the slots now
      at = 1;
    }
    const std::size_t take = std::min(static_cast<std::size_t>(n) - at, sizeof m.got - m.got_bytes);
    std::memcpy(m.got + m.got_bytes, buf + at, take);
    m.got_bytes += take;
  }
}

} // namespace

void SpawnMemoryDeleter::operator()(SpawnMemory *m) const {
  release_set(*m);
  delete m;
}

bool holds_slots(const Child &c) { return c.memory && c.memory->set_held; }

std::size_t spawn_slots_free() {
  if (slots.null < 0)
    return slot_sets;
  std::size_t n = 0;
  for (bool b : slots.busy)
    n += !b;
  return n;
}

std::variant<Child, std::string> spawn(const SpawnRequest &req) {
  if (!reserve_spawn_fds())
    return std::string("open /dev/null: ") + std::strerror(errno);
  std::size_t set = slot_sets;
  for (std::size_t i = 0; i < slot_sets && set == slot_sets; ++i)
    if (!slots.busy[i])
      set = i;
  if (set == slot_sets)
    return std::string("busy: ") + std::to_string(slot_sets) +
           " starts have not yet taken their own fds";
  std::unique_ptr<SpawnMemory, SpawnMemoryDeleter> m(new SpawnMemory);
  m->req = req;
  const SpawnRequest &r = m->req;
  m->argv.reserve(r.argv.size() + 1);
  for (const auto &a : r.argv)
    m->argv.push_back(const_cast<char *>(a.c_str()));
  m->argv.push_back(nullptr);
  m->envp.reserve(r.env.size() + 2);
  for (const auto &e : r.env)
    m->envp.push_back(const_cast<char *>(e.c_str()));
  if (r.watchdog_pid) {
    std::memcpy(m->watchdog_pid, watchdog_pid_prefix, sizeof watchdog_pid_prefix);
    m->watchdog_pid_at = m->watchdog_pid + sizeof watchdog_pid_prefix - 1;
    m->envp.push_back(m->watchdog_pid);
  }
  m->envp.push_back(nullptr);
  m->argv_p = m->argv.data();
  m->envp_p = m->envp.data();
  m->path = r.path.c_str();
  m->cwd = r.cwd.c_str();
  if (r.uid) {
    m->groups = r.groups.data();
    m->ngroups = static_cast<long>(r.groups.size());
  } else if (r.gid) {
    m->groups = &*m->req.gid;
    m->ngroups = 1;
  } else {
    m->ngroups = -1;
  }
  m->uid = r.uid ? static_cast<long>(*r.uid) : -1;
  m->gid = r.gid ? static_cast<long>(*r.gid) : -1;
  m->nofile_soft = r.nofile_soft ? static_cast<long>(*r.nofile_soft) : -1;
  m->parent = ::getpid();
  m->vfork = !async_spawn;
  m->set = set;
  m->stdio = slots.sets[set];
  m->above = slots.top + 1;

  // Readable once the child has its own fds (unshared_byte), then at its
  // exec (end of file: the write end is close-on-exec), or after a step
  // before it failed (a ChildReport, then end of file).
  int report[2];
  if (::pipe2(report, O_CLOEXEC | O_NONBLOCK) < 0)
    return std::string("pipe: ") + std::strerror(errno);
  UniqueFd report_read(report[0]), report_write(report[1]);

  // The child's fds into its slots (the originals may go as soon as this
  // returns: the slots hold their own references).
  const int in_fd = r.stdin_fd >= 0 ? r.stdin_fd : slots.null;
  const int out_fd = r.output_fd >= 0 ? r.output_fd : slots.null;
  const int err_fd = r.error_fd >= 0 ? r.error_fd : out_fd;
  const SlotSet &s = slots.sets[set];
  slots.busy[set] = true;
  m->set_held = true;
  if (::dup3(in_fd, s.in, O_CLOEXEC) < 0 || ::dup3(out_fd, s.out, O_CLOEXEC) < 0 ||
      ::dup3(err_fd, s.err, O_CLOEXEC) < 0 || ::dup3(report_write.get(), s.report, O_CLOEXEC) < 0) {
    const int err = errno;
    release_set(*m);
    return std::string("dup3: ") + std::strerror(err);
  }
  report_write.reset(); // the slot holds it now

  // Share memory (no page-table copy, however big hbmond grows) and the fd
  // table (the child copies only the slots). With our own system calls,
  // do not wait: the child goes on towards its exec on its own stack while
  // the loop goes on. Without them (async_spawn false), sleep until the
  // exec as posix_spawn does. All signals stay blocked across the clone,
  // so none is handled on the child's side.
  const int flags = async_spawn ? CLONE_VM | CLONE_FILES | SIGCHLD
                                : CLONE_VM | CLONE_VFORK | CLONE_FILES | SIGCHLD;
  sigset_t all, old;
  sigfillset(&all);
  ::pthread_sigmask(SIG_BLOCK, &all, &old);
  const pid_t pid = ::clone(child_main, m->stack + sizeof m->stack, flags, m.get());
  const int clone_err = errno;
  ::pthread_sigmask(SIG_SETMASK, &old, nullptr);
  if (pid < 0) {
    release_set(*m);
    return std::string("clone: ") + std::strerror(clone_err);
  }
  Child c;
  c.pid = pid;
  c.pidfd.reset(pidfd_open(pid));
  if (!c.pidfd) {
    const int err = errno;
    ::kill(pid, SIGKILL);
    ::waitpid(pid, nullptr, 0); // it is ours and dying: its slots are free
    release_set(*m);
    return std::string("pidfd_open: ") + std::strerror(err);
  }
  c.report = std::move(report_read);
  c.memory = std::move(m);
  read_report(c); // after a vfork, the set is free again at once
  return c;
}

ExecOutcome exec_outcome(Child &c, bool gone) {
  SpawnMemory &m = *c.memory;
  if (gone) {
    // It no longer shares the table, and wrote all it ever will: what the
    // pipe holds decides. (Its end of file may come later: another child,
    // between its copy of the slots and its closing of those not its own,
    // may hold a copy of this one's write end for a moment.)
    release_set(m);
    read_report(c);
  } else if (!read_report(c)) {
    return {ExecOutcome::pending, {}};
  }
  // The child has exec'd or is gone, and no longer runs in our memory.
  release_set(m);
  ExecOutcome out{ExecOutcome::execd, {}};
  if (m.got_bytes == sizeof m.got) {
    ChildReport r{};
    std::memcpy(&r, m.got, sizeof r);
    out = {ExecOutcome::failed, describe_exec_error(r, m.req.path, m.req.cwd)};
  } else if (m.got_bytes > 0) {
    out = {ExecOutcome::failed, "start failed: a short report from the child"};
  } else if (async_spawn) {
    reset_oom_score_of(c.pid);
  }
  c.report.reset();
  c.memory.reset();
  return out;
}

} // namespace hbmon

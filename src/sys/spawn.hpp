// Starting an app: clone + exec with only raw system calls in the child, a
// pidfd for the parent.
//
// Contract: spawn() returns as soon as the child exists, without waiting
// for its exec: the child with its pidfd and its report pipe, or why it
// could not be made (no fd, no process, no free slots). Whether it then exec'd is read
// from the report pipe once it is readable (exec_outcome(): end of file at
// the exec, or the step that failed: chdir, setuid, execve, ...); until
// then the child runs in memory it shares with hbmond (its arguments and
// its stack, held by Child::memory), so keep the Child until the outcome
// is known or the child has exited. The child runs in its own session and
// process group with a clean signal mask and default signal dispositions,
// only fds 0-2 open and SIGKILL as its parent-death signal. It takes its
// groups, gid and uid, then enters its cwd with those credentials. Its
// oom_score_adj is 0 whatever hbmond's own, from the outcome of its exec
// on (until then it shares hbmond's memory, and with it the value).
//
// The child makes its system calls itself, not through glibc, whose
// wrappers would write errno in the TLS of hbmond's loop thread, which
// keeps running beside it. On an architecture where that is not written
// here (only x86-64 and arm64 are), the parent sleeps until the exec
// (CLONE_VFORK, as posix_spawn does) and the outcome is known at once.
#pragma once

#include "sys/fd.hpp"

#include <memory>
#include <optional>
#include <string>
#include <sys/resource.h>
#include <sys/types.h>
#include <variant>
#include <vector>

namespace hbmon {

struct SpawnRequest {
  std::string path; // resolved program (absolute)
  std::vector<std::string> argv;
  std::vector<std::string> env; // "KEY=VALUE"
  std::string cwd = "/";
  std::optional<uid_t> uid;
  std::optional<gid_t> gid;
  std::vector<gid_t> groups;         // used when uid is set
  int stdin_fd = -1;                 // -1: /dev/null
  int output_fd = -1;                // stdout (and stderr); -1: /dev/null
  int error_fd = -1;                 // stderr; -1: where stdout goes
  std::optional<rlim_t> nofile_soft; // restore RLIMIT_NOFILE's soft limit
  // Add WATCHDOG_PID=<the child's own pid> to `env` (systemd's watchdog
  // protocol: the variable names the one process it is meant for).
  bool watchdog_pid = false;
};

// A child's arguments and stack until its exec (spawn.cpp).
struct SpawnMemory;
struct SpawnMemoryDeleter {
  void operator()(SpawnMemory *m) const;
};

struct Child {
  pid_t pid = 0;
  UniqueFd pidfd;
  // Until the outcome of the exec is known: the report pipe's read end
  // (non-blocking) and the memory the child runs in.
  UniqueFd report;
  std::unique_ptr<SpawnMemory, SpawnMemoryDeleter> memory;
};

// Returns the child, or an error message ("clone: Resource temporarily unavailable").
std::variant<Child, std::string> spawn(const SpawnRequest &req);

struct ExecOutcome {
  enum { pending, execd, failed } what;
  std::string error; // failed: "exec /usr/bin/x: No such file or directory"
};
// Reads what the child's report pipe holds. Once it is not pending, the
// report pipe and the memory are released (the child has exec'd or is
// gone). `gone`: the child has exited (its pidfd says so); it then has an
// outcome.
ExecOutcome exec_outcome(Child &c, bool gone = false);

// A child shares hbmond's fd table until it has taken a copy of its slots
// (low fds that hold its stdio and its report pipe's end; see spawn.cpp),
// its first step. A few sets of slots exist: spawn() fails ("busy: ...")
// while every set is some child's. holds_slots(): this child's set is not
// free yet (its report pipe will say when it is).
std::size_t spawn_slots_free();
bool holds_slots(const Child &c);

// Hold the low fds for spawn()'s use. Call it early, before hbmond opens
// its sockets: a start then costs the same whatever the number of fds
// hbmond has open, and copies none of its sockets. (spawn() reserves them
// itself when not done; they are then as high as the lowest free fd at
// that time.) False if /dev/null cannot be opened.
bool reserve_spawn_fds();

// Find `name` in the colon-separated `path_var` the way execvp would;
// a name with a '/' is returned unchanged. nullopt when not found.
std::optional<std::string> resolve_program(const std::string &name, const std::string &path_var);

// Signal the process group led by `pgid` (not the caller's own).
int kill_group(pid_t pgid, int sig);

int pidfd_open(pid_t pid);
int pidfd_send_signal(int pidfd, int sig);

} // namespace hbmon

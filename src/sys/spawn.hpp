// Starting an app: fork + exec with only async-signal-safe calls in the
// child, a pidfd for the parent.
//
// Contract: spawn() returns only once the child has exec'd: either the
// running child with its pidfd, or the reason it could not start (clone,
// chdir, setuid, execve, ... failed; such a child is already reaped). The
// child runs in its own session and process group with a clean signal mask
// and default signal dispositions, only fds 0-2 open, and SIGKILL as its
// parent-death signal, and oom_score_adj 0 (whatever hbmond's own). It
// takes its groups, gid and uid with the raw system calls (it shares
// hbmond's memory: glibc's wrappers would signal hbmond's threads), then
// enters its cwd with those credentials.
#pragma once

#include "sys/fd.hpp"

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

struct Child {
  pid_t pid = 0;
  UniqueFd pidfd;
};

// Returns the child, or an error message ("fork: Resource temporarily unavailable").
std::variant<Child, std::string> spawn(const SpawnRequest &req);

// Hold three low fds for spawn()'s use. Call it early, before hbmond opens
// its sockets: a start then costs the same whatever the number of fds
// hbmond has open. (spawn() reserves them itself when not done; they are
// then as high as the lowest free fd at that time.) False if /dev/null
// cannot be opened.
bool reserve_spawn_fds();

// Find `name` in the colon-separated `path_var` the way execvp would;
// a name with a '/' is returned unchanged. nullopt when not found.
std::optional<std::string> resolve_program(const std::string &name, const std::string &path_var);

// Signal the process group led by `pgid` (not the caller's own).
int kill_group(pid_t pgid, int sig);

int pidfd_open(pid_t pid);
int pidfd_send_signal(int pidfd, int sig);

} // namespace hbmon

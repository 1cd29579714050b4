// The processes: every app's child, from its spawn to its reaping.
//
// Contract: start() builds the app's spawn request (argv, account,
// environment from core/app_env, RLIMIT_NOFILE; no user database lookup:
// the config holds the account as verified), spawns it in its own
// process group and watches its pidfd on the loop. It returns once the
// child exists, before its exec: what became of the exec is told later,
// on the loop, always before the exit handler: to the exec handler when
// one was given (the error, or null once it has exec'd; a child whose
// exec failed then ends without calling its exit handler), else as an
// exit of status 127 whose exec_error says why. settle_execs() waits for
// every outcome still unknown (a re-exec hands over only children that
// have exec'd). When the child has
// exited the rest of its group is SIGKILLed (while the leader is a zombie
// its pid cannot be reused, so the group signal cannot reach a stranger),
// the child is reaped and its exit handler runs, once. A child that died
// of SIGKILL is marked oom_killed when its cgroup's OOM kill counter says
// so (core/oom.hpp; the counter is read then, on the loop: sys/cgroup.hpp).
// reap() answers
// SIGCHLD: an app's exit that SIGCHLD reported before its pidfd did, the
// guardian's, or an orphan re-parented to hbmond as subreaper.
// kill_strays() SIGKILLs every process re-parented to hbmond (ones that
// left their app's group), sweep after sweep as their children in turn
// become hbmond's. It says whether none is left; if not, one is still
// dying, and the SIGCHLD of its end is the time to call it again. Dropping the runner SIGKILLs
// every group it still holds: no app is ever left behind.
#pragma once

#include "core/config.hpp"
#include "core/oom.hpp"
#include "core/watchdog.hpp"
#include "daemon/guardian.hpp"
#include "sys/fd.hpp"
#include "sys/loop.hpp"
#include "sys/spawn.hpp"

#include <chrono>
#include <functional>
#include <optional>
#include <string>
#include <sys/resource.h>
#include <unordered_map>
#include <unordered_set>
#include <variant>
#include <vector>

namespace hbmon {

class ProcessRunner {
public:
  struct Options {
    std::optional<rlim_t> child_nofile; // RLIMIT_NOFILE soft limit for apps
    Guardian *guardian = nullptr;       // told of every app's process group
    std::string oom_events;             // memory.events of hbmond's cgroup; empty: none
  };
  using ExitHandler = std::function<void(const ExitStatus &)>;
  // Null once the child has exec'd, else why it could not.
  using ExecHandler = std::function<void(const std::string *error)>;

  ProcessRunner(Loop &loop, Options opts);
  ProcessRunner(const ProcessRunner &) = delete;
  ProcessRunner &operator=(const ProcessRunner &) = delete;
  ~ProcessRunner();

  // Start `app`'s command with its stdout to `stdout_fd` and its stderr to
  // `stderr_fd`: the child's pid, or why it could not start.
  std::variant<pid_t, std::string> start(const AppConfig &app, int stdout_fd, int stderr_fd,
                                         ExitHandler on_exit, ExecHandler on_exec = {});
  // The same for a request built by the caller (hbmond's own helpers).
  std::variant<pid_t, std::string> launch(const SpawnRequest &r, ExitHandler on_exit,
                                          ExecHandler on_exec = {});
  // Wait (at most `bound` in all) for the exec of every child whose
  // outcome is unknown, running their handlers. False if one is still
  // unknown after that.
  bool settle_execs(std::chrono::milliseconds bound);
  // Take over a child an hbmond before a re-exec started: from here on it
  // is as if start() had made it (a child that has exited meanwhile is
  // collected at once, on the loop's next turn).
  void adopt(pid_t pid, UniqueFd pidfd, ExitHandler on_exit);
  // The child's pidfd, for a re-exec to hand over; -1 when it is not ours.
  int pidfd(pid_t pid) const;
  // Signal the child's whole group, and the child itself by its pidfd when
  // it has left its group (never twice: a trap would run twice).
  void signal(pid_t pid, int sig);
  // Signal the child alone, by its pidfd (a hang_signal: the main process).
  void signal_main(pid_t pid, int sig);
  void reap();
  // True once hbmond has no child left but the apps' and the guardian.
  bool kill_strays();
  std::size_t running() const { return children_.size(); }
  // A start now would not wait for another's first step (see sys/spawn.hpp).
  static bool can_spawn() { return spawn_slots_free() > 0; }

private:
  struct Child {
    UniqueFd pidfd;
    Loop::Watch watch;
    ExitHandler on_exit;
    // Until its exec's outcome is known.
    hbmon::Child spawned;
    Loop::Watch report_watch;
    ExecHandler on_exec;
    std::string exec_error; // its exec failed: why
    bool exec_told = false; // ... and on_exec was told so: no exit handler
  };
  // Reads the child's report pipe; runs the exec handler once the outcome
  // is known. False while it is not.
  bool settle_exec(pid_t pid, bool gone);
  // Whether the child has exited and not been waited for yet: then its
  // report holds all it ever will.
  bool has_exited(pid_t pid) const;
  void collect(pid_t pid);
  std::vector<pid_t> strays() const; // hbmond's children that are not apps' or the guardian

  Loop &loop_;
  Options opts_;
  OomLedger oom_;
  std::vector<std::string> base_env_; // hbmond's own, as apps inherit it
  std::unordered_map<pid_t, Child> children_;
  std::unordered_set<pid_t> stray_kills_; // SIGKILLed, not reaped yet: logged once
};

} // namespace hbmon

// The guardian: a small process that outlives hbmond to take its apps down
// with it.
//
// PR_SET_PDEATHSIG kills each app's first process when hbmond dies, but not
// what that process started. The guardian is forked once at start-up, in its
// own process group with every signal blocked, and waits on a pipe whose only
// writer is hbmond. When the pipe reports end-of-file (hbmond exited or was
// killed, however) it sends SIGKILL to every process group listed in a memfd
// table and exits. hbmond keeps the table current with one pwrite() per
// start and per reaped exit; it never waits for the guardian.
//
// A group is listed from its leader's spawn until hbmond reaps the leader:
// while the leader (or its zombie) exists, its pid cannot name another group.
// A process that leaves its app's session escapes the guardian (under
// systemd, the unit's cgroup still catches it).
#pragma once

#include "core/handover.hpp"
#include "sys/fd.hpp"
#include "sys/loop.hpp"

#include <cstdint>
#include <optional>
#include <sys/types.h>
#include <unordered_map>
#include <vector>

namespace hbmon {

class Guardian {
public:
  // Forks the guardian. Failure is logged; hbmond then runs without one.
  explicit Guardian(Loop &loop);
  // Take over the guardian of an hbmond before a re-exec (its pipe end,
  // table and pidfd were handed over), keeping the groups its table lists;
  // without one (it had none, or it died meanwhile) start another.
  Guardian(Loop &loop, const std::optional<handover::Guardian> &was);
  Guardian(const Guardian &) = delete;
  Guardian &operator=(const Guardian &) = delete;

  void watch(pid_t pgid);
  void forget(pid_t pgid);
  // Forget every group but `keep` (after a re-exec: the ones that were
  // listed for processes not handed over, an exec probe's).
  void forget_all_but(const std::vector<pid_t> &keep);
  // What a re-exec hands over (nullopt: no guardian).
  std::optional<handover::Guardian> handover() const;
  // The guardian's pid, 0 when there is none.
  pid_t pid() const { return pid_; }
  // Called when the guardian's pid shows up as exited: reap it, say so,
  // start another.
  void on_exit();

private:
  bool fork_guardian();
  void put(std::uint32_t slot, std::int32_t value);

  Loop &loop_;
  UniqueFd table_;  // memfd: one int32 pgid per slot, 0 for a free slot
  UniqueFd writer_; // the pipe end whose closing wakes the guardian
  UniqueFd pidfd_;
  pid_t pid_ = 0;
  Loop::Watch exit_watch_;
  std::unordered_map<pid_t, std::uint32_t> slot_of_;
  std::vector<std::uint32_t> free_slots_;
  std::uint32_t next_slot_ = 0;
  bool table_failed_ = false;
};

} // namespace hbmon

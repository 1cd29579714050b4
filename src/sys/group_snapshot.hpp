// A hung app's process group read as it is, for its forensics record (SPEC
// "Forensics"): /proc only, no signal and no ptrace. A SIGSTOP first would
// wake every blocked thread into the stop and show `T` where `S` in
// pipe_read was the answer.
//
// Contract: any read may block in the kernel (/proc/PID/syscall and stack
// take the exec lock of a process in execve) or fail (a process or thread
// that exits meanwhile, a kernel that hides the stack): what could not be
// read is left empty, never an error. Not for the loop's thread.
#pragma once

#include "core/forensics.hpp"

#include <span>
#include <sys/types.h>
#include <vector>

namespace hbmon {

// Every process of process group `pgid`, `leader` first (when it is still
// there), the others by pid; each with its threads, up to the bounds of a
// Snapshot (the rest counted as left out).
forensics::Snapshot snapshot_group(pid_t pgid, pid_t leader);

// The groups led by each of `leaders` (a leader's pid is its group's id),
// in that order, from one listing of /proc: what several hangs at once
// cost is one scan, not one each.
std::vector<forensics::Snapshot> snapshot_groups(std::span<const pid_t> leaders);

} // namespace hbmon

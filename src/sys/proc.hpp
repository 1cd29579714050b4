// Process facts from /proc and from ZeroMQ peer metadata.
#pragma once

#include "sys/fd.hpp"

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <sys/types.h>
#include <unordered_map>
#include <vector>

namespace hbmon {

struct PeerCred {
  uid_t uid;
  gid_t gid;
  pid_t pid;
};

// "localhost:<uid>:<gid>:<pid>" (ZeroMQ's Peer-Address over ipc://).
std::optional<PeerCred> parse_peer_address(std::string_view addr);

// The parent of `pid` per /proc/<pid>/stat; nullopt if gone or unreadable.
std::optional<pid_t> parent_of(pid_t pid);

// When `pid` started, in clock ticks after boot (/proc/<pid>/stat, field
// 22); nullopt if gone. With the pid it names one process: whoever reuses
// the pid starts later.
std::optional<std::uint64_t> start_time(pid_t pid);

// start_time() for a caller that asks about the same process again and
// again: while that process lives, an answer costs one poll() of a pidfd
// held for it, not a read of /proc. Holds at most one fd.
class StartTimes {
public:
  std::optional<std::uint64_t> operator()(pid_t pid);

private:
  pid_t pid_ = 0;
  std::uint64_t start_ = 0;
  UniqueFd pidfd_; // the process whose start is start_
};

// What the processes of a group use now (SPEC "Metrics"): CPU seconds
// (each member's own and those of the children it waited for; a member that
// exited and was not waited for inside the group is not there) and resident
// memory.
struct GroupUsage {
  double cpu_seconds = 0;
  std::uint64_t rss_bytes = 0;
  unsigned processes = 0;
};

// One pass over /proc: the usage of each process group in `groups` (a
// group with no process left is absent). Reads every process's stat file,
// ~10 ms for 1,000 processes: not for the loop's thread.
std::unordered_map<pid_t, GroupUsage> group_usage(const std::vector<pid_t> &groups);

// The command name of `pid` (/proc/<pid>/comm), or "?" when unreadable.
std::string process_name(pid_t pid);

// True when `pid` is `ancestor` or one of its descendants (walks at most
// `max_depth` parents).
bool is_descendant(pid_t pid, pid_t ancestor, int max_depth = 64);

} // namespace hbmon

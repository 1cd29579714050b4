// Process facts from /proc and from ZeroMQ peer metadata.
#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <sys/types.h>

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

// The command name of `pid` (/proc/<pid>/comm), or "?" when unreadable.
std::string process_name(pid_t pid);

// True when `pid` is `ancestor` or one of its descendants (walks at most
// `max_depth` parents).
bool is_descendant(pid_t pid, pid_t ancestor, int max_depth = 64);

} // namespace hbmon

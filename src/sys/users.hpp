// Account facts for authorization.
#pragma once

#include <optional>
#include <string>
#include <sys/types.h>

namespace hbmon {

// True when `uid`'s account has `group` as its primary or a supplementary
// group. False when either does not exist.
bool uid_in_group(uid_t uid, const std::string &group);

// Who serves the unix stream socket at `path`: nullopt when nothing does
// (absent or stale file), else the pid that listens on it (its
// SO_PEERCRED), or 0 when it is alive but too busy to accept a connection.
std::optional<pid_t> unix_socket_server(const std::string &path);

} // namespace hbmon

// Who owns a unix socket: the pid behind a socket path. (Accounts, users
// and groups, are sys/accounts.hpp.)
#pragma once

#include <optional>
#include <string>
#include <sys/types.h>

namespace hbmon {

// Who serves the unix stream socket at `path`: nullopt when nothing does
// (absent or stale file), else the pid that listens on it (its
// SO_PEERCRED), or 0 when it is alive but too busy to accept a connection.
std::optional<pid_t> unix_socket_server(const std::string &path);

} // namespace hbmon

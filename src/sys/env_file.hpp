// Reading an app's env_file at its start (core/env_file.hpp parses it).
//
// Contract: read_env_file() returns the file's variables, or why it cannot:
// the reason of a failed start, "env_file PATH: ...". The file holds what
// the app may be given as secrets, and what it sets reaches a process that
// may run as root: it (after any symbolic links) and every directory above
// it must belong to root or `owner` (the app's user, or hbmond's) and be
// writable by no one else, a sticky directory above it excepted
// (sys/directories.hpp's rule); it must be a regular file of at most
// max_env_file_bytes. It is opened without blocking (a FIFO is refused,
// not waited on); a small local file is read on the loop.
#pragma once

#include "core/env_file.hpp"

#include <cstddef>
#include <string>
#include <sys/types.h>
#include <variant>

namespace hbmon {

inline constexpr std::size_t max_env_file_bytes = 1024 * 1024;

std::variant<EnvVars, std::string> read_env_file(const std::string &path, uid_t owner);

} // namespace hbmon

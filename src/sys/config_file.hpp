// Reading the config file: the system half of the config (core/config.hpp
// is the pure half, which parses and verifies the text).
//
// Contract: load_config() reads `path`, which must be a regular file of at
// most max_config_bytes (opened without blocking, so a FIFO is refused
// rather than waited on), and parses it with parse_config() against the
// system's accounts (sys/accounts.hpp) and directories (sys/directories.hpp).
// Every failure is a ConfigError whose lines start with the file concerned.
//
// Drop-ins: then every `*.json` in dropin_dir(path) (hidden files and other
// names are skipped) is read, in byte order of their names, as systemd
// orders its drop-ins. Each holds {"apps": [...]} only. Since apps run as
// root unless they name a user, a drop-in another user could change is a
// root shell: the drop-in directory, each drop-in (after any symbolic links)
// and every directory above it must belong to root or hbmond's euid and be
// writable by no one else (sys/directories.hpp's rule), or the whole config
// is refused naming the file and why. A missing drop-in directory is none.
#pragma once

#include "core/config.hpp"

#include <cstddef>
#include <string>
#include <string_view>
#include <vector>

namespace hbmon {

inline constexpr std::size_t max_config_bytes = 16 * 1024 * 1024;

Config load_config(const std::string &path, std::string_view runtime_dir = default_runtime_dir);

// `<directory of config_path>/apps.d`.
std::string dropin_dir(const std::string &config_path);
// The drop-ins in `dir`, in the order they are read; none when it is missing.
std::vector<std::string> dropin_paths(const std::string &dir);

} // namespace hbmon

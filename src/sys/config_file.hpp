// Reading the config file: the system half of the config (core/config.hpp
// is the pure half, which parses and verifies the text).
//
// Contract: load_config() reads `path`, which must be a regular file of at
// most max_config_bytes (opened without blocking, so a FIFO is refused
// rather than waited on), and parses it with parse_config() against the
// system's accounts (sys/accounts.hpp) and directories (sys/directories.hpp).
// Every failure is a ConfigError whose lines start with `path`.
#pragma once

#include "core/config.hpp"

#include <cstddef>
#include <string>
#include <string_view>

namespace hbmon {

inline constexpr std::size_t max_config_bytes = 16 * 1024 * 1024;

Config load_config(const std::string &path, std::string_view runtime_dir = default_runtime_dir);

} // namespace hbmon

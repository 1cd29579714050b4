// How loud a log line is. Shared by the pure watchdog (its Log actions) and
// the daemon's logger, which maps it onto spdlog's levels.
#pragma once

#include "core/names.hpp"

namespace hbmon {

enum class LogLevel { debug, info, warning, error };

inline constexpr Names<LogLevel, 4> log_level_names{{{
    {LogLevel::debug, "debug"},
    {LogLevel::info, "info"},
    {LogLevel::warning, "warning"},
    {LogLevel::error, "error"},
}}};
static_assert(log_level_names.in_order(), "one name per LogLevel, in declaration order");

inline constexpr std::string_view to_string(LogLevel l) { return log_level_names.name(l); }

} // namespace hbmon

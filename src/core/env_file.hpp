// An app's env_file: systemd's EnvironmentFile= syntax, parsed.
//
// One KEY=VALUE per line. Empty lines and lines whose first non-blank is
// '#' or ';' are comments. Blanks around the key and before the value are
// ignored. A value is either
//   - "double quoted": \" \\ \` \$ stand for the character, a backslash at
//     the end of a line joins the next one, anything else is kept as it is,
//     and the value may span lines;
//   - 'single quoted': taken as it is, newlines included;
//   - unquoted: up to the end of the line, trailing blanks dropped; a
//     backslash escapes the next character, and at the end of a line joins
//     the next one.
// A later assignment of a key replaces an earlier one. Stricter than
// systemd, which skips a line it cannot read with a warning: here every
// such line is an error naming it, since a mistake in a file of secrets
// should not go unnoticed. Keys hbmond sets itself (HBMON_*) and those that
// belong to its service manager (NOTIFY_SOCKET, WATCHDOG_*) are refused.
//
// Contract: pure. parse_env_file() returns the variables, or the first
// problem as "line N: what is wrong".
#pragma once

#include <map>
#include <string>
#include <string_view>
#include <variant>

namespace hbmon {

using EnvVars = std::map<std::string, std::string>;

std::variant<EnvVars, std::string> parse_env_file(std::string_view text);

// Why `key` may not be set by an app's env_file, or "" if it may.
std::string refused_env_key(std::string_view key);

} // namespace hbmon

// The environment an app starts with.
//
// hbmond's own environment, less what belongs to hbmond's service manager
// and would mislead the app (NOTIFY_SOCKET, WATCHDOG_*, LISTEN_*,
// JOURNAL_STREAM) and any HBMON_* (hbmond may run under another hbmond);
// then the app's own HBMON_APP, HBMON_ENDPOINT, HBMON_INTERVAL and
// HBMON_INTERVAL_USEC, and with heartbeat.protocol "notify" systemd's
// NOTIFY_SOCKET and WATCHDOG_USEC (WATCHDOG_PID is the spawn's: only the
// child knows its pid before it runs); for an app with a `user`, USER, LOGNAME and HOME
// (the account's name and home, resolved when the config was verified)
// unless its `env` or env_file sets them; and its `env`, which wins over
// everything inherited, and its env_file's variables (`from_file`, read
// at the start), which win over its `env`. PATH, from the result, is where
// the program is looked up.
//
// Contract: pure; no user database lookup (a spawn never waits for NSS).
#pragma once

#include "core/config.hpp"
#include "core/env_file.hpp"

#include <string>
#include <string_view>
#include <vector>

namespace hbmon {

// PATH when neither hbmond's environment nor the app's sets one.
inline constexpr const char *default_path =
    "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin";

// Whether KEY=VALUE from hbmond's environment is kept from every app.
bool stripped_from_apps(std::string_view kv);

struct AppEnv {
  std::vector<std::string> env; // KEY=VALUE
  std::string path;             // the PATH it holds
};

// `inherited`: hbmond's environment (KEY=VALUE).
AppEnv app_env(const AppConfig &app, const std::vector<std::string> &inherited,
               const EnvVars &from_file = {});

} // namespace hbmon

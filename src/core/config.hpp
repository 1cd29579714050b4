// The configuration: JSON -> plain structs -> one verify pass.
//
// Contract: load_config() either returns a Config where every field is valid
// and every name/user/group is resolved, or throws ConfigError whose what()
// lists every problem found, one per line, each naming the file, the place
// (`apps[2].heartbeat.interval`) and what is wrong. Nothing here knows the
// event loop: a reload is "build a new Config, diff, apply".
#pragma once

#include "core/names.hpp"
#include "protocol/endpoints.hpp"

#include <chrono>
#include <map>
#include <optional>
#include <stdexcept>
#include <string>
#include <string_view>
#include <sys/types.h>
#include <vector>

namespace hbmon {

using Duration = std::chrono::nanoseconds;

enum class RestartPolicy { on_failure, always, never };
inline constexpr Names<RestartPolicy, 3> restart_policy_names{{{
    {RestartPolicy::on_failure, "on-failure"},
    {RestartPolicy::always, "always"},
    {RestartPolicy::never, "never"},
}}};
static_assert(restart_policy_names.in_order(), "one name per RestartPolicy, in order");
inline constexpr std::string_view to_string(RestartPolicy p) {
  return restart_policy_names.name(p);
}

struct HeartbeatConfig {
  std::string endpoint; // ipc://... or tcp://...; defaulted from the name
  Duration interval = std::chrono::seconds(1);
  unsigned misses = 2;
  Duration grace = std::chrono::seconds(2); // defaulted to 2 x interval

  bool operator==(const HeartbeatConfig &) const = default;
};

struct StartLimit {
  unsigned burst = 10;
  Duration interval = std::chrono::seconds(300);

  bool operator==(const StartLimit &) const = default;
};

struct AppConfig {
  std::string name;
  std::vector<std::string> command;
  std::optional<HeartbeatConfig> heartbeat; // nullopt: crash supervision only
  RestartPolicy restart = RestartPolicy::on_failure;
  Duration restart_delay = std::chrono::seconds(1);
  Duration backoff_max = std::chrono::seconds(60);
  StartLimit start_limit;
  int stop_signal = 15; // SIGTERM
  Duration stop_timeout = std::chrono::seconds(5);
  std::optional<std::string> user;  // as written
  std::optional<std::string> group; // as written
  std::string cwd = "/";
  std::map<std::string, std::string> env;
  bool enabled = true;

  // Resolved by verify(): the account the app runs as. Unset means
  // "hbmond's own" (no credential change).
  std::optional<uid_t> uid;
  std::optional<gid_t> gid;
  std::vector<gid_t> supplementary_groups; // only when user is set
  std::string home;                        // of user, when set

  bool operator==(const AppConfig &) const = default;
};

struct Config {
  std::string path; // where it was read from, for messages
  std::vector<AppConfig> apps;
  std::string control = default_control;
  std::string events = default_events;
  std::optional<std::string> log_level;

  const AppConfig *find(std::string_view name) const;
};

class ConfigError : public std::runtime_error {
public:
  using std::runtime_error::runtime_error;
};

// Where default endpoints live (`ipc://<dir>/<name>.hb`).
inline constexpr std::string_view default_runtime_dir = "/run/hbmond";

// Parse and verify `text` as if read from `path`. Throws ConfigError.
Config parse_config(std::string_view text, const std::string &path,
                    std::string_view runtime_dir = default_runtime_dir);

// Read `path` (a regular file, at most max_config_bytes) and parse it.
Config load_config(const std::string &path, std::string_view runtime_dir = default_runtime_dir);

inline constexpr std::size_t max_config_bytes = 16 * 1024 * 1024;

// "SIGTERM", "TERM" or a number -> signal number; 0 if unknown.
int parse_signal(std::string_view name);
// 15 -> "SIGTERM"; "SIG42" style for unnamed numbers.
std::string signal_name(int sig);

// Seconds as a double -> Duration, for flags such as --interval.
Duration seconds(double s);
double to_seconds(Duration d);

} // namespace hbmon

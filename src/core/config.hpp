// The configuration: JSON -> plain structs -> one verify pass.
//
// Contract: parse_config() either returns a Config where every field is
// valid and every name/user/group is resolved, or throws ConfigError whose
// what() lists every problem found, one per line, each naming the file, the
// place (`apps[2].heartbeat.interval`) and what is wrong. It makes no system
// call: accounts are looked up through the Accounts it is given, the
// endpoints' directories judged by the Directories it is given, and the file
// is read by sys/config_file.hpp (load_config). Nothing here knows the event
// loop: a reload is "build a new Config, diff, apply".
//
// The pieces: config_json (strict JSON), config_reader (tree -> structs),
// config_verify (the verify pass), config_messages (how problems are worded).
#pragma once

#include "core/heartbeat.hpp"
#include "core/names.hpp"
#include "protocol/endpoints.hpp"

#include <chrono>
#include <cstdint>
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
  // zmq: ipc://... or tcp://...; notify: an absolute path. Defaulted from
  // the name.
  std::string endpoint;
  Duration interval = std::chrono::seconds(1);
  unsigned misses = 2;
  Duration grace = std::chrono::seconds(2); // defaulted to 2 x interval
  HeartbeatProtocol protocol = HeartbeatProtocol::zmq;

  bool operator==(const HeartbeatConfig &) const = default;
  // The socket file hbmond binds for it ("" for tcp://).
  std::string socket_file() const;
  // systemd's WATCHDOG_USEC for a notify-protocol app: apps ping at half
  // of it, which is `interval`.
  std::chrono::microseconds watchdog_usec() const {
    return 2 * std::chrono::duration_cast<std::chrono::microseconds>(interval);
  }
};

// A liveness probe: hbmond asks the app, for apps that cannot send
// heartbeats (SPEC "Probes"). Exactly one of the three kinds.
enum class ProbeKind { exec, http, tcp };
inline constexpr Names<ProbeKind, 3> probe_kind_names{{{
    {ProbeKind::exec, "exec"},
    {ProbeKind::http, "http"},
    {ProbeKind::tcp, "tcp"},
}}};
static_assert(probe_kind_names.in_order(), "one name per ProbeKind, in order");
inline constexpr std::string_view to_string(ProbeKind k) { return probe_kind_names.name(k); }

struct ProbeConfig {
  ProbeKind kind = ProbeKind::tcp;
  std::vector<std::string> argv; // exec: the command, run as the app's user
  std::string url;               // http: as written
  std::string host;              // http, tcp: a name, an IPv4 or an IPv6 address (no brackets)
  std::uint16_t port = 0;        // http, tcp
  std::string path = "/";        // http: the path and query
  Duration interval = std::chrono::seconds(10);
  Duration timeout = std::chrono::seconds(1);
  unsigned failures = 3;
  Duration initial_delay{}; // defaulted: the heartbeat's grace, or `interval` without one

  bool operator==(const ProbeConfig &) const = default;
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
  std::optional<ProbeConfig> probe;         // nullopt: none
  RestartPolicy restart = RestartPolicy::on_failure;
  Duration restart_delay = std::chrono::seconds(1);
  Duration backoff_max = std::chrono::seconds(60);
  StartLimit start_limit;
  int stop_signal = 15; // SIGTERM
  Duration stop_timeout = std::chrono::seconds(5);
  // A hang kill (missed heartbeats, WATCHDOG=trigger, failed probes) sends
  // hang_signal to the main process, then SIGKILL to the group after
  // abort_timeout (SIGKILL: the group at once), as systemd's WatchdogSignal=.
  int hang_signal = 9; // SIGKILL
  Duration abort_timeout = std::chrono::seconds(10);
  std::optional<std::string> user;  // as written
  std::optional<std::string> group; // as written
  std::string cwd = "/";
  std::map<std::string, std::string> env;
  std::optional<std::string> env_file; // read at each start (core/env_file.hpp)
  bool enabled = true;

  // Resolved by verify(): the account the app runs as. Unset means
  // "hbmond's own" (no credential change).
  std::optional<uid_t> uid;
  std::optional<gid_t> gid;
  std::vector<gid_t> supplementary_groups; // only when user is set
  std::string account;                     // user's name, also when `user` is a number
  std::string home;                        // of user, when set

  bool operator==(const AppConfig &) const = default;
};

// `metrics` (SPEC "Metrics"): where GET /metrics is served. A numeric
// address: hbmond binds it on the loop and does not resolve names.
struct MetricsConfig {
  std::string listen; // as written: "127.0.0.1:9464", "[::1]:9464"
  std::string host;   // the address, without brackets
  std::uint16_t port = 0;
  bool operator==(const MetricsConfig &) const = default;
};

// `forensics` (SPEC "Forensics"): where the record of each hang kill goes.
inline constexpr std::string_view default_forensics_dir = "/var/lib/hbmond/forensics";
struct ForensicsConfig {
  std::string dir = std::string(default_forensics_dir);
  unsigned keep = 20; // records per app
  bool operator==(const ForensicsConfig &) const = default;
};

struct Config {
  std::string path;                 // where it was read from, for messages
  std::vector<std::string> dropins; // the drop-ins read after it, in order
  std::vector<AppConfig> apps;      // the main file's, then each drop-in's
  std::string control = default_control;
  std::string events = default_events;
  std::optional<std::string> log_level;
  std::optional<MetricsConfig> metrics;                         // none: no HTTP listener
  std::optional<ForensicsConfig> forensics = ForensicsConfig{}; // none: no records

  const AppConfig *find(std::string_view name) const;
};

class ConfigError : public std::runtime_error {
public:
  using std::runtime_error::runtime_error;
};

// Where default endpoints live (`ipc://<dir>/<name>.hb`).
inline constexpr std::string_view default_runtime_dir = "/run/hbmond";

class Accounts;    // core/accounts.hpp; sys/accounts.hpp has the system's
class Directories; // core/directories.hpp; sys/directories.hpp has the system's

// Parse and verify `text` as if read from `path`, resolving users and groups
// through `accounts` and judging the endpoints' directories through
// `directories`. Throws ConfigError.
Config parse_config(std::string_view text, const std::string &path, const Accounts &accounts,
                    const Directories &directories,
                    std::string_view runtime_dir = default_runtime_dir);

// One file's text and where it was read from.
struct ConfigSource {
  std::string path;
  std::string text;
};

// The same for a main file and its drop-ins (`{"apps": [...]}` each, in the
// order given): their apps are appended to the main file's, and verified as
// one config (a name or endpoint used in two files is a problem naming
// both). Each problem names the file it is in.
Config parse_config(const ConfigSource &main, const std::vector<ConfigSource> &dropins,
                    const Accounts &accounts, const Directories &directories,
                    std::string_view runtime_dir = default_runtime_dir);

// Seconds as a double -> Duration, for flags such as --interval.
Duration seconds(double s);
double to_seconds(Duration d);

} // namespace hbmon

// One status snapshot, one serializer: hbmonctl's table and JSON, the events
// stream and systemd's STATUS= all come from AppStatus.
#pragma once

#include "core/watchdog.hpp"

#include <array>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

namespace hbmon {

struct AppCounters {
  std::uint64_t heartbeats_refused = 0;  // from a process that is not the app
  std::uint64_t messages_dropped = 0;    // malformed or multi-part
  std::uint64_t connections_refused = 0; // over a user's budget
  std::uint64_t output_dropped = 0;      // lines over the output limit
  std::uint64_t fds_closed = 0;          // passed over a notify socket, never kept

  bool operator==(const AppCounters &) const = default;
};

struct AppStatus {
  std::string name;
  State state;
  pid_t pid = 0;     // 0: not running
  double uptime = 0; // only while it has a process
  // When it entered `state`, in Unix seconds (as the events' "time"); set
  // by whoever knows the wall clock (the supervisor).
  std::optional<double> since;
  bool enabled = true;              // the config's `enabled`
  std::vector<std::string> command; // the config's argv
  std::optional<std::string> user;  // the account it runs as; nullopt: hbmond's
  std::uint64_t restarts = 0;
  std::optional<double> last_heartbeat_age;
  std::optional<ExitStatus> last_exit;
  std::optional<std::string> status;
  bool reloading = false;   // RELOADING=1, until READY=1
  std::optional<int> error; // ERRNO=
  std::string reason;
  Result result = Result::success; // of the last run that ended
  std::uint64_t heartbeats = 0;
  std::uint64_t misses = 0;
  // The last probe's verdict and its age (s), for an app with a probe.
  struct Probe {
    bool ok = false;
    std::string reason;
    double age = 0;
    unsigned failures = 0; // in a row, this run
  };
  std::optional<Probe> last_probe;
  AppCounters counters;
};

AppStatus snapshot(const std::string &name, const Watchdog &wd, const AppCounters &c,
                   TimePoint now);

nlohmann::json to_json(const AppStatus &s);

using StateCounts = std::array<std::size_t, state_names.size()>;
StateCounts count_states(const std::vector<AppStatus> &apps);

// "3 apps: 2 running, 1 backoff" (states in their canonical order).
std::string summary(const StateCounts &counts);

} // namespace hbmon

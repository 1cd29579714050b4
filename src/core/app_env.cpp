#include "core/app_env.hpp"

#include <chrono>
#include <fmt/format.h>
#include <map>

namespace hbmon {

bool stripped_from_apps(std::string_view kv) {
  for (std::string_view k : {"NOTIFY_SOCKET=", "WATCHDOG_USEC=", "WATCHDOG_PID=", "JOURNAL_STREAM=",
                             "LISTEN_FDS=", "LISTEN_PID=", "LISTEN_FDNAMES="})
    if (kv.substr(0, k.size()) == k)
      return true;
  return kv.substr(0, 6) == "HBMON_";
}

AppEnv app_env(const AppConfig &c, const std::vector<std::string> &inherited,
               const EnvVars &from_file) {
  std::map<std::string, std::string> own = c.env;
  for (const auto &[k, v] : from_file)
    own[k] = v;
  if (c.user) {
    own.try_emplace("USER", c.account);
    own.try_emplace("LOGNAME", c.account);
    own.try_emplace("HOME", c.home);
  }
  own["HBMON_APP"] = c.name;
  if (c.heartbeat) {
    own["HBMON_ENDPOINT"] = c.heartbeat->endpoint;
    own["HBMON_INTERVAL"] = fmt::format("{:g}", to_seconds(c.heartbeat->interval));
    own["HBMON_INTERVAL_USEC"] = std::to_string(
        std::chrono::duration_cast<std::chrono::microseconds>(c.heartbeat->interval).count());
    if (c.heartbeat->protocol == HeartbeatProtocol::notify) {
      // WATCHDOG_PID, the child's own pid, is the spawn's to add.
      own["NOTIFY_SOCKET"] = c.heartbeat->endpoint;
      own["WATCHDOG_USEC"] = std::to_string(c.heartbeat->watchdog_usec().count());
    }
  }
  AppEnv out;
  out.path = default_path;
  for (const auto &kv : inherited) {
    if (stripped_from_apps(kv))
      continue;
    const auto eq = kv.find('=');
    const std::string key = kv.substr(0, eq);
    if (own.count(key))
      continue;
    if (key == "PATH")
      out.path = kv.substr(eq + 1);
    out.env.push_back(kv);
  }
  for (const auto &[k, v] : own) {
    if (k == "PATH")
      out.path = v;
    out.env.push_back(k + "=" + v);
  }
  return out;
}

} // namespace hbmon

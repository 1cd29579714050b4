#include "core/status.hpp"

#include "core/signal_names.hpp"

#include <fmt/format.h>

namespace hbmon {

namespace {
double secs(Duration d) { return to_seconds(d); }
} // namespace

AppStatus snapshot(const std::string &name, const Watchdog &wd, const AppCounters &c,
                   TimePoint now) {
  AppStatus s;
  s.name = name;
  s.state = wd.state();
  s.pid = wd.pid();
  if (wd.has_process() && wd.started_at())
    s.uptime = secs(now - *wd.started_at());
  s.restarts = wd.restarts();
  if (wd.has_process() && wd.last_heartbeat())
    s.last_heartbeat_age = secs(now - *wd.last_heartbeat());
  s.last_exit = wd.last_exit();
  s.status = wd.status_text();
  s.reloading = wd.reloading();
  s.error = wd.error();
  s.reason = wd.reason();
  s.result = wd.result();
  s.heartbeats = wd.heartbeats();
  s.misses = wd.misses_total();
  if (const auto &p = wd.last_probe())
    s.last_probe = AppStatus::Probe{p->ok, p->reason, secs(now - p->at), wd.probe_failures()};
  s.counters = c;
  s.enabled = wd.config().enabled;
  s.command = wd.config().command;
  if (wd.config().uid)
    s.user = wd.config().account;
  return s;
}

nlohmann::json to_json(const AppStatus &s) {
  using nlohmann::json;
  json j;
  j["name"] = s.name;
  j["state"] = std::string(to_string(s.state));
  j["pid"] = s.pid > 0 ? json(s.pid) : json(nullptr);
  j["uptime"] = s.pid > 0 ? json(s.uptime) : json(nullptr);
  j["since"] = s.since ? json(*s.since) : json(nullptr);
  j["enabled"] = s.enabled;
  j["command"] = s.command;
  j["user"] = s.user ? json(*s.user) : json(nullptr);
  j["restarts"] = s.restarts;
  j["last_heartbeat_age"] = s.last_heartbeat_age ? json(*s.last_heartbeat_age) : json(nullptr);
  if (!s.last_exit)
    j["last_exit"] = nullptr;
  else if (!s.last_exit->exec_error.empty())
    j["last_exit"] = {{"error", s.last_exit->exec_error}};
  else if (s.last_exit->signal)
    j["last_exit"] = {{"signal", signal_name(s.last_exit->signal)}};
  else
    j["last_exit"] = {{"code", s.last_exit->code}};
  j["status"] = s.status ? json(*s.status) : json(nullptr);
  j["reloading"] = s.reloading;
  j["errno"] = s.error ? json(*s.error) : json(nullptr);
  j["reason"] = s.reason;
  j["result"] = std::string(to_string(s.result));
  j["heartbeats"] = s.heartbeats;
  j["heartbeats_refused"] = s.counters.heartbeats_refused;
  j["messages_dropped"] = s.counters.messages_dropped;
  j["connections_refused"] = s.counters.connections_refused;
  j["output_dropped"] = s.counters.output_dropped;
  j["fds_closed"] = s.counters.fds_closed;
  j["misses"] = s.misses;
  if (s.last_probe)
    j["last_probe"] = {{"ok", s.last_probe->ok},
                       {"reason", s.last_probe->ok ? json(nullptr) : json(s.last_probe->reason)},
                       {"age", s.last_probe->age},
                       {"failures", s.last_probe->failures}};
  else
    j["last_probe"] = nullptr;
  return j;
}

StateCounts count_states(const std::vector<AppStatus> &apps) {
  StateCounts c{};
  for (const auto &a : apps)
    ++c[static_cast<std::size_t>(a.state)];
  return c;
}

std::string summary(const StateCounts &counts) {
  std::size_t total = 0;
  for (auto c : counts)
    total += c;
  std::string out = fmt::format("{} app{}", total, total == 1 ? "" : "s");
  const char *sep = ": ";
  for (const auto &[st, name] : state_names.entries) {
    if (auto n = counts[static_cast<std::size_t>(st)]) {
      out += fmt::format("{}{} {}", sep, n, to_string(st));
      sep = ", ";
    }
  }
  return out;
}

} // namespace hbmon

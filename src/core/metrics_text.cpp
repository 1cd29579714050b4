#include "core/metrics_text.hpp"

#include "core/metrics.hpp"

#include <algorithm>

namespace hbmon::metrics {

AppSample::AppSample(std::string name_, const Watchdog::Memory &m, const AppCounters &c)
    : name(std::move(name_)), state(m.state), restarts_by_result(m.restarts_by_result),
      kills(m.kills), heartbeats(m.heartbeats),
      heartbeats_refused(c.heartbeats_refused + c.messages_dropped), gaps(m.gaps), group(m.pid),
      cpu_ended(m.cpu_ended), cpu_seconds(m.cpu_shown) {}

void add_usage(AppSample &a, double live_cpu_seconds, std::uint64_t rss_bytes) {
  a.cpu_seconds = std::max(a.cpu_seconds, a.cpu_ended + live_cpu_seconds);
  a.memory_bytes = rss_bytes;
}

std::string render(const DaemonSample &daemon, std::span<const AppSample> apps) {
  Writer w;
  w.reserve(1024 + apps.size() * 2600);
  w.family("hbmond_build_info", "gauge", "hbmond's version; always 1.");
  w.sample("hbmond_build_info", {{"version", daemon.version}}, std::uint64_t{1});
  w.family("hbmond_reexecs_total", "counter",
           "Re-executions of hbmond since its first start (hbmonctl reexec, SIGUSR2).");
  w.sample("hbmond_reexecs_total", {}, daemon.reexecs);
  w.family("hbmond_loop_lag_seconds", "histogram",
           "How late hbmond's loop ran its due timers (verdicts, kills, restarts), in seconds.");
  w.histogram("hbmond_loop_lag_seconds", {}, loop_lag_bounds, daemon.loop_lag);

  w.family("hbmond_app_up", "gauge", "1 when the app is running, else 0.");
  for (const auto &a : apps)
    w.sample("hbmond_app_up", {{"app", a.name}}, std::uint64_t{a.state == State::running});

  w.family("hbmond_app_state", "gauge", "1 for the app's current state, 0 for the others.");
  for (const auto &a : apps)
    for (const auto &s : state_names.entries)
      w.sample("hbmond_app_state", {{"app", a.name}, {"state", s.name}},
               std::uint64_t{a.state == s.value});

  w.family("hbmond_app_restarts_total", "counter",
           "Restarts of the app by hbmond, by the result of the run that ended.");
  for (const auto &a : apps)
    for (const auto &r : result_names.entries)
      w.sample("hbmond_app_restarts_total", {{"app", a.name}, {"result", r.name}},
               a.restarts_by_result[static_cast<std::size_t>(r.value)]);

  w.family("hbmond_app_kills_total", "counter", "Kills of the app by hbmond, by reason.");
  for (const auto &a : apps)
    for (const auto &k : kill_reason_names.entries)
      w.sample("hbmond_app_kills_total", {{"app", a.name}, {"reason", k.name}},
               a.kills[static_cast<std::size_t>(k.value)]);

  w.family("hbmond_app_heartbeats_total", "counter", "Heartbeats of the app that hbmond took.");
  for (const auto &a : apps)
    w.sample("hbmond_app_heartbeats_total", {{"app", a.name}}, a.heartbeats);

  w.family("hbmond_app_heartbeats_refused_total", "counter",
           "Messages on the app's heartbeat socket that hbmond refused: from another process, "
           "malformed or multi-part.");
  for (const auto &a : apps)
    w.sample("hbmond_app_heartbeats_refused_total", {{"app", a.name}}, a.heartbeats_refused);

  w.family("hbmond_app_heartbeat_gap_intervals", "histogram",
           "Time between two heartbeats of one run, in units of the app's interval: about 1 on "
           "time; an app whose gaps near its misses is close to being killed.");
  for (const auto &a : apps)
    w.histogram("hbmond_app_heartbeat_gap_intervals", {{"app", a.name}}, gap_bounds, a.gaps);

  w.family("hbmond_app_cpu_seconds_total", "counter",
           "CPU seconds of the app's process group, its exited members' included.");
  for (const auto &a : apps)
    w.sample("hbmond_app_cpu_seconds_total", {{"app", a.name}}, a.cpu_seconds);

  w.family("hbmond_app_memory_bytes", "gauge",
           "Resident memory of the app's process group (the sum of its processes' RSS).");
  for (const auto &a : apps)
    w.sample("hbmond_app_memory_bytes", {{"app", a.name}}, a.memory_bytes);
  return w.take();
}

} // namespace hbmon::metrics

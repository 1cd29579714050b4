// What `hbmonctl metrics` and GET /metrics answer (SPEC "Metrics"): every
// family, hbmond's own and each app's, in the Prometheus text format.
//
// Contract: pure. A sample is a copy of what the families show, taken on
// the loop (a few hundred bytes an app); render() may run on any thread
// (at 1,000 apps it writes 2 MiB of text: the Worker's job, not the
// loop's). Families in SPEC's order, each with its HELP and TYPE once and
// then one series per app (apps in the order given); every label value a
// family can take is written, at zero too, so that a first restart is an
// increase and not a new series.
#pragma once

#include "core/metrics.hpp"
#include "core/status.hpp"
#include "core/watchdog.hpp"

#include <array>
#include <cstdint>
#include <span>
#include <string>
#include <string_view>
#include <sys/types.h>

namespace hbmon::metrics {

struct DaemonSample {
  std::string version;
  std::uint64_t reexecs = 0;
  LagHistogram loop_lag;
};

struct AppSample {
  std::string name;
  State state = State::stopped;
  std::array<std::uint64_t, result_names.entries.size()> restarts_by_result{};
  std::array<std::uint64_t, kill_reason_names.entries.size()> kills{};
  std::uint64_t heartbeats = 0;
  // From another process, malformed or multi-part: not taken.
  std::uint64_t heartbeats_refused = 0;
  GapHistogram gaps;
  // The running process group (0: none), and what its sampling adds: the
  // counter shown so far and what ended runs used, then, once sampled, the
  // CPU seconds and resident bytes of the group now.
  pid_t group = 0;
  double cpu_ended = 0;
  double cpu_seconds = 0;
  std::uint64_t memory_bytes = 0;

  AppSample() = default;
  AppSample(std::string name, const Watchdog::Memory &m, const AppCounters &c);
};

// What a sample of the live group (CPU seconds, resident bytes) makes of
// `a`'s counter: the ended runs' time and the group's, never less than shown.
void add_usage(AppSample &a, double live_cpu_seconds, std::uint64_t rss_bytes);

std::string render(const DaemonSample &daemon, std::span<const AppSample> apps);

} // namespace hbmon::metrics

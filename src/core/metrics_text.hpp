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

#include "core/status.hpp"
#include "core/watchdog.hpp"

#include <array>
#include <cstdint>
#include <span>
#include <string>
#include <string_view>

namespace hbmon::metrics {

struct DaemonSample {
  std::string version;
  std::uint64_t reexecs = 0;
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

  AppSample() = default;
  AppSample(std::string name, const Watchdog::Memory &m, const AppCounters &c);
};

std::string render(const DaemonSample &daemon, std::span<const AppSample> apps);

} // namespace hbmon::metrics

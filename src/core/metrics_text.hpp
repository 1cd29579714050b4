// What `hbmonctl metrics` and GET /metrics answer (SPEC "Metrics"): every
// family, hbmond's own and each app's, in the Prometheus text format.
//
// Contract: pure. Families in SPEC's order, each with its HELP and TYPE
// once and then one series per app (apps in the order given); every label
// value a family can take is written, at zero too, so that a first
// restart is an increase and not a new series.
#pragma once

#include "core/status.hpp"
#include "core/watchdog.hpp"

#include <cstdint>
#include <span>
#include <string>
#include <string_view>

namespace hbmon::metrics {

struct DaemonSample {
  std::string_view version;
  std::uint64_t reexecs = 0;
};

struct AppSample {
  std::string_view name;
  const Watchdog::Memory &memory;
  const AppCounters &counters;
};

std::string render(const DaemonSample &daemon, std::span<const AppSample> apps);

} // namespace hbmon::metrics

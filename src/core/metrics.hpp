// Prometheus metrics, the pure half (SPEC "Metrics"): the histograms the
// watchdogs and the loop keep, and the text exposition format (0.0.4) that
// `hbmonctl metrics` and GET /metrics serve.
//
// Contract: no clock, no I/O, no allocation per observation. A histogram
// counts its observations per bucket (each value in the first bucket whose
// upper bound it does not exceed, the last bucket being +Inf) and their
// sum; the writer makes the counts cumulative, as the format asks. The
// writer appends to one string: a family's `# HELP` and `# TYPE` lines,
// then its samples, whose label values it escapes (\\, \", \n).
#pragma once

#include "core/names.hpp"

#include <array>
#include <cstddef>
#include <cstdint>
#include <initializer_list>
#include <span>
#include <string>
#include <string_view>
#include <utility>

namespace hbmon::metrics {

template <std::size_t N> struct Histogram {
  static constexpr std::size_t buckets = N + 1; // the bounds', then +Inf
  std::array<std::uint64_t, N + 1> counts{};
  double sum = 0;

  void observe(const std::array<double, N> &bounds, double v) {
    std::size_t i = 0;
    while (i < N && v > bounds[i])
      ++i;
    ++counts[i];
    sum += v;
  }
  std::uint64_t count() const {
    std::uint64_t n = 0;
    for (auto c : counts)
      n += c;
    return n;
  }
  bool operator==(const Histogram &) const = default;
};

// The time between two accepted heartbeats of one run, in units of the
// app's interval: about 1 when on time; near `misses`, about to be killed.
inline constexpr std::array<double, 7> gap_bounds{0.5, 1, 1.25, 1.5, 2, 3, 5};
using GapHistogram = Histogram<gap_bounds.size()>;

// How late the loop ran a due deadline (a timer), in seconds: one
// observation per turn that ran any, the latest deadline's lateness. Verdicts
// are timers, so this is how late a hang can be judged.
inline constexpr std::array<double, 11> loop_lag_bounds{0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025,
                                                        0.05,   0.1,   0.25,   0.5,   1};
using LagHistogram = Histogram<loop_lag_bounds.size()>;

// Why hbmond killed an app (hbmond_app_kills_total's `reason`).
enum class KillReason { heartbeat, probe, panic, stop_timeout };
inline constexpr Names<KillReason, 4> kill_reason_names{{{
    {KillReason::heartbeat, "heartbeat"},
    {KillReason::probe, "probe"},
    {KillReason::panic, "panic"},
    {KillReason::stop_timeout, "stop-timeout"},
}}};
static_assert(kill_reason_names.in_order());

using Label = std::pair<std::string_view, std::string_view>;

class Writer {
public:
  // A family's header; its samples follow, and no other family's.
  void family(std::string_view name, std::string_view type, std::string_view help);
  void sample(std::string_view name, std::initializer_list<Label> labels, std::uint64_t value);
  void sample(std::string_view name, std::initializer_list<Label> labels, double value);
  // NAME_bucket{...,le="B"} for every bound and +Inf, NAME_sum, NAME_count.
  template <std::size_t N>
  void histogram(std::string_view name, std::initializer_list<Label> labels,
                 const std::array<double, N> &bounds, const Histogram<N> &h) {
    histogram(name, labels, bounds, h.counts, h.sum);
  }

  void reserve(std::size_t bytes) { out_.reserve(bytes); }
  const std::string &text() const { return out_; }
  std::string take() { return std::move(out_); }

private:
  void series(std::string_view name, std::initializer_list<Label> labels,
              std::string_view extra_key = {}, std::string_view extra_value = {});
  // counts: one per bound, then the +Inf one.
  void histogram(std::string_view name, std::initializer_list<Label> labels,
                 std::span<const double> bounds, std::span<const std::uint64_t> counts, double sum);

  std::string out_;
  std::string scratch_;
};

} // namespace hbmon::metrics

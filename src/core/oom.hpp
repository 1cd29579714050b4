// Which app deaths the kernel's OOM killer caused, as the cgroup v2
// counters tell: the `oom_kill` line of the unit's memory.events counts the
// processes of the cgroup (hbmond and every app) the OOM killer killed.
//
// Contract: pure (the caller reads the files: sys/cgroup.hpp). An OomLedger
// starts from the count at hbmond's start (nullopt: no counter, nothing is
// ever attributed). For each app process that died, suspect() says whether
// the counter is worth reading (it died of SIGKILL, the OOM killer's
// signal); attribute() then takes the count read and says whether the OOM
// killer killed it: the count has risen past the kills attributed so far.
// Each kill is attributed to one death only, so two apps killed together
// are both attributed, in whatever order their deaths are collected. The
// counter does not name the process: an OOM kill of a process an app
// started is attributed to the next app process that dies of SIGKILL.
#pragma once

#include "core/watchdog.hpp"

#include <charconv>
#include <csignal>
#include <cstdint>
#include <optional>
#include <string_view>

namespace hbmon {

// The `oom_kill N` line of a memory.events file; nullopt when there is none.
inline std::optional<std::uint64_t> parse_oom_kills(std::string_view events) {
  constexpr std::string_view key = "oom_kill ";
  while (!events.empty()) {
    const auto nl = events.find('\n');
    std::string_view line = events.substr(0, nl);
    events.remove_prefix(nl == std::string_view::npos ? events.size() : nl + 1);
    if (!line.starts_with(key))
      continue;
    line.remove_prefix(key.size());
    std::uint64_t n = 0;
    const auto [end, ec] = std::from_chars(line.data(), line.data() + line.size(), n);
    if (ec != std::errc{} || end != line.data() + line.size())
      return std::nullopt;
    return n;
  }
  return std::nullopt;
}

// The cgroup v2 path in /proc/self/cgroup's text (the "0::PATH" line), such
// as "/system.slice/hbmond.service"; nullopt without one.
inline std::optional<std::string_view> cgroup_v2_path(std::string_view proc_self_cgroup) {
  constexpr std::string_view key = "0::";
  while (!proc_self_cgroup.empty()) {
    const auto nl = proc_self_cgroup.find('\n');
    const std::string_view line = proc_self_cgroup.substr(0, nl);
    proc_self_cgroup.remove_prefix(nl == std::string_view::npos ? proc_self_cgroup.size() : nl + 1);
    if (line.starts_with(key) && line.size() > key.size() && line[key.size()] == '/')
      return line.substr(key.size());
  }
  return std::nullopt;
}

class OomLedger {
public:
  explicit OomLedger(std::optional<std::uint64_t> count_at_start) : accounted_(count_at_start) {}

  bool suspect(const ExitStatus &st) const {
    return accounted_ && st.signal == SIGKILL && !st.core_dumped;
  }

  bool attribute(std::optional<std::uint64_t> count_now) {
    if (!accounted_ || !count_now)
      return false;
    if (*count_now < *accounted_) { // another counter (the cgroup was recreated)
      accounted_ = count_now;
      return false;
    }
    if (*count_now == *accounted_)
      return false;
    ++*accounted_;
    return true;
  }

private:
  std::optional<std::uint64_t> accounted_; // kills at start plus those attributed
};

} // namespace hbmon

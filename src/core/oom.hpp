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

#include <cstdint>
#include <optional>
#include <string_view>

namespace hbmon {

// The `oom_kill N` line of a memory.events file; nullopt when there is none.
std::optional<std::uint64_t> parse_oom_kills(std::string_view events);

// The cgroup v2 path in /proc/self/cgroup's text (the "0::PATH" line), such
// as "/system.slice/hbmond.service"; nullopt without one.
std::optional<std::string_view> cgroup_v2_path(std::string_view proc_self_cgroup);

class OomLedger {
public:
  explicit OomLedger(std::optional<std::uint64_t> count_at_start) : accounted_(count_at_start) {}

  bool suspect(const ExitStatus &st) const;
  bool attribute(std::optional<std::uint64_t> count_now);

private:
  std::optional<std::uint64_t> accounted_; // kills at start plus those attributed
};

} // namespace hbmon

#include "core/forensics.hpp"

#include <algorithm>
#include <cctype>
#include <ctime>
#include <fmt/format.h>

namespace hbmon::forensics {

namespace {
// UTC broken down, and the milliseconds.
std::pair<std::tm, int> utc(WallTime t) {
  const auto ms = std::chrono::duration_cast<std::chrono::milliseconds>(t.time_since_epoch());
  const std::time_t secs = static_cast<std::time_t>(ms.count() / 1000);
  std::tm tm{};
  ::gmtime_r(&secs, &tm);
  return {tm, static_cast<int>(ms.count() % 1000)};
}
} // namespace

std::string record_id(WallTime t, pid_t pid) {
  const auto [tm, ms] = utc(t);
  return fmt::format("{:04}{:02}{:02}T{:02}{:02}{:02}.{:03}Z-{}", tm.tm_year + 1900, tm.tm_mon + 1,
                     tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec, ms, pid);
}

bool valid_id(std::string_view id) {
  // YYYYMMDDTHHMMSS.mmmZ-PID
  constexpr std::string_view shape = "ddddddddTdddddd.dddZ-";
  if (id.size() <= shape.size() || id.size() > shape.size() + 10)
    return false;
  for (std::size_t i = 0; i < shape.size(); ++i) {
    const char c = id[i];
    if (shape[i] == 'd' ? !std::isdigit(static_cast<unsigned char>(c)) : c != shape[i])
      return false;
  }
  return std::all_of(id.begin() + static_cast<std::ptrdiff_t>(shape.size()), id.end(),
                     [](char c) { return std::isdigit(static_cast<unsigned char>(c)); });
}

std::string iso8601(WallTime t) {
  const auto [tm, ms] = utc(t);
  return fmt::format("{:04}-{:02}-{:02}T{:02}:{:02}:{:02}.{:03}Z", tm.tm_year + 1900, tm.tm_mon + 1,
                     tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec, ms);
}

nlohmann::json record(const Facts &f, const Snapshot &group) {
  nlohmann::json beats = nlohmann::json::array();
  for (const auto &t : f.last_heartbeats)
    beats.push_back(iso8601(t));
  nlohmann::json procs = nlohmann::json::array();
  for (const auto &p : group.processes) {
    nlohmann::json threads = nlohmann::json::array();
    for (const auto &t : p.threads)
      threads.push_back({{"tid", t.tid},
                         {"comm", t.comm},
                         {"state", std::string(1, t.state)},
                         {"wchan", t.wchan},
                         {"syscall", t.syscall},
                         {"stack", t.stack ? nlohmann::json(*t.stack) : nlohmann::json(nullptr)}});
    procs.push_back({{"pid", p.pid}, {"comm", p.comm}, {"threads", std::move(threads)}});
  }
  return {{"app", f.app},
          {"pid", f.pid},
          {"reason", f.reason},
          {"time", iso8601(f.time)},
          {"last_heartbeats", std::move(beats)},
          {"status", f.status ? nlohmann::json(*f.status) : nlohmann::json(nullptr)},
          {"output", f.output},
          {"processes", std::move(procs)},
          {"processes_left_out", group.processes_left_out},
          {"threads_left_out", group.threads_left_out}};
}

std::vector<std::string> beyond(std::vector<std::string> ids, std::size_t keep) {
  std::sort(ids.begin(), ids.end());
  if (ids.size() <= keep)
    return {};
  ids.resize(ids.size() - keep);
  return ids;
}

} // namespace hbmon::forensics

#include "core/oom.hpp"

#include <charconv>
#include <csignal>

namespace hbmon {

std::optional<std::uint64_t> parse_oom_kills(std::string_view events) {
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

std::optional<std::string_view> cgroup_v2_path(std::string_view proc_self_cgroup) {
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

bool OomLedger::suspect(const ExitStatus &st) const {
  return accounted_ && st.signal == SIGKILL && !st.core_dumped;
}

bool OomLedger::attribute(std::optional<std::uint64_t> count_now) {
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

} // namespace hbmon

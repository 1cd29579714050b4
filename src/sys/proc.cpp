#include "sys/proc.hpp"

#include "sys/fd.hpp"
#include "sys/spawn.hpp"

#include <array>
#include <charconv>
#include <cstdio>
#include <dirent.h>
#include <fcntl.h>
#include <poll.h>
#include <string>
#include <unistd.h>
#include <unordered_set>

namespace hbmon {

namespace {
template <typename T> bool parse_num(std::string_view s, T &out) {
  auto [p, ec] = std::from_chars(s.data(), s.data() + s.size(), out);
  return ec == std::errc() && p == s.data() + s.size();
}
} // namespace

std::optional<PeerCred> parse_peer_address(std::string_view addr) {
  // The host part is fixed for ipc://; parse the last three fields.
  std::string_view fields[3];
  for (int i = 2; i >= 0; --i) {
    auto colon = addr.rfind(':');
    if (colon == std::string_view::npos)
      return std::nullopt;
    fields[i] = addr.substr(colon + 1);
    addr = addr.substr(0, colon);
  }
  PeerCred c{};
  if (!parse_num(fields[0], c.uid) || !parse_num(fields[1], c.gid) ||
      !parse_num(fields[2], c.pid) || c.pid <= 0)
    return std::nullopt;
  return c;
}

namespace {
// The fields of /proc/<pid>/stat from the third (state) on, in `buf`;
// empty if gone or unreadable. "pid (comm) state ppid ...": comm may hold
// spaces and parentheses, so it ends at the last ')'.
std::string_view stat_fields(pid_t pid, char (&buf)[512]) {
  char path[64];
  std::snprintf(path, sizeof path, "/proc/%d/stat", static_cast<int>(pid));
  UniqueFd fd(::open(path, O_RDONLY | O_CLOEXEC));
  if (!fd)
    return {};
  ssize_t n = ::read(fd.get(), buf, sizeof buf - 1);
  if (n <= 0)
    return {};
  std::string_view s(buf, static_cast<std::size_t>(n));
  auto close = s.rfind(')');
  if (close == std::string_view::npos || close + 2 >= s.size())
    return {};
  return s.substr(close + 2);
}

// Field `n` (1-based, as proc(5) numbers them; n >= 3) of /proc/<pid>/stat.
template <typename T> std::optional<T> stat_field(pid_t pid, int n) {
  char buf[512];
  std::string_view s = stat_fields(pid, buf);
  for (int i = 3; i < n && !s.empty(); ++i) {
    auto sp = s.find(' ');
    s = sp == std::string_view::npos ? std::string_view() : s.substr(sp + 1);
  }
  T value;
  if (s.empty() || !parse_num(s.substr(0, s.find(' ')), value))
    return std::nullopt;
  return value;
}
} // namespace

std::optional<pid_t> parent_of(pid_t pid) { return stat_field<pid_t>(pid, 4); }

std::unordered_map<pid_t, GroupUsage> group_usage(const std::vector<pid_t> &groups) {
  std::unordered_map<pid_t, GroupUsage> out;
  if (groups.empty())
    return out;
  std::unordered_set<pid_t> wanted(groups.begin(), groups.end());
  static const double tick = 1.0 / static_cast<double>(::sysconf(_SC_CLK_TCK));
  static const std::uint64_t page = static_cast<std::uint64_t>(::sysconf(_SC_PAGESIZE));
  DIR *d = ::opendir("/proc");
  if (!d)
    return out;
  while (dirent *e = ::readdir(d)) {
    pid_t pid = 0;
    if (!parse_num(std::string_view(e->d_name), pid) || pid <= 0)
      continue;
    char buf[512];
    std::string_view s = stat_fields(pid, buf);
    // Fields 3 (state) to 24 (rss): pgrp is 5, utime to cstime 14-17.
    std::array<std::string_view, 22> f;
    std::size_t n = 0;
    while (n < f.size() && !s.empty()) {
      const auto sp = s.find(' ');
      f[n++] = s.substr(0, sp);
      s = sp == std::string_view::npos ? std::string_view() : s.substr(sp + 1);
    }
    auto field = [&](int number) { return f[static_cast<std::size_t>(number - 3)]; };
    pid_t pgrp = 0;
    if (n < f.size() || !parse_num(field(5), pgrp) || !wanted.count(pgrp))
      continue;
    std::uint64_t ticks = 0, rss = 0;
    bool ok = true;
    for (int i = 14; i <= 17; ++i) {
      std::uint64_t t = 0;
      ok = ok && parse_num(field(i), t);
      ticks += t;
    }
    if (!ok || !parse_num(field(24), rss))
      continue;
    GroupUsage &g = out[pgrp];
    g.cpu_seconds += static_cast<double>(ticks) * tick;
    g.rss_bytes += rss * page;
    ++g.processes;
  }
  ::closedir(d);
  return out;
}

std::optional<std::uint64_t> start_time(pid_t pid) { return stat_field<std::uint64_t>(pid, 22); }

std::optional<std::uint64_t> StartTimes::operator()(pid_t pid) {
  if (pid == pid_ && pidfd_) {
    pollfd p{pidfd_.get(), POLLIN, 0};
    if (::poll(&p, 1, 0) == 0)
      return start_; // still the same process: it has not exited
  }
  // The pidfd first, then the start: the start read is that process's
  // while it lives; once it has exited, the poll above reads again.
  pidfd_.reset(pidfd_open(pid));
  std::optional<std::uint64_t> start = start_time(pid);
  pid_ = start && pidfd_ ? pid : 0;
  start_ = start.value_or(0);
  return start;
}

std::string process_name(pid_t pid) {
  char path[64];
  std::snprintf(path, sizeof path, "/proc/%d/comm", static_cast<int>(pid));
  UniqueFd fd(::open(path, O_RDONLY | O_CLOEXEC));
  char buf[64];
  ssize_t n = fd ? ::read(fd.get(), buf, sizeof buf) : -1;
  if (n <= 0)
    return "?";
  std::string name(buf, static_cast<std::size_t>(n));
  if (name.back() == '\n')
    name.pop_back();
  return name;
}

bool is_descendant(pid_t pid, pid_t ancestor, int max_depth) {
  if (ancestor <= 0 || pid <= 0)
    return false;
  for (int i = 0; i < max_depth && pid > 1; ++i) {
    if (pid == ancestor)
      return true;
    auto p = parent_of(pid);
    if (!p)
      return false;
    pid = *p;
  }
  return pid == ancestor;
}

} // namespace hbmon

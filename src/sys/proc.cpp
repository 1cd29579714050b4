#include "sys/proc.hpp"

#include "sys/fd.hpp"

#include <charconv>
#include <cstdio>
#include <fcntl.h>
#include <string>
#include <unistd.h>

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

std::optional<pid_t> parent_of(pid_t pid) {
  char path[64];
  std::snprintf(path, sizeof path, "/proc/%d/stat", static_cast<int>(pid));
  UniqueFd fd(::open(path, O_RDONLY | O_CLOEXEC));
  if (!fd)
    return std::nullopt;
  char buf[512];
  ssize_t n = ::read(fd.get(), buf, sizeof buf - 1);
  if (n <= 0)
    return std::nullopt;
  std::string_view s(buf, static_cast<std::size_t>(n));
  // "pid (comm) state ppid ...": comm may hold spaces and parentheses
  auto close = s.rfind(')');
  if (close == std::string_view::npos || close + 4 >= s.size())
    return std::nullopt;
  s.remove_prefix(close + 4); // ") S "
  auto sp = s.find(' ');
  pid_t ppid;
  if (!parse_num(s.substr(0, sp), ppid))
    return std::nullopt;
  return ppid;
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

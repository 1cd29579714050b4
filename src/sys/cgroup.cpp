#include "sys/cgroup.hpp"

#include "core/oom.hpp"
#include "sys/fd.hpp"

#include <cstdlib>
#include <fcntl.h>
#include <unistd.h>

namespace hbmon {

namespace {

// A kernel file of at most a page: /proc/self/cgroup, memory.events.
std::optional<std::string> read_small(const std::string &path) {
  UniqueFd fd(::open(path.c_str(), O_RDONLY | O_CLOEXEC));
  if (!fd)
    return std::nullopt;
  char buf[4096];
  const ssize_t n = ::read(fd.get(), buf, sizeof buf);
  if (n < 0)
    return std::nullopt;
  return std::string(buf, static_cast<std::size_t>(n));
}

} // namespace

std::string oom_events_file() {
  std::string dir;
  if (const char *test_dir = std::getenv("HBMOND_TEST_CGROUP_DIR"); test_dir && *test_dir) {
    dir = test_dir;
  } else {
    const auto text = read_small("/proc/self/cgroup");
    const auto path = text ? cgroup_v2_path(*text) : std::nullopt;
    if (!path)
      return {};
    dir = "/sys/fs/cgroup" + std::string(*path);
  }
  std::string file = dir + "/memory.events";
  return ::access(file.c_str(), R_OK) == 0 ? file : std::string();
}

std::optional<std::uint64_t> read_oom_kills(const std::string &events_file) {
  if (events_file.empty())
    return std::nullopt;
  const auto text = read_small(events_file);
  return text ? parse_oom_kills(*text) : std::nullopt;
}

} // namespace hbmon

#include "sys/config_file.hpp"

#include "sys/accounts.hpp"
#include "sys/directories.hpp"
#include "sys/fd.hpp"

#include <algorithm>
#include <cerrno>
#include <cstdint>
#include <fcntl.h>
#include <fmt/format.h>
#include <sys/stat.h>
#include <system_error>
#include <unistd.h>

namespace hbmon {

namespace {

std::string_view file_kind(mode_t mode) {
  static constexpr struct {
    mode_t type;
    std::string_view kind;
  } kinds[] = {
      {S_IFDIR, "a directory"},        {S_IFIFO, "a FIFO"},         {S_IFSOCK, "a socket"},
      {S_IFCHR, "a character device"}, {S_IFBLK, "a block device"}, {S_IFLNK, "a symbolic link"},
  };
  for (const auto &k : kinds)
    if ((mode & S_IFMT) == k.type)
      return k.kind;
  return "not a file";
}

[[noreturn]] void io_error(const std::string &path, std::string_view action, int error) {
  throw ConfigError(
      fmt::format("{}: {}: {}", path, action, std::generic_category().message(error)));
}

} // namespace

Config load_config(const std::string &path, std::string_view runtime_dir) {
  // O_NONBLOCK: opening a FIFO must not wait for a writer; we refuse it below.
  UniqueFd fd(::open(path.c_str(), O_RDONLY | O_CLOEXEC | O_NONBLOCK | O_NOCTTY));
  if (fd.get() < 0)
    io_error(path, "cannot read", errno);
  struct stat st {};
  if (::fstat(fd.get(), &st) < 0)
    io_error(path, "cannot read", errno);
  if (!S_ISREG(st.st_mode))
    throw ConfigError(fmt::format("{}: not a regular file (it is {}); give the path of a JSON file",
                                  path, file_kind(st.st_mode)));
  const auto too_large = [&](std::uintmax_t size) {
    return ConfigError(fmt::format("{}: too large ({} bytes); a config may be at most {} bytes",
                                   path, size, max_config_bytes));
  };
  if (static_cast<std::uintmax_t>(st.st_size) > max_config_bytes)
    throw too_large(static_cast<std::uintmax_t>(st.st_size));

  std::string text;
  text.resize(static_cast<std::size_t>(st.st_size) + 1);
  std::size_t used = 0;
  for (;;) {
    if (used == text.size()) {
      if (text.size() > max_config_bytes)
        throw too_large(used);
      text.resize(std::min(text.size() * 2 + 4096, max_config_bytes + 1));
    }
    const ssize_t n = ::read(fd.get(), text.data() + used, text.size() - used);
    if (n < 0) {
      if (errno == EINTR)
        continue;
      io_error(path, "cannot read", errno);
    }
    if (n == 0)
      break;
    used += static_cast<std::size_t>(n);
  }
  if (used > max_config_bytes)
    throw too_large(used);
  text.resize(used);
  return parse_config(text, path, system_accounts(), system_directories(), runtime_dir);
}

} // namespace hbmon

#include "sys/env_file.hpp"

#include "sys/directories.hpp"
#include "sys/fd.hpp"

#include <cerrno>
#include <cstdlib>
#include <fcntl.h>
#include <fmt/format.h>
#include <sys/stat.h>
#include <system_error>
#include <unistd.h>

namespace hbmon {

std::variant<EnvVars, std::string> read_env_file(const std::string &path, uid_t owner) {
  const auto fail = [&](const std::string &what) {
    return fmt::format("env_file {}: {}", path, what);
  };
  const auto refuse = [&](const std::string &why) {
    return fail(fmt::format("refused: {}; it and every directory above it must belong to root or "
                            "the app's user and be writable by no one else",
                            why));
  };
  const auto os_error = [&](int e) { return fail(std::generic_category().message(e)); };

  char *real = ::realpath(path.c_str(), nullptr);
  if (!real)
    return os_error(errno);
  const std::string resolved = real;
  std::free(real);
  const auto slash = resolved.rfind('/');
  const std::string dir = slash == 0 ? "/" : resolved.substr(0, slash);
  if (auto why = unsafe_directory(dir, owner))
    return refuse(*why);
  UniqueFd fd(::open(resolved.c_str(), O_RDONLY | O_CLOEXEC | O_NONBLOCK | O_NOCTTY | O_NOFOLLOW));
  if (fd.get() < 0)
    return os_error(errno);
  struct stat st {};
  if (::fstat(fd.get(), &st) < 0)
    return os_error(errno);
  if (!S_ISREG(st.st_mode))
    return fail("not a regular file");
  if (st.st_uid != 0 && st.st_uid != owner)
    return refuse(fmt::format("it belongs to uid {}", st.st_uid));
  if (st.st_mode & (S_IWGRP | S_IWOTH))
    return refuse(fmt::format("it is writable by {} (mode {:04o})",
                              (st.st_mode & S_IWOTH) ? "others" : "its group", st.st_mode & 07777));
  if (static_cast<std::size_t>(st.st_size) > max_env_file_bytes)
    return fail(fmt::format("too large ({} bytes, at most {})", st.st_size, max_env_file_bytes));
  std::string text(max_env_file_bytes + 1, '\0');
  std::size_t used = 0;
  while (used < text.size()) {
    const ssize_t n = ::read(fd.get(), text.data() + used, text.size() - used);
    if (n < 0 && errno == EINTR)
      continue;
    if (n < 0)
      return os_error(errno);
    if (n == 0)
      break;
    used += static_cast<std::size_t>(n);
  }
  if (used > max_env_file_bytes)
    return fail(fmt::format("too large (more than {} bytes)", max_env_file_bytes));
  text.resize(used);
  auto parsed = parse_env_file(text);
  if (auto *e = std::get_if<std::string>(&parsed))
    return fail(*e);
  return parsed;
}

} // namespace hbmon

#include "sys/config_file.hpp"

#include "sys/accounts.hpp"
#include "sys/directories.hpp"
#include "sys/fd.hpp"

#include <algorithm>
#include <cerrno>
#include <cstdint>
#include <cstdlib>
#include <dirent.h>
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

// The text of the file open at `fd`, which must be a regular file of at most
// max_config_bytes.
std::string read_text(int fd, const std::string &path) {
  struct stat st {};
  if (::fstat(fd, &st) < 0)
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
    const ssize_t n = ::read(fd, text.data() + used, text.size() - used);
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
  return text;
}

// O_NONBLOCK: opening a FIFO must not wait for a writer; read_text refuses it.
constexpr int open_flags = O_RDONLY | O_CLOEXEC | O_NONBLOCK | O_NOCTTY;

[[noreturn]] void refuse_dropin(const std::string &path, const std::string &why) {
  throw ConfigError(fmt::format(
      "{}: refused: {}; apps run as root unless they name a user, so a drop-in and every "
      "directory above it must belong to root (or hbmond's user) and be writable by no one "
      "else",
      path, why));
}

// A drop-in's text, once it is known that no other user could have written
// it: the file (after any symbolic links) and every directory above it are
// trusted (sys/directories.hpp's rule), and the file is writable by its
// owner alone.
std::string read_dropin(const std::string &path) {
  char *real = ::realpath(path.c_str(), nullptr);
  if (!real)
    io_error(path, "cannot read", errno);
  const std::string resolved = real;
  std::free(real);
  const std::string dir = resolved.substr(0, std::max<std::size_t>(resolved.rfind('/'), 1));
  if (auto why = unsafe_directory(dir, ::geteuid()))
    refuse_dropin(path, *why);
  // The directories above are trusted now: nobody else can swap the file.
  UniqueFd fd(::open(resolved.c_str(), open_flags | O_NOFOLLOW));
  if (fd.get() < 0)
    io_error(path, "cannot read", errno);
  struct stat st {};
  if (::fstat(fd.get(), &st) < 0)
    io_error(path, "cannot read", errno);
  if (st.st_uid != 0 && st.st_uid != ::geteuid())
    refuse_dropin(path, fmt::format("it belongs to uid {}", st.st_uid));
  if (st.st_mode & (S_IWGRP | S_IWOTH))
    refuse_dropin(path,
                  fmt::format("it is writable by {} (mode {:04o})",
                              (st.st_mode & S_IWOTH) ? "others" : "its group", st.st_mode & 07777));
  return read_text(fd.get(), path);
}

} // namespace

std::string dropin_dir(const std::string &config_path) {
  const auto slash = config_path.rfind('/');
  if (slash == std::string::npos)
    return "apps.d";
  return config_path.substr(0, slash) + "/apps.d";
}

std::vector<std::string> dropin_paths(const std::string &dir) {
  UniqueFd fd(::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC));
  if (fd.get() < 0) {
    if (errno == ENOENT)
      return {};
    io_error(dir, "cannot read the drop-in directory", errno);
  }
  DIR *d = ::fdopendir(fd.get());
  if (!d)
    io_error(dir, "cannot read the drop-in directory", errno);
  fd.release(); // closedir closes it
  std::vector<std::string> names;
  while (const dirent *e = ::readdir(d)) {
    const std::string_view name = e->d_name;
    if (name.size() > 5 && name.front() != '.' && name.substr(name.size() - 5) == ".json")
      names.emplace_back(name);
  }
  ::closedir(d);
  std::sort(names.begin(), names.end()); // byte order, as systemd sorts its drop-ins
  std::vector<std::string> paths;
  paths.reserve(names.size());
  for (const auto &n : names)
    paths.push_back(dir + "/" + n);
  return paths;
}

Config load_config(const std::string &path, std::string_view runtime_dir) {
  UniqueFd fd(::open(path.c_str(), open_flags));
  if (fd.get() < 0)
    io_error(path, "cannot read", errno);
  ConfigSource main{path, read_text(fd.get(), path)};
  const std::string dir = dropin_dir(path);
  const auto paths = dropin_paths(dir);
  if (!paths.empty())
    if (auto why = unsafe_directory(dir, ::geteuid()))
      refuse_dropin(dir, *why);
  std::vector<ConfigSource> dropins;
  for (const auto &p : paths)
    dropins.push_back({p, read_dropin(p)});
  return parse_config(main, dropins, system_accounts(), system_directories(), runtime_dir);
}

} // namespace hbmon

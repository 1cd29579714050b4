#include "sys/forensics_store.hpp"

#include "core/forensics.hpp"
#include "sys/fd.hpp"

#include <cerrno>
#include <cstring>
#include <dirent.h>
#include <fcntl.h>
#include <fmt/format.h>
#include <stdexcept>
#include <sys/stat.h>
#include <unistd.h>

namespace hbmon {

namespace {

[[noreturn]] void fail(const std::string &what, int err) {
  throw std::runtime_error(fmt::format("{}: {}", what, std::strerror(err)));
}

// `name` under `parent`, made 0700 when missing (`create`), opened as a
// directory without following a symlink, and judged: root's or ours, and
// not writable by group or others. On the way (`last` false) a sticky
// directory (/tmp) may be: no one can replace what another owns there, and
// what comes next is judged in turn.
UniqueFd open_dir(int parent, const std::string &name, const std::string &shown, bool create,
                  bool last) {
  if (create && ::mkdirat(parent, name.c_str(), 0700) < 0 && errno != EEXIST)
    fail("cannot make " + shown, errno);
  UniqueFd fd(::openat(parent, name.c_str(), O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC));
  if (!fd) {
    if (errno == ENOENT && !create)
      return fd;
    fail("cannot open " + shown + (errno == ELOOP || errno == ENOTDIR ? " (not a directory)" : ""),
         errno);
  }
  struct stat st {};
  if (::fstat(fd.get(), &st) < 0)
    fail("cannot stat " + shown, errno);
  if (st.st_uid != 0 && st.st_uid != ::geteuid())
    throw std::runtime_error(fmt::format(
        "{} belongs to uid {}, not to root or hbmond's user: no record is written there", shown,
        st.st_uid));
  if ((st.st_mode & (S_IWGRP | S_IWOTH)) && (last || !(st.st_mode & S_ISVTX)))
    throw std::runtime_error(
        fmt::format("{} is writable by group or others (mode {:04o}): no record is written there",
                    shown, st.st_mode & 07777));
  return fd;
}

// The forensics directory, then the app's, every component of the first
// judged (a symlink or a writable directory above it would do as well as one
// in it).
UniqueFd app_dir(const ForensicsConfig &cfg, const std::string &app, bool create) {
  UniqueFd dir(::open("/", O_RDONLY | O_DIRECTORY | O_CLOEXEC));
  std::string shown;
  std::size_t at = 1;
  while (at <= cfg.dir.size()) {
    auto end = cfg.dir.find('/', at);
    if (end == std::string::npos)
      end = cfg.dir.size();
    const std::string part = cfg.dir.substr(at, end - at);
    at = end + 1;
    if (part.empty() || part == ".")
      continue;
    if (part == "..")
      throw std::runtime_error(cfg.dir + ": \"..\" is not allowed in forensics.dir");
    shown += "/" + part;
    const bool final = cfg.dir.find_first_not_of('/', end) == std::string::npos;
    dir = open_dir(dir.get(), part, shown, create, final);
    if (!dir)
      return dir;
  }
  return open_dir(dir.get(), app, shown + "/" + app, create, true);
}

std::vector<std::string> ids_in(int dir) {
  std::vector<std::string> out;
  const int copy = ::dup(dir);
  DIR *d = copy >= 0 ? ::fdopendir(copy) : nullptr;
  if (!d) {
    if (copy >= 0)
      ::close(copy);
    return out;
  }
  while (dirent *e = ::readdir(d)) {
    std::string_view name(e->d_name);
    if (name.size() > 5 && name.ends_with(".json") &&
        forensics::valid_id(name.substr(0, name.size() - 5)))
      out.emplace_back(name.substr(0, name.size() - 5));
  }
  ::closedir(d);
  std::sort(out.begin(), out.end());
  return out;
}

} // namespace

std::string ForensicsStore::write(const std::string &app, const std::string &id,
                                  const std::string &text) const {
  UniqueFd dir = app_dir(cfg_, app, true);
  const std::string name = id + ".json";
  const std::string path = cfg_.dir + "/" + app + "/" + name;
  UniqueFd fd(::openat(dir.get(), name.c_str(),
                       O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600));
  if (!fd)
    fail("cannot create " + path, errno);
  std::size_t done = 0;
  while (done < text.size()) {
    const ssize_t n = ::write(fd.get(), text.data() + done, text.size() - done);
    if (n < 0) {
      if (errno == EINTR)
        continue;
      const int err = errno;
      ::unlinkat(dir.get(), name.c_str(), 0);
      fail("cannot write " + path, err);
    }
    done += static_cast<std::size_t>(n);
  }
  for (const auto &old : forensics::beyond(ids_in(dir.get()), cfg_.keep))
    ::unlinkat(dir.get(), (old + ".json").c_str(), 0);
  return path;
}

std::vector<std::string> ForensicsStore::list(const std::string &app) const {
  UniqueFd dir = app_dir(cfg_, app, false);
  return dir ? ids_in(dir.get()) : std::vector<std::string>{};
}

std::optional<std::string> ForensicsStore::read(const std::string &app,
                                                const std::string &id) const {
  if (!forensics::valid_id(id))
    return std::nullopt;
  UniqueFd dir = app_dir(cfg_, app, false);
  if (!dir)
    return std::nullopt;
  UniqueFd fd(::openat(dir.get(), (id + ".json").c_str(), O_RDONLY | O_NOFOLLOW | O_CLOEXEC));
  if (!fd)
    return std::nullopt;
  std::string out;
  char buf[65536];
  for (ssize_t n; (n = ::read(fd.get(), buf, sizeof buf)) > 0;)
    out.append(buf, static_cast<std::size_t>(n));
  return out;
}

} // namespace hbmon

#include "sys/directories.hpp"

#include "sys/accounts.hpp"
#include "sys/fd.hpp"

#include <cerrno>
#include <climits>
#include <cstdlib>
#include <fcntl.h>
#include <fmt/format.h>
#include <stdexcept>
#include <sys/stat.h>
#include <system_error>
#include <unistd.h>
#include <vector>

namespace hbmon {

namespace {

// Linux gives up after 40 links in one lookup; so do we.
constexpr int max_links = 40;

bool trusted(uid_t uid, uid_t euid) { return uid == 0 || uid == euid; }

std::string who(uid_t uid) {
  const auto user = system_accounts().user_by_id(uid).found;
  return user ? fmt::format("uid {} ({})", uid, user->name) : fmt::format("uid {}", uid);
}

std::string trusted_owners(uid_t euid) {
  return euid == 0 ? "root" : fmt::format("root or hbmond's user (uid {})", euid);
}

std::string error_text(int err) { return std::generic_category().message(err); }

bool others_may_write(mode_t mode) { return (mode & (S_IWGRP | S_IWOTH)) != 0; }

std::string writable_by(const std::string &path, mode_t mode) {
  return fmt::format("{} is writable by {} (mode {:04o})", path,
                     (mode & S_IWOTH) ? "every user" : "its group", mode & 07777);
}

// The components of `path`, the first one last, on top of `todo`.
void push_components(std::vector<std::string> &todo, const std::string &path) {
  std::vector<std::string> parts;
  std::size_t at = 0;
  while (at < path.size()) {
    std::size_t end = path.find('/', at);
    if (end == std::string::npos)
      end = path.size();
    if (end > at)
      parts.push_back(path.substr(at, end - at));
    at = end + 1;
  }
  todo.insert(todo.end(), parts.rbegin(), parts.rend());
}

std::string join(const std::string &dir, const std::string &name) {
  return dir == "/" ? "/" + name : dir + "/" + name;
}

std::optional<std::string> read_link(const std::string &path) {
  std::vector<char> buf(PATH_MAX);
  const ssize_t n = ::readlink(path.c_str(), buf.data(), buf.size());
  if (n < 0 || static_cast<std::size_t>(n) >= buf.size())
    return std::nullopt;
  return std::string(buf.data(), static_cast<std::size_t>(n));
}

class SystemDirectories final : public Directories {
public:
  std::optional<std::string> unsafe(const std::string &dir) const override {
    return unsafe_directory(dir, ::geteuid());
  }
};

} // namespace

const Directories &system_directories() {
  static const SystemDirectories dirs;
  return dirs;
}

std::optional<std::string> unsafe_directory(const std::string &dir, uid_t euid) {
  struct Level {
    std::string path; // resolved: no symbolic link in it
    mode_t mode;
  };
  std::vector<Level> levels; // "/" first, then each directory walked into
  std::vector<std::string> todo;
  push_components(todo, dir);
  int links = 0;
  std::string path = "/";
  while (true) {
    struct stat st {};
    if (::lstat(path.c_str(), &st) < 0) {
      if (errno != ENOENT || levels.empty())
        return fmt::format("cannot check {}: {}", path, error_text(errno));
      // Missing: harmless unless someone else may create it first.
      const Level &holder = levels.back();
      if (others_may_write(holder.mode))
        return fmt::format("{} does not exist, and other users may create it: {}", path,
                           writable_by(holder.path, holder.mode));
      return std::nullopt;
    }
    if (S_ISLNK(st.st_mode)) {
      if (!trusted(st.st_uid, euid))
        return fmt::format("{} is a symbolic link that belongs to {}, not to {}", path,
                           who(st.st_uid), trusted_owners(euid));
      const auto target = read_link(path);
      if (!target || target->empty())
        return fmt::format("cannot read the symbolic link {}", path);
      if (++links > max_links)
        return fmt::format("{}: too many levels of symbolic links", dir);
      if (target->front() == '/')
        levels.resize(1);
      push_components(todo, *target);
    } else if (!S_ISDIR(st.st_mode)) {
      return fmt::format("{} is not a directory", path);
    } else {
      if (!trusted(st.st_uid, euid))
        return fmt::format("{} belongs to {}, not to {}", path, who(st.st_uid),
                           trusted_owners(euid));
      // Above the last directory, the sticky bit keeps others from
      // renaming or removing what is not theirs.
      if (others_may_write(st.st_mode) && !(st.st_mode & S_ISVTX))
        return writable_by(path, st.st_mode);
      levels.push_back({path, st.st_mode});
    }
    // The next component: "." stays, ".." goes back up what was walked.
    for (; !todo.empty() && (todo.back() == "." || todo.back() == ".."); todo.pop_back())
      if (todo.back() == ".." && levels.size() > 1)
        levels.pop_back();
    if (todo.empty())
      break;
    path = join(levels.back().path, todo.back());
    todo.pop_back();
  }
  const Level &last = levels.back();
  if (others_may_write(last.mode))
    return writable_by(last.path, last.mode);
  return std::nullopt;
}

int give_socket_file(const std::string &path, std::optional<uid_t> uid, std::optional<gid_t> gid) {
  const auto slash = path.rfind('/');
  if (slash == std::string::npos)
    return EINVAL;
  const std::string dir = slash == 0 ? "/" : path.substr(0, slash);
  UniqueFd dirfd(::open(dir.c_str(), O_PATH | O_DIRECTORY | O_CLOEXEC));
  if (!dirfd)
    return errno;
  // The file itself, never what a link names; then change the inode that
  // was checked, not whatever the name points to by then.
  UniqueFd file(::openat(dirfd.get(), path.c_str() + slash + 1, O_PATH | O_NOFOLLOW | O_CLOEXEC));
  if (!file)
    return errno;
  struct stat st {};
  if (::fstat(file.get(), &st) < 0)
    return errno;
  if (S_ISLNK(st.st_mode))
    return ELOOP;
  if (!S_ISSOCK(st.st_mode))
    return ENOTSOCK;
  if (::fchownat(file.get(), "", uid ? *uid : static_cast<uid_t>(-1),
                 gid ? *gid : static_cast<gid_t>(-1), AT_EMPTY_PATH) < 0)
    return errno;
  return 0;
}

int make_runtime_dir(const std::string &dir) {
  if (::mkdir(dir.c_str(), 0755) < 0)
    return errno == EEXIST ? 0 : errno;
  // mkdir() applied our umask: under `umask 077` other users could not
  // reach their endpoints. The mode we mean, on the directory just made.
  UniqueFd fd(::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC));
  if (!fd || ::fchmod(fd.get(), 0755) < 0)
    return errno;
  return 0;
}

PrivateDir::PrivateDir(const std::string &parent, const std::string &prefix) {
  std::string tmpl = join(parent, prefix + "XXXXXX");
  if (!::mkdtemp(tmpl.data()))
    throw std::runtime_error(
        fmt::format("cannot create a directory in {}: {}", parent, error_text(errno)));
  path_ = tmpl;
  // 0700 whatever the umask: hbmond's user must be able to bind in it.
  if (::chmod(path_.c_str(), 0700) < 0) {
    const int err = errno;
    ::rmdir(path_.c_str());
    throw std::runtime_error(fmt::format("chmod {}: {}", path_, error_text(err)));
  }
}

PrivateDir::~PrivateDir() { ::rmdir(path_.c_str()); }

} // namespace hbmon

// The directories hbmond binds its sockets in, and the socket files in them.
//
// Contract:
// - system_directories() is core/directories.hpp's interface answered from
//   the file system for hbmond's effective uid; unsafe_directory() is the
//   same for any uid. The rule, walking from / to the directory and following
//   symbolic links as the kernel would: every directory on the way belongs to
//   root or to `euid`; none is writable by group or others unless it has the
//   sticky bit (like /tmp), and the last one not even then; every symbolic
//   link on the way belongs to root or `euid`; a directory that does not
//   exist yet is fine when the one that would hold it is not writable by
//   group or others (nobody else can create it first).
// - give_socket_file() changes the owner of the socket file at `path`,
//   never of a file a symbolic link (or a hard link) points to: anything but
//   a socket at `path` is refused and left untouched.
// - make_runtime_dir() creates a directory with mode 0755 whatever the umask.
// - UmaskGuard sets the process's umask for its lifetime: a socket file
//   is born with the mode bind() gives it, which only the umask decides.
// - PrivateDir is a fresh directory only its owner may enter (mode 0700),
//   removed when it goes, if it is empty by then.
#pragma once

#include "core/directories.hpp"

#include <optional>
#include <string>
#include <sys/stat.h>
#include <sys/types.h>

namespace hbmon {

const Directories &system_directories();

std::optional<std::string> unsafe_directory(const std::string &dir, uid_t euid);

// 0, or the errno value of what failed (ELOOP: a symbolic link, ENOTSOCK: not a socket).
int give_socket_file(const std::string &path, std::optional<uid_t> uid, std::optional<gid_t> gid);

// 0 when `dir` was made or already exists, else the errno value; its parent must exist.
int make_runtime_dir(const std::string &dir);

class UmaskGuard {
public:
  explicit UmaskGuard(mode_t m) : old_(::umask(m)) {}
  UmaskGuard(const UmaskGuard &) = delete;
  UmaskGuard &operator=(const UmaskGuard &) = delete;
  ~UmaskGuard() { ::umask(old_); }

private:
  mode_t old_;
};

class PrivateDir {
public:
  // mkdtemp("<parent>/<prefix>XXXXXX"); throws std::runtime_error when it cannot.
  PrivateDir(const std::string &parent, const std::string &prefix);
  PrivateDir(const PrivateDir &) = delete;
  PrivateDir &operator=(const PrivateDir &) = delete;
  ~PrivateDir();

  const std::string &path() const { return path_; }

private:
  std::string path_;
};

} // namespace hbmon

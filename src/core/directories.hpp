// Whether a directory may hold hbmond's sockets, behind an interface: the
// verify pass asks it about the directory of every ipc:// endpoint, so core
// makes no system call. sys/directories.hpp answers from the file system;
// tests give a fake.
//
// Why it matters: hbmond, often root, binds a socket file in that directory
// and then gives it to the app's user. Whoever else can change what the
// directory holds could swap the file for a link to any other file between
// the bind and the chown, or bind their own socket in its place.
//
// Contract: unsafe() returns nullopt when only root and hbmond's own user can
// change what `dir` (an absolute path) holds, else why not, in a phrase that
// names the path at fault ("/tmp/x belongs to uid 65534"). Nothing throws.
#pragma once

#include <optional>
#include <string>

namespace hbmon {

class Directories {
public:
  virtual ~Directories() = default;

  virtual std::optional<std::string> unsafe(const std::string &dir) const = 0;
};

} // namespace hbmon

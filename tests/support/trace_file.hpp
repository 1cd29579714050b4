// Appending one line to a trace file shared by many processes: the test and
// benchmark apps record what they did (start, last beat, exit) there for the
// harness to check afterwards. O_APPEND keeps concurrent lines whole.
#pragma once

#include <fcntl.h>
#include <string>
#include <unistd.h>

namespace hbtest {

inline void append_line(const char *path, const std::string &line) {
  if (!path || !*path)
    return;
  const int fd = ::open(path, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
  if (fd < 0)
    return;
  const std::string l = line + "\n";
  const ssize_t ignored = ::write(fd, l.data(), l.size());
  (void)ignored;
  ::close(fd);
}

} // namespace hbtest

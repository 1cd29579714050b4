// sys/directories.hpp against the real file system: which directories may
// hold hbmond's sockets, and a socket file given to its user without ever
// following a link. Tests that chown need root (CI runs them as root).
#include "sys/directories.hpp"

#include <cerrno>
#include <filesystem>
#include <fstream>
#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

using namespace hbmon;
using ::testing::HasSubstr;

namespace {

constexpr uid_t nobody = 65534;

class SocketDirs : public ::testing::Test {
protected:
  void SetUp() override {
    char tmpl[] = "/tmp/hbmond-dirs.XXXXXX";
    ASSERT_NE(::mkdtemp(tmpl), nullptr);
    dir_ = tmpl;
  }
  void TearDown() override {
    std::error_code ec;
    std::filesystem::remove_all(dir_, ec);
  }
  std::string at(const std::string &name) const { return dir_ + "/" + name; }
  std::string mkdir(const std::string &name, mode_t mode) const {
    const std::string p = at(name);
    EXPECT_EQ(::mkdir(p.c_str(), 0700), 0) << p;
    EXPECT_EQ(::chmod(p.c_str(), mode), 0) << p;
    return p;
  }
  static uid_t owner(const std::string &p) {
    struct stat st {};
    EXPECT_EQ(::lstat(p.c_str(), &st), 0) << p;
    return st.st_uid;
  }
  static bool root() { return ::geteuid() == 0; }

  std::string dir_; // mode 0700, root's, in /tmp (root's, sticky)
};

// A unix socket file at `path`, as libzmq's bind leaves it.
void bind_socket(const std::string &path) {
  const int fd = ::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
  ASSERT_GE(fd, 0);
  sockaddr_un addr{};
  addr.sun_family = AF_UNIX;
  path.copy(addr.sun_path, sizeof addr.sun_path - 1);
  ASSERT_EQ(::bind(fd, reinterpret_cast<sockaddr *>(&addr), sizeof addr), 0) << path;
  ::close(fd);
}

} // namespace

TEST_F(SocketDirs, ASocketFileIsGivenToItsUser) {
  if (!root())
    GTEST_SKIP() << "chown needs root";
  const std::string sock = at("web.hb");
  bind_socket(sock);
  EXPECT_EQ(give_socket_file(sock, nobody, nobody), 0);
  EXPECT_EQ(owner(sock), nobody);
}

TEST_F(SocketDirs, ALinkInPlaceOfTheSocketFileIsNeverFollowed) {
  if (!root())
    GTEST_SKIP() << "chown needs root";
  // What an attacker who could write the directory would swap in between
  // the bind and the chown: a link to a file of root's.
  const std::string target = at("shadow");
  std::ofstream(target) << "secret";
  const std::string sock = at("web.hb");
  ASSERT_EQ(::symlink(target.c_str(), sock.c_str()), 0);
  EXPECT_EQ(give_socket_file(sock, nobody, nobody), ELOOP);
  EXPECT_EQ(owner(target), 0u) << "the chown followed the link";
  EXPECT_EQ(owner(sock), 0u) << "the link itself is not the app's either";

  // A hard link is the same file: refused as not a socket.
  ASSERT_EQ(::unlink(sock.c_str()), 0);
  ASSERT_EQ(::link(target.c_str(), sock.c_str()), 0);
  EXPECT_EQ(give_socket_file(sock, nobody, nobody), ENOTSOCK);
  EXPECT_EQ(owner(target), 0u) << "the chown changed a hard-linked file";
}

TEST_F(SocketDirs, OnlyRootOrHbmondsUserMayChangeWhatTheDirectoryHolds) {
  const std::string safe = mkdir("safe", 0755);
  EXPECT_EQ(unsafe_directory(safe, 0), std::nullopt);
  EXPECT_EQ(unsafe_directory(dir_, 0), std::nullopt) << "0700 in /tmp: sticky above is fine";

  const std::string group = mkdir("group", 0775);
  EXPECT_EQ(unsafe_directory(group, 0), group + " is writable by its group (mode 0775)");
  const std::string sticky = mkdir("sticky", 01777);
  EXPECT_EQ(unsafe_directory(sticky, 0), sticky + " is writable by every user (mode 1777)")
      << "the sticky bit does not protect the socket's own directory";
  EXPECT_EQ(unsafe_directory("/tmp", 0), "/tmp is writable by every user (mode 1777)");
  const std::string below = mkdir("sticky/below", 0755);
  EXPECT_EQ(unsafe_directory(below, 0), std::nullopt) << "a sticky directory above is fine";
  const std::string open = mkdir("open", 0777);
  const std::string inner = mkdir("open/inner", 0755);
  EXPECT_EQ(unsafe_directory(inner, 0), open + " is writable by every user (mode 0777)");

  // Missing: fine where only root could create it, not where anyone could.
  EXPECT_EQ(unsafe_directory(at("safe/missing/deeper"), 0), std::nullopt);
  EXPECT_THAT(unsafe_directory(at("sticky/missing"), 0).value_or(""),
              HasSubstr(at("sticky/missing") +
                        " does not exist, and other users may create "
                        "it: " +
                        sticky + " is writable by every user"));
  EXPECT_EQ(unsafe_directory(at("safe/../group/."), 0),
            group + " is writable by its group (mode 0775)");

  if (!root())
    return;
  const std::string theirs = mkdir("theirs", 0755);
  ASSERT_EQ(::chown(theirs.c_str(), nobody, nobody), 0);
  EXPECT_EQ(unsafe_directory(theirs, 0), theirs + " belongs to uid 65534 (nobody), not to root");
  EXPECT_EQ(unsafe_directory(theirs, nobody), std::nullopt) << "hbmond's own user is trusted";
  EXPECT_EQ(unsafe_directory(safe, nobody), std::nullopt) << "and so is root";
  EXPECT_EQ(unsafe_directory(mkdir("theirs/below", 0755), 0),
            theirs + " belongs to uid 65534 (nobody), not to root");
}

TEST_F(SocketDirs, LinksAreFollowedAndMustBelongToRootOrHbmondsUser) {
  const std::string safe = mkdir("safe", 0755);
  const std::string open = mkdir("open", 0777);
  ASSERT_EQ(::symlink("safe", at("to-safe").c_str()), 0);
  ASSERT_EQ(::symlink(open.c_str(), at("to-open").c_str()), 0);
  EXPECT_EQ(unsafe_directory(at("to-safe"), 0), std::nullopt);
  EXPECT_EQ(unsafe_directory(at("to-open"), 0), open + " is writable by every user (mode 0777)");
  ASSERT_EQ(::symlink("loop", at("loop").c_str()), 0);
  EXPECT_THAT(unsafe_directory(at("loop"), 0).value_or(""),
              HasSubstr("too many levels of symbolic links"));
  if (!root())
    return;
  // In a sticky directory anyone may place a link: whose it is matters.
  const std::string sticky = mkdir("sticky", 01777);
  const std::string link = sticky + "/to-safe";
  ASSERT_EQ(::symlink(safe.c_str(), link.c_str()), 0);
  ASSERT_EQ(::lchown(link.c_str(), nobody, nobody), 0);
  EXPECT_EQ(unsafe_directory(link, 0),
            link + " is a symbolic link that belongs to uid 65534 (nobody), not to root");
}

TEST_F(SocketDirs, TheRuntimeDirIsMadeWithMode0755WhateverTheUmask) {
  const mode_t old = ::umask(077);
  const std::string rt = at("rt");
  const int err = make_runtime_dir(rt);
  ::umask(old);
  ASSERT_EQ(err, 0);
  struct stat st {};
  ASSERT_EQ(::stat(rt.c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 07777, 0755u);
  EXPECT_EQ(make_runtime_dir(rt), 0) << "one that exists is fine";
  EXPECT_EQ(make_runtime_dir(at("no/such/parent")), ENOENT);
}

TEST_F(SocketDirs, APrivateDirIsFreshOnlyItsOwnersAndGoesWithIt) {
  std::string path;
  {
    const mode_t old = ::umask(0777);
    PrivateDir d(dir_, "exec.");
    ::umask(old);
    path = d.path();
    EXPECT_EQ(path.rfind(dir_ + "/exec.", 0), 0u) << path;
    struct stat st {};
    ASSERT_EQ(::stat(path.c_str(), &st), 0);
    EXPECT_EQ(st.st_mode & 07777, 0700u);
    EXPECT_EQ(unsafe_directory(path, ::geteuid()), std::nullopt);
  }
  EXPECT_NE(::access(path.c_str(), F_OK), 0) << "removed";
  EXPECT_THROW(PrivateDir(at("missing"), "x."), std::runtime_error);
}

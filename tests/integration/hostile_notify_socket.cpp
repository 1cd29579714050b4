// A notify-protocol app's socket under attack: strangers that send
// WATCHDOG=1 to keep a hung app alive, datagrams too long, floods, fds by
// the dozen, garbage. After each, the hung app is still killed on time,
// status is answered at once, and hbmond holds no fd more than before.
#include "hostile.hpp"

#include <atomic>
#include <dirent.h>
#include <gtest/gtest.h>
#include <pwd.h>
#include <random>
#include <sys/stat.h>
#include <thread>

using namespace hbtest;

namespace {

// An app written for systemd's watchdog (tests/integration/clients) on
// socket `path`: it pings `pings` times at the pace WATCHDOG_USEC asks for
// (every 0.3 s), then hangs. Its trace goes to `trace`.
std::string notify_client(const std::string &name, const std::string &path,
                          const std::string &trace, int pings, const std::string &extra = "") {
  return R"({"name": ")" + name + R"(", "command": [")" + notify_app_path + R"(", ")" + trace +
         R"(", ")" + std::to_string(pings) +
         R"("], "heartbeat": {"protocol": "notify", "interval": 0.3, "endpoint": ")" + path +
         R"("}, "restart_delay": 0.1)" + (extra.empty() ? "" : ", " + extra) + "}";
}

// An app that never says a word, on notify socket `path`.
std::string silent(const std::string &name, const std::string &path, double interval = 5) {
  return R"({"name": ")" + name + R"(", "command": ["/bin/sleep", "infinity"], )" +
         R"("heartbeat": {"protocol": "notify", "interval": )" + std::to_string(interval) +
         R"(, "endpoint": ")" + path + R"("}, "restart_delay": 0.1})";
}

// A datagram socket of our own (not the app's process): sends to `path`.
class Stranger {
public:
  explicit Stranger(const std::string &path)
      : fd_(::socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0)) {
    sa_.sun_family = AF_UNIX;
    std::strncpy(sa_.sun_path, path.c_str(), sizeof sa_.sun_path - 1);
  }
  ~Stranger() { ::close(fd_); }
  Stranger(const Stranger &) = delete;
  Stranger &operator=(const Stranger &) = delete;

  // With `fds` passed along (SCM_RIGHTS), without waiting when `nonblock`.
  bool send(const std::string &data, const std::vector<int> &fds = {}, bool nonblock = false) {
    iovec iov{const_cast<char *>(data.data()), data.size()};
    msghdr mh{};
    mh.msg_name = &sa_;
    mh.msg_namelen = sizeof sa_;
    mh.msg_iov = &iov;
    mh.msg_iovlen = 1;
    std::vector<char> control;
    if (!fds.empty()) {
      control.resize(CMSG_SPACE(sizeof(int) * fds.size()));
      mh.msg_control = control.data();
      mh.msg_controllen = control.size();
      cmsghdr *c = CMSG_FIRSTHDR(&mh);
      c->cmsg_level = SOL_SOCKET;
      c->cmsg_type = SCM_RIGHTS;
      c->cmsg_len = CMSG_LEN(sizeof(int) * fds.size());
      std::memcpy(CMSG_DATA(c), fds.data(), sizeof(int) * fds.size());
    }
    return ::sendmsg(fd_, &mh, MSG_NOSIGNAL | (nonblock ? MSG_DONTWAIT : 0)) >= 0;
  }

private:
  int fd_;
  sockaddr_un sa_{};
};

std::uint64_t counter(Daemon &d, const std::string &app, const std::string &key) {
  const nlohmann::json st = app_status("ipc://" + d.dir() / "control", app);
  return st.is_object() ? st.value(key, std::uint64_t{0}) : 0;
}

} // namespace

// The sender rule: only the app's process or its descendants. A stranger
// (here root, which may reach any socket file) cannot keep a hung app alive.
TEST_F(Hostile, AStrangersWatchdogPingsOnANotifySocketAreRefused) {
  const std::string path = work / "hang.notify";
  // An app that says nothing at all: only a stranger's READY=1 could make it running.
  Daemon d(config_of({silent("hang", path, 0.3)}));
  ASSERT_TRUE(d.wait_started("hang")) << d.log();
  Stranger s(path);
  std::atomic<bool> stop = false;
  std::thread pinger([&] {
    while (!stop) {
      s.send("READY=1\nWATCHDOG=1");
      ::usleep(20000);
    }
  });
  EXPECT_TRUE(d.wait_for("hang: killing pid", 5s)) << d.log();
  stop = true;
  pinger.join();
  EXPECT_TRUE(d.wait_for("hang: refused a heartbeat from pid " + std::to_string(::getpid())))
      << d.log();
  EXPECT_GT(counter(d, "hang", "heartbeats_refused"), 0u);
  EXPECT_EQ(d.count("hang: starting -> running"), 0u) << "a stranger's READY=1 was taken";
}

// Oversized datagrams, garbage, a flood and datagrams carrying fds by the
// dozen: dropped or refused and counted; no fd kept; no stall.
TEST_F(Hostile, ANotifySocketSurvivesLongDatagramsGarbageFloodsAndFds) {
  const std::string path = work / "hang.notify";
  Daemon d(config_of({notify_client("hang", path, work / "hang.trace", 8)}));
  ASSERT_TRUE(d.wait_started("hang")) << d.log();
  const std::size_t fds_before = open_fds(d.pid());
  Stranger s(path);

  // Longer than a message may be (4 KiB): dropped before anything is read.
  ASSERT_TRUE(s.send(std::string(5000, 'W')));
  EXPECT_TRUE(wait_until([&] { return counter(d, "hang", "messages_dropped") >= 1; }));

  // Garbage bytes and fds: 200 fds a datagram (the kernel allows 253),
  // 50 times; hbmond receives up to 16 and the kernel closes the rest.
  std::mt19937 rng(42);
  const int devnull = ::open("/dev/null", O_RDONLY | O_CLOEXEC);
  std::vector<int> many(200, devnull);
  for (int i = 0; i < 50; ++i) {
    std::string junk(64 + rng() % 512, '\0');
    for (char &c : junk)
      c = static_cast<char>(rng());
    ASSERT_TRUE(s.send(junk, many)) << std::strerror(errno);
    ASSERT_TRUE(s.send("FDSTORE=1\nWATCHDOG=1", {devnull, devnull, devnull}));
  }
  ::close(devnull);

  // A flood, as fast as the kernel takes it, for a second.
  const auto end = Clock::now() + 1s;
  std::size_t sent = 0;
  while (Clock::now() < end)
    sent += s.send("WATCHDOG=1\nSTATUS=flood", {}, /*nonblock=*/true);
  EXPECT_GT(sent, 1000u);

  expect_hang_killed_on_time(d, "hang", 0.3, 2);
  expect_status_fast("ipc://" + d.dir() / "control");
  EXPECT_GE(counter(d, "hang", "fds_closed"), 50u * 16);
  EXPECT_TRUE(wait_until([&] { return open_fds(d.pid()) <= fds_before; }))
      << open_fds(d.pid()) << " fds open, " << fds_before << " before";
}

// Only the app's user (and root) may reach the socket: for a user outside
// the app's account the kernel refuses the send.
TEST_F(Hostile, ANotifySocketIsClosedToOtherUsers) {
  const passwd *nobody = ::getpwnam("nobody");
  const passwd *daemon_user = ::getpwnam("daemon");
  ASSERT_TRUE(nobody && daemon_user) << "needs the users nobody and daemon";
  ::chmod(work.path().c_str(), 0755);
  const std::string path = work / "own.notify";
  Daemon d(config_of({notify_client("own", path, "/dev/null", 1000, R"("user": "nobody")")}));
  ASSERT_TRUE(d.wait_started("own")) << d.log();
  const pid_t child = ::fork();
  if (child == 0) {
    if (::setgid(daemon_user->pw_gid) < 0 || ::setuid(daemon_user->pw_uid) < 0)
      ::_exit(2);
    Stranger s(path);
    ::_exit(!s.send("WATCHDOG=1") && errno == EACCES ? 0 : 1);
  }
  int status = 0;
  ASSERT_EQ(::waitpid(child, &status, 0), child);
  EXPECT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0)
      << "user daemon could send to nobody's notify socket";
}

// What is in the way of the socket file: a stale socket (a crashed hbmond's)
// is replaced; a plain file, a symbolic link or a socket some process still
// serves (of any type) is left alone, and the app cannot start, saying why.
TEST_F(Hostile, ANotifySocketPathTakenByAFileOrALinkIsNotReplaced) {
  const std::string stale = work / "stale.notify", file = work / "file.notify",
                    link = work / "link.notify", live = work / "live.notify";
  { NotifyListener left(stale); } // a socket file nobody serves any more
  std::ofstream(file) << "precious";
  ASSERT_EQ(::symlink(file.c_str(), link.c_str()), 0);
  const int server = ::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0); // someone else's, live
  sockaddr_un sa{};
  sa.sun_family = AF_UNIX;
  std::strncpy(sa.sun_path, live.c_str(), sizeof sa.sun_path - 1);
  ASSERT_EQ(::bind(server, reinterpret_cast<sockaddr *>(&sa), sizeof sa), 0);
  ASSERT_EQ(::listen(server, 4), 0);
  Daemon d(config_of({silent("stale", stale)}));
  ASSERT_TRUE(d.wait_started("stale")) << d.log();
  const std::pair<std::string, std::string> obstacles[] = {
      {file, "a file that is not a socket is in the way"},
      {link, "a file that is not a socket is in the way"},
      {live, "another process is serving it"}};
  std::size_t refused = 0;
  for (const auto &[path, why] : obstacles) {
    std::ofstream(d.config_path()) << config_of({silent("stale", stale), silent("taken", path)});
    d.signal(SIGHUP);
    ASSERT_TRUE(d.wait_count("reload refused", ++refused)) << path << "\n" << d.log();
    EXPECT_GE(d.count("bind " + path + ": " + why), 1u) << d.log();
  }
  std::ifstream in(file);
  std::string content;
  in >> content;
  EXPECT_EQ(content, "precious");
  struct stat st {};
  ASSERT_EQ(::lstat(link.c_str(), &st), 0);
  EXPECT_TRUE(S_ISLNK(st.st_mode));
  const int client = ::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
  EXPECT_EQ(::connect(client, reinterpret_cast<sockaddr *>(&sa), sizeof sa), 0)
      << "the live socket's file was taken: " << std::strerror(errno);
  ::close(client);
  ::close(server);
  expect_status_fast("ipc://" + d.dir() / "control");
}

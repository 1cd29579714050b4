// journald's native protocol with a real datagram socket standing in for
// journald's: entries of one loop turn go out together before the loop
// waits, in order, including what a hook logged in that turn; a journal
// that does not read holds them, in order, until it does.
#include "sys/journal.hpp"
#include "sys/loop.hpp"

#include <array>
#include <cstdlib>
#include <gtest/gtest.h>
#include <optional>
#include <string>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>
#include <vector>

namespace hbmon {
namespace journal_test {

// journald's socket: bound in a directory of its own, read on demand.
class Receiver {
public:
  Receiver() {
    char tmpl[] = "/tmp/hbmond-journal.XXXXXX";
    if (!::mkdtemp(tmpl))
      return; // not bound(): the test fails, nothing is bound elsewhere
    dir_ = tmpl;
    path_ = dir_ + "/socket";
    fd_ = ::socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
    sockaddr_un sa{};
    sa.sun_family = AF_UNIX;
    path_.copy(sa.sun_path, sizeof sa.sun_path - 1);
    bound_ = ::bind(fd_, reinterpret_cast<const sockaddr *>(&sa), sizeof sa) == 0;
  }
  ~Receiver() {
    gone();
    if (!dir_.empty())
      ::rmdir(dir_.c_str());
  }
  // journald went away: its socket is closed and its file removed.
  void gone() {
    if (fd_ >= 0)
      ::close(fd_);
    fd_ = -1;
    if (bound_)
      ::unlink(path_.c_str());
    bound_ = false;
  }
  Receiver(const Receiver &) = delete;
  Receiver &operator=(const Receiver &) = delete;

  bool bound() const { return bound_; }
  int fd() const { return fd_; }
  const std::string &path() const { return path_; }
  // Every entry waiting in the socket, in order.
  std::vector<std::string> take() {
    std::vector<std::string> got;
    std::array<char, 8192> buf;
    for (ssize_t n; (n = ::recv(fd_, buf.data(), buf.size(), 0)) >= 0;)
      got.emplace_back(buf.data(), static_cast<std::size_t>(n));
    return got;
  }

private:
  std::string dir_, path_;
  int fd_ = -1;
  bool bound_ = false;
};

void send_message(Journal &j, const std::string &text) {
  const std::array<Journal::Field, 1> f{{{"MESSAGE", text}}};
  j.send(f);
}

// Ends the loop after 10 s: a journal that never sends fails the test
// instead of hanging it.
Loop::Timer guard(Loop &loop) {
  auto t = loop.timer([&loop] { loop.quit(); });
  t.arm(Loop::now() + std::chrono::seconds(10));
  return t;
}

// journald's stand-in, a loop (bounded) and a journal attached to it.
struct Rig {
  Receiver r;
  Loop loop; // outlives the journal, whose watch and hook are in it
  Loop::Timer bound = guard(loop);
  Journal j{nullptr, r.path()};
  Rig() { j.attach(loop); }
};

std::string entry(int i) { return "MESSAGE=line " + std::to_string(i) + "\n"; }

TEST(Journal, ATurnsEntriesGoBeforeTheLoopWaitsAllAndInOrder) {
  Rig rig;
  ASSERT_TRUE(rig.r.bound());
  Receiver &r = rig.r; // references, not bindings: Clang 14's lambdas cannot take those
  Loop &loop = rig.loop;
  Journal &j = rig.j;
  std::vector<std::string> got;
  std::size_t seen_in_turn = 0;
  // journald reads as entries come (the socket holds only a few: 10 here,
  // net.unix.max_dgram_qlen).
  auto reading = loop.watch(r.fd(), EPOLLIN, [&](std::uint32_t) {
    auto more = r.take();
    got.insert(got.end(), more.begin(), more.end());
    if (got.size() >= 100)
      loop.quit();
  });
  auto t = loop.timer([&] {
    for (int i = 0; i < 100; ++i)
      send_message(j, "line " + std::to_string(i));
    seen_in_turn = r.take().size();
  });
  t.arm(Loop::now());
  loop.run();
  EXPECT_EQ(seen_in_turn, 0u) << "sent one by one, within the turn";
  ASSERT_EQ(got.size(), 100u);
  for (int i = 0; i < 100; ++i)
    EXPECT_EQ(got[static_cast<std::size_t>(i)], entry(i));
}

// A hook that runs before the wait may log too (a heartbeat drain that
// refuses a message): that goes before the wait as well, not at some later
// wake-up of an idle hbmond.
TEST(Journal, WhatAnotherHookLogsGoesBeforeTheWaitToo) {
  Rig rig; // the journal's hook first, as hbmond's logging is set up first
  ASSERT_TRUE(rig.r.bound());
  Receiver &r = rig.r;
  Loop &loop = rig.loop;
  Journal &j = rig.j;
  loop.add_prepare([&] {
    send_message(j, "from a hook");
    loop.quit();
    return false;
  });
  loop.run();
  const auto got = r.take();
  ASSERT_EQ(got.size(), 1u);
  EXPECT_EQ(got[0], "MESSAGE=from a hook\n");
}

// A journal that does not read: what its socket cannot take waits in the
// queue (not lost, not reordered) and goes once it reads again.
TEST(Journal, AJournalThatDoesNotReadGetsEverythingInOrderOnceItDoes) {
  Rig rig;
  ASSERT_TRUE(rig.r.bound());
  Receiver &r = rig.r;
  Loop &loop = rig.loop;
  Journal &j = rig.j;
  // More than the socket holds (its sender's buffer takes a few hundred
  // such entries), less than the journal's own bound.
  constexpr int n = 900;
  std::vector<std::string> got;
  bool held = false;
  Loop::Watch reading;
  auto wake = loop.timer([&] {
    // By now the journal has sent what the socket took and waits for it.
    held = j.waiting() > 0;
    reading = loop.watch(r.fd(), EPOLLIN, [&](std::uint32_t) {
      auto more = r.take();
      got.insert(got.end(), more.begin(), more.end());
      if (got.size() >= static_cast<std::size_t>(n))
        loop.quit();
    });
  });
  auto t = loop.timer([&] {
    for (int i = 0; i < n; ++i)
      send_message(j, "line " + std::to_string(i));
    wake.arm(Loop::now() + std::chrono::milliseconds(20));
  });
  t.arm(Loop::now());
  loop.run();
  EXPECT_TRUE(held) << "the socket took every entry: nothing was held";
  EXPECT_EQ(j.dropped(), 0u);
  ASSERT_EQ(got.size(), static_cast<std::size_t>(n));
  for (int i = 0; i < n; ++i)
    EXPECT_EQ(got[static_cast<std::size_t>(i)], entry(i)) << i;
}

// A journald that is gone when hbmond stops: detach() cannot send what
// waits, and every such entry is counted as dropped, not silently lost.
TEST(Journal, WhatDetachCannotSendIsCountedAsDropped) {
  Rig rig;
  ASSERT_TRUE(rig.r.bound());
  send_message(rig.j, "first"); // connects while journald is there
  rig.loop.add_prepare([&rig] {
    rig.loop.quit();
    return false;
  });
  rig.loop.run(); // the first entry goes
  ASSERT_EQ(rig.r.take().size(), 1u);
  for (int i = 0; i < 50; ++i)
    send_message(rig.j, "line " + std::to_string(i)); // queued: the loop is not running
  ASSERT_EQ(rig.j.waiting(), 50u);
  rig.r.gone();
  rig.j.detach(std::chrono::milliseconds(100));
  EXPECT_EQ(rig.j.waiting(), 0u);
  EXPECT_EQ(rig.j.dropped(), 50u);
}

// A journal attached to a loop, then to a later loop at the same address:
// the later loop gets its own hook, so entries go before its waits too.
TEST(Journal, ALaterLoopAtTheSameAddressGetsItsOwnHook) {
  Receiver r;
  ASSERT_TRUE(r.bound());
  Journal j{nullptr, r.path()};
  std::optional<Loop> loop;
  loop.emplace();
  j.attach(*loop);
  j.detach(std::chrono::milliseconds(0));
  const std::uint64_t first = loop->serial();
  loop.emplace(); // the same storage
  EXPECT_NE(loop->serial(), first);
  j.attach(*loop);
  loop->add_prepare([&] {
    send_message(j, "from the second loop");
    loop->quit();
    return false;
  });
  auto bounded = guard(*loop);
  loop->run();
  const auto got = r.take();
  ASSERT_EQ(got.size(), 1u);
  EXPECT_EQ(got[0], "MESSAGE=from the second loop\n");
}

} // namespace journal_test
} // namespace hbmon

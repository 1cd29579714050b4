// What waits for systemd's notify socket, on a fake clock and a fake socket
// that is full or not: READY, RELOADING, STOPPING and WATCHDOG are kept
// until they go, STATUS= is coalesced (core/notify_outbox.hpp).
#include "core/notify_outbox.hpp"
#include "fake_clock.hpp"

#include <gtest/gtest.h>
#include <string>
#include <vector>

using namespace std::chrono_literals;
using Clock = std::chrono::steady_clock;
using Outbox = hbmon::NotifyOutbox;
using Kind = Outbox::Kind;

namespace {
using hbtest::t0;

// systemd's side: takes messages while it has room.
struct Socket {
  bool full = false;
  std::vector<std::string> got;
  bool operator()(std::string_view m) {
    if (full)
      return false;
    got.emplace_back(m);
    return true;
  }
};
} // namespace

TEST(NotifyOutbox, MessagesThatMustArriveWaitWhileTheSocketIsFull) {
  Outbox box(250ms, 50ms);
  Socket sd;
  sd.full = true;
  box.must(Kind::ready, "READY=1");
  box.flush(t0, sd);
  EXPECT_TRUE(sd.got.empty());
  ASSERT_TRUE(box.next_flush());
  EXPECT_EQ(*box.next_flush(), t0 + 50ms) << "tried again soon";
  box.must(Kind::watchdog, "WATCHDOG=1");
  box.flush(t0 + 50ms, sd);
  EXPECT_EQ(*box.next_flush(), t0 + 100ms);
  sd.full = false;
  box.flush(t0 + 100ms, sd);
  EXPECT_EQ(sd.got, (std::vector<std::string>{"READY=1", "WATCHDOG=1"})) << "in order";
  EXPECT_FALSE(box.next_flush()) << "nothing left to send";
  EXPECT_EQ(box.waiting(), 0u);
}

TEST(NotifyOutbox, OneOfEachKindWaitsTheLatestAtTheBack) {
  Outbox box(250ms, 50ms);
  Socket sd;
  sd.full = true;
  for (int i = 0; i < 100; ++i)
    box.must(Kind::watchdog, "WATCHDOG=1");
  box.must(Kind::reloading, "RELOADING=1\nMONOTONIC_USEC=1");
  box.must(Kind::ready, "READY=1");
  box.must(Kind::reloading, "RELOADING=1\nMONOTONIC_USEC=2");
  box.must(Kind::ready, "READY=1");
  box.flush(t0, sd);
  EXPECT_EQ(box.waiting(), 3u) << "bounded by the kinds, not by how often they were said";
  sd.full = false;
  box.flush(t0 + 50ms, sd);
  EXPECT_EQ(sd.got,
            (std::vector<std::string>{"WATCHDOG=1", "RELOADING=1\nMONOTONIC_USEC=2", "READY=1"}));
}

TEST(NotifyOutbox, StatusIsCoalescedToOnePerGapTheLatestTextWins) {
  Outbox box(250ms, 50ms);
  Socket sd;
  box.status("1 app: 1 starting");
  box.flush(t0, sd);
  EXPECT_EQ(sd.got, (std::vector<std::string>{"STATUS=1 app: 1 starting"})) << "the first at once";
  for (int i = 1; i <= 20; ++i) {
    box.status(i % 2 ? "1 app: 1 running" : "1 app: 1 backoff");
    box.flush(t0 + i * 10ms, sd);
    ASSERT_EQ(sd.got.size(), 1u) << "held back within the gap, at " << i * 10 << " ms";
    EXPECT_EQ(*box.next_flush(), t0 + 250ms);
  }
  box.flush(t0 + 250ms, sd);
  EXPECT_EQ(sd.got.back(), "STATUS=1 app: 1 backoff") << "the latest, once the gap is over";
  EXPECT_FALSE(box.next_flush());
  box.status("1 app: 1 backoff");
  box.flush(t0 + 600ms, sd);
  EXPECT_EQ(sd.got.size(), 2u) << "an unchanged text is not sent again";
}

TEST(NotifyOutbox, AStatusThatChangesBackBeforeItGoesIsNotSent) {
  Outbox box(250ms, 50ms);
  Socket sd;
  box.status("A");
  box.flush(t0, sd);
  box.status("B");
  box.status("A");
  box.flush(t0 + 300ms, sd);
  EXPECT_EQ(sd.got, (std::vector<std::string>{"STATUS=A"}));
  EXPECT_FALSE(box.next_flush());
}

TEST(NotifyOutbox, TheLatestStatusGoesJustBeforeReadyWhateverTheGap) {
  Outbox box(250ms, 50ms);
  Socket sd;
  box.status("2 apps: 2 starting");
  box.flush(t0, sd);
  box.status("2 apps: 2 running");
  box.must(Kind::ready, "READY=1");
  box.flush(t0 + 1ms, sd);
  EXPECT_EQ(sd.got, (std::vector<std::string>{"STATUS=2 apps: 2 starting",
                                              "STATUS=2 apps: 2 running", "READY=1"}));
}

TEST(NotifyOutbox, AWatchdogPingOrAStopExtensionDoesNotCarryTheStatusAlong) {
  for (const auto &[kind, text] : {std::pair{Kind::watchdog, "WATCHDOG=1"},
                                   std::pair{Kind::extend, "EXTEND_TIMEOUT_USEC=5000000"}}) {
    Outbox box(250ms, 50ms);
    Socket sd;
    box.status("A");
    box.flush(t0, sd);
    box.status("B");
    box.must(kind, text);
    box.flush(t0 + 10ms, sd);
    EXPECT_EQ(sd.got, (std::vector<std::string>{"STATUS=A", text}));
    EXPECT_EQ(*box.next_flush(), t0 + 250ms);
  }
}

TEST(NotifyOutbox, AStatusThatWouldBlockIsTriedAgainNotLost) {
  Outbox box(250ms, 50ms);
  Socket sd;
  sd.full = true;
  box.status("A");
  box.flush(t0, sd);
  EXPECT_EQ(*box.next_flush(), t0 + 50ms);
  sd.full = false;
  box.flush(t0 + 50ms, sd);
  EXPECT_EQ(sd.got, (std::vector<std::string>{"STATUS=A"}));
}

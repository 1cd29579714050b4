// The event loop with real fds: what a callback may do to the watches of
// its own batch, and deadlines with no fd of their own.
#include "sys/loop.hpp"

#include <chrono>
#include <condition_variable>
#include <functional>
#include <gtest/gtest.h>
#include <memory>
#include <mutex>
#include <string>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <thread>
#include <unistd.h>

namespace hbmon {
namespace loop_test {

using namespace std::chrono_literals;

// An eventfd, readable from the start unless `count` is 0 (and then
// readable for good: the loop is level-triggered).
struct Ready {
  explicit Ready(unsigned count = 1) : fd(::eventfd(count, EFD_CLOEXEC | EFD_NONBLOCK)) {}
  ~Ready() { ::close(fd); }
  Ready(const Ready &) = delete;
  Ready &operator=(const Ready &) = delete;
  int fd;
};

// Ends `loop` from another thread after `bound` unless the test is done by
// then: a loop that never wakes fails the test instead of hanging it.
class Bound {
public:
  Bound(Loop &loop, std::chrono::milliseconds bound) {
    watch_ = loop.watch(wake_.fd, EPOLLIN, [&loop, this](std::uint32_t) {
      hit_ = true;
      loop.quit();
    });
    thread_ = std::thread([this, bound] {
      std::unique_lock lock(mutex_);
      if (!ended_.wait_for(lock, bound, [this] { return done_; }))
        ::eventfd_write(wake_.fd, 1);
    });
  }
  ~Bound() {
    {
      std::lock_guard lock(mutex_);
      done_ = true;
    }
    ended_.notify_one();
    thread_.join();
  }
  Bound(const Bound &) = delete;
  Bound &operator=(const Bound &) = delete;
  bool hit() const { return hit_; }

private:
  Ready wake_{0}; // readable once the thread says so
  Loop::Watch watch_;
  std::mutex mutex_;
  std::condition_variable ended_;
  bool done_ = false; // under mutex_
  bool hit_ = false;
  std::thread thread_;
};

TEST(Loop, AWatchRemovedByAnEarlierCallbackOfItsBatchIsNotCalled) {
  Loop loop;
  Ready a, b;
  int calls = 0;
  Loop::Watch wa, wb;
  // Both are readable: whichever runs first removes the other.
  wa = loop.watch(a.fd, EPOLLIN, [&](std::uint32_t) {
    ++calls;
    wb.reset();
    wa.reset();
    loop.quit();
  });
  wb = loop.watch(b.fd, EPOLLIN, [&](std::uint32_t) {
    ++calls;
    wa.reset();
    wb.reset();
    loop.quit();
  });
  loop.run();
  EXPECT_EQ(calls, 1);
  EXPECT_EQ(loop.watch_count(), 0u);
}

TEST(Loop, AWatchDroppedInItsOwnCallbackRunsToItsEndAndItsSlotServesANewOne) {
  Loop loop;
  Ready a, b;
  std::string said; // captured state the callback uses after dropping itself
  int second_calls = 0;
  Loop::Watch wa, wb;
  wa = loop.watch(a.fd, EPOLLIN, [&, words = std::string(64, 'x')](std::uint32_t) {
    wa.reset();
    said = words; // still alive: freed only after the batch
    // Added in the middle of a batch: called from the next one.
    wb = loop.watch(b.fd, EPOLLIN, [&](std::uint32_t) {
      ++second_calls;
      wb.reset();
      loop.quit();
    });
  });
  loop.run();
  EXPECT_EQ(said, std::string(64, 'x'));
  EXPECT_EQ(second_calls, 1);
}

// Two rounds of 300 watches, each called once and then dropped; the second
// round is made from a callback of the first, on the slots the first left.
TEST(Loop, ManyWatchesAddedAndRemovedEachCalledForItsOwnFdOnly) {
  Loop loop;
  constexpr int n = 300;
  std::vector<std::unique_ptr<Ready>> fds;
  std::vector<Loop::Watch> watches(n);
  std::vector<int> calls(n);
  int left = 0, round = 0;
  std::function<void()> start_round = [&] {
    fds.clear();
    left = n;
    for (int i = 0; i < n; ++i) {
      fds.push_back(std::make_unique<Ready>());
      watches[i] = loop.watch(fds[i]->fd, EPOLLIN, [&, i](std::uint32_t) {
        ++calls[i];
        watches[i].reset(); // called once, then gone
        if (--left > 0)
          return;
        if (++round == 2)
          loop.quit();
        else
          start_round();
      });
    }
  };
  start_round();
  loop.run();
  for (int i = 0; i < n; ++i)
    EXPECT_EQ(calls[i], 2) << i;
  EXPECT_EQ(loop.watch_count(), 0u);
}

// A watch the kernel refuses (a closed fd, or one that is not pollable)
// throws and leaves no slot behind: a free slot stays free, the table does
// not grow, and the next watch that works takes that slot.
TEST(Loop, AWatchTheKernelRefusesTakesNoSlot) {
  Loop loop;
  Ready ready;
  loop.watch(ready.fd, EPOLLIN, [](std::uint32_t) {}).reset(); // one slot, free now
  const std::size_t slots = loop.watch_slots();
  for (int i = 0; i < 1000; ++i)
    EXPECT_THROW(auto w = loop.watch(-1, EPOLLIN, [](std::uint32_t) {}), std::exception);
  EXPECT_EQ(loop.watch_slots(), slots);
  EXPECT_EQ(loop.watch_count(), 0u);
  bool called = false;
  auto w = loop.watch(ready.fd, EPOLLIN, [&](std::uint32_t) {
    called = true;
    loop.quit();
  });
  EXPECT_EQ(loop.watch_slots(), slots);
  loop.run();
  EXPECT_TRUE(called);
}

TEST(Loop, ADeadlineWakesAnIdleLoopAndNeverRunsEarly) {
  Loop loop;
  Bound bound(loop, 5s);
  const auto due = Loop::now() + 30ms;
  Loop::TimePoint ran{};
  Loop::Timer t = loop.timer([&] {
    ran = Loop::now();
    loop.quit();
  });
  t.arm(due);
  loop.run();
  EXPECT_FALSE(bound.hit()) << "the deadline never woke the loop";
  EXPECT_GE(ran, due);
}

} // namespace loop_test
} // namespace hbmon

// ConnectionBudget: who may hold how many connections to a socket, with
// libzmq's reports arriving late, twice, or not at all.
#include "core/connection_budget.hpp"

#include <gtest/gtest.h>
#include <set>

using hbmon::ConnectionBudget;

namespace {

constexpr uid_t root = 0, self = 998, alice = 1000, bob = 1001;

// What the kernel would say: which (fd, inode) pairs are still open.
struct Kernel {
  std::set<std::pair<int, ConnectionBudget::Inode>> open;
  int asked = 0;
  bool operator()(int fd, ConnectionBudget::Inode ino) {
    ++asked;
    return open.count({fd, ino}) > 0;
  }
};

struct Budget : ::testing::Test {
  ConnectionBudget::Pool pool{.limit = 6, .open = 0};
  Kernel kernel;
  int next_fd = 10;
  ConnectionBudget::Inode next_ino = 100;

  bool connect(ConnectionBudget &b, uid_t uid, int *fd_out = nullptr) {
    const int fd = next_fd++;
    const auto ino = next_ino++;
    kernel.open.insert({fd, ino});
    if (fd_out)
      *fd_out = fd;
    return b.accepted(fd, uid, ino, kernel);
  }
};

} // namespace

TEST_F(Budget, EachUserGetsItsShareAndNoMore) {
  ConnectionBudget b({.per_uid = 3}, pool, root, self);
  for (int i = 0; i < 3; ++i)
    EXPECT_TRUE(connect(b, alice));
  EXPECT_FALSE(connect(b, alice));
  EXPECT_FALSE(connect(b, alice));
  EXPECT_TRUE(connect(b, bob)) << "alice's flood must not cost bob his share";
  EXPECT_EQ(b.open_by(alice), 3u);
  EXPECT_EQ(b.open_by(bob), 1u);
  EXPECT_EQ(b.refused(), 2u);
  EXPECT_EQ(pool.open, 4u) << "refused connections are not counted";
}

TEST_F(Budget, AClosedConnectionGivesItsPlaceBack) {
  ConnectionBudget b({.per_uid = 2}, pool, root, self);
  int first = -1;
  EXPECT_TRUE(connect(b, alice, &first));
  EXPECT_TRUE(connect(b, alice));
  EXPECT_FALSE(connect(b, alice));
  b.closed(first);
  EXPECT_TRUE(connect(b, alice));
  EXPECT_EQ(pool.open, 2u);
}

TEST_F(Budget, ThePoolCapsAllUntrustedUsersTogetherButNotRootOrHbmond) {
  ConnectionBudget a({.per_uid = 100}, pool, root, self);
  ConnectionBudget other({.per_uid = 100}, pool, root, self); // another socket, same pool
  for (int i = 0; i < 3; ++i)
    EXPECT_TRUE(connect(a, alice));
  for (int i = 0; i < 3; ++i)
    EXPECT_TRUE(connect(other, bob));
  EXPECT_FALSE(connect(a, bob));
  EXPECT_FALSE(connect(other, alice));
  EXPECT_TRUE(connect(a, root));
  EXPECT_TRUE(connect(other, self));
  EXPECT_EQ(pool.open, 8u);
}

TEST_F(Budget, ALostCloseIsFoundBeforeAnyoneIsRefused) {
  ConnectionBudget b({.per_uid = 2}, pool, root, self);
  int fd1 = -1, fd2 = -1;
  EXPECT_TRUE(connect(b, alice, &fd1));
  EXPECT_TRUE(connect(b, alice, &fd2));
  // fd1 closed, but libzmq's report of it was lost.
  kernel.open.erase({fd1, 100});
  kernel.asked = 0;
  EXPECT_TRUE(connect(b, alice)) << "a stale entry held the budget";
  EXPECT_EQ(kernel.asked, 2) << "only alice's connections are checked";
  EXPECT_EQ(b.open_by(alice), 2u);
  EXPECT_EQ(pool.open, 2u);
}

TEST_F(Budget, AReusedFdNumberReplacesItsOldConnection) {
  ConnectionBudget b({.per_uid = 5}, pool, root, self);
  int fd = -1;
  EXPECT_TRUE(connect(b, alice, &fd));
  // The kernel reused fd for bob's connection before alice's close arrived.
  EXPECT_TRUE(b.accepted(fd, bob, 999, kernel));
  EXPECT_EQ(b.open_by(alice), 0u);
  EXPECT_EQ(b.open_by(bob), 1u);
  EXPECT_EQ(pool.open, 1u);
  b.closed(fd);
  b.closed(fd); // reported twice: no harm
  EXPECT_EQ(pool.open, 0u);
  EXPECT_EQ(b.open(), 0u);
}

TEST_F(Budget, ABudgetGoneGivesEverythingBackToThePool) {
  {
    ConnectionBudget b({.per_uid = 5}, pool, root, self);
    EXPECT_TRUE(connect(b, alice));
    EXPECT_TRUE(connect(b, bob));
    EXPECT_EQ(pool.open, 2u);
  }
  EXPECT_EQ(pool.open, 0u);
}

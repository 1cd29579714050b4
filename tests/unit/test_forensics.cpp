// Forensics records: their JSON, their names, which ones a full directory
// gives up (pure); the store on a real directory (modes, symlinks, other
// owners, pruning); and a real process group read as it is.
#include "core/forensics.hpp"
#include "sys/forensics_store.hpp"
#include "sys/group_snapshot.hpp"

#include <array>
#include <atomic>
#include <csignal>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <gtest/gtest.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <thread>
#include <unistd.h>

namespace hbmon::forensics_test {

using namespace hbmon::forensics;
using namespace std::chrono_literals;

// 2026-11-30T14:33:02.123Z
const WallTime t = WallTime(std::chrono::milliseconds(1796049182123));

TEST(ForensicsRecord, IdsAreTheUtcTimeAndThePidAndSortByTime) {
  EXPECT_EQ(record_id(t, 4242), "20261130T143302.123Z-4242");
  EXPECT_EQ(iso8601(t), "2026-11-30T14:33:02.123Z");
  EXPECT_LT(record_id(t, 99999), record_id(t + 1ms, 1));
  EXPECT_TRUE(valid_id("20261130T143302.123Z-4242"));
  for (const char *bad : {"", "..", "../x", "20261130T143302.123Z-", "20261130T143302.123Z-42/x",
                          "20261130T143302.123Z-4242.json", "x0261130T143302.123Z-4242"})
    EXPECT_FALSE(valid_id(bad)) << bad;
}

TEST(ForensicsRecord, HoldsEveryFieldOfTheSpec) {
  Facts f{"web", 4242, "missed 2 heartbeats", t, {t - 2s, t - 1s}, "serving", {"a", "b"}};
  Process p{4242,
            "web",
            {{4242, "web", 'R', "0", "running", std::nullopt},
             {4243, "reader", 'S', "pipe_read", "0", "[<0>] pipe_read+0x1/0x2"}}};
  const nlohmann::json r = record(f, {{p}, 3, 70});
  EXPECT_EQ(r["app"], "web");
  EXPECT_EQ(r["pid"], 4242);
  EXPECT_EQ(r["reason"], "missed 2 heartbeats");
  EXPECT_EQ(r["time"], "2026-11-30T14:33:02.123Z");
  EXPECT_EQ(r["last_heartbeats"],
            nlohmann::json({"2026-11-30T14:33:00.123Z", "2026-11-30T14:33:01.123Z"}));
  EXPECT_EQ(r["status"], "serving");
  EXPECT_EQ(r["output"], nlohmann::json({"a", "b"}));
  ASSERT_EQ(r["processes"].size(), 1u);
  const auto &threads = r["processes"][0]["threads"];
  ASSERT_EQ(threads.size(), 2u);
  EXPECT_EQ(threads[0]["state"], "R");
  EXPECT_TRUE(threads[0]["stack"].is_null());
  EXPECT_EQ(threads[1]["tid"], 4243);
  EXPECT_EQ(threads[1]["state"], "S");
  EXPECT_EQ(threads[1]["wchan"], "pipe_read");
  EXPECT_EQ(threads[1]["syscall"], "0");
  EXPECT_EQ(threads[1]["stack"], "[<0>] pipe_read+0x1/0x2");
  EXPECT_EQ(r["processes_left_out"], 3);
  EXPECT_EQ(r["threads_left_out"], 70);
  Facts none{"web", 1, "panic: x", t, {}, std::nullopt, {}};
  EXPECT_TRUE(record(none, {})["status"].is_null());
}

TEST(ForensicsRecord, AFullDirectoryGivesUpItsOldest) {
  EXPECT_EQ(beyond({"3", "1", "2"}, 2), std::vector<std::string>{"1"});
  EXPECT_TRUE(beyond({"1", "2"}, 2).empty());
  EXPECT_EQ(beyond({"4", "2", "3", "1"}, 1), (std::vector<std::string>{"1", "2", "3"}));
}

class Store : public ::testing::Test {
protected:
  std::string root;
  void SetUp() override {
    char tmpl[] = "/tmp/hbmond-forensics.XXXXXX";
    ASSERT_NE(::mkdtemp(tmpl), nullptr);
    root = tmpl;
  }
  void TearDown() override { std::filesystem::remove_all(root); }
  ForensicsStore store(unsigned keep = 20) { return ForensicsStore({root + "/records", keep}); }
  static mode_t mode_of(const std::string &path) {
    struct stat st {};
    ::lstat(path.c_str(), &st);
    return st.st_mode & 07777;
  }
};

TEST_F(Store, ARecordIsMode0600InADirectoryOfItsApp0700) {
  const std::string path = store().write("web", record_id(t, 7), "{\"app\": \"web\"}\n");
  EXPECT_EQ(path, root + "/records/web/20261130T143302.123Z-7.json");
  EXPECT_EQ(mode_of(path), 0600u);
  EXPECT_EQ(mode_of(root + "/records"), 0700u);
  EXPECT_EQ(mode_of(root + "/records/web"), 0700u);
  EXPECT_EQ(store().list("web"), std::vector<std::string>{"20261130T143302.123Z-7"});
  EXPECT_EQ(store().read("web", "20261130T143302.123Z-7"), "{\"app\": \"web\"}\n");
  EXPECT_FALSE(store().read("web", "20261130T143302.123Z-8"));
  EXPECT_FALSE(store().read("web", "../../etc/passwd"));
  EXPECT_TRUE(store().list("db").empty());
}

TEST_F(Store, OnlyTheNewestKeepRemain) {
  auto s = store(2);
  for (int i = 0; i < 5; ++i)
    s.write("web", record_id(t + std::chrono::seconds(i), 7), "{}");
  EXPECT_EQ(s.list("web"), (std::vector<std::string>{record_id(t + 3s, 7), record_id(t + 4s, 7)}));
}

TEST_F(Store, ASymlinkWhereTheDirectoryGoesIsRefusedNotFollowed) {
  ASSERT_EQ(::mkdir((root + "/elsewhere").c_str(), 0700), 0);
  ASSERT_EQ(::symlink((root + "/elsewhere").c_str(), (root + "/records").c_str()), 0);
  EXPECT_THROW(store().write("web", record_id(t, 7), "{}"), std::runtime_error);
  EXPECT_FALSE(std::filesystem::exists(root + "/elsewhere/web"));
}

TEST_F(Store, ASymlinkWhereTheRecordGoesIsNotFollowed) {
  auto s = store();
  s.write("web", record_id(t, 1), "{}");
  const std::string target = root + "/target";
  ASSERT_EQ(::symlink(target.c_str(), (root + "/records/web/" + record_id(t, 2) + ".json").c_str()),
            0);
  EXPECT_THROW(s.write("web", record_id(t, 2), "{}"), std::runtime_error);
  EXPECT_FALSE(std::filesystem::exists(target));
}

TEST_F(Store, ADirectoryOthersMayWriteIsRefusedWithTheReason) {
  ASSERT_EQ(::mkdir((root + "/records").c_str(), 0777), 0);
  ASSERT_EQ(::chmod((root + "/records").c_str(), 0777), 0);
  try {
    store().write("web", record_id(t, 7), "{}");
    FAIL() << "written";
  } catch (const std::runtime_error &e) {
    EXPECT_NE(std::string(e.what()).find("is writable by group or others (mode 0777)"),
              std::string::npos)
        << e.what();
  }
}

TEST_F(Store, ADirectoryOfAnotherUserIsRefused) {
  if (::geteuid() != 0)
    GTEST_FAIL() << "needs root to give a directory away";
  ASSERT_EQ(::mkdir((root + "/records").c_str(), 0700), 0);
  ASSERT_EQ(::chown((root + "/records").c_str(), 65534, 65534), 0);
  EXPECT_THROW(store().write("web", record_id(t, 7), "{}"), std::runtime_error);
}

// This very process, with a second thread blocked in read() on a pipe: read
// as it is, that thread is asleep (S) in the read system call (0).
TEST(GroupSnapshot, AThreadBlockedInAPipeReadIsSeenAsleepInRead) {
  int p[2];
  ASSERT_EQ(::pipe(p), 0);
  std::atomic<pid_t> reader_tid{0};
  std::thread reader([&] {
    reader_tid = ::gettid();
    char c;
    (void)!::read(p[0], &c, 1);
  });
  // Until it is in the read: its wchan says so.
  const auto wchan = [&] {
    std::ifstream in("/proc/self/task/" + std::to_string(reader_tid.load()) + "/wchan");
    std::string s;
    std::getline(in, s);
    return s;
  };
  for (int i = 0; i < 2000 && (reader_tid == 0 || wchan().find("pipe") == std::string::npos); ++i)
    std::this_thread::sleep_for(1ms);
  const auto group = snapshot_group(::getpgrp(), ::getpid());
  (void)!::write(p[1], "x", 1);
  reader.join();
  ::close(p[0]);
  ::close(p[1]);
  ASSERT_FALSE(group.processes.empty());
  EXPECT_EQ(group.processes_left_out, 0u);
  EXPECT_EQ(group.threads_left_out, 0u);
  bool found = false;
  for (const auto &proc : group.processes)
    for (const auto &th : proc.threads)
      if (th.tid == reader_tid) {
        found = true;
        EXPECT_EQ(th.state, 'S');
        EXPECT_NE(th.wchan.find("pipe"), std::string::npos) << th.wchan;
        EXPECT_EQ(th.syscall, "0"); // read(2) on x86-64
      }
  EXPECT_TRUE(found);
  EXPECT_EQ(group.processes.front().pid, ::getpid()); // the leader asked for comes first
}

// A group of `processes` processes, the first (its leader) with `threads`
// threads, all asleep until the group is killed; its pgid once all are
// there. Made by a forked child: this process stays single-threaded.
pid_t sleeping_group(int processes, int threads) {
  int ready[2];
  if (::pipe(ready) < 0)
    return -1;
  const pid_t leader = ::fork();
  if (leader == 0) {
    ::setpgid(0, 0);
    ::close(ready[0]);
    for (int i = 1; i < processes; ++i)
      if (::fork() == 0) {
        ::close(ready[1]);
        for (;;)
          ::pause();
      }
    std::vector<std::thread> pool;
    for (int i = 1; i < threads; ++i)
      pool.emplace_back([] {
        for (;;)
          ::pause();
      });
    (void)!::write(ready[1], "x", 1);
    for (;;)
      ::pause();
  }
  ::close(ready[1]);
  char c;
  const bool ok = ::read(ready[0], &c, 1) == 1;
  ::close(ready[0]);
  if (!ok)
    return -1;
  ::setpgid(leader, leader); // (the child did it too: whichever ran first)
  // Every member is in the group once the leader has said so: each was
  // forked by it, into its group, before it wrote.
  return leader;
}

void kill_group(pid_t pgid) {
  ::kill(-pgid, SIGKILL);
  while (::waitpid(pgid, nullptr, 0) < 0 && errno == EINTR) {
  }
}

// A record is bounded: the first 256 processes (the leader first) and 1,024
// threads in all are read, the rest only counted.
TEST(GroupSnapshot, AGroupOfThreeHundredProcessesIsReadUpToItsBoundsAndTheRestCounted) {
  const pid_t pgid = sleeping_group(300, 1);
  ASSERT_GT(pgid, 0);
  const auto group = snapshot_group(pgid, pgid);
  kill_group(pgid);
  ASSERT_EQ(group.processes.size(), Snapshot::max_processes);
  EXPECT_EQ(group.processes_left_out, 300 - Snapshot::max_processes);
  EXPECT_EQ(group.processes.front().pid, pgid);
  for (const auto &p : group.processes)
    EXPECT_EQ(p.threads.size(), 1u) << p.pid;
  EXPECT_EQ(group.threads_left_out, 0u);
}

TEST(GroupSnapshot, AProcessOfElevenHundredThreadsIsReadUpTo1024) {
  const pid_t pgid = sleeping_group(1, 1100);
  ASSERT_GT(pgid, 0);
  const auto group = snapshot_group(pgid, pgid);
  kill_group(pgid);
  ASSERT_EQ(group.processes.size(), 1u);
  EXPECT_EQ(group.processes[0].threads.size(), Snapshot::max_threads);
  EXPECT_EQ(group.threads_left_out, 1100 - Snapshot::max_threads);
  EXPECT_EQ(group.processes_left_out, 0u);
}

// Hangs that come together are read from one listing of /proc: each group
// gets its own members, its leader first, and nothing of the other's; a
// leader that is gone gets an empty record.
TEST(GroupSnapshot, GroupsReadTogetherEachGetTheirOwnMembers) {
  const pid_t a = sleeping_group(3, 1);
  ASSERT_GT(a, 0);
  const pid_t b = sleeping_group(2, 2);
  if (b <= 0)
    kill_group(a);
  ASSERT_GT(b, 0);
  const pid_t gone = sleeping_group(1, 1);
  ASSERT_GT(gone, 0);
  kill_group(gone);
  const std::array<pid_t, 3> leaders{b, gone, a};
  const auto groups = snapshot_groups(leaders);
  kill_group(a);
  kill_group(b);
  ASSERT_EQ(groups.size(), 3u);
  const auto members = [](const Snapshot &s) {
    std::vector<std::size_t> threads;
    for (const auto &p : s.processes)
      threads.push_back(p.threads.size());
    return threads;
  };
  ASSERT_EQ(members(groups[0]), (std::vector<std::size_t>{2, 1})) << "b: its leader has 2 threads";
  EXPECT_EQ(groups[0].processes.front().pid, b);
  EXPECT_TRUE(groups[1].processes.empty());
  ASSERT_EQ(members(groups[2]), (std::vector<std::size_t>{1, 1, 1}));
  EXPECT_EQ(groups[2].processes.front().pid, a);
}

} // namespace hbmon::forensics_test

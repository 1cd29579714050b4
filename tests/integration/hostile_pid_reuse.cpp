// A heartbeat from a process that got the pid of one the app's heartbeats
// came from: a pid is not a process (core/sender_check.hpp).
#include "harness.hpp"

#include <gtest/gtest.h>
#include <linux/sched.h>

using namespace hbtest;

namespace {

// Start `argv` as a child of this test with the pid `pid` (clone3's
// set_tid, which needs root; fails with EEXIST when the pid is taken):
// its pid, or -1.
pid_t spawn_with_pid(pid_t pid, std::vector<std::string> argv, std::vector<std::string> env) {
  std::vector<char *> args, envp;
  for (auto &a : argv)
    args.push_back(a.data());
  args.push_back(nullptr);
  for (auto &e : env)
    envp.push_back(e.data());
  envp.push_back(nullptr);
  clone_args ca{};
  ca.exit_signal = SIGCHLD;
  ca.set_tid = reinterpret_cast<std::uint64_t>(&pid);
  ca.set_tid_size = 1;
  const long r = ::syscall(SYS_clone3, &ca, sizeof ca);
  if (r == 0) {
    ::execve(args[0], args.data(), envp.data());
    ::_exit(127);
  }
  return static_cast<pid_t>(r);
}

} // namespace

TEST(PidReuse, AStrangerWithARecycledPidCannotKeepAHungAppAlive) {
  TempDir work;
  const std::string ep = "ipc://" + work / "victim.hb", trace = work / "victim.trace";
  // The app's child beats three times and exits; the app reaps it and hangs.
  Daemon d(config_of({app_json("victim", "--child-beats 3 --period 0.1 --then hang",
                               R"("restart": "never", "heartbeat": {"interval": 0.5, "misses": 2, )"
                               R"("endpoint": ")" +
                                   ep + "\"}",
                               trace)}));
  auto pid = d.wait_started("victim");
  ASSERT_TRUE(pid) << d.log();
  const int fd = pidfd_open(*pid);
  ASSERT_GE(fd, 0);
  std::vector<TraceLine> reaped;
  ASSERT_TRUE(wait_until([&] {
    reaped = trace_of(read_trace(trace), "reaped");
    return !reaped.empty();
  })) << d.log();
  ASSERT_TRUE(d.wait_for("victim: starting -> running")) << "the child's beats were refused\n"
                                                         << d.log();
  // A stranger, this test's child, gets the child's pid and beats every 50 ms.
  const pid_t reused = static_cast<pid_t>(reaped[0].values.at(0));
  const std::string stranger_trace = work / "stranger.trace";
  const pid_t stranger = spawn_with_pid(
      reused, {app_path, "--trace", stranger_trace, "--beats", "1000000", "--period", "0.05"},
      {"HBMON_ENDPOINT=" + ep});
  ASSERT_EQ(stranger, reused) << "clone3 with set_tid: " << std::strerror(errno);
  const int stranger_fd = pidfd_open(stranger);
  auto gone = wait_pidfd(fd, 5s);
  kill_pidfd(stranger_fd);
  ::waitpid(stranger, nullptr, 0);
  ::close(stranger_fd);
  ::close(fd);
  ASSERT_TRUE(gone) << "the stranger's beats kept the hung app alive\n" << d.log();

  // The app was due 2 x 0.5 s after the child's last beat (or, had that one
  // come too late to be judged while the child lived, the one before).
  auto beats = trace_of(read_trace(trace), "beat");
  ASSERT_EQ(beats.size(), 3u);
  const long long earliest = beats[1].values.at(0) + 1'000'000'000LL,
                  due = beats[2].values.at(0) + 1'000'000'000LL;
  auto stranger_beats = trace_of(read_trace(stranger_trace), "beat");
  ASSERT_FALSE(stranger_beats.empty());
  ASSERT_LT(stranger_beats[0].values.at(0), earliest - 200'000'000LL)
      << "the stranger began too late to prove anything";
  EXPECT_GE(*gone, earliest) << "killed before the due time";
  EXPECT_LE(secs(*gone - due), 0.25) << "killed late";
  EXPECT_TRUE(d.wait_for("victim: refused a heartbeat from pid " + std::to_string(reused)))
      << d.log();
  EXPECT_TRUE(d.wait_for("victim: killing pid " + std::to_string(*pid) + ": missed 2 heartbeats"))
      << d.log();
}

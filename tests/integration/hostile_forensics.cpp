// Forensics under attack (FAULTS.md): a reading that stalls as a /proc read
// blocked in the kernel would, a group of 500 processes, a process name of
// terminal escapes and bytes that are not UTF-8. The kill is never held
// up, a record stays bounded and is still written, and no byte of an app's
// reaches a terminal.
#include "ctl.hpp"
#include "hostile.hpp"

#include <cmath>
#include <gtest/gtest.h>
#include <map>
#include <sys/prctl.h>
#include <sys/stat.h>

using namespace hbtest;

namespace hostile_forensics {

// The last beat in a trace, in CLOCK_MONOTONIC ns.
std::optional<long long> last_beat(const std::string &trace) {
  std::optional<long long> last;
  for (const auto &t : read_trace(trace))
    if (t.kind == "beat")
      last = t.values[0];
  return last;
}

// The path of `app`'s record, once hbmond says it wrote it.
std::optional<std::string> record_path(Daemon &d, const std::string &app,
                                       std::chrono::milliseconds timeout) {
  const std::string key = app + ": forensics record ";
  const auto line = d.wait_for(key, timeout);
  if (!line)
    return std::nullopt;
  return line->substr(line->find(key) + key.size());
}

nlohmann::json record_of(Daemon &d, const std::string &app, std::chrono::milliseconds timeout) {
  const auto path = record_path(d, app, timeout);
  if (!path)
    return nullptr;
  std::ifstream in(*path);
  std::stringstream text;
  text << in.rdbuf();
  return nlohmann::json::parse(text.str(), nullptr, false);
}

// Each reading stalls 3 s (HBMOND_TEST_FORENSICS_STALL_MS), as one blocked
// in the kernel on a process in execve would; two apps hang at once. Each
// is killed at its budget of 100 ms, not after the stall nor after the
// other's reading (there is one forensics thread: the second reading
// queues behind the first); both records are still written afterwards.
TEST_F(Hostile, AReadingThatStallsIsCutAtItsBudgetAndNoOtherAppsKillWaitsForIt) {
  Daemon::Options o;
  o.env = {"HBMOND_TEST_FORENSICS_STALL_MS=3000"};
  Daemon d(config_of({hangs_after("first", 3), hangs_after("second", 4)}), o);
  for (const std::string app : {"first", "second"}) {
    const auto pid = d.wait_started(app);
    ASSERT_TRUE(pid) << d.log();
    const auto gone = wait_gone(*pid, 10s);
    ASSERT_TRUE(gone) << app << "\n" << d.log();
    const auto beat = last_beat(work / (app + ".trace"));
    ASSERT_TRUE(beat) << app;
    const long long due = *beat + 600'000'000;
    EXPECT_GE(*gone, due) << app;
    // The budget (0.1 s) and the lateness goal (0.25 s): not the stall.
    EXPECT_LE(secs(*gone - due), 0.35 + (sanitized ? 0.3 : 0)) << app << "\n" << d.log();
  }
  EXPECT_TRUE(d.wait_for("first: reading its processes took more than 100 ms: killing it now, "
                         "the record follows"))
      << d.log();
  EXPECT_TRUE(d.wait_for("second: reading its processes took more than 100 ms"));
  for (const std::string app : {"first", "second"}) {
    const auto r = record_of(d, app, 15s);
    ASSERT_TRUE(r.is_object()) << app << "\n" << d.log();
    EXPECT_EQ(r["app"], app);
    EXPECT_EQ(r["reason"], "missed 2 heartbeats");
  }
}

// A slow disk: each record takes 2 s to write
// (HBMOND_TEST_FORENSICS_WRITE_STALL_MS). The second app hangs half a
// second after the first, while the first's record is being written: its
// reading does not wait behind that write (records have a thread of their
// own), so it is read and killed at once, not cut at its budget.
TEST_F(Hostile, ARecordBeingWrittenHoldsUpNoOtherAppsReading) {
  Daemon::Options o;
  o.env = {"HBMOND_TEST_FORENSICS_WRITE_STALL_MS=2000"};
  Daemon d(config_of({hangs_after("first", 3), hangs_after("second", 8)}), o);
  for (const std::string app : {"first", "second"}) {
    const auto pid = d.wait_started(app);
    ASSERT_TRUE(pid) << d.log();
    ASSERT_TRUE(wait_gone(*pid, 10s)) << app << "\n" << d.log();
  }
  for (const std::string app : {"first", "second"})
    ASSERT_TRUE(record_path(d, app, 15s)) << app << "\n" << d.log();
  // Each kill came with its reading: none was cut at the budget.
  EXPECT_EQ(d.log().find("reading its processes took more than"), std::string::npos) << d.log();
}

// Each reading stalls 1 s. The second and third apps hang together, while
// the first's reading stalls: the two are read together once it is done,
// from one listing of /proc, so their records are written one right after
// the other, not a stall apart.
TEST_F(Hostile, HangsThatComeWhileAReadingStallsAreReadTogether) {
  Daemon::Options o;
  o.env = {"HBMOND_TEST_FORENSICS_STALL_MS=1000"};
  Daemon d(config_of({hangs_after("first", 3), hangs_after("second", 5), hangs_after("third", 5)}),
           o);
  std::map<std::string, double> written; // the record's mtime, s
  for (const std::string app : {"first", "second", "third"}) {
    const auto path = record_path(d, app, 20s);
    ASSERT_TRUE(path) << app << "\n" << d.log();
    struct stat st {};
    ASSERT_EQ(::stat(path->c_str(), &st), 0) << *path;
    written[app] = static_cast<double>(st.st_mtim.tv_sec) + st.st_mtim.tv_nsec / 1e9;
  }
  // The second and third waited behind the first's stall ...
  EXPECT_GE(written["second"] - written["first"], 0.5) << d.log();
  // ... and then shared one reading (one each would put a stall between them).
  EXPECT_LT(std::abs(written["third"] - written["second"]), 0.5) << d.log();
}

// Seconds from SIGKILL to a group of `members` processes (a leader and its
// children, each in pause()) to its leader's death seen through a pidfd:
// the kernel's own cost, no supervisor in it. On a 2-core machine it is
// ~0.1-0.2 s for 500: every member runs its exit before the leader's is
// seen, and the killer itself is off its CPU meanwhile (a bare C program
// shows the same). Measured now, under the machine's present load.
double kernel_group_kill(int members) {
  int ready[2];
  if (::pipe2(ready, O_CLOEXEC) < 0)
    return 0;
  // The members come back to this process to be reaped, not to pid 1.
  ::prctl(PR_SET_CHILD_SUBREAPER, 1);
  const pid_t leader = ::fork();
  if (leader < 0) { // no group to time (and kill(-(-1)) would reach pid 1)
    ::close(ready[0]);
    ::close(ready[1]);
    ::prctl(PR_SET_CHILD_SUBREAPER, 0);
    return 0;
  }
  if (leader == 0) {
    ::setpgid(0, 0);
    for (int n = 1; n < members; ++n)
      if (::fork() == 0)
        while (true)
          ::pause();
    (void)!::write(ready[1], "x", 1);
    while (true)
      ::pause();
  }
  ::close(ready[1]);
  char byte;
  const bool up = ::read(ready[0], &byte, 1) == 1;
  ::close(ready[0]);
  const int fd = pidfd_open(leader);
  const long long sent = mono_ns();
  ::kill(-leader, SIGKILL);
  const auto gone = up && fd >= 0 ? wait_pidfd(fd, 10s) : std::nullopt;
  if (fd >= 0)
    ::close(fd);
  while (::waitpid(-leader, nullptr, 0) > 0 || errno == EINTR) {
  }
  ::prctl(PR_SET_CHILD_SUBREAPER, 0);
  return gone ? secs(*gone - sent) : 0;
}

// 500 processes in the app's group: the record holds the first 256 (the app
// itself first) and counts the rest; the kill is on time and takes all 500.
// (A long grace: the 499 forks come before the first beat.)
TEST_F(Hostile, AGroupOfFiveHundredProcessesIsRecordedBoundedAndKilledWhole) {
  // What the kernel takes to kill such a group, beside hbmond's own bound.
  const double kernel = kernel_group_kill(500);
  const std::string trace = work / "many.trace";
  Daemon d(config_of(
      {app("many", "--fork 499 --beats 2 --period 0.1 --then stall",
           R"("heartbeat": {"interval": 0.3, "misses": 2, "grace": 30}, "restart_delay": 60)")}));
  const auto pid = d.wait_started("many");
  ASSERT_TRUE(pid) << d.log();
  const auto gone = wait_gone(*pid, 20s);
  ASSERT_TRUE(gone) << d.log();
  const auto beat = last_beat(trace);
  ASSERT_TRUE(beat);
  // hbmond's bound (the budget, 0.1 s, and the lateness goal, 0.25 s) plus
  // the kernel's part. Sanitized, reading 256 processes takes longer.
  EXPECT_LE(secs(*gone - (*beat + 600'000'000)), 0.35 + kernel + (sanitized ? 0.5 : 0))
      << "the kernel alone took " << kernel << " s\n"
      << d.log();

  const auto r = record_of(d, "many", 10s);
  ASSERT_TRUE(r.is_object()) << d.log();
  ASSERT_EQ(r["processes"].size(), 256u);
  EXPECT_EQ(r["processes"][0]["pid"], *pid);
  EXPECT_EQ(r["processes_left_out"], 500 - 256);
  // Every member went with the group.
  std::size_t children = 0;
  for (const auto &t : read_trace(trace))
    children += t.kind == "child";
  EXPECT_EQ(children, 499u);
  // Dead: gone, or a zombie not reaped yet.
  const auto alive = [](long long member) {
    std::ifstream in("/proc/" + std::to_string(member) + "/stat");
    std::string stat;
    std::getline(in, stat);
    const auto close = stat.rfind(')');
    return close != std::string::npos && close + 2 < stat.size() && stat[close + 2] != 'Z';
  };
  EXPECT_TRUE(wait_until(
      [&] {
        for (const auto &t : read_trace(trace))
          if (t.kind == "child" && alive(t.values[0]))
            return false;
        return true;
      },
      10s))
      << "a member of the group outlived the kill";
}

// The app names itself ESC ] 0 ; pwnd BEL and a byte that is not UTF-8 (a
// terminal title escape, if it reached one). The record is valid JSON with
// no raw control byte in it; hbmonctl shows it with none either.
TEST_F(Hostile, EscapeBytesInAProcessNameReachNoTerminal) {
  Daemon d(config_of({app_json("named",
                               "--comm-hex 1b5d303b70776e6407ff41 --beats 2 "
                               "--period 0.1 --then stall",
                               R"("heartbeat": {"interval": 0.2, "misses": 1},
                                  "restart_delay": 60)")}));
  const std::string key = "named: forensics record ";
  const auto line = d.wait_for(key, 10s);
  ASSERT_TRUE(line) << d.log();
  std::ifstream in(line->substr(line->find(key) + key.size()));
  std::stringstream file;
  file << in.rdbuf();
  const std::string text = file.str();
  EXPECT_EQ(text.find('\x1b'), std::string::npos);
  EXPECT_EQ(text.find('\x07'), std::string::npos);
  const auto r = nlohmann::json::parse(text, nullptr, false);
  ASSERT_FALSE(r.is_discarded()) << text;
  // The bytes as they were, as JSON escapes; the one that is not UTF-8
  // replaced by U+FFFD.
  EXPECT_EQ(r["processes"][0]["comm"], "\x1b]0;pwnd\x07\xef\xbf\xbd"
                                       "A");

  const auto shown = run({hbmonctl_path, "--control", "ipc://" + d.dir() / "control", "forensics",
                          "named", "--show", "last"});
  ASSERT_EQ(shown.status, 0) << shown.err;
  EXPECT_NE(shown.out.find("\"comm\""), std::string::npos) << shown.out;
  for (const char c : shown.out)
    EXPECT_TRUE(c == '\n' || static_cast<unsigned char>(c) >= 0x20) << shown.out;
}

} // namespace hostile_forensics

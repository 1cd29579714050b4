// Output as an attack: an app that prints as fast as it can must not use up
// the log that every app and hbmond itself share (journald's rate limit is
// per service), and a journald that does not read must not stall the loop.
#include "hostile.hpp"

#include <gtest/gtest.h>

using namespace hbtest;

namespace {
// Prints as fast as it can, forever.
const std::string chatty =
    R"({"name": "chatty", "heartbeat": null, "command": ["/usr/bin/yes", "chatter"]})";

std::uint64_t reported_drops(const Daemon &d, const std::string &app) {
  const std::string key = "[monitor] " + app + ": ";
  std::uint64_t n = 0;
  for (const auto &l : d.lines()) {
    auto p = l.find(key);
    if (p != std::string::npos && l.find(" lines of output dropped (", p) != std::string::npos)
      n += std::stoull(l.substr(p + key.size()));
  }
  return n;
}
} // namespace

TEST_F(Hostile, AChattyAppCannotCrowdOutTheOthersLines) {
  const std::string quiet =
      R"({"name": "quiet", "heartbeat": null, "restart": "never", "command": ["/bin/sh", "-c",)"
      R"( "i=0; while [ $i -lt 20 ]; do echo quiet-$i.; i=$((i+1)); sleep 0.02; done; sleep 600"]})";
  Daemon d(config_of({chatty, quiet, crasher("crash", 0.05)}), Daemon::Options{{}, {}, "info", ""});
  const std::string control = "ipc://" + d.dir() / "control";
  // Every line of the quiet app, and hbmond's own lines about the others.
  ASSERT_TRUE(d.wait_for("[quiet] quiet-19.")) << "the quiet app's last line never came";
  for (int i = 0; i < 20; ++i)
    EXPECT_EQ(d.count("[quiet] quiet-" + std::to_string(i) + "."), 1u) << i;
  EXPECT_TRUE(d.wait_started("crash", 10s, 5)) << "hbmond's own lines did not come";
  // The chatty app got its 1,000 lines in this window, and no more.
  nlohmann::json st;
  ASSERT_TRUE(wait_until([&] {
    st = app_status(control, "chatty");
    return st.is_object() && st.value("output_dropped", 0) > 10000;
  })) << st;
  d.poll_log();
  EXPECT_EQ(d.count("[chatty] chatter"), 1000u);
  expect_status_fast(control);
  // The end of its run tells, before the news of its exit, how many of its
  // lines were not logged: the warnings add up to the counter.
  auto stop = ask(control, R"({"v":1,"cmd":"stop","app":"chatty"})");
  ASSERT_EQ(stop.reply["ok"], true) << stop.reply;
  ASSERT_TRUE(d.wait_for("chatty: pid")) << d.log();
  EXPECT_GE(d.count("lines of output dropped (more than 1000 lines or 1024 KiB in 10 s)"), 1u);
  st = app_status(control, "chatty");
  EXPECT_EQ(reported_drops(d, "chatty"), st.value("output_dropped", 0ull)) << st;
  EXPECT_EQ(reported_drops(d, "quiet"), 0u);
  EXPECT_EQ(app_status(control, "quiet")["output_dropped"], 0);
}

// journald stops reading (its socket's queue is full) and never reads again
// during the attack: hbmond, which writes to the journal itself, must go on
// supervising; once journald reads again, what fitted in the queue arrives
// and one entry says how many lines were dropped.
TEST_F(Hostile, AJournalThatDoesNotReadNeverStallsTheLoop) {
  // hbmond in a mount namespace of its own, where /run/systemd is ours and
  // JOURNAL_STREAM names its stderr, as under systemd.
  fs::create_directories(work / "systemd/journal");
  NotifyListener journal(work / "systemd/journal/socket");
  const std::size_t fillers = journal.fill();
  ASSERT_GT(fillers, 0u);
  Daemon::Options o;
  o.log_level = "info";
  o.wrapper = {"/usr/bin/unshare",
               "-m",
               "/bin/sh",
               "-c",
               "mount --bind \"$0\" /run/systemd && "
               "export JOURNAL_STREAM=$(stat -L -c %d:%i /proc/self/fd/2) && exec \"$@\"",
               work / "systemd"};
  Daemon d(config_of({app("hang", "--beats 3 --period 0.1 --then hang",
                          R"("heartbeat": {"interval": 0.3, "misses": 2})"),
                      chatty, crasher("crash", 0.05)}),
           o);
  const std::string control = "ipc://" + d.dir() / "control";
  // Its log is in the journal, which does not read: the hang's pid comes
  // from `status` instead.
  int fd = -1;
  pid_t pid = 0;
  ASSERT_TRUE(wait_until([&] {
    auto st = app_status(control, "hang");
    if (!st.is_object() || !st["pid"].is_number())
      return false;
    pid = st["pid"];
    fd = pidfd_open(pid);
    return fd >= 0;
  })) << "hbmond does not answer or never started the app";
  expect_killed_on_time("hang", pid, fd, 0.3, 2, d.log());
  expect_status_fast(control);
  d.poll_log();
  EXPECT_EQ(d.lines().size(), 0u) << "under journald nothing goes to stderr\n" << d.log();

  // journald reads again: its old queue, then what hbmond kept for it.
  auto busy = journal.wait("MESSAGE=[monitor] journal busy: ", 5s);
  ASSERT_TRUE(busy) << "no entry says how many were dropped";
  std::size_t old = 0, app_lines = 0;
  for (const auto &[m, t] : journal.seen) {
    old += m == "filler";
    app_lines += m.rfind("MESSAGE=chatter\nPRIORITY=6\nSYSLOG_IDENTIFIER=chatty\n"
                         "HBMON_APP=chatty\nSYSLOG_PID=",
                         0) == 0;
  }
  EXPECT_EQ(old, fillers);
  EXPECT_GT(app_lines, 0u) << "the lines that waited did not arrive";
  EXPECT_NE(busy->first.find(" lines dropped\nPRIORITY=4\nSYSLOG_IDENTIFIER=hbmond\n"),
            std::string::npos)
      << busy->first;
  // And the journal keeps up from now on: hbmond's next lines arrive.
  EXPECT_TRUE(journal.wait("MESSAGE=[monitor] crash: started, pid ", 5s));
}

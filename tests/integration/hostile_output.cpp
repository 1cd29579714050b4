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

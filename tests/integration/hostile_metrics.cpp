// GET /metrics under attack (SPEC "Metrics"): peers that connect and say
// nothing, send half a request, never read the reply or send a huge one,
// and a flood of scrapes. The endpoint runs in hbmond's loop: none of them
// may hold up a verdict, and once they are gone a scrape is served.
#include "hostile.hpp"

#include <arpa/inet.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <thread>

using namespace hbtest;

namespace hostile_metrics {

// GET /metrics: the status and the body's size (0, 0: no answer).
std::pair<int, std::size_t> scrape(int port, const std::string &extra_headers = "") {
  const HttpReply r = http_exchange(port, "GET /metrics HTTP/1.0\r\n" + extra_headers + "\r\n");
  return {r.status, r.status ? r.body.size() : 0};
}

// 300 idle apps (a text of ~0.7 MB) and a hang app, started once the
// attack is on; metrics on a free port.
std::string many_apps(int port, const std::string &hang) {
  std::string apps =
      "{\"metrics\": {\"listen\": \"127.0.0.1:" + std::to_string(port) + "\"}, \"apps\": [";
  for (int i = 0; i < 300; ++i)
    apps += (i ? ", " : "") + app_json("idle" + std::to_string(i), "", R"("enabled": false)");
  return apps + ", " + hang + "]}";
}

TEST_F(Hostile, IdleHalfSpokenAndNeverReadingHttpPeersHoldUpNoVerdict) {
  const int port = free_port();
  Daemon d(many_apps(port, app("hang", "--beats 3 --period 0.1 --then hang",
                               R"("heartbeat": {"interval": 0.3, "misses": 2}, "enabled": false)")),
           Daemon::Options{{}, {}, "info", ""});
  ASSERT_TRUE(d.wait_for("metrics: serving")) << d.log();
  const std::string control = "ipc://" + (d.dir() / "control");

  // 20 each: connected and silent; half a request line; a whole request
  // whose 0.7 MB reply they never read (4 KiB receive buffers). More than
  // one address may hold (16): the rest are turned away at once.
  std::vector<int> peers;
  for (int i = 0; i < 20; ++i)
    peers.push_back(connect_loopback(port));
  for (int i = 0; i < 20; ++i)
    if (const int fd = connect_loopback(port); fd >= 0) {
      (void)!::send(fd, "GET /metr", 9, MSG_NOSIGNAL);
      peers.push_back(fd);
    }
  for (int i = 0; i < 20; ++i)
    if (const int fd = connect_loopback(port, 4096); fd >= 0) {
      const std::string req = "GET /metrics HTTP/1.1\r\nHost: x\r\n\r\n";
      (void)!::send(fd, req.data(), req.size(), MSG_NOSIGNAL);
      peers.push_back(fd);
    }
  auto started = ask(control, R"({"v":1,"cmd":"start","app":"hang"})");
  ASSERT_EQ(started.reply.value("ok", false), true) << started.reply;
  expect_hang_killed_on_time(d, "hang", 0.3, 2);
  expect_status_fast(control);

  // Gone: the next scrape is served, whole.
  for (int fd : peers)
    if (fd >= 0)
      ::close(fd);
  std::pair<int, std::size_t> r;
  ASSERT_TRUE(wait_until([&] { return (r = scrape(port)).first == 200; }, 10s)) << d.log();
  EXPECT_GT(r.second, 300'000u);

  // A request of 64 KiB of headers is refused, not read into memory; the
  // next one is served.
  const auto huge = scrape(port, "X-Junk: " + std::string(64 * 1024, 'x') + "\r\n");
  EXPECT_NE(huge.first, 200);
  EXPECT_NE(huge.first, 0) << "refused with a status, not cut off";
  EXPECT_EQ(scrape(port).first, 200);
}

// 12 scrapers asking again and again at once, 10 times each: every scrape
// gets the whole text (those that arrive while one is being written share
// it), and a hang is judged on time meanwhile.
TEST_F(Hostile, AFloodOfScrapesIsServedWholeAndHoldsUpNoVerdict) {
  const int port = free_port();
  Daemon d(many_apps(port, app("hang", "--beats 3 --period 0.1 --then hang",
                               R"("heartbeat": {"interval": 0.3, "misses": 2}, "enabled": false)")),
           Daemon::Options{{}, {}, "info", ""});
  ASSERT_TRUE(d.wait_for("metrics: serving")) << d.log();
  const std::string control = "ipc://" + (d.dir() / "control");
  const std::size_t whole = scrape(port).second;
  ASSERT_GT(whole, 300'000u);

  constexpr int scrapers = 12, rounds = 10;
  std::vector<std::thread> threads;
  std::vector<int> served(scrapers, 0);
  for (int s = 0; s < scrapers; ++s)
    threads.emplace_back([&, s] {
      for (int i = 0; i < rounds; ++i) {
        const auto r = scrape(port);
        // A counter may have grown a digit or two: about the same size.
        served[static_cast<std::size_t>(s)] += r.first == 200 && r.second + 1000 > whole;
      }
    });
  auto started = ask(control, R"({"v":1,"cmd":"start","app":"hang"})");
  ASSERT_EQ(started.reply.value("ok", false), true) << started.reply;
  expect_hang_killed_on_time(d, "hang", 0.3, 2);
  for (auto &t : threads)
    t.join();
  for (int s = 0; s < scrapers; ++s)
    EXPECT_EQ(served[static_cast<std::size_t>(s)], rounds) << "scraper " << s;
  expect_status_fast(control);
}

} // namespace hostile_metrics

// GET /metrics (SPEC "Metrics") from the real daemon, asked over a plain
// TCP socket: what it serves and to whom, the CPU and memory of real
// process groups, and the endpoint through reloads, a port that is taken
// and a re-exec.
#include "child_holder.hpp"
#include "harness.hpp"

#include <arpa/inet.h>
#include <gtest/gtest.h>
#include <netinet/in.h>

using namespace hbtest;

namespace metrics_endpoint {

// A socket that holds `port` (bound and listening), so hbmond cannot.
struct PortTaken {
  int fd = -1;
  explicit PortTaken(int port) {
    fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    sockaddr_in sa{};
    sa.sin_family = AF_INET;
    sa.sin_port = htons(static_cast<std::uint16_t>(port));
    sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (::bind(fd, reinterpret_cast<sockaddr *>(&sa), sizeof sa) < 0 || ::listen(fd, 1) < 0)
      std::abort();
  }
  ~PortTaken() { release(); }
  void release() {
    if (fd >= 0)
      ::close(fd);
    fd = -1;
  }
};

// `config_of(apps)` with "metrics": {"listen": "127.0.0.1:PORT"} (0: none).
std::string with_metrics(int port, const std::string &config) {
  if (port == 0)
    return config;
  return "{\"metrics\": {\"listen\": \"127.0.0.1:" + std::to_string(port) + "\"}, " +
         config.substr(1);
}

using Response = HttpReply;

Response get(int port, const std::string &path = "/metrics") {
  return http_exchange(port, "GET " + path + " HTTP/1.0\r\nHost: localhost\r\n\r\n");
}

std::optional<double> value(const Response &r, const std::string &series) {
  return metric("\n" + r.body, series);
}

bool reload_ok(const std::string &control) {
  return ask(control, R"({"v":1,"cmd":"reload"})").reply.value("ok", false);
}

void rewrite(const Daemon &d, const std::string &config) {
  std::ofstream(d.config_path(), std::ios::trunc) << config;
}

TEST(MetricsEndpoint, ServesThePrometheusTextOnGetAndHeadAndNothingElse) {
  const int port = free_port();
  Daemon d(with_metrics(port, config_of({app_json("fast", "--then beat --period 0.1", "")})));
  ASSERT_TRUE(d.wait_for("metrics: serving GET /metrics on 127.0.0.1:" + std::to_string(port)))
      << d.log();
  ASSERT_TRUE(d.wait_state("fast", "running")) << d.log();

  Response r = get(port);
  ASSERT_EQ(r.status, 200) << r.head;
  EXPECT_NE(r.head.find("\r\nContent-Type: text/plain; version=0.0.4; charset=utf-8"),
            std::string::npos)
      << r.head;
  for (const char *family :
       {"hbmond_build_info gauge", "hbmond_reexecs_total counter",
        "hbmond_loop_lag_seconds histogram", "hbmond_app_up gauge", "hbmond_app_state gauge",
        "hbmond_app_restarts_total counter", "hbmond_app_kills_total counter",
        "hbmond_app_heartbeats_total counter", "hbmond_app_heartbeats_refused_total counter",
        "hbmond_app_heartbeat_gap_intervals histogram", "hbmond_app_cpu_seconds_total counter",
        "hbmond_app_memory_bytes gauge"})
    EXPECT_NE(r.body.find(std::string("\n# TYPE ") + family + "\n"), std::string::npos) << family;
  EXPECT_EQ(value(r, R"(hbmond_app_up{app="fast"})"), 1) << r.body;
  EXPECT_GT(value(r, R"(hbmond_app_memory_bytes{app="fast"})").value_or(0), 100'000) << r.body;

  // Prometheus asks for gzip: the same text, a twentieth of the bytes.
  const Response gz = http_exchange(port, "GET /metrics HTTP/1.0\r\nAccept-Encoding: gzip\r\n\r\n");
  EXPECT_EQ(gz.status, 200) << gz.head;
  EXPECT_NE(gz.head.find("\r\nContent-Encoding: gzip"), std::string::npos) << gz.head;
  ASSERT_GE(gz.body.size(), 2u);
  EXPECT_EQ(static_cast<unsigned char>(gz.body[0]), 0x1f); // gzip's magic
  EXPECT_EQ(static_cast<unsigned char>(gz.body[1]), 0x8b);
  EXPECT_LT(gz.body.size(), r.body.size() / 3);
  // One that refuses it (q=0) gets the text as it is.
  const Response no_gz =
      http_exchange(port, "GET /metrics HTTP/1.0\r\nAccept-Encoding: gzip;q=0\r\n\r\n");
  EXPECT_EQ(no_gz.head.find("Content-Encoding"), std::string::npos) << no_gz.head;
  EXPECT_NE(no_gz.body.find("# TYPE hbmond_app_up gauge"), std::string::npos);

  // HEAD: the same headers, no body.
  r = http_exchange(port, "HEAD /metrics HTTP/1.0\r\n\r\n");
  EXPECT_EQ(r.status, 200) << r.head;
  EXPECT_TRUE(r.body.empty());
  // Nothing else is served.
  r = get(port, "/");
  EXPECT_EQ(r.status, 404) << r.head;
  r = get(port, "/metrics/../etc/passwd");
  EXPECT_EQ(r.status, 404) << r.head;
  r = http_exchange(port, "POST /metrics HTTP/1.0\r\nContent-Length: 5\r\n\r\nhello");
  EXPECT_EQ(r.status, 405) << r.head;
  EXPECT_NE(r.head.find("\r\nAllow: GET, HEAD"), std::string::npos) << r.head;
  r = http_exchange(port, "not http at all\r\n\r\n");
  EXPECT_GE(r.status == 0 ? 400 : r.status, 400) << r.head;
  // And it still serves. Serving ran deadlines (its own), so the loop's lag
  // has been observed by now.
  r = get(port);
  EXPECT_EQ(r.status, 200);
  EXPECT_GT(value(r, "hbmond_loop_lag_seconds_count").value_or(0), 0) << r.body;
}

// A run that used 0.3 s of CPU and exited is counted whole, run after run;
// a busy app's counter grows while it runs; neither ever goes down.
TEST(MetricsEndpoint, CpuSecondsKeepEveryEndedRunAndNeverGoDown) {
  const int port = free_port();
  Daemon d(
      with_metrics(port, config_of({app_json("spinner", "--spin 0.3 --then exit 3",
                                             R"("heartbeat": false, "restart_delay": 0.1, )"
                                             R"("start_limit": {"burst": 100, "interval": 60})"),
                                    app_json("burner", "--then spin", R"("heartbeat": false)")})));
  ASSERT_TRUE(d.wait_state("burner", "running")) << d.log();
  std::vector<double> spinner, burner;
  double restarts = 0;
  Response last;
  ASSERT_TRUE(wait_until(
      [&] {
        d.poll_log(); // hbmond logs each text at debug: a full pipe would stop it
        last = get(port);
        if (last.status != 200)
          return false;
        spinner.push_back(value(last, R"(hbmond_app_cpu_seconds_total{app="spinner"})").value());
        burner.push_back(value(last, R"(hbmond_app_cpu_seconds_total{app="burner"})").value());
        restarts =
            value(last, R"(hbmond_app_restarts_total{app="spinner",result="exit-code"})").value();
        return restarts >= 3;
      },
      30s))
      << d.log();
  for (std::size_t i = 1; i < spinner.size(); ++i) {
    EXPECT_GE(spinner[i], spinner[i - 1]) << "scrape " << i;
    EXPECT_GE(burner[i], burner[i - 1]) << "scrape " << i;
  }
  // Each ended run counts its 0.3 s (its exit's rusage), whatever the
  // sampling saw of it.
  EXPECT_GE(spinner.back(), 0.3 * restarts - 0.01) << last.body;
  EXPECT_GT(burner.back(), burner.front());
  EXPECT_GT(value(last, R"(hbmond_app_memory_bytes{app="burner"})").value_or(0), 100'000);
}

TEST(MetricsEndpoint, AReloadMovesTheEndpointAndOneThatCannotBindKeepsTheOld) {
  const int a = free_port();
  const std::string apps = config_of({app_json("fast", "--then beat --period 0.1", "")});
  Daemon d(with_metrics(a, apps));
  ASSERT_TRUE(d.wait_for("metrics: serving GET /metrics")) << d.log();
  const std::string control = "ipc://" + (d.dir() / "control");
  ASSERT_EQ(get(a).status, 200);

  // A port someone else holds: the reload is refused, the old one serves.
  const int b = free_port();
  PortTaken taken(b);
  rewrite(d, with_metrics(b, apps));
  const Answer refused = ask(control, R"({"v":1,"cmd":"reload"})");
  EXPECT_FALSE(refused.reply.value("ok", true)) << refused.reply;
  EXPECT_NE(refused.reply.value("message", "")
                .find("metrics.listen: cannot listen on 127.0.0.1:" + std::to_string(b) +
                      ": Address already in use"),
            std::string::npos)
      << refused.reply;
  EXPECT_EQ(get(a).status, 200);

  // A free one: it moves.
  const int c = free_port();
  rewrite(d, with_metrics(c, apps));
  ASSERT_TRUE(reload_ok(control)) << d.log();
  EXPECT_EQ(get(c).status, 200);
  EXPECT_FALSE(get(a).connected);

  // None: it stops.
  rewrite(d, apps);
  ASSERT_TRUE(reload_ok(control)) << d.log();
  EXPECT_FALSE(get(c).connected);
  EXPECT_TRUE(d.wait_for("metrics: no longer serving GET /metrics")) << d.log();
}

// A child that has not exec'd yet holds none of hbmond's sockets: with one
// held at its first instruction, a reload whose new port is taken still
// binds the old one again (a child holding a copy of the listening socket
// would keep the port until its exec, and the metrics would be off).
TEST(MetricsEndpoint, AChildBeforeItsExecHoldsNoneOfHbmondsSockets) {
  const int a = free_port();
  const std::string apps = config_of(
      {app_json("held", "--then beat --period 0.1", R"("heartbeat": null, "enabled": false)")});
  Daemon d(with_metrics(a, apps));
  ASSERT_TRUE(d.wait_for("supervising")) << d.log();
  const std::string control = "ipc://" + (d.dir() / "control");
  ChildHolder holder(d.pid());
  ASSERT_TRUE(holder.attached()) << "cannot trace hbmond (ptrace)";
  ASSERT_EQ(ask(control, R"({"v":1,"cmd":"start","apps":["held"]})").reply.value("ok", false),
            true);
  ASSERT_TRUE(holder.child(10s)) << d.log();

  const int b = free_port();
  PortTaken taken(b);
  rewrite(d, with_metrics(b, apps));
  EXPECT_FALSE(ask(control, R"({"v":1,"cmd":"reload"})").reply.value("ok", true));
  EXPECT_EQ(get(a).status, 200) << d.log();
  EXPECT_FALSE(d.wait_for("metrics: cannot serve on", 200ms)) << d.log();
  holder.release();
  EXPECT_TRUE(d.wait_state("held", "running")) << d.log();
}

TEST(MetricsEndpoint, AStartWhoseAddressIsTakenSupervisesAnywayAndAReloadServesLater) {
  const int port = free_port();
  PortTaken taken(port);
  Daemon d(with_metrics(port, config_of({app_json("fast", "--then beat --period 0.1", "")})));
  EXPECT_TRUE(d.wait_for("metrics.listen: cannot listen on 127.0.0.1:" + std::to_string(port) +
                         ": Address already in use; GET /metrics is off until a reload can "
                         "serve it"))
      << d.log();
  ASSERT_TRUE(d.wait_state("fast", "running")) << d.log();
  taken.release();
  ASSERT_TRUE(reload_ok("ipc://" + (d.dir() / "control"))) << d.log();
  EXPECT_EQ(get(port).status, 200);
}

// A re-exec closes the listening socket with the old program and the new
// one binds it again: the counters go on from where they were.
TEST(MetricsEndpoint, AReexecServesAgainOnTheSamePortWithEveryCounterKept) {
  const int port = free_port();
  Daemon d(with_metrics(port, config_of({app_json("burner", "--then spin", R"("heartbeat": false)"),
                                         app_json("fast", "--then beat --period 0.1", "")})));
  ASSERT_TRUE(d.wait_state("fast", "running")) << d.log();
  ASSERT_TRUE(wait_until([&] {
    d.poll_log(); // hbmond logs each text at debug: a full pipe would stop it
    return value(get(port), R"(hbmond_app_cpu_seconds_total{app="burner"})").value_or(0) > 0.2;
  })) << d.log();
  const Response before = get(port);
  ASSERT_EQ(before.status, 200);
  d.signal(SIGUSR2);
  ASSERT_TRUE(d.wait_for("re-executed (re-exec 1,")) << d.log();
  Response after;
  ASSERT_TRUE(wait_until([&] {
    d.poll_log();
    return (after = get(port)).status == 200;
  })) << d.log();
  EXPECT_EQ(value(after, "hbmond_reexecs_total"), 1);
  for (const char *series :
       {"hbmond_loop_lag_seconds_count", R"(hbmond_app_cpu_seconds_total{app="burner"})",
        R"(hbmond_app_heartbeats_total{app="fast"})"})
    EXPECT_GE(value(after, series).value_or(-1), value(before, series).value_or(0)) << series;
}

} // namespace metrics_endpoint

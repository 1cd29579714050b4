#include "ctl/logs.hpp"

#include "ctl/error.hpp"
#include "protocol/protocol.hpp"

#include <cstdio>
#include <ctime>
#include <fmt/format.h>
#include <thread>
#include <unistd.h>

namespace hbmon::ctl {

namespace {

using nlohmann::json;

// "Nov 29 23:05:47 host web[4242]: text", as journalctl -o short.
std::string short_line(const json &l, const std::string &host) {
  const std::int64_t us = l.value("time", std::int64_t{0});
  const std::time_t secs = static_cast<std::time_t>(us / 1000000);
  std::tm tm{};
  ::localtime_r(&secs, &tm);
  char when[32];
  std::strftime(when, sizeof when, "%b %d %H:%M:%S", &tm);
  const std::string ident = l.value("identifier", std::string("?"));
  const int pid = l.value("pid", 0);
  return fmt::format("{} {} {}{}: {}\n", when, host, ident, pid > 0 ? fmt::format("[{}]", pid) : "",
                     l.value("message", std::string()));
}

// Prints the reply's lines; their cursor.
std::string print(const json &reply, const std::string &app, const std::string &host,
                  bool as_json) {
  for (const json &l : reply.value("lines", json::array())) {
    std::string out;
    if (as_json) {
      json line = l;
      line["app"] = app;
      out = dump(line) + "\n";
    } else {
      out = short_line(l, host);
    }
    std::fputs(out.c_str(), stdout);
  }
  if (std::fflush(stdout) != 0)
    throw CtlError(exit_refused, "cannot write to stdout");
  return reply.value("cursor", std::string());
}

} // namespace

int show_logs(const ControlTarget &target, const std::string &app, std::uint64_t lines, bool follow,
              bool as_json) {
  char host[256] = "localhost";
  ::gethostname(host, sizeof host - 1);
  Request r{.cmd = Command::logs, .app = app, .lines = lines};
  std::string cursor = print(call(target, build_request(r)), app, host, as_json);
  while (follow) {
    r.lines = follow_batch;
    r.cursor = cursor;
    const json reply = call(target, build_request(r));
    cursor = print(reply, app, host, as_json);
    if (reply.value("lines", json::array()).size() < follow_batch)
      std::this_thread::sleep_for(follow_period); // caught up: wait for more
  }
  return exit_ok;
}

} // namespace hbmon::ctl

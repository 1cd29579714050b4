// hbmonctl: parse the command line, send one request to hbmond, print the reply.
// `watch` asks for the events endpoint with `info`, then follows the stream;
// `logs -f` asks again and again (ctl/logs.hpp).
// Every failure ends here as one "hbmonctl: ..." line on stderr and an exit status
// from ctl/error.hpp.
#include "build_config.hpp"
#include "ctl/client.hpp"
#include "ctl/error.hpp"
#include "ctl/logs.hpp"
#include "ctl/options.hpp"
#include "ctl/render.hpp"
#include "ctl/watch.hpp"
#include "protocol/protocol.hpp"

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <fmt/format.h>
#include <stdexcept>
#include <zmq.hpp>

namespace {

using namespace hbmon::ctl;
using nlohmann::json;

// The protocol command a verb sends: the one of the same name (`watch` sends
// `info` first, and is no command).
hbmon::Command command_of(Verb verb) {
  auto cmd = hbmon::command_names.parse(verb_name(verb));
  if (!cmd)
    throw std::logic_error("hbmonctl verb without a protocol command: " + verb_name(verb));
  return *cmd;
}

json request_for(const Invocation &inv) {
  hbmon::Request r{.cmd = command_of(*inv.verb)};
  if (*inv.verb == Verb::status)
    r.apps = inv.apps;
  else if (!inv.apps.empty())
    r.app = inv.apps.front();
  r.reason = inv.reason.value_or("");
  return hbmon::build_request(r);
}

std::string render_text(Verb verb, const json &reply) {
  switch (verb) {
  case Verb::status:
    return render_status(reply, stdout_style());
  case Verb::reload:
    return render_reload(reply);
  case Verb::info:
    return render_info(reply);
  case Verb::panic:
  case Verb::start:
  case Verb::stop:
  case Verb::restart:
  case Verb::watch:
  case Verb::logs:
    break;
  }
  return render_action(reply);
}

int watch(const ControlTarget &target, bool json_lines) {
  json info = call(target, hbmon::build_request({.cmd = hbmon::Command::info}));
  auto events = info.find("events");
  if (events == info.end() || !events->is_string() || events->get<std::string>().empty())
    throw CtlError(exit_refused, "hbmond names no events endpoint in its info reply");
  return watch_events(events->get<std::string>(), json_lines);
}

int run(const Invocation &inv) {
  ControlTarget target{control_endpoint(inv.control), inv.timeout};
  if (inv.verb == Verb::watch)
    return watch(target, inv.json);
  if (inv.verb == Verb::logs)
    return show_logs(target, inv.apps.front(), inv.lines, inv.follow, inv.json);
  json reply = call(target, request_for(inv));
  std::string out = inv.json ? render_json(reply) : render_text(*inv.verb, reply);
  std::fputs(out.c_str(), stdout);
  return exit_ok;
}

// A full disk or a closed pipe must not pass for success.
int flushed(int status) {
  if (std::fflush(stdout) == 0 && !std::ferror(stdout))
    return status;
  fmt::print(stderr, "hbmonctl: cannot write to stdout: {}\n", std::strerror(errno));
  return status == exit_ok ? exit_refused : status;
}

int dispatch(int argc, char **argv) {
  Invocation inv = parse_args(argc, argv);
  if (inv.version)
    std::fputs("hbmonctl " HBMON_VERSION "\n", stdout);
  else if (inv.help)
    std::fputs(help_text(inv.verb).c_str(), stdout);
  else
    return run(inv);
  return exit_ok;
}

} // namespace

int main(int argc, char **argv) {
  try {
    return flushed(dispatch(argc, argv));
  } catch (const CtlError &e) {
    const char *hint = e.code() == exit_usage ? " (see 'hbmonctl --help')" : "";
    fmt::print(stderr, "hbmonctl: {}{}\n", e.what(), hint);
    return e.code();
  } catch (const zmq::error_t &e) {
    fmt::print(stderr, "hbmonctl: ZeroMQ: {}\n", e.what());
    return exit_unreachable;
  } catch (const std::exception &e) {
    fmt::print(stderr, "hbmonctl: {}\n", e.what());
    return exit_refused;
  }
}

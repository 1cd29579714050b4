// hbmonctl: parse the command line, send one request to hbmond, print the reply.
// `watch` asks for the events endpoint with `info`, then follows the stream;
// start, stop and restart follow it too while they wait (ctl/wait.hpp);
// `logs -f` asks again and again (ctl/logs.hpp); `reexec` asks `info` until
// the new program answers (ctl/reexec.hpp).
// Every failure ends here as one "hbmonctl: ..." line on stderr (with --json:
// one JSON object on stdout) and an exit status from ctl/error.hpp.
#include "ctl/client.hpp"
#include "ctl/error.hpp"
#include "ctl/logs.hpp"
#include "ctl/options.hpp"
#include "ctl/reexec.hpp"
#include "ctl/render.hpp"
#include "ctl/text.hpp"
#include "ctl/wait.hpp"
#include "ctl/watch.hpp"
#include "protocol/protocol.hpp"
#include "protocol/version.hpp"

#include <algorithm>
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
// `info` first, and is no command; is-active and is-failed ask for status).
hbmon::Command command_of(Verb verb) {
  if (verb == Verb::is_active || verb == Verb::is_failed)
    return hbmon::Command::status;
  auto cmd = hbmon::command_names.parse(verb_name(verb));
  if (!cmd)
    throw std::logic_error("hbmonctl verb without a protocol command: " + verb_name(verb));
  return *cmd;
}

json request_for(const Invocation &inv) {
  hbmon::Request r{.cmd = command_of(*inv.verb)};
  if (r.cmd == hbmon::Command::panic || r.cmd == hbmon::Command::forensics)
    r.app = inv.apps.front();
  else
    r.apps = inv.apps; // selectors
  r.reason = inv.reason.value_or("");
  r.signal = inv.signal;
  return hbmon::build_request(r);
}

std::string render_text(const Invocation &inv, const json &reply) {
  switch (*inv.verb) {
  case Verb::status:
    return render_status(reply, stdout_style(), !inv.no_legend);
  case Verb::reload:
    return render_reload(reply);
  case Verb::reexec:
    return render_reexec(reply);
  case Verb::info:
    return render_info(reply);
  case Verb::metrics:
    return render_metrics(reply);
  case Verb::forensics:
    return render_forensics(reply);
  case Verb::panic:
  case Verb::start:
  case Verb::stop:
  case Verb::restart:
  case Verb::signal:
  case Verb::watch:
  case Verb::logs:
  case Verb::is_active:
  case Verb::is_failed:
    break;
  }
  return render_action(reply);
}

std::string events_endpoint(const ControlTarget &target) {
  json info = call(target, hbmon::build_request({.cmd = hbmon::Command::info}));
  auto events = info.find("events");
  if (events == info.end() || !events->is_string() || events->get<std::string>().empty())
    throw CtlError(exit_refused, "hbmond names no events endpoint in its info reply", "no-events");
  return events->get<std::string>();
}

// Subscribed before the command is sent, so its effects are not missed.
int act_and_wait(const ControlTarget &target, const Invocation &inv) {
  zmq::context_t ctx;
  zmq::socket_t events = subscribe_events(ctx, events_endpoint(target));
  json reply = call(target, request_for(inv));
  json done =
      wait_for_outcome(target, events, inv.verb == Verb::stop ? "stopped" : "running", reply);
  std::string out = inv.json ? dump_line(done) + '\n' : render_action(done);
  std::fputs(out.c_str(), stdout);
  return exit_ok;
}

// Without --timeout, the wait covers hbmond's check of the new binary.
int reexec(const ControlTarget &target, const Invocation &inv) {
  json info =
      reexec_and_wait(target, inv.timeout_given ? inv.timeout : std::max(inv.timeout, reexec_wait));
  std::fputs((inv.json ? render_json(info) : render_reexec(info)).c_str(), stdout);
  return exit_ok;
}

// is-active, is-failed: the answer is the exit status; output only with --json.
int check_states(const ControlTarget &target, const Invocation &inv) {
  json reply;
  try {
    reply = call(target, request_for(inv));
  } catch (const CtlError &e) {
    if (e.error() == "unknown-app")
      throw CtlError(exit_no_such_app, e.what(), e.error());
    throw;
  }
  bool all_running = true, any_failed = false;
  json states = json::array();
  if (auto apps = reply.find("apps"); apps != reply.end() && apps->is_array())
    for (const json &a : *apps) {
      std::string state = text_field(a, "state");
      all_running = all_running && state == "running";
      any_failed = any_failed || state == "failed";
      states.push_back({{"name", text_field(a, "name")}, {"state", state}});
    }
  const bool yes = inv.verb == Verb::is_active ? all_running : any_failed;
  if (inv.json)
    std::fputs((dump_line({{"apps", states}, {verb_name(*inv.verb), yes}}) + '\n').c_str(), stdout);
  if (yes)
    return exit_ok;
  return inv.verb == Verb::is_active ? exit_not_active : exit_refused;
}

// forensics APP [--list | --show ID|last]: `last` is the newest of the list.
int forensics(const ControlTarget &target, const Invocation &inv) {
  hbmon::Request r{.cmd = hbmon::Command::forensics, .app = inv.apps.front()};
  if (inv.show == "last") {
    const json list = call(target, hbmon::build_request(r));
    const auto records = list.find("records");
    if (records == list.end() || !records->is_array() || records->empty())
      throw CtlError(exit_refused, fmt::format("{} has no forensics record", r.app),
                     "unknown-record");
    r.id = records->back().get<std::string>();
  } else {
    r.id = inv.show;
  }
  const json reply = call(target, hbmon::build_request(r));
  std::fputs((inv.json ? render_json(reply) : render_forensics(reply)).c_str(), stdout);
  return exit_ok;
}

int run(const Invocation &inv) {
  ControlTarget target{control_endpoint(inv.control), inv.timeout};
  if (inv.verb == Verb::watch)
    return watch_events(events_endpoint(target), inv.json);
  if (inv.verb == Verb::logs)
    return show_logs(target, inv.apps.front(), inv.lines, inv.follow, inv.json);
  if (inv.verb == Verb::is_active || inv.verb == Verb::is_failed)
    return check_states(target, inv);
  if (inv.verb == Verb::reexec)
    return reexec(target, inv);
  if (inv.verb == Verb::forensics)
    return forensics(target, inv);
  if (waits(*inv.verb) && !inv.no_block)
    return act_and_wait(target, inv);
  json reply = call(target, request_for(inv));
  std::string out = inv.json ? render_json(reply) : render_text(inv, reply);
  std::fputs(out.c_str(), stdout);
  return exit_ok;
}

// With --json, an error is a JSON object on stdout, the exit status as without.
int fail(bool json_mode, int status, const std::string &code, const std::string &message,
         const json &detail = json::object()) {
  if (!json_mode) {
    const char *hint = status == exit_usage ? " (see 'hbmonctl --help')" : "";
    fmt::print(stderr, "hbmonctl: {}{}\n", message, hint);
    return status;
  }
  json out = detail.is_object() ? detail : json::object();
  out["error"] = code;
  out["message"] = message;
  std::fputs((dump_line(out) + '\n').c_str(), stdout);
  std::fflush(stdout);
  return status;
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
    std::printf("hbmonctl %s\n", hbmon::program_version);
  else if (inv.help)
    std::fputs(help_text(inv.verb).c_str(), stdout);
  else
    return run(inv);
  return exit_ok;
}

} // namespace

int main(int argc, char **argv) {
  const bool json_mode = wants_json(argc, argv);
  try {
    return flushed(dispatch(argc, argv));
  } catch (const CtlError &e) {
    return fail(json_mode, e.code(), e.error().empty() ? "error" : e.error(), e.what(), e.detail());
  } catch (const zmq::error_t &e) {
    return fail(json_mode, exit_unreachable, "zeromq", fmt::format("ZeroMQ: {}", e.what()));
  } catch (const std::exception &e) {
    return fail(json_mode, exit_refused, "error", e.what());
  }
}

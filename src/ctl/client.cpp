// The control transport. Before ZeroMQ gets the endpoint, an ipc:// socket file is
// probed with a plain connect() (probe_unix_socket): ZeroMQ would retry a missing or dead socket in
// silence until the timeout, while the probe tells at once and says why.
#include "ctl/client.hpp"

#include "ctl/error.hpp"
#include "ctl/render.hpp"
#include "ctl/text.hpp"
#include "protocol/protocol.hpp"
#include "protocol/socket_probe.hpp"

#include <algorithm>
#include <cerrno>
#include <climits>
#include <cmath>
#include <cstdlib>
#include <cstring>
#include <fmt/format.h>
#include <variant>
#include <zmq.hpp>

namespace hbmon::ctl {
namespace {

using nlohmann::json;

std::string why_unreachable(int err) {
  switch (err) {
  case ENOENT:
    return "no such socket (is hbmond running?)";
  case ECONNREFUSED:
    return "nothing listens on the socket (is hbmond running?)";
  case ENOTSOCK:
    return "not a socket";
  case EACCES:
  case EPERM:
    return "permission denied";
  default:
    return std::strerror(err);
  }
}

int timeout_ms(double seconds) {
  return static_cast<int>(std::clamp(std::ceil(seconds * 1000), 1.0, double(INT_MAX)));
}

zmq::socket_t connect_req(zmq::context_t &ctx, const ControlTarget &target) {
  zmq::socket_t sock(ctx, zmq::socket_type::req);
  sock.set(zmq::sockopt::linger, 0);
  sock.set(zmq::sockopt::rcvtimeo, timeout_ms(target.timeout));
  sock.set(zmq::sockopt::sndtimeo, timeout_ms(target.timeout));
  try {
    sock.connect(target.endpoint);
  } catch (const zmq::error_t &e) {
    throw usage_error(fmt::format("invalid control endpoint '{}': {}", target.endpoint, e.what()));
  }
  return sock;
}

CtlError no_reply(const ControlTarget &target) {
  return {exit_unreachable,
          fmt::format("no reply from hbmond at {} within {}s", target.endpoint, target.timeout),
          "no-reply"};
}

json parse_reply(const std::string &raw, const std::string &endpoint) {
  json reply = json::parse(raw, nullptr, false);
  if (reply.is_discarded() || !reply.is_object())
    throw CtlError(exit_unreachable,
                   fmt::format("the reply from {} is not a JSON object", endpoint), "bad-reply");
  auto v = reply.find("v");
  if (v == reply.end() || *v != protocol_version)
    throw CtlError(exit_unreachable,
                   fmt::format("the reply from {} is not protocol version {} (\"v\": {})", endpoint,
                               protocol_version, v == reply.end() ? "missing" : v->dump()),
                   "bad-reply");
  auto ok = reply.find("ok");
  if (ok == reply.end() || !ok->is_boolean())
    throw CtlError(exit_unreachable, fmt::format("the reply from {} has no \"ok\"", endpoint),
                   "bad-reply");
  return reply;
}

// The daemon's own words; a config error keeps its lines, each naming a place.
CtlError refusal(const json &reply) {
  PrintableOptions with_lines = for_terminal;
  with_lines.keep_newlines = true;
  std::string code = text_field(reply, "error");
  nlohmann::json detail = nlohmann::json::object();
  if (auto apps = reply.find("apps"); apps != reply.end())
    detail["apps"] = *apps;
  auto it = reply.find("message");
  std::string message = it != reply.end() && it->is_string()
                            ? printable(it->get_ref<const std::string &>(), with_lines)
                            : std::string();
  if (code == "invalid-config")
    return {exit_refused, "reload refused, hbmond keeps running the old config:\n" + message, code};
  // The new binary's own words, which may be several lines.
  if (code == "reexec-failed")
    return {exit_refused,
            "re-exec refused, hbmond goes on as before: " + (message.empty() ? code : message),
            code};
  if (message.empty())
    message = code.empty() ? "hbmond refused the request" : "hbmond refused the request: " + code;
  return {exit_refused, printable(message, for_terminal), code.empty() ? "refused" : code, detail};
}

json accepted(json reply) {
  if (!reply["ok"].get<bool>())
    throw refusal(reply);
  return reply;
}

// Why an ipc:// endpoint cannot answer, when a plain connect() tells.
std::optional<CtlError> not_listening(const std::string &endpoint) {
  constexpr std::string_view scheme = "ipc://";
  if (!endpoint.starts_with(scheme))
    return std::nullopt;
  std::string path = endpoint.substr(scheme.size());
  // Abstract sockets (@name), and what cannot be probed (an over-long
  // path): left to ZeroMQ.
  if (path.empty() || path.front() == '@')
    return std::nullopt;
  if (auto probe = probe_unix_socket(path); probe && !probe->served())
    return CtlError(
        exit_unreachable,
        fmt::format("cannot reach hbmond at {}: {}", endpoint, why_unreachable(probe->error)),
        "unreachable");
  return std::nullopt;
}

// The reply, parsed (an invalid one throws), or why none came.
std::variant<json, CtlError> attempt(const ControlTarget &target, const json &request) {
  if (auto why = not_listening(target.endpoint))
    return *why;
  zmq::context_t ctx;
  zmq::socket_t sock = connect_req(ctx, target);
  zmq::message_t reply;
  if (!sock.send(zmq::buffer(dump_line(request)), zmq::send_flags::none) ||
      !sock.recv(reply, zmq::recv_flags::none))
    return no_reply(target);
  return parse_reply(reply.to_string(), target.endpoint);
}

} // namespace

std::string control_endpoint(const std::optional<std::string> &flag) {
  if (flag)
    return *flag;
  const char *env = std::getenv("HBMON_CONTROL");
  return env && *env ? env : default_control;
}

void check_listening(const std::string &endpoint) {
  if (auto why = not_listening(endpoint))
    throw *why;
}

json call(const ControlTarget &target, const json &request) {
  auto reply = attempt(target, request);
  if (auto *why = std::get_if<CtlError>(&reply))
    throw *why;
  return accepted(std::get<json>(std::move(reply)));
}

std::optional<json> call_if_answered(const ControlTarget &target, const json &request) {
  auto reply = attempt(target, request);
  if (std::holds_alternative<CtlError>(reply))
    return std::nullopt;
  return accepted(std::get<json>(std::move(reply)));
}

PendingCall::PendingCall(const ControlTarget &target, const json &request)
    : endpoint_(target.endpoint) {
  check_listening(target.endpoint);
  sock_ = connect_req(ctx_, target);
  if (!sock_.send(zmq::buffer(dump_line(request)), zmq::send_flags::none))
    throw no_reply(target);
}

std::optional<json> PendingCall::reply(std::chrono::milliseconds wait) {
  if (done_)
    return std::nullopt;
  zmq::pollitem_t item{sock_.handle(), 0, ZMQ_POLLIN, 0};
  int rc = ::zmq_poll(&item, 1, std::max<long>(wait.count(), 0));
  if (rc < 0 && zmq_errno() != EINTR)
    throw zmq::error_t();
  zmq::message_t msg;
  if (rc <= 0 || !sock_.recv(msg, zmq::recv_flags::dontwait))
    return std::nullopt;
  done_ = true;
  return accepted(parse_reply(msg.to_string(), endpoint_));
}

} // namespace hbmon::ctl

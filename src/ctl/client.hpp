// One request to hbmond's control socket and its reply (protocol v1): a REQ
// socket sends one JSON object and waits at most `timeout` seconds for one JSON
// object back. Failures become CtlError: exit_unreachable when nothing answers,
// or nothing valid; exit_refused when hbmond answers ok:false; exit_usage when
// the endpoint itself is malformed. call_if_answered() and PendingCall are the
// same exchange for a caller that expects silence for a while.
#pragma once

#include "protocol/endpoints.hpp"

#include <chrono>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <zmq.hpp>

namespace hbmon::ctl {

struct ControlTarget {
  std::string endpoint;
  double timeout = 5.0; // seconds
};

// --control, else $HBMON_CONTROL (when not empty), else default_control.
std::string control_endpoint(const std::optional<std::string> &flag);

// For an ipc:// endpoint, fail at once when no process listens on its socket
// file, rather than letting ZeroMQ retry in silence until the timeout.
void check_listening(const std::string &endpoint);

// hbmond's reply to `request`, when it was accepted (ok:true).
nlohmann::json call(const ControlTarget &target, const nlohmann::json &request);

// As call(), but nullopt when nothing answers within the timeout (or, for
// ipc://, nothing listens on the socket): for asking a daemon that may be
// away for a moment. A refusal or an invalid reply still throws.
std::optional<nlohmann::json> call_if_answered(const ControlTarget &target,
                                               const nlohmann::json &request);

// A request whose reply may take long, or never come (reexec: the process
// that would answer is replaced): sent at once, its reply read when it is
// there, while the caller does other things.
class PendingCall {
public:
  // Throws as call() does when nothing listens or the request cannot be sent.
  PendingCall(const ControlTarget &target, const nlohmann::json &request);
  PendingCall(const PendingCall &) = delete;
  PendingCall &operator=(const PendingCall &) = delete;

  // The reply when it comes within `wait` and was accepted (a refusal or an
  // invalid reply throws as call() does); nullopt while there is none, and
  // after the reply was read.
  std::optional<nlohmann::json> reply(std::chrono::milliseconds wait);

private:
  std::string endpoint_;
  zmq::context_t ctx_;
  zmq::socket_t sock_;
  bool done_ = false;
};

} // namespace hbmon::ctl

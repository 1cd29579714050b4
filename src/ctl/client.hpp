// One request to hbmond's control socket and its reply (protocol v1): a REQ
// socket sends one JSON object and waits at most `timeout` seconds for one JSON
// object back. Failures become CtlError: exit_unreachable when nothing answers,
// or nothing valid; exit_refused when hbmond answers ok:false; exit_usage when
// the endpoint itself is malformed.
#pragma once

#include "protocol/endpoints.hpp"

#include <nlohmann/json.hpp>
#include <optional>
#include <string>

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

} // namespace hbmon::ctl

// hbmonctl's exit statuses, and the exception that carries one up to main().
// Every failure becomes a CtlError whose what() is one line (the daemon's
// multi-line config errors aside) printed after "hbmonctl: ", or with
// --json, printed on stdout as {"error": CODE, "message": what()} plus its
// detail's members.
#pragma once

#include <nlohmann/json.hpp>
#include <stdexcept>
#include <string>

namespace hbmon::ctl {

enum ExitCode : int {
  exit_ok = 0,          // done
  exit_refused = 1,     // hbmond said no (ok:false), or the request failed
  exit_usage = 2,       // bad command line
  exit_unreachable = 3, // no hbmond there, or no (valid) reply within the timeout
  exit_not_active = 3,  // is-active: a named app is not running
  exit_no_such_app = 4, // is-active, is-failed: a selector names no app
};

class CtlError : public std::runtime_error {
public:
  // `error` is the JSON error code: hbmond's ("unknown-app", ...) or
  // hbmonctl's own ("usage", "unreachable", "wait-failed", ...).
  CtlError(ExitCode code, const std::string &message, std::string error = "",
           nlohmann::json detail = nlohmann::json::object())
      : std::runtime_error(message), code_(code), error_(std::move(error)),
        detail_(std::move(detail)) {}
  ExitCode code() const { return code_; }
  const std::string &error() const { return error_; }
  const nlohmann::json &detail() const { return detail_; }

private:
  ExitCode code_;
  std::string error_;
  nlohmann::json detail_;
};

inline CtlError usage_error(const std::string &message) { return {exit_usage, message, "usage"}; }

} // namespace hbmon::ctl

// hbmonctl's exit statuses, and the exception that carries one up to main().
// Every failure becomes a CtlError whose what() is one line (the daemon's
// multi-line config errors aside) printed after "hbmonctl: ".
#pragma once

#include <stdexcept>
#include <string>

namespace hbmon::ctl {

enum ExitCode : int {
  exit_ok = 0,          // done
  exit_refused = 1,     // hbmond said no (ok:false), or the request failed
  exit_usage = 2,       // bad command line
  exit_unreachable = 3, // no hbmond there, or no (valid) reply within the timeout
};

class CtlError : public std::runtime_error {
public:
  CtlError(ExitCode code, const std::string &message) : std::runtime_error(message), code_(code) {}
  ExitCode code() const { return code_; }

private:
  ExitCode code_;
};

inline CtlError usage_error(const std::string &message) { return {exit_usage, message}; }

} // namespace hbmon::ctl

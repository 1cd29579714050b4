// The command line: `hbmonctl [OPTION...] COMMAND [ARG...]`. Global options are
// accepted before and after the command, per-command options after it, `--` ends
// the options. parse_args() throws CtlError(exit_usage) for anything it does not
// understand, so a successful parse is a complete, well-formed request.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

namespace hbmon::ctl {

enum class Verb { status, panic, start, stop, restart, reload, watch, info, logs };

struct Invocation {
  std::optional<Verb> verb; // unset only with --help or --version
  std::vector<std::string> apps;
  std::optional<std::string> reason;  // panic --reason
  std::optional<std::string> control; // --control, before the environment
  double timeout = 5.0;               // seconds
  bool json = false;
  bool help = false;
  bool version = false;
  std::uint64_t lines = 10; // logs -n
  bool follow = false;      // logs -f
};

Invocation parse_args(int argc, char **argv);

// The protocol's name of the command ("status", "panic", ...).
std::string verb_name(Verb v);

// --help text: the overview, or one command's usage.
std::string help_text(std::optional<Verb> v);

} // namespace hbmon::ctl

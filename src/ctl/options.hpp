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

enum class Verb {
  status,
  panic,
  start,
  stop,
  restart,
  reload,
  reexec,
  watch,
  info,
  metrics,
  logs,
  is_active,
  is_failed,
  signal,
  forensics
};

// start, stop and restart wait for the outcome unless --no-block.
bool waits(Verb v);

struct Invocation {
  std::optional<Verb> verb;           // unset only with --help or --version
  std::vector<std::string> apps;      // names, patterns or `all` (status: a filter)
  std::string signal;                 // signal: its last operand
  std::optional<std::string> reason;  // panic --reason
  std::optional<std::string> control; // --control, before the environment
  double timeout = 5.0;               // seconds
  bool timeout_given = false;         // --timeout was on the command line
  bool json = false;
  bool no_block = false;  // start, stop, restart --no-block
  bool no_legend = false; // status --no-legend
  bool help = false;
  bool version = false;
  std::uint64_t lines = 10; // logs -n
  bool follow = false;      // logs -f
  std::string show;         // forensics --show ID ("last": the newest)
};

Invocation parse_args(int argc, char **argv);

// Whether argv asks for --json: errors found before (or while) parsing it
// are then JSON too.
bool wants_json(int argc, char **argv);

// The verb's name on the command line ("status", "is-active", ...).
std::string verb_name(Verb v);

// --help text: the overview, or one command's usage.
std::string help_text(std::optional<Verb> v);

} // namespace hbmon::ctl

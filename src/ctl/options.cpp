// Hand-written parsing: getopt cannot take global options after the command
// and command options only after it.
#include "ctl/options.hpp"

#include "ctl/error.hpp"
#include "protocol/endpoints.hpp"
#include "protocol/protocol.hpp"

#include <array>
#include <cctype>
#include <cerrno>
#include <cmath>
#include <cstdint>
#include <cstdlib>
#include <fmt/format.h>
#include <string_view>

namespace hbmon::ctl {
namespace {

struct VerbInfo {
  Verb verb;
  std::string_view name;
  std::string_view args;
  std::string_view summary;
  std::size_t min_apps;
  std::size_t max_apps;
};

constexpr std::size_t any = SIZE_MAX;

constexpr std::array verbs = {
    VerbInfo{Verb::status, "status", "[APP...]",
             "show the state of every app, or of the named ones", 0, any},
    VerbInfo{Verb::panic, "panic", "APP [--reason TEXT]",
             "SIGKILL APP now, then restart it per its policy", 1, 1},
    VerbInfo{Verb::start, "start", "[--no-block] APP...",
             "start the apps (also after they failed); wait until they run", 1, any},
    VerbInfo{Verb::stop, "stop", "[--no-block] APP...",
             "stop the apps and keep them stopped; wait until they are", 1, any},
    VerbInfo{Verb::restart, "restart", "[--no-block] APP...",
             "stop the apps, then start them again; wait until they run", 1, any},
    VerbInfo{Verb::reload, "reload", "",
             "re-read the config; print what was added, removed, changed", 0, 0},
    VerbInfo{Verb::reexec, "reexec", "", "re-execute hbmond in place, keeping every app as it is",
             0, 0},
    VerbInfo{Verb::watch, "watch", "", "print hbmond's events as they happen, until Ctrl-C", 0, 0},
    VerbInfo{Verb::info, "info", "",
             "print hbmond's version, pid, start, re-execs, config, endpoints", 0, 0},
    VerbInfo{Verb::metrics, "metrics", "",
             "print every app's metrics in the Prometheus text format", 0, 0},
    VerbInfo{Verb::logs, "logs", "APP [-f] [-n N]",
             "print APP's recent lines (-n: how many, default 10; -f: follow)", 1, 1},
    VerbInfo{Verb::is_active, "is-active", "APP...",
             "exit 0 when every app is running, else 3 (4: no such app)", 1, any},
    VerbInfo{Verb::is_failed, "is-failed", "APP...",
             "exit 0 when any app is failed, else 1 (4: no such app)", 1, any},
    VerbInfo{Verb::signal, "signal", "APP... SIGNAL",
             "send SIGNAL to the apps' process groups (TERM, HUP, 10, ...)", 2, any},
    VerbInfo{Verb::forensics, "forensics", "APP [--list | --show ID|last]",
             "list APP's hang records, or show one (what each thread was doing)", 1, 1},
};

const VerbInfo &info_of(Verb v) {
  for (const auto &info : verbs)
    if (info.verb == v)
      return info;
  throw std::logic_error("verb missing from the table");
}

std::optional<Verb> find_verb(std::string_view name) {
  for (const auto &info : verbs)
    if (info.name == name)
      return info.verb;
  return std::nullopt;
}

constexpr std::string_view options_heading = "Options:\n";
std::string options_help() {
  return fmt::format(
      R"(      --control ENDPOINT  hbmond's control socket (default: $HBMON_CONTROL,
                          else {})
      --json              machine-readable output on stdout, errors included
      --timeout S         seconds to wait for hbmond's reply (default 5)
  -h, --help              print this help; COMMAND --help: that command's
  -V, --version           print the version
)",
      default_control);
}

constexpr std::string_view footer =
    "Exit status: 0 done, 1 refused or failed, 2 usage error, 3 hbmond unreachable\n"
    "(is-active, is-failed: see their help). APP may be a name, a pattern such as\n"
    "'batch-*', or all. See hbmonctl(1).\n";

double parse_timeout(const std::string &text) {
  char *end = nullptr;
  errno = 0;
  double s = std::strtod(text.c_str(), &end);
  if (text.empty() || errno || *end || !std::isfinite(s) || s <= 0 || s > 86400)
    throw usage_error(fmt::format("--timeout: expected seconds in (0, 86400], got '{}'", text));
  return s;
}

class Parser {
public:
  Parser(int argc, char **argv) : args_(argv + 1, argv + argc) {}

  Invocation run() {
    while (next_ < args_.size()) {
      std::string_view arg = args_[next_++];
      if (!options_done_ && arg == "--")
        options_done_ = true;
      else if (!options_done_ && arg.size() > 1 && arg.front() == '-')
        option(arg);
      else
        operand(arg);
    }
    if (!inv_.help && !inv_.version)
      check_complete();
    take_signal();
    return inv_;
  }

private:
  void option(std::string_view arg) {
    auto eq = arg.find('=');
    std::string_view name = arg.substr(0, eq);
    std::optional<std::string_view> inline_value;
    if (eq != std::string_view::npos)
      inline_value = arg.substr(eq + 1);

    if (name == "--json")
      inv_.json = flag(name, inline_value);
    else if (name == "--help" || name == "-h")
      inv_.help = flag(name, inline_value);
    else if (name == "--version" || name == "-V")
      inv_.version = flag(name, inline_value);
    else if (name == "--control")
      inv_.control = control(value(name, inline_value));
    else if (name == "--timeout") {
      inv_.timeout = parse_timeout(value(name, inline_value));
      inv_.timeout_given = true;
    } else if (name == "--no-block" && inv_.verb && waits(*inv_.verb))
      inv_.no_block = flag(name, inline_value);
    else if (name == "--no-legend" && inv_.verb == Verb::status)
      inv_.no_legend = flag(name, inline_value);
    else if (name == "--no-block" || name == "--no-legend")
      throw usage_error(
          fmt::format("{} is an option of '{}' and must follow it", name,
                      name == "--no-block" ? "start', 'stop' or 'restart" : "status"));
    else if (name == "--reason" && inv_.verb == Verb::panic)
      inv_.reason = value(name, inline_value);
    else if (name == "--reason")
      throw usage_error("--reason is an option of 'panic' and must follow it");
    else if ((name == "-f" || name == "--follow") && inv_.verb == Verb::logs)
      inv_.follow = flag(name, inline_value);
    else if ((name == "-n" || name == "--lines") && inv_.verb == Verb::logs)
      inv_.lines = log_lines(value(name, inline_value));
    else if (name == "--list" && inv_.verb == Verb::forensics) {
      (void)flag(name, inline_value);
      inv_.show.clear();
    } else if (name == "--show" && inv_.verb == Verb::forensics)
      inv_.show = value(name, inline_value);
    else if (name == "--list" || name == "--show")
      throw usage_error(fmt::format("{} is an option of 'forensics' and must follow it", name));
    else
      throw usage_error(fmt::format("unknown option '{}'", arg));
  }

  static bool flag(std::string_view name, std::optional<std::string_view> inline_value) {
    if (inline_value)
      throw usage_error(fmt::format("option '{}' takes no value", name));
    return true;
  }

  std::string value(std::string_view name, std::optional<std::string_view> inline_value) {
    if (inline_value)
      return std::string(*inline_value);
    if (next_ == args_.size())
      throw usage_error(fmt::format("option '{}' needs a value", name));
    return std::string(args_[next_++]);
  }

  static std::uint64_t log_lines(const std::string &text) {
    char *end = nullptr;
    errno = 0;
    const unsigned long long n = std::strtoull(text.c_str(), &end, 10);
    if (text.empty() || !std::isdigit(static_cast<unsigned char>(text[0])) || errno || *end ||
        n > max_log_lines)
      throw usage_error(fmt::format("-n: expected a number of lines from 0 to {}, got '{}'",
                                    max_log_lines, text));
    return n;
  }

  static std::string control(std::string endpoint) {
    if (endpoint.empty())
      throw usage_error("--control: the endpoint is empty");
    return endpoint;
  }

  void operand(std::string_view arg) {
    if (inv_.verb) {
      inv_.apps.emplace_back(arg);
      return;
    }
    inv_.verb = find_verb(arg);
    if (!inv_.verb)
      throw usage_error(fmt::format("unknown command '{}'", arg));
  }

  void check_complete() const {
    if (!inv_.verb)
      throw usage_error("missing command");
    const VerbInfo &info = info_of(*inv_.verb);
    std::size_t n = inv_.apps.size();
    if (n < info.min_apps)
      throw usage_error(fmt::format("'{}' needs an app name", info.name));
    if (n > info.max_apps)
      throw usage_error(
          fmt::format("unexpected argument '{}' after '{}'", inv_.apps[info.max_apps], info.name));
  }

  // `signal APP... SIGNAL`: the last operand is the signal.
  void take_signal() {
    if (inv_.verb != Verb::signal || inv_.help || inv_.version)
      return;
    if (inv_.apps.size() < 2)
      throw usage_error("'signal' needs an app and a signal: signal APP... SIGNAL");
    inv_.signal = inv_.apps.back();
    inv_.apps.pop_back();
  }

  std::vector<std::string_view> args_;
  std::size_t next_ = 0;
  bool options_done_ = false;
  Invocation inv_;
};

std::string overview() {
  std::string text = "Usage: hbmonctl [--control ENDPOINT] [--json] [--timeout S] COMMAND [ARGS]\n"
                     "\nControl hbmond, the supervisor that also catches hangs.\n\nCommands:\n";
  for (const auto &info : verbs) {
    // A usage too long for its column puts its summary on the next line.
    const std::string usage = fmt::format("{} {}", info.name, info.args);
    text += usage.size() < 30 ? fmt::format("  {:<30}{}\n", usage, info.summary)
                              : fmt::format("  {}\n  {:<30}{}\n", usage, "", info.summary);
  }
  return fmt::format("{}\n{}{}\n{}", text, options_heading, options_help(), footer);
}

std::string verb_help(const VerbInfo &info) {
  std::string usage = fmt::format("hbmonctl [OPTION...] {} {}", info.name, info.args);
  std::string summary(info.summary);
  summary.front() = static_cast<char>(std::toupper(static_cast<unsigned char>(summary.front())));
  std::string text =
      fmt::format("Usage: {}\n\n{}.\n", usage.substr(0, usage.find_last_not_of(' ') + 1), summary);
  if (info.verb == Verb::watch)
    text += "One line per event, or one JSON object per line with --json.\n";
  if (info.verb == Verb::reexec)
    text += "hbmond first runs the binary at its path to check the config and its state\n"
            "(up to 30 s), then execs it with the same pid, apps and counters. Exits 0\n"
            "once the new hbmond answers; waits 35 s for it unless --timeout is given.\n";
  text += fmt::format("\n{}", options_heading);
  if (info.verb == Verb::panic)
    text += "      --reason TEXT       why the button was pressed; hbmond logs it\n";
  if (info.verb == Verb::logs)
    text += "  -n, --lines N           the newest N lines (default 10)\n"
            "  -f, --follow            then print new lines as they come, until Ctrl-C\n";
  if (info.verb == Verb::forensics)
    text += "      --list              list the records, oldest first (the default)\n"
            "      --show ID           print record ID as JSON; 'last': the newest\n";
  if (waits(info.verb))
    text += "      --no-block          do not wait: return once hbmond has the request\n";
  if (info.verb == Verb::status)
    text += "      --no-legend         the table without its header and summary line\n";
  return fmt::format("{}{}\n{}", text, options_help(), footer);
}

} // namespace

Invocation parse_args(int argc, char **argv) { return Parser(argc, argv).run(); }

bool waits(Verb v) { return v == Verb::start || v == Verb::stop || v == Verb::restart; }

bool wants_json(int argc, char **argv) {
  for (int i = 1; i < argc; ++i) {
    std::string_view arg = argv[i];
    if (arg == "--")
      return false;
    if (arg == "--json")
      return true;
  }
  return false;
}

std::string verb_name(Verb v) { return std::string(info_of(v).name); }

std::string help_text(std::optional<Verb> v) { return v ? verb_help(info_of(*v)) : overview(); }

} // namespace hbmon::ctl

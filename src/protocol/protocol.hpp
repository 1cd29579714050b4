// The control protocol, version 1: one JSON request, one JSON reply. Both
// ends use this file: hbmonctl builds requests, hbmond parses them.
//
// Contract: parse_request() accepts any bytes and either returns a Request
// whose fields are valid for its command, or throws ProtocolError with the
// error code and message to send back. Unknown fields are ignored (newer
// clients may send more); an unknown "v" is refused. build_request() writes
// every field its command needs, so parse_request(build_request(r)) gives r
// back for any valid r. See hbmonctl(1).
#pragma once

#include "core/names.hpp"
#include "protocol/endpoints.hpp"

#include <nlohmann/json.hpp>
#include <stdexcept>
#include <string>
#include <string_view>
#include <vector>

namespace hbmon {

inline constexpr int protocol_version = 1;
inline constexpr std::size_t max_request_bytes = 64 * 1024;
inline constexpr std::size_t max_reason_chars = 256;
// One app selector (a name, an fnmatch(3) pattern or "all"), in bytes.
inline constexpr std::size_t max_selector_chars = 256;

enum class Command {
  status,
  info,
  panic,
  start,
  stop,
  restart,
  reload,
  logs,
  signal,
  reexec,
  metrics,
  forensics
};
inline constexpr Names<Command, 12> command_names{{{
    {Command::status, "status"},
    {Command::info, "info"},
    {Command::panic, "panic"},
    {Command::start, "start"},
    {Command::stop, "stop"},
    {Command::restart, "restart"},
    {Command::reload, "reload"},
    {Command::logs, "logs"},
    {Command::signal, "signal"},
    {Command::reexec, "reexec"},
    {Command::metrics, "metrics"},
    {Command::forensics, "forensics"},
}}};
static_assert(command_names.in_order(), "one name per Command, in declaration order");
inline constexpr std::string_view to_string(Command c) { return command_names.name(c); }
// Commands that change something need an authorized caller. (`logs` and
// `forensics` have their own rule: root, group hbmond and the app's own user.)
bool is_mutating(Command c);

// `logs`: lines asked for at most, and the default (as journalctl -n).
inline constexpr std::uint64_t max_log_lines = 10000;
inline constexpr std::uint64_t default_log_lines = 10;

struct Request {
  Command cmd = Command::status;
  // Selectors (protocol/selectors.hpp). status: a filter (empty: all);
  // start, stop, restart, signal: the apps to act on (at least one; a
  // request with a single "app" instead is read as apps = {app}).
  std::vector<std::string> apps{};
  std::string app{};                       // panic, logs, forensics
  std::string reason{};                    // panic (printable, bounded)
  std::string signal{};                    // signal: as the user wrote it ("HUP", "SIGUSR1", "10")
  std::uint64_t lines = default_log_lines; // logs: the newest N (without a cursor)
  std::string cursor{}; // logs: lines after this point (a reply's "cursor"), for -f
  std::string id{};     // forensics: the record to show (empty: list them)

  bool operator==(const Request &) const = default;
};

class ProtocolError : public std::runtime_error {
public:
  ProtocolError(std::string code, const std::string &message)
      : std::runtime_error(message), code_(std::move(code)) {}
  const std::string &code() const { return code_; }

private:
  std::string code_;
};

// The request as hbmonctl sends it: only the fields `r.cmd` takes; an empty
// reason or app filter is left out.
nlohmann::json build_request(const Request &r);
Request parse_request(std::string_view body);

nlohmann::json ok_reply();
nlohmann::json error_reply(std::string_view code, std::string_view message);
// JSON text that never throws on odd strings (invalid UTF-8 is replaced).
std::string dump(const nlohmann::json &j);

} // namespace hbmon

// hbmond's replies and events as text: the status table, the reload report, the
// info page, the re-exec's outcome, one line per action and per event, and the --json form. Colour
// comes only through Style, so output to a pipe or a file is always plain.
#pragma once

#include <nlohmann/json.hpp>
#include <string>

namespace hbmon::ctl {

struct Style {
  bool color = false;
};

// Colour when stdout is a terminal, NO_COLOR is unset or empty and TERM is not "dumb".
Style stdout_style();

// Each returns complete lines, '\n'-terminated.
// legend: the header row and the summary line (--no-legend leaves them out).
std::string render_status(const nlohmann::json &reply, Style style, bool legend = true);
std::string render_reload(const nlohmann::json &reply);
std::string render_info(const nlohmann::json &reply);
// The Prometheus text as hbmond wrote it, its lines kept (control
// characters as '?', as everything hbmonctl prints of the daemon's words).
std::string render_metrics(const nlohmann::json &reply);
// A list of records (one "ID  PATH" line each) or one record (indented JSON).
std::string render_forensics(const nlohmann::json &reply);
// The re-executed hbmond, from its `info` reply.
std::string render_reexec(const nlohmann::json &info);
// One line per app ("web: running"): of "apps" when the reply has it.
std::string render_action(const nlohmann::json &reply);
std::string render_event(const nlohmann::json &event);

// One line of compact, ASCII-only JSON (no raw C1 controls reach a terminal);
// invalid UTF-8 is replaced, never thrown.
std::string dump_line(const nlohmann::json &value);

// --json output of a reply: the reply without its envelope ("v", "ok").
std::string render_json(const nlohmann::json &reply);

} // namespace hbmon::ctl

// Renderers read replies tolerantly (ctl/text.hpp): a missing or mistyped member
// prints as "-" or empty, it never aborts the output.
#include "ctl/render.hpp"

#include "ctl/text.hpp"

#include <algorithm>
#include <array>
#include <cstdlib>
#include <cstring>
#include <ctime>
#include <fmt/format.h>
#include <string_view>
#include <unistd.h>
#include <vector>

namespace hbmon::ctl {
namespace {

using nlohmann::json;

// A table cell: its text and the SGR parameters to show it with ("" = plain).
struct Cell {
  std::string text;
  std::string_view sgr;
};
using Row = std::vector<Cell>;

std::string_view state_sgr(std::string_view state) {
  if (state == "running")
    return "32";
  if (state == "starting" || state == "stopping")
    return "36";
  if (state == "backoff")
    return "33";
  if (state == "failed")
    return "1;31";
  if (state == "stopped" || state == "exited")
    return "2";
  return "";
}

std::string integer_text(const json &app, const char *key) {
  auto it = app.find(key);
  return it != app.end() && it->is_number_integer() ? it->dump() : "-";
}

bool has_pid(const json &app) {
  auto it = app.find("pid");
  return it != app.end() && it->is_number_integer();
}

std::string uptime_text(const json &app) {
  auto uptime = number_field(app, "uptime");
  return has_pid(app) && uptime ? format_duration(*uptime) : "-";
}

std::string heartbeat_text(const json &app) {
  auto age = number_field(app, "last_heartbeat_age");
  return age ? format_age(*age) : "-";
}

std::string last_exit_text(const json &app) {
  auto it = app.find("last_exit");
  if (it == app.end() || !it->is_object())
    return "-";
  if (auto code = it->find("code"); code != it->end() && code->is_number_integer())
    return "code " + code->dump();
  if (auto signal = text_field(*it, "signal"); !signal.empty())
    return signal;
  if (it->contains("error"))
    return "exec failed";
  return "?";
}

// The app's STATUS= text; what a notify-protocol app said besides it
// (RELOADING=1, ERRNO=) goes in front, as systemctl status shows it.
std::string status_text(const json &app) {
  std::string said;
  if (auto it = app.find("reloading"); it != app.end() && it->is_boolean() && it->get<bool>())
    said = "reloading";
  if (auto it = app.find("errno"); it != app.end() && it->is_number_integer())
    said += fmt::format("{}errno {}", said.empty() ? "" : ", ", it->get<long long>());
  // The last probe, when it failed: "probe failed 2x 1.5s ago: HTTP 500".
  if (auto it = app.find("last_probe");
      it != app.end() && it->is_object() && it->value("ok", true) == false) {
    const double age = it->value("age", 0.0);
    said += fmt::format("{}probe failed {}x {}: {}", said.empty() ? "" : ", ",
                        it->value("failures", 0), format_age(age), text_field(*it, "reason"));
  }
  if (auto status = text_field(app, "status"); !status.empty())
    return said.empty() ? status : fmt::format("[{}] {}", said, status);
  if (!said.empty())
    return "[" + said + "]";
  if (auto reason = text_field(app, "reason"); !reason.empty())
    return "(" + reason + ")";
  return "";
}

Row app_row(const json &app) {
  std::string state = text_field(app, "state");
  return {
      {text_field(app, "name"), ""},       {state, state_sgr(state)},
      {integer_text(app, "pid"), ""},      {uptime_text(app), ""},
      {integer_text(app, "restarts"), ""}, {heartbeat_text(app), ""},
      {last_exit_text(app), ""},           {status_text(app), ""},
  };
}

Row header_row() {
  Row row;
  for (const char *title :
       {"NAME", "STATE", "PID", "UPTIME", "RESTARTS", "HEARTBEAT", "LAST-EXIT", "STATUS"})
    row.push_back({title, "1"});
  return row;
}

std::string paint(const Cell &cell, Style style) {
  if (!style.color || cell.sgr.empty() || cell.text.empty())
    return cell.text;
  return fmt::format("\033[{}m{}\033[0m", cell.sgr, cell.text);
}

// Left-aligned columns two spaces apart; the last column is not padded.
std::string layout(const std::vector<Row> &rows, Style style) {
  std::vector<std::size_t> width(rows.front().size(), 0);
  for (const Row &row : rows)
    for (std::size_t i = 0; i < row.size(); ++i)
      width[i] = std::max(width[i], row[i].text.size());
  std::string out;
  for (const Row &row : rows) {
    std::string line;
    for (std::size_t i = 0; i < row.size(); ++i) {
      line += paint(row[i], style);
      if (i + 1 < row.size())
        line.append(width[i] - row[i].text.size() + 2, ' ');
    }
    line.erase(line.find_last_not_of(' ') + 1);
    out += line + '\n';
  }
  return out;
}

std::string name_list(const json &reply, const char *key) {
  auto it = reply.find(key);
  std::string out;
  if (it != reply.end() && it->is_array())
    for (const json &name : *it)
      if (name.is_string())
        out += (out.empty() ? "" : ", ") +
               printable(name.get_ref<const std::string &>(), for_terminal);
  return out.empty() ? "-" : out;
}

std::string or_dash(std::string text) { return text.empty() ? "-" : text; }

} // namespace

Style stdout_style() {
  const char *no_color = std::getenv("NO_COLOR");
  const char *term = std::getenv("TERM");
  bool dumb = term && std::strcmp(term, "dumb") == 0;
  return {::isatty(STDOUT_FILENO) == 1 && !(no_color && *no_color) && !dumb};
}

std::string render_status(const json &reply, Style style, bool legend) {
  std::vector<Row> rows;
  if (legend)
    rows.push_back(header_row());
  if (auto apps = reply.find("apps"); apps != reply.end() && apps->is_array())
    for (const json &app : *apps)
      rows.push_back(app_row(app));
  std::string out = rows.size() > (legend ? 1u : 0u) ? layout(rows, style) : "";
  if (!legend)
    return out;
  if (auto summary = text_field(reply, "summary"); !summary.empty())
    out += summary + '\n';
  return out;
}

std::string render_reload(const json &reply) {
  std::string out;
  for (const char *key : {"added", "removed", "changed", "unchanged"})
    out += fmt::format("{:<11}{}\n", fmt::format("{}:", key), name_list(reply, key));
  return out;
}

std::string render_info(const json &reply) {
  std::string out = fmt::format("hbmond {}, pid {}\n", or_dash(text_field(reply, "version")),
                                integer_text(reply, "pid"));
  auto line = [&](std::string_view key, const std::string &value) {
    out += fmt::format("{:<10}{}\n", fmt::format("{}:", key), value);
  };
  line("started", or_dash(text_field(reply, "started")));
  line("re-execs", integer_text(reply, "reexecs"));
  for (const char *key : {"config", "control", "events", "summary"})
    line(key, or_dash(text_field(reply, key)));
  return out;
}

std::string render_metrics(const json &reply) {
  auto it = reply.find("metrics");
  if (it == reply.end() || !it->is_string())
    return "";
  PrintableOptions lines = for_terminal;
  lines.keep_newlines = true;
  lines.tab_as_space = false;
  return printable(it->get_ref<const std::string &>(), lines);
}

std::string render_forensics(const json &reply) {
  if (auto record = reply.find("record"); record != reply.end()) {
    // Its text came from an app (output lines, comm): made printable.
    PrintableOptions text = for_terminal;
    text.keep_newlines = true;
    text.tab_as_space = false;
    return printable(record->dump(2, ' ', false, json::error_handler_t::replace), text) + "\n";
  }
  std::string out;
  const std::string dir = text_field(reply, "dir");
  if (auto records = reply.find("records"); records != reply.end() && records->is_array())
    for (const json &id : *records)
      if (id.is_string())
        out += fmt::format("{}  {}/{}.json\n", printable(id.get<std::string>(), for_terminal),
                           printable(dir, for_terminal),
                           printable(id.get<std::string>(), for_terminal));
  if (out.empty())
    out = fmt::format("{} has no forensics record\n",
                      printable(text_field(reply, "app"), for_terminal));
  return out;
}

std::string render_reexec(const json &info) {
  return fmt::format("hbmond re-executed: pid {}, version {}, re-exec {}\n",
                     integer_text(info, "pid"), or_dash(text_field(info, "version")),
                     integer_text(info, "reexecs"));
}

std::string render_action(const json &reply) {
  auto line = [](const json &one) {
    std::string message = text_field(one, "message");
    return fmt::format("{}: {}\n", text_field(one, "app"),
                       message.empty() ? text_field(one, "state") : message);
  };
  auto apps = reply.find("apps");
  if (apps == reply.end() || !apps->is_array())
    return line(reply);
  std::string out;
  for (const json &one : *apps)
    out += line(one);
  return out;
}

std::string render_event(const json &event) {
  auto time = number_field(event, "time");
  std::string app = text_field(event, "app");
  std::string message = text_field(event, "message");
  if (message.empty()) {
    std::string state = text_field(event, "state");
    message = text_field(event, "event") + (state.empty() ? "" : " (" + state + ")");
  }
  return fmt::format("{} {}: {}\n",
                     format_timestamp(time ? *time : static_cast<double>(std::time(nullptr))),
                     app.empty() ? "hbmond" : app, message);
}

std::string dump_line(const json &value) {
  return value.dump(-1, ' ', true, json::error_handler_t::replace);
}

std::string render_json(const json &reply) {
  json body = reply;
  body.erase("v");
  body.erase("ok");
  return dump_line(body) + '\n';
}

} // namespace hbmon::ctl

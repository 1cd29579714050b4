#include "protocol/protocol.hpp"

#include "protocol/text.hpp"

#include <fmt/format.h>

namespace hbmon {

namespace {

[[noreturn]] void bad(const std::string &message) { throw ProtocolError("bad-request", message); }

std::string app_name(const nlohmann::json &j, const char *field) {
  auto it = j.find(field);
  if (it == j.end() || !it->is_string())
    bad(fmt::format("\"{}\" must be an app name (a string)", field));
  const auto &s = it->get_ref<const std::string &>();
  if (s.empty() || s.size() > 64)
    bad(fmt::format("\"{}\" must be 1 to 64 characters", field));
  return s;
}

// A non-empty array of selectors.
std::vector<std::string> selectors(const nlohmann::json &a) {
  if (!a.is_array() || a.empty() || a.size() > 100000)
    bad("\"apps\" must be a non-empty array of app names or patterns");
  std::vector<std::string> out;
  for (const auto &e : a) {
    if (!e.is_string() || e.get_ref<const std::string &>().empty() ||
        e.get_ref<const std::string &>().size() > max_selector_chars)
      bad(fmt::format("\"apps\" must hold app names or patterns of 1 to {} bytes",
                      max_selector_chars));
    out.push_back(e.get<std::string>());
  }
  return out;
}

} // namespace

bool is_mutating(Command c) {
  return c != Command::status && c != Command::info && c != Command::logs &&
         c != Command::metrics && c != Command::forensics;
}

nlohmann::json build_request(const Request &r) {
  nlohmann::json j = {{"v", protocol_version}, {"cmd", to_string(r.cmd)}};
  switch (r.cmd) {
  case Command::status:
    if (!r.apps.empty())
      j["apps"] = r.apps;
    break;
  case Command::panic:
    if (!r.reason.empty())
      j["reason"] = r.reason;
    j["app"] = r.app;
    break;
  case Command::signal:
    j["signal"] = r.signal;
    [[fallthrough]];
  case Command::start:
  case Command::stop:
  case Command::restart:
    j["apps"] = r.apps;
    break;
  case Command::logs:
    j["app"] = r.app;
    j["lines"] = r.lines;
    if (!r.cursor.empty())
      j["cursor"] = r.cursor;
    break;
  case Command::forensics:
    j["app"] = r.app;
    if (!r.id.empty())
      j["id"] = r.id;
    break;
  case Command::info:
  case Command::reload:
  case Command::reexec:
  case Command::metrics:
    break;
  }
  return j;
}

Request parse_request(std::string_view body) {
  if (body.size() > max_request_bytes)
    bad(fmt::format("request too large ({} bytes, at most {})", body.size(), max_request_bytes));
  nlohmann::json j = nlohmann::json::parse(body, nullptr, /*allow_exceptions=*/false);
  if (j.is_discarded())
    bad("not a JSON document");
  if (!j.is_object())
    bad("the request must be a JSON object");
  auto v = j.find("v");
  if (v == j.end() || !v->is_number_integer())
    bad("missing protocol version (\"v\": 1)");
  if (*v != protocol_version)
    throw ProtocolError("unsupported-version",
                        fmt::format("protocol version {} is not supported (this hbmond speaks {})",
                                    v->dump(), protocol_version));
  auto c = j.find("cmd");
  if (c == j.end() || !c->is_string())
    bad("missing \"cmd\"");
  Request r;
  const auto &name = c->get_ref<const std::string &>();
  auto known = command_names.parse(name);
  if (!known)
    bad(fmt::format("unknown command \"{}\"", printable(name.substr(0, 64))));
  r.cmd = *known;
  switch (r.cmd) {
  case Command::status:
    if (auto a = j.find("apps"); a != j.end() && !a->is_null()) {
      if (!a->is_array() || a->size() > 100000)
        bad("\"apps\" must be an array of app names");
      for (const auto &e : *a) {
        if (!e.is_string())
          bad("\"apps\" must be an array of app names");
        r.apps.push_back(e.get<std::string>());
      }
    }
    break;
  case Command::panic:
    r.app = app_name(j, "app");
    if (auto why = j.find("reason"); why != j.end() && !why->is_null()) {
      if (!why->is_string())
        bad("\"reason\" must be a string");
      r.reason = printable(why->get_ref<const std::string &>(), {.limit = max_reason_chars});
    }
    if (r.reason.empty())
      r.reason = "no reason given";
    break;
  case Command::signal:
    if (auto sig = j.find("signal"); sig == j.end() || !sig->is_string() ||
                                     sig->get_ref<const std::string &>().empty() ||
                                     sig->get_ref<const std::string &>().size() > 32)
      bad("\"signal\" must be a signal name or number (a string)");
    else
      r.signal = sig->get<std::string>();
    [[fallthrough]];
  case Command::start:
  case Command::stop:
  case Command::restart:
    // "app" is protocol v1 as first written (one app); "apps" takes several.
    if (auto a = j.find("apps"); a != j.end() || r.cmd == Command::signal)
      r.apps = selectors(a == j.end() ? nlohmann::json() : *a);
    else
      r.apps = {app_name(j, "app")};
    break;
  case Command::logs:
    r.app = app_name(j, "app");
    if (auto n = j.find("lines"); n != j.end() && !n->is_null()) {
      if (!n->is_number_unsigned() || n->get<std::uint64_t>() > max_log_lines)
        bad(fmt::format("\"lines\" must be a number from 0 to {}", max_log_lines));
      r.lines = n->get<std::uint64_t>();
    }
    if (auto c = j.find("cursor"); c != j.end() && !c->is_null()) {
      if (!c->is_string() || c->get_ref<const std::string &>().size() > 1024)
        bad("\"cursor\" must be a string from a reply");
      r.cursor = c->get<std::string>();
    }
    break;
  case Command::forensics:
    r.app = app_name(j, "app");
    if (auto id = j.find("id"); id != j.end() && !id->is_null()) {
      if (!id->is_string() || id->get_ref<const std::string &>().size() > 64)
        bad("\"id\" must be a record's id (a string, as a list gives them)");
      r.id = id->get<std::string>();
    }
    break;
  case Command::info:
  case Command::reload:
  case Command::reexec:
  case Command::metrics:
    break;
  }
  return r;
}

nlohmann::json ok_reply() { return {{"v", protocol_version}, {"ok", true}}; }

nlohmann::json error_reply(std::string_view code, std::string_view message) {
  return {{"v", protocol_version},
          {"ok", false},
          {"error", std::string(code)},
          {"message", std::string(message)}};
}

std::string dump(const nlohmann::json &j) {
  return j.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
}

} // namespace hbmon

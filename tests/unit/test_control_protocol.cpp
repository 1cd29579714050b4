#include "protocol/protocol.hpp"
#include "protocol/selectors.hpp"

#include <map>

#include <gtest/gtest.h>

using namespace hbmon;

namespace {
std::string code_of(std::string_view body) {
  try {
    parse_request(body);
  } catch (const ProtocolError &e) {
    return e.code() + ": " + e.what();
  }
  return "ok";
}
} // namespace

TEST(ControlProtocol, StatusWithAndWithoutFilter) {
  auto r = parse_request(R"({"v":1,"cmd":"status"})");
  EXPECT_EQ(r.cmd, Command::status);
  EXPECT_TRUE(r.apps.empty());
  r = parse_request(R"({"v":1,"cmd":"status","apps":["a","b"]})");
  EXPECT_EQ(r.apps, (std::vector<std::string>{"a", "b"}));
  EXPECT_FALSE(is_mutating(Command::status));
  EXPECT_FALSE(is_mutating(Command::info));
  // A re-exec replaces hbmond's program: an admin's, as reload is.
  EXPECT_TRUE(is_mutating(Command::reload));
  EXPECT_TRUE(is_mutating(Command::reexec));
}

TEST(ControlProtocol, PanicCarriesAPrintableBoundedReason) {
  auto r = parse_request(R"({"v":1,"cmd":"panic","app":"web","reason":"stuck\u001b[2J"})");
  EXPECT_EQ(r.cmd, Command::panic);
  EXPECT_EQ(r.app, "web");
  EXPECT_EQ(r.reason, "stuck\\x1b[2J");
  EXPECT_TRUE(is_mutating(Command::panic));
  EXPECT_EQ(parse_request(R"({"v":1,"cmd":"panic","app":"web"})").reason, "no reason given");
  std::string longer =
      R"({"v":1,"cmd":"panic","app":"web","reason":")" + std::string(5000, 'x') + R"("})";
  EXPECT_EQ(parse_request(longer).reason, std::string(max_reason_chars, 'x'));
  // A cut never splits a character (2-byte "é") or an escape ("\x07"):
  // the one that would cross byte 256 is left out whole.
  auto reason_of = [](const std::string &json_text) {
    return parse_request(R"({"v":1,"cmd":"panic","app":"web","reason":")" + json_text + R"("})")
        .reason;
  };
  std::string e_acute, bells, want_e = "x", want_bells = "xx";
  for (int i = 0; i < 200; ++i) {
    e_acute += "\u00e9";
    bells += "\\u0007";
  }
  for (int i = 0; i < 127; ++i)
    want_e += "\u00e9";
  for (int i = 0; i < 63; ++i)
    want_bells += "\\x07";
  EXPECT_EQ(reason_of("x" + e_acute), want_e);    // 255 bytes
  EXPECT_EQ(reason_of("xx" + bells), want_bells); // 254 bytes
}

TEST(ControlProtocol, TheFirstSingleAppFormStillWorks) {
  auto r = parse_request(R"({"v":1,"cmd":"restart","app":"web"})");
  EXPECT_EQ(r.apps, (std::vector<std::string>{"web"}));
  EXPECT_TRUE(is_mutating(Command::signal));
}

TEST(ControlProtocol, ReexecIsAnAdminsCommandWithNothingElse) {
  EXPECT_EQ(parse_request(R"({"v":1,"cmd":"reexec"})").cmd, Command::reexec);
  EXPECT_TRUE(is_mutating(Command::reexec));
  EXPECT_EQ(build_request({.cmd = Command::reexec}),
            nlohmann::json({{"v", protocol_version}, {"cmd", "reexec"}}));
}

TEST(ControlProtocol, MetricsIsForEveryoneWithNothingElse) {
  EXPECT_EQ(parse_request(R"({"v":1,"cmd":"metrics"})").cmd, Command::metrics);
  EXPECT_FALSE(is_mutating(Command::metrics));
  EXPECT_EQ(build_request({.cmd = Command::metrics}),
            nlohmann::json({{"v", protocol_version}, {"cmd", "metrics"}}));
}

TEST(ControlProtocol, SelectorsMatchNamesPatternsAndAll) {
  const std::vector<std::string> names = {"batch-1", "batch-2", "db", "web"};
  auto s = select_apps({"web", "batch-*"}, names);
  EXPECT_EQ(s.apps, (std::vector<std::string>{"batch-1", "batch-2", "web"}));
  EXPECT_EQ(s.named, (std::vector<std::string>{"web"}));
  EXPECT_TRUE(s.unmatched.empty());
  EXPECT_EQ(select_apps({"all"}, names).apps, names);
  EXPECT_TRUE(select_apps({"all"}, {}).unmatched.empty()) << "all of no app is no error";
  s = select_apps({"nosuch", "x*", "d?", "web"}, names);
  EXPECT_EQ(s.apps, (std::vector<std::string>{"db", "web"}));
  EXPECT_EQ(s.unmatched, (std::vector<std::string>{"nosuch", "x*"}));
  // Odd selectors match nothing and harm nothing.
  for (std::string odd :
       std::vector<std::string>{"[", "[!", "\\", "*\x1b[2J", std::string("w\0*", 3), "../*", "/"})
    EXPECT_EQ(select_apps({odd}, names).unmatched.size(), 1u) << odd;
  EXPECT_EQ(select_apps({"[bw]*"}, names).apps,
            (std::vector<std::string>{"batch-1", "batch-2", "web"}));
}

TEST(ControlProtocol, UnknownFieldsAreIgnored) {
  EXPECT_EQ(parse_request(R"({"v":1,"cmd":"stop","app":"a","future":true})").cmd, Command::stop);
}

TEST(ControlProtocol, BadRequestsAreRefusedWithACode) {
  struct Case {
    const char *body;
    const char *expect;
  } cases[] = {
      {"", "bad-request: not a JSON document"},
      {"\xff\xfe", "bad-request: not a JSON document"},
      {"[1,2]", "bad-request: the request must be a JSON object"},
      {R"({"cmd":"status"})", "bad-request: missing protocol version"},
      {R"({"v":"1","cmd":"status"})", "bad-request: missing protocol version"},
      {R"({"v":2,"cmd":"status"})", "unsupported-version: protocol version 2"},
      {R"({"v":1})", "bad-request: missing \"cmd\""},
      {R"({"v":1,"cmd":"destroy"})", "bad-request: unknown command \"destroy\""},
      {R"({"v":1,"cmd":"panic"})", "bad-request: \"app\" must be an app name"},
      {R"({"v":1,"cmd":"stop","app":7})", "bad-request: \"app\" must be an app name"},
      {R"({"v":1,"cmd":"start","app":""})", "bad-request: \"app\" must be 1 to 64"},
      {R"({"v":1,"cmd":"status","apps":"a"})", "bad-request: \"apps\" must be an array"},
      {R"({"v":1,"cmd":"status","apps":[1]})", "bad-request: \"apps\" must be an array"},
      {R"({"v":1,"cmd":"stop","apps":[]})", "bad-request: \"apps\" must be a non-empty array"},
      {R"({"v":1,"cmd":"stop","apps":[""]})", "bad-request: \"apps\" must hold app names"},
      {R"({"v":1,"cmd":"signal","apps":["a"]})", "bad-request: \"signal\" must be a signal"},
      {R"({"v":1,"cmd":"signal","signal":"HUP"})", "bad-request: \"apps\" must be a non-empty"},
      {R"({"v":1,"cmd":"signal","app":"a","signal":"HUP"})", "bad-request: \"apps\" must be"},
      {R"({"v":1,"cmd":"panic","app":"a","reason":5})", "bad-request: \"reason\" must be"},
  };
  for (const auto &c : cases)
    EXPECT_EQ(code_of(c.body).rfind(c.expect, 0), 0u) << c.body << " -> " << code_of(c.body);
}

TEST(ControlProtocol, OversizedRequestIsRefusedBeforeParsing) {
  std::string huge(max_request_bytes + 1, ' ');
  EXPECT_EQ(code_of(huge).rfind("bad-request: request too large", 0), 0u);
}

TEST(ControlProtocol, RepliesAreVersioned) {
  auto ok = ok_reply();
  EXPECT_EQ(ok["v"], 1);
  EXPECT_EQ(ok["ok"], true);
  auto err = error_reply("unknown-app", "no app named x");
  EXPECT_EQ(err["ok"], false);
  EXPECT_EQ(err["error"], "unknown-app");
  // dump() survives invalid UTF-8: the byte becomes U+FFFD, the rest stays
  nlohmann::json j = {{"s", std::string("a\xff"
                                        "b")}};
  EXPECT_EQ(dump(j), "{\"s\":\"a\xef\xbf\xbd"
                     "b\"}");
}

// Every command hbmonctl can send comes back from parse_request() as built:
// one sample per entry of command_names, so a command added without a sample
// (and a builder that writes its fields) fails here.
TEST(ControlProtocol, EveryBuiltRequestParsesBackToItself) {
  const std::map<Command, std::vector<Request>> samples = {
      {Command::status, {{.cmd = Command::status}, {.cmd = Command::status, .apps = {"a", "b"}}}},
      {Command::info, {{.cmd = Command::info}}},
      {Command::panic,
       {{.cmd = Command::panic, .app = "web", .reason = "stuck in a loop"},
        {.cmd = Command::panic, .app = "web", .reason = "no reason given"}}},
      {Command::start, {{.cmd = Command::start, .apps = {"web"}}}},
      {Command::stop, {{.cmd = Command::stop, .apps = {"web", "batch-*", "all"}}}},
      {Command::restart, {{.cmd = Command::restart, .apps = {"web"}}}},
      {Command::reload, {{.cmd = Command::reload}}},
      {Command::reexec, {{.cmd = Command::reexec}}},
      {Command::metrics, {{.cmd = Command::metrics}}},
      {Command::forensics,
       {{.cmd = Command::forensics, .app = "web"},
        {.cmd = Command::forensics, .app = "web", .id = "20261130T143302.123Z-4242"}}},
      {Command::logs,
       {{.cmd = Command::logs, .app = "web"},
        {.cmd = Command::logs, .app = "web", .lines = 0, .cursor = "m:42"}}},
      {Command::signal, {{.cmd = Command::signal, .apps = {"web", "w?b"}, .signal = "HUP"}}},
  };
  for (const auto &entry : command_names.entries) {
    auto it = samples.find(entry.value);
    ASSERT_NE(it, samples.end()) << "no sample request for \"" << entry.name << "\"";
    for (const Request &r : it->second) {
      const nlohmann::json built = build_request(r);
      EXPECT_EQ(built["v"], protocol_version);
      EXPECT_EQ(built["cmd"], entry.name);
      Request back;
      ASSERT_NO_THROW(back = parse_request(dump(built))) << dump(built);
      EXPECT_EQ(back, r) << dump(built);
    }
  }
}

TEST(ControlProtocol, BuiltRequestsCarryOnlyTheirCommandsFields) {
  EXPECT_EQ(dump(build_request({.cmd = Command::info})), R"({"cmd":"info","v":1})");
  EXPECT_EQ(dump(build_request({.cmd = Command::stop, .apps = {"web"}, .reason = "x"})),
            R"({"apps":["web"],"cmd":"stop","v":1})");
  EXPECT_EQ(dump(build_request({.cmd = Command::panic, .app = "web"})),
            R"({"app":"web","cmd":"panic","v":1})");
}

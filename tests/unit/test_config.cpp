// Config: bad inputs are refused with a message naming the place; good inputs
// get their defaults. Users and groups come from a fake (fake_accounts.hpp):
// no test here reads a file or the system's accounts (test_config_file.cpp
// does).
#include "config_text.hpp"
#include "core/config.hpp"
#include "core/signal_names.hpp"
#include "fake_accounts.hpp"
#include "fake_directories.hpp"

#include <algorithm>
#include <csignal>
#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <limits>
#include <string>

using namespace hbmon;
using namespace std::chrono_literals;
using ::testing::HasSubstr;

namespace {

const std::string path = "/etc/hbmond/apps.json";
const hbtest::FakeAccounts accounts;
const hbtest::FakeDirectories directories;

using hbtest::one_app;

// The message of the ConfigError that parsing `text` throws ("" if none).
std::string error_of(const std::string &text, std::string_view runtime_dir = "/run/hbmond") {
  try {
    parse_config(text, path, accounts, directories, runtime_dir);
  } catch (const ConfigError &e) {
    return e.what();
  }
  return "";
}

// --- bad inputs: one table --------------------------------------------------------

struct BadCase {
  const char *name;
  std::string text;
  std::string fragment; // must appear in the message
};

std::ostream &operator<<(std::ostream &os, const BadCase &c) { return os << c.name; }

const std::string long_ipc = "ipc:///" + std::string(120, 'a');

const BadCase bad_cases[] = {
    // JSON itself
    {"syntax_error_line_col", "{\n  \"apps\": [\n    {,\n", "apps.json:3:6: invalid JSON: "},
    {"empty_text", "", "apps.json:1:1: invalid JSON: "},
    {"trailing_garbage", "{\"apps\": []} x", "apps.json:1:14: invalid JSON"},
    {"nan_literal", one_app(R"("restart_delay": NaN)"), "invalid JSON"},
    {"duplicate_json_key", R"({"apps": [{"name": "a", "name": "b", "command": ["x"]}]})",
     "apps[0].name: duplicate key \"name\""},
    {"duplicate_top_key", R"({"apps": [], "apps": []})", "apps.json: apps: duplicate key"},
    // top level
    {"top_not_object", "[]", "apps.json: the top level must be an object"},
    {"missing_apps", "{}", "apps: missing"},
    {"apps_not_array", R"({"apps": {}})", "apps: must be an array of app objects, got an object"},
    {"app_not_object", R"({"apps": ["web"]})", "apps[0]: must be an object describing one app"},
    {"top_unknown_key", R"({"apps": [], "log_levl": "info"})",
     "log_levl: unknown key; did you mean \"log_level\"?"},
    {"log_level_bad", R"({"apps": [], "log_level": "verbose"})",
     "log_level: must be one of \"debug\", \"info\", \"warning\", \"error\", got \"verbose\""},
    // forensics, hang_signal, abort_timeout
    {"forensics_string", R"({"apps": [], "forensics": "/var/x"})",
     "forensics: must be an object such as {\"dir\": \"/var/lib/hbmond/forensics\", \"keep\": 20}, "
     "or false for no records"},
    {"forensics_relative_dir", R"({"apps": [], "forensics": {"dir": "records"}})",
     "forensics.dir: must be an absolute path (starting with '/'), got \"records\""},
    {"forensics_keep_zero", R"({"apps": [], "forensics": {"keep": 0}})", "forensics.keep: "},
    {"forensics_unknown_key", R"({"apps": [], "forensics": {"directory": "/x"}})",
     "forensics.directory: unknown key; allowed here: \"dir\", \"keep\""},
    {"hang_signal_unknown", one_app(R"("hang_signal": "SIGFOO")"),
     "apps[0].hang_signal: unknown signal \"SIGFOO\""},
    {"abort_timeout_negative", one_app(R"("abort_timeout": -1)"), "apps[0].abort_timeout: "},
    // metrics
    {"metrics_not_object", R"({"apps": [], "metrics": "127.0.0.1:9464"})",
     "metrics: must be an object such as {\"listen\": \"127.0.0.1:9464\"}, or null"},
    {"metrics_no_listen", R"({"apps": [], "metrics": {}})",
     "metrics.listen: missing; give the address and port to serve GET /metrics on"},
    {"metrics_unknown_key", R"({"apps": [], "metrics": {"listen": "127.0.0.1:1", "port": 1}})",
     "metrics.port: unknown key; allowed here: \"listen\""},
    {"metrics_listen_number", R"({"apps": [], "metrics": {"listen": 9464}})",
     "metrics.listen: must be a string such as \"127.0.0.1:9464\", got number 9464"},
    {"metrics_no_port", R"({"apps": [], "metrics": {"listen": "127.0.0.1"}})",
     "metrics.listen: \"127.0.0.1\": must be HOST:PORT"},
    {"metrics_port_zero", R"({"apps": [], "metrics": {"listen": "127.0.0.1:0"}})",
     "metrics.listen: \"127.0.0.1:0\": the port must be a number from 1 to 65535"},
    {"metrics_host_name", R"({"apps": [], "metrics": {"listen": "localhost:9464"}})",
     "metrics.listen: \"localhost:9464\": the address must be numeric, such as 127.0.0.1, [::1] "
     "or 0.0.0.0 (hbmond does not look names up to bind)"},
    {"metrics_v6_unbracketed", R"({"apps": [], "metrics": {"listen": "::1:9464"}})",
     "metrics.listen: \"::1:9464\": an IPv6 address goes in brackets"},
    {"metrics_port_too_big", R"({"apps": [], "metrics": {"listen": "[::1]:99999"}})",
     "the port must be a number from 1 to 65535, got \"99999\""},
    {"control_bad_scheme", R"({"apps": [], "control": "udp://x"})",
     "control: must start with \"ipc://\" or \"tcp://\""},
    {"control_same_as_events",
     R"({"apps": [], "control": "tcp://*:5555", "events": "tcp://*:5555"})",
     "events: \"tcp://*:5555\" is already used by control"},
    // unknown keys
    {"unknown_key_did_you_mean", one_app(R"("heartbeat": {"intervall": 1})"),
     "apps[0].heartbeat.intervall: unknown key; did you mean \"interval\"?"},
    {"unknown_key_restart_dealy", one_app(R"("restart_dealy": 1)"),
     "apps[0].restart_dealy: unknown key; did you mean \"restart_delay\"?"},
    {"unknown_key_case", one_app(R"("Enabled": true)"), "did you mean \"enabled\"?"},
    {"unknown_key_no_guess", one_app(R"("colour": "red")"),
     "apps[0].colour: unknown key; allowed here: \"name\", \"command\""},
    {"unknown_key_start_limit", one_app(R"("start_limit": {"brust": 3})"),
     "apps[0].start_limit.brust: unknown key; did you mean \"burst\"?"},
    // durations and integers
    {"interval_string", one_app(R"("heartbeat": {"interval": "fast"})"),
     "apps[0].heartbeat.interval: must be a number of seconds from 0.01 to 86400, got string "
     "\"fast\""},
    {"interval_quoted_number", one_app(R"("heartbeat": {"interval": "1.5"})"),
     "(write numbers without quotes)"},
    {"interval_bool", one_app(R"("heartbeat": {"interval": true})"),
     "apps[0].heartbeat.interval: must be a number of seconds from 0.01 to 86400, got true"},
    {"interval_too_small", one_app(R"("heartbeat": {"interval": 0.001})"),
     "apps[0].heartbeat.interval: must be a number of seconds from 0.01 to 86400, got 0.001"},
    {"interval_overflow", one_app(R"("heartbeat": {"interval": 1e400})"),
     "apps.json:1:83: invalid JSON: number overflow parsing '1e400'"},
    {"interval_huge", one_app(R"("heartbeat": {"interval": 1e300})"),
     "apps[0].heartbeat.interval: must be a number of seconds from 0.01 to 86400, got 1e+300"},
    {"interval_huge_integer", one_app(R"("heartbeat": {"interval": 99999999999999999999999})"),
     "apps[0].heartbeat.interval: must be a number of seconds from 0.01 to 86400"},
    {"restart_delay_negative", one_app(R"("restart_delay": -1)"),
     "apps[0].restart_delay: must be a number of seconds from 0 to 86400, got -1"},
    {"grace_zero", one_app(R"("heartbeat": {"grace": 0})"),
     "apps[0].heartbeat.grace: must be a number of seconds greater than 0 and at most 86400"},
    {"stop_timeout_too_long", one_app(R"("stop_timeout": 3601)"),
     "apps[0].stop_timeout: must be a number of seconds from 0 to 3600, got 3601"},
    {"start_limit_interval_too_long", one_app(R"("start_limit": {"interval": 604801})"),
     "apps[0].start_limit.interval: must be a number of seconds from 0 to 604800"},
    {"misses_zero", one_app(R"("heartbeat": {"misses": 0})"),
     "apps[0].heartbeat.misses: must be an integer from 1 to 1000, got 0"},
    {"misses_fraction", one_app(R"("heartbeat": {"misses": 2.5})"),
     "apps[0].heartbeat.misses: must be an integer from 1 to 1000, got 2.5"},
    {"burst_too_big", one_app(R"("start_limit": {"burst": 100001})"),
     "apps[0].start_limit.burst: must be an integer from 1 to 100000, got 100001"},
    {"start_limit_not_object", one_app(R"("start_limit": 10)"),
     "apps[0].start_limit: must be an object"},
    {"backoff_below_delay", one_app(R"("restart_delay": 5, "backoff_max": 2)"),
     "apps[0].backoff_max: 2 is less than restart_delay (5)"},
    {"backoff_below_default_delay", one_app(R"("backoff_max": 0.5)"),
     "apps[0].backoff_max: 0.5 is less than restart_delay (1)"},
    // heartbeat
    {"heartbeat_number", one_app(R"("heartbeat": 1)"),
     "apps[0].heartbeat: must be an object such as {\"interval\": 1}, true, false or null, got "
     "number 1"},
    // name
    {"name_missing", R"({"apps": [{"command": ["/bin/true"]}]})", "apps[0].name: missing"},
    {"name_number", R"({"apps": [{"name": 3, "command": ["/bin/true"]}]})",
     "apps[0].name: must be a string, got number 3"},
    {"name_empty", R"({"apps": [{"name": "", "command": ["/bin/true"]}]})",
     "apps[0].name: must not be empty"},
    {"name_bad_char", R"({"apps": [{"name": "we b", "command": ["/bin/true"]}]})",
     "apps[0].name: \"we b\" contains ' '; use only letters, digits"},
    {"name_slash", R"({"apps": [{"name": "a/b", "command": ["/bin/true"]}]})",
     "apps[0].name: \"a/b\" contains '/'"},
    {"name_leading_dash", R"({"apps": [{"name": "-web", "command": ["/bin/true"]}]})",
     "apps[0].name: \"-web\" must not start with '-'"},
    {"name_leading_dot", R"({"apps": [{"name": ".web", "command": ["/bin/true"]}]})",
     "apps[0].name: \".web\" must not start with '.'"},
    {"name_too_long",
     R"({"apps": [{"name": ")" + std::string(65, 'a') + R"(", "command": ["/bin/true"]}]})",
     "apps[0].name: \"" + std::string(60, 'a') + "...\" is 65 characters long; at most 64"},
    {"name_duplicate",
     R"({"apps": [{"name": "web", "command": ["a"]}, {"name": "db", "command": ["a"]},
        {"name": "x", "command": ["a"]}, {"name": "web", "command": ["a"]}]})",
     "apps[3].name: duplicate name \"web\", first used at apps[0].name"},
    {"name_all_is_reserved", R"({"apps": [{"name": "all", "command": ["/bin/true"]}]})",
     "apps[0].name: \"all\" is reserved: hbmonctl takes it to mean every app"},
    // command
    {"command_missing", R"({"apps": [{"name": "web"}]})", "apps[0].command: missing"},
    {"command_empty", R"({"apps": [{"name": "web", "command": []}]})",
     "apps[0].command: must not be empty"},
    {"command_not_array", R"({"apps": [{"name": "web", "command": "/bin/true"}]})",
     "apps[0].command: must be an array of strings"},
    {"command_element_number", R"({"apps": [{"name": "web", "command": ["/bin/sleep", 5]}]})",
     "apps[0].command[1]: must be a string, got number 5 (write it in quotes)"},
    {"command_relative_slash", R"({"apps": [{"name": "web", "command": ["bin/web"]}]})",
     "apps[0].command[0]: \"bin/web\" is a relative path; use an absolute path"},
    {"command_program_empty", R"({"apps": [{"name": "web", "command": [""]}]})",
     "apps[0].command[0]: must not be empty"},
    {"command_nul", R"({"apps": [{"name": "web", "command": ["/bin/echo", "a\u0000b"]}]})",
     "apps[0].command[1]: must not contain a NUL byte"},
    // endpoints
    {"endpoint_bad_scheme", one_app(R"("heartbeat": {"endpoint": "http://x"})"),
     "apps[0].heartbeat.endpoint: must start with \"ipc://\" or \"tcp://\", got \"http://x\""},
    {"endpoint_relative_ipc", one_app(R"("heartbeat": {"endpoint": "ipc://web.hb"})"),
     "apps[0].heartbeat.endpoint: the ipc path must be absolute"},
    {"endpoint_ipc_too_long", one_app(R"("heartbeat": {"endpoint": ")" + long_ipc + "\"}"),
     "apps[0].heartbeat.endpoint: the ipc path is 121 bytes long; at most 107"},
    {"endpoint_tcp_no_port", one_app(R"("heartbeat": {"endpoint": "tcp://localhost"})"),
     "apps[0].heartbeat.endpoint: a tcp endpoint must be \"tcp://<host>:<port>\""},
    {"endpoint_not_string", one_app(R"("heartbeat": {"endpoint": 5555})"),
     "apps[0].heartbeat.endpoint: must be a string such as"},
    {"endpoint_duplicate",
     R"({"apps": [{"name": "a", "command": ["x"], "heartbeat": {"endpoint": "tcp://*:1"}},
                  {"name": "b", "command": ["x"], "heartbeat": {"endpoint": "tcp://*:1"}}]})",
     "apps[1].heartbeat.endpoint: \"tcp://*:1\" is already used by apps[0].heartbeat.endpoint"},
    {"endpoint_duplicate_default",
     R"({"apps": [{"name": "a", "command": ["x"]},
                  {"name": "b", "command": ["x"], "heartbeat": {"endpoint": "ipc:///run/hbmond/a.hb"}}]})",
     "apps[1].heartbeat.endpoint: \"ipc:///run/hbmond/a.hb\" is already used by "
     "apps[0].heartbeat.endpoint"},
    {"endpoint_is_control", one_app(R"("heartbeat": {"endpoint": "ipc:///run/hbmond/control"})"),
     "apps[0].heartbeat.endpoint: \"ipc:///run/hbmond/control\" is already used by control"},
    // restart, signals
    {"restart_bad", one_app(R"("restart": "sometimes")"),
     "apps[0].restart: must be one of \"on-failure\", \"always\", \"never\", got \"sometimes\""},
    {"restart_underscore", one_app(R"("restart": "on_failure")"),
     "apps[0].restart: must be one of \"on-failure\", \"always\", \"never\", got \"on_failure\"; "
     "did you mean \"on-failure\"?"},
    {"signal_unknown", one_app(R"("stop_signal": "SIGFOO")"),
     "apps[0].stop_signal: unknown signal \"SIGFOO\"; use a name such as \"SIGTERM\""},
    {"signal_lower_case", one_app(R"("stop_signal": "sigterm")"),
     "apps[0].stop_signal: unknown signal \"sigterm\"; did you mean \"SIGTERM\"?"},
    {"signal_zero", one_app(R"("stop_signal": 0)"),
     "apps[0].stop_signal: must be a signal number from 1 to 64, got 0"},
    {"signal_too_big", one_app(R"("stop_signal": 65)"), "apps[0].stop_signal: must be a signal"},
    {"signal_bool", one_app(R"("stop_signal": false)"),
     "apps[0].stop_signal: must be a signal name such as \"SIGTERM\" or a number, got false"},
    // accounts
    {"user_unknown", one_app(R"("user": "no-such-user-hbmond")"),
     "apps[0].user: no such user \"no-such-user-hbmond\""},
    {"user_unknown_id", one_app(R"("user": 3999999999)"), "apps[0].user: no such user 3999999999"},
    {"user_negative", one_app(R"("user": -1)"), "apps[0].user: must be a user id from 0 to"},
    {"user_bool", one_app(R"("user": true)"),
     "apps[0].user: must be a user name (string) or id (number), got true"},
    {"group_unknown", one_app(R"("user": "root", "group": "no-such-group-hbmond")"),
     "apps[0].group: no such group \"no-such-group-hbmond\""},
    {"group_unknown_alone", one_app(R"("group": "no-such-group-hbmond")"),
     "apps[0].group: no such group"},
    // cwd, env, enabled
    {"cwd_relative", one_app(R"("cwd": "srv/web")"),
     "apps[0].cwd: must be an absolute path (starting with '/'), got \"srv/web\""},
    {"cwd_number", one_app(R"("cwd": 1)"), "apps[0].cwd: must be a string (an absolute path)"},
    {"env_not_object", one_app(R"("env": ["A=B"])"), "apps[0].env: must be an object"},
    {"env_key_equals", one_app(R"("env": {"A=B": "c"})"),
     "apps[0].env[\"A=B\"]: variable name must not contain '='"},
    {"env_key_empty", one_app(R"("env": {"": "c"})"),
     "apps[0].env[\"\"]: variable name must not be empty"},
    {"env_hbmon_key", one_app(R"("env": {"HBMON_ENDPOINT": "x"})"),
     "apps[0].env.HBMON_ENDPOINT: HBMON_* variables are set by hbmond"},
    {"env_notify_socket", one_app(R"("env": {"NOTIFY_SOCKET": "/run/x"})"),
     "apps[0].env.NOTIFY_SOCKET: NOTIFY_SOCKET is hbmond's to set: an app with "
     "heartbeat.protocol \"notify\" gets it from hbmond"},
    {"env_watchdog_usec", one_app(R"("env": {"WATCHDOG_USEC": "1000000"})"),
     "apps[0].env.WATCHDOG_USEC: WATCHDOG_USEC is hbmond's to set"},
    {"notify_endpoint_ipc",
     one_app(R"("heartbeat": {"protocol": "notify", "endpoint": "ipc:///run/x.notify"})"),
     "apps[0].heartbeat.endpoint: with protocol \"notify\" the endpoint is a socket path, not a "
     "ZeroMQ endpoint: write \"/run/x.notify\""},
    {"notify_endpoint_relative",
     one_app(R"("heartbeat": {"protocol": "notify", "endpoint": "run/x.notify"})"),
     "apps[0].heartbeat.endpoint: must be an absolute path"},
    {"notify_endpoint_abstract",
     one_app(R"("heartbeat": {"protocol": "notify", "endpoint": "@hbmond/x"})"),
     "apps[0].heartbeat.endpoint: must be an absolute path"},
    {"probe_none_of_the_kinds", one_app(R"("probe": {"interval": 5})"),
     "apps[0].probe: needs one of \"exec\" (a command), \"http\" (a URL) or \"tcp\""},
    {"probe_two_kinds", one_app(R"("probe": {"tcp": "127.0.0.1:1", "http": "http://a:1/"})"),
     "apps[0].probe: has \"http\", \"tcp\": a probe is exactly one of them"},
    {"probe_tcp_no_port", one_app(R"("probe": {"tcp": "127.0.0.1"})"),
     "apps[0].probe.tcp: \"127.0.0.1\": must be HOST:PORT"},
    {"probe_tcp_port_range", one_app(R"("probe": {"tcp": "localhost:70000"})"),
     "apps[0].probe.tcp: \"localhost:70000\": the port must be a number from 1 to 65535"},
    {"probe_tcp_ipv6_brackets", one_app(R"("probe": {"tcp": "::1:80"})"),
     "an IPv6 address goes in brackets, as in [::1]:8080"},
    {"probe_http_scheme", one_app(R"("probe": {"http": "https://127.0.0.1:443/"})"),
     "apps[0].probe.http: \"https://127.0.0.1:443/\": must start with \"http://\""},
    {"probe_http_userinfo", one_app(R"("probe": {"http": "http://u:p@127.0.0.1:80/"})"),
     "no user or password in a probe's URL"},
    {"probe_timeout_over_interval",
     one_app(R"("probe": {"tcp": "h:1", "interval": 1, "timeout": 2})"),
     "apps[0].probe.timeout: 2 is longer than the probe's interval (1)"},
    {"probe_exec_empty", one_app(R"("probe": {"exec": []})"), "apps[0].probe.exec: "},
    {"probe_unknown_key", one_app(R"("probe": {"tcp": "h:1", "failure": 2})"),
     "apps[0].probe.failure: unknown key; did you mean \"failures\"?"},
    {"heartbeat_protocol_unknown", one_app(R"("heartbeat": {"protocol": "notfy"})"),
     "apps[0].heartbeat.protocol: must be one of \"zmq\", \"notify\", got \"notfy\"; did you "
     "mean \"notify\"?"},
    {"env_value_number", one_app(R"("env": {"PORT": 80})"),
     "apps[0].env.PORT: must be a string, got number 80 (write it in quotes)"},
    {"env_value_nul", one_app(R"("env": {"X": "a\u0000"})"),
     "apps[0].env.X: value must not contain a NUL byte"},
    {"enabled_string", one_app(R"("enabled": "yes")"),
     "apps[0].enabled: must be true or false, got string \"yes\""},
    // the second app is counted correctly
    {"second_app_place",
     R"({"apps": [{"name": "a", "command": ["x"]}, {"name": "b", "command": ["x"], "cwd": "."}]})",
     "apps[1].cwd: must be an absolute path"},
};

class BadConfig : public ::testing::TestWithParam<BadCase> {};

TEST_P(BadConfig, IsRefusedNamingThePlace) {
  const BadCase &c = GetParam();
  const std::string message = error_of(c.text);
  ASSERT_FALSE(message.empty()) << "accepted: " << c.text;
  EXPECT_THAT(message, HasSubstr(c.fragment));
  EXPECT_EQ(message.rfind(path, 0), 0u) << message;
}

INSTANTIATE_TEST_SUITE_P(Config, BadConfig, ::testing::ValuesIn(bad_cases),
                         [](const auto &info) { return std::string(info.param.name); });

TEST(Config, ReportsAllProblemsTogetherOnePerLine) {
  const std::string message = error_of(R"({
    "apps": [
      {"name": "web", "command": ["/bin/true"], "heartbeat": {"intervall": 1}},
      {"name": "web", "command": [], "restart": "sometimes"}
    ],
    "log_level": "loud"
  })");
  EXPECT_THAT(message, HasSubstr(path + ": apps[0].heartbeat.intervall: unknown key"));
  EXPECT_THAT(message, HasSubstr(path + ": apps[1].command: must not be empty"));
  EXPECT_THAT(message, HasSubstr(path + ": apps[1].restart: must be one of"));
  EXPECT_THAT(message, HasSubstr(path + ": apps[1].name: duplicate name \"web\""));
  EXPECT_THAT(message, HasSubstr(path + ": log_level: must be one of"));
  EXPECT_EQ(std::count(message.begin(), message.end(), '\n'), 4) << message;
}

TEST(Config, SyntaxErrorColumnIsTheOffendingCharacter) {
  EXPECT_THAT(error_of("{\"apps\": [1,]}"), HasSubstr(path + ":1:13: invalid JSON"));
  // The space that ends the bad literal, as nlohmann's own message counts it.
  EXPECT_THAT(error_of("{\n\"apps\": tru }"),
              HasSubstr(path + ":2:12: invalid JSON: invalid literal"));
}

TEST(Config, OneBadValueIsReportedOnce) {
  // A bad restart_delay must not also produce a "backoff_max below restart_delay" line.
  const std::string message = error_of(one_app(R"("restart_delay": "x", "backoff_max": 0.5)"));
  EXPECT_EQ(std::count(message.begin(), message.end(), '\n'), 0) << message;
}

// --- the directories of ipc:// endpoints ----------------------------------------

// The message parsing `text` throws when `dirs` judges the directories.
std::string error_with(const std::string &text, const hbtest::FakeDirectories &dirs) {
  try {
    parse_config(text, path, accounts, dirs, "/run/hbmond");
  } catch (const ConfigError &e) {
    return e.what();
  }
  return "";
}

TEST(EndpointDirectories, AnUnsafeOneIsRefusedNamingThePlaceTheReasonAndTheFix) {
  hbtest::FakeDirectories dirs;
  dirs.unsafe_dirs["/srv/open"] = "/srv/open belongs to uid 65534 (nobody), not to root";
  EXPECT_EQ(error_with(one_app(R"("heartbeat": {"endpoint": "ipc:///srv/open/web.hb"})"), dirs),
            path +
                R"(: apps[0].heartbeat.endpoint: "ipc:///srv/open/web.hb": unsafe directory: )"
                "/srv/open belongs to uid 65534 (nobody), not to root; hbmond binds sockets only "
                "where no user but root and its own can change what is there: make /srv/open and "
                "every directory above it belong to root (or hbmond's user) and not writable by "
                "group or others (a sticky directory such as /tmp is fine above it), or choose "
                "another directory");
}

TEST(EndpointDirectories, ANotifySocketsDirectoryIsJudgedToo) {
  hbtest::FakeDirectories dirs;
  dirs.unsafe_dirs["/srv/open"] = "/srv/open is writable by every user (mode 0777)";
  EXPECT_THAT(
      error_with(
          one_app(R"("heartbeat": {"protocol": "notify", "endpoint": "/srv/open/w.notify"})"),
          dirs),
      HasSubstr(R"(apps[0].heartbeat.endpoint: "/srv/open/w.notify": unsafe directory: )"));
}

TEST(EndpointDirectories, AnUnsafeRuntimeDirIsReportedOnceAtTheFirstPlaceThatUsesIt) {
  hbtest::FakeDirectories dirs;
  dirs.unsafe_dirs["/run/hbmond"] = "/run/hbmond is writable by every user (mode 0777)";
  const std::string message = error_with(R"({"apps": [
      {"name": "a", "command": ["/bin/true"]}, {"name": "b", "command": ["/bin/true"]}]})",
                                         dirs);
  EXPECT_THAT(message, HasSubstr(path + R"(: control: "ipc:///run/hbmond/control": unsafe )"));
  EXPECT_EQ(std::count(message.begin(), message.end(), '\n'), 0) << message;
}

TEST(EndpointDirectories, EachIpcDirectoryIsAskedAboutOnceAndTcpNever) {
  hbtest::FakeDirectories dirs;
  parse_config(R"({"events": "tcp://127.0.0.1:5555", "apps": [
      {"name": "a", "command": ["/bin/true"]},
      {"name": "b", "command": ["/bin/true"], "heartbeat": {"endpoint": "ipc:///b.hb"}},
      {"name": "c", "command": ["/bin/true"], "heartbeat": {"endpoint": "tcp://127.0.0.1:6"}}]})",
               path, accounts, dirs);
  EXPECT_EQ(dirs.asked, (std::vector<std::string>{"/run/hbmond", "/"}));
}

// --- good inputs ---------------------------------------------------------------

TEST(Config, EmptyAppsIsValid) {
  Config cfg = parse_config(R"({"apps": []})", path, accounts, directories);
  EXPECT_TRUE(cfg.apps.empty());
  EXPECT_EQ(cfg.path, path);
  EXPECT_EQ(cfg.control, "ipc:///run/hbmond/control");
  EXPECT_EQ(cfg.events, "ipc:///run/hbmond/events");
  EXPECT_FALSE(cfg.log_level);
  EXPECT_FALSE(cfg.metrics); // no HTTP endpoint unless asked for
}

TEST(Config, ForensicsAreOnByDefaultAndFalseTurnsThemOff) {
  Config cfg = parse_config(R"({"apps": []})", path, accounts, directories);
  ASSERT_TRUE(cfg.forensics);
  EXPECT_EQ(cfg.forensics->dir, "/var/lib/hbmond/forensics");
  EXPECT_EQ(cfg.forensics->keep, 20u);
  cfg = parse_config(R"({"apps": [], "forensics": {"dir": "/srv/rec", "keep": 3}})", path, accounts,
                     directories);
  EXPECT_EQ(*cfg.forensics, (ForensicsConfig{"/srv/rec", 3}));
  cfg = parse_config(R"({"apps": [], "forensics": false})", path, accounts, directories);
  EXPECT_FALSE(cfg.forensics);
  cfg = parse_config(one_app(R"("hang_signal": "SIGABRT", "abort_timeout": 2.5)"), path, accounts,
                     directories);
  EXPECT_EQ(cfg.apps[0].hang_signal, SIGABRT);
  EXPECT_EQ(cfg.apps[0].abort_timeout, 2500ms);
  cfg = parse_config(one_app(""), path, accounts, directories);
  EXPECT_EQ(cfg.apps[0].hang_signal, SIGKILL);
  EXPECT_EQ(cfg.apps[0].abort_timeout, 10s);
}

TEST(Config, MetricsListenIsANumericAddressAndAPort) {
  Config cfg = parse_config(R"({"apps": [], "metrics": {"listen": "[::1]:9464"}})", path, accounts,
                            directories);
  ASSERT_TRUE(cfg.metrics);
  EXPECT_EQ(*cfg.metrics, (MetricsConfig{"[::1]:9464", "::1", 9464}));
  cfg = parse_config(R"({"apps": [], "metrics": {"listen": "0.0.0.0:1"}})", path, accounts,
                     directories);
  EXPECT_EQ(*cfg.metrics, (MetricsConfig{"0.0.0.0:1", "0.0.0.0", 1}));
  cfg = parse_config(R"({"apps": [], "metrics": null})", path, accounts, directories);
  EXPECT_FALSE(cfg.metrics);
}

TEST(Config, DefaultsAreFilledIn) {
  Config cfg = parse_config(one_app(""), path, accounts, directories, "/tmp/rt");
  ASSERT_EQ(cfg.apps.size(), 1u);
  const AppConfig &a = cfg.apps[0];
  EXPECT_EQ(a.name, "web");
  EXPECT_EQ(a.command, std::vector<std::string>{"/bin/true"});
  ASSERT_TRUE(a.heartbeat);
  EXPECT_EQ(a.heartbeat->endpoint, "ipc:///tmp/rt/web.hb");
  EXPECT_EQ(a.heartbeat->interval, 1s);
  EXPECT_EQ(a.heartbeat->misses, 2u);
  EXPECT_EQ(a.heartbeat->grace, 2s);
  EXPECT_EQ(a.restart, RestartPolicy::on_failure);
  EXPECT_EQ(a.restart_delay, 1s);
  EXPECT_EQ(a.backoff_max, 60s);
  EXPECT_EQ(a.start_limit.burst, 10u);
  EXPECT_EQ(a.start_limit.interval, 300s);
  EXPECT_EQ(a.stop_signal, SIGTERM);
  EXPECT_EQ(a.stop_timeout, 5s);
  EXPECT_FALSE(a.user);
  EXPECT_FALSE(a.group);
  EXPECT_FALSE(a.uid);
  EXPECT_FALSE(a.gid);
  EXPECT_TRUE(a.supplementary_groups.empty());
  EXPECT_EQ(a.cwd, "/");
  EXPECT_TRUE(a.env.empty());
  EXPECT_TRUE(a.enabled);
  EXPECT_EQ(cfg.control, "ipc:///tmp/rt/control");
  EXPECT_EQ(cfg.find("web"), &cfg.apps[0]);
  EXPECT_EQ(cfg.find("db"), nullptr);
}

TEST(Config, GraceDefaultsToTwiceTheInterval) {
  Config cfg =
      parse_config(one_app(R"("heartbeat": {"interval": 0.25})"), path, accounts, directories);
  ASSERT_TRUE(cfg.apps[0].heartbeat);
  EXPECT_EQ(cfg.apps[0].heartbeat->interval, 250ms);
  EXPECT_EQ(cfg.apps[0].heartbeat->grace, 500ms);
}

TEST(Config, EveryKeyIsRead) {
  Config cfg = parse_config(R"({
    "control": "tcp://127.0.0.1:7000",
    "events": "ipc:///tmp/hbmond-events",
    "log_level": "debug",
    "apps": [{
      "name": "Web_1.x-y",
      "command": ["sleep", "10"],
      "heartbeat": {"endpoint": "tcp://127.0.0.1:7001", "interval": 0.5, "misses": 3.0,
                    "grace": 10},
      "restart": "always",
      "restart_delay": 0.1,
      "backoff_max": 2.5,
      "start_limit": {"burst": 4, "interval": 60},
      "stop_signal": "INT",
      "stop_timeout": 0,
      "cwd": "/srv",
      "env": {"LANG": "C.UTF-8", "EMPTY": ""},
      "enabled": false
    }]
  })",
                            path, accounts, directories);
  EXPECT_EQ(cfg.control, "tcp://127.0.0.1:7000");
  EXPECT_EQ(cfg.events, "ipc:///tmp/hbmond-events");
  EXPECT_EQ(cfg.log_level, "debug");
  const AppConfig &a = cfg.apps.at(0);
  EXPECT_EQ(a.name, "Web_1.x-y");
  EXPECT_EQ(a.command, (std::vector<std::string>{"sleep", "10"}));
  ASSERT_TRUE(a.heartbeat);
  EXPECT_EQ(a.heartbeat->endpoint, "tcp://127.0.0.1:7001");
  EXPECT_EQ(a.heartbeat->interval, 500ms);
  EXPECT_EQ(a.heartbeat->misses, 3u);
  EXPECT_EQ(a.heartbeat->grace, 10s);
  EXPECT_EQ(a.restart, RestartPolicy::always);
  EXPECT_EQ(a.restart_delay, 100ms);
  EXPECT_EQ(a.backoff_max, 2500ms);
  EXPECT_EQ(a.start_limit.burst, 4u);
  EXPECT_EQ(a.start_limit.interval, 60s);
  EXPECT_EQ(a.stop_signal, SIGINT);
  EXPECT_EQ(a.stop_timeout, 0s);
  EXPECT_EQ(a.cwd, "/srv");
  EXPECT_EQ(a.env, (std::map<std::string, std::string>{{"LANG", "C.UTF-8"}, {"EMPTY", ""}}));
  EXPECT_FALSE(a.enabled);
}

TEST(Config, HeartbeatNullOrFalseDisablesIt) {
  for (const char *off : {"null", "false"}) {
    Config cfg =
        parse_config(one_app(std::string(R"("heartbeat": )") + off), path, accounts, directories);
    EXPECT_FALSE(cfg.apps[0].heartbeat) << off;
  }
  Config cfg = parse_config(one_app(R"("heartbeat": true)"), path, accounts, directories);
  ASSERT_TRUE(cfg.apps[0].heartbeat);
  EXPECT_EQ(cfg.apps[0].heartbeat->endpoint, "ipc:///run/hbmond/web.hb");
  EXPECT_EQ(cfg.apps[0].heartbeat->grace, 2s);
}

TEST(Config, NotifyProtocolDefaultsToASocketPathInTheRuntimeDir) {
  Config cfg = parse_config(one_app(R"("heartbeat": {"protocol": "notify", "interval": 5})"), path,
                            accounts, directories, "/tmp/rt");
  ASSERT_TRUE(cfg.apps[0].heartbeat);
  const HeartbeatConfig &hb = *cfg.apps[0].heartbeat;
  EXPECT_EQ(hb.protocol, HeartbeatProtocol::notify);
  EXPECT_EQ(hb.endpoint, "/tmp/rt/web.notify");
  EXPECT_EQ(hb.socket_file(), "/tmp/rt/web.notify");
  EXPECT_EQ(hb.watchdog_usec(), 10s); // systemd's WATCHDOG_USEC: twice the ping interval
  EXPECT_EQ(
      parse_config(one_app(""), path, accounts, directories, "/tmp/rt").apps[0].heartbeat->protocol,
      HeartbeatProtocol::zmq);
}

TEST(Config, ProbesOfEachKindWithTheirDefaults) {
  Config cfg = parse_config(R"({"apps": [
      {"name": "a", "command": ["x"], "heartbeat": null, "probe": {"tcp": "[::1]:5432"}},
      {"name": "b", "command": ["x"], "heartbeat": {"interval": 2},
       "probe": {"http": "http://localhost:8080/healthz?deep=1", "interval": 1, "timeout": 0.5,
                 "failures": 5}},
      {"name": "c", "command": ["x"], "heartbeat": null,
       "probe": {"exec": ["/usr/bin/pg_isready", "-q"], "initial_delay": 30}},
      {"name": "d", "command": ["x"], "probe": null}]})",
                            path, accounts, directories);
  const ProbeConfig &a = *cfg.apps[0].probe;
  EXPECT_EQ(a.kind, ProbeKind::tcp);
  EXPECT_EQ(a.host, "::1");
  EXPECT_EQ(a.port, 5432);
  EXPECT_EQ(a.interval, 10s);
  EXPECT_EQ(a.timeout, 1s);
  EXPECT_EQ(a.failures, 3u);
  EXPECT_EQ(a.initial_delay, 10s); // no heartbeat: the probe's interval
  const ProbeConfig &b = *cfg.apps[1].probe;
  EXPECT_EQ(b.kind, ProbeKind::http);
  EXPECT_EQ(b.host, "localhost");
  EXPECT_EQ(b.port, 8080);
  EXPECT_EQ(b.path, "/healthz?deep=1");
  EXPECT_EQ(b.url, "http://localhost:8080/healthz?deep=1");
  EXPECT_EQ(b.timeout, 500ms);
  EXPECT_EQ(b.failures, 5u);
  EXPECT_EQ(b.initial_delay, 4s); // the heartbeat's grace
  const ProbeConfig &c = *cfg.apps[2].probe;
  EXPECT_EQ(c.kind, ProbeKind::exec);
  EXPECT_EQ(c.argv, (std::vector<std::string>{"/usr/bin/pg_isready", "-q"}));
  EXPECT_EQ(c.initial_delay, 30s);
  EXPECT_FALSE(cfg.apps[3].probe);
}

TEST(Config, ANotifySocketAndAnIpcEndpointOnOneFileClash) {
  const std::string text = R"({"apps": [
      {"name": "a", "command": ["x"], "heartbeat": {"endpoint": "ipc:///run/hbmond/s"}},
      {"name": "b", "command": ["x"],
       "heartbeat": {"protocol": "notify", "endpoint": "/run/hbmond/s"}}]})";
  EXPECT_THAT(error_of(text), HasSubstr("apps[1].heartbeat.endpoint: \"/run/hbmond/s\" is "
                                        "already used by apps[0].heartbeat.endpoint"));
}

TEST(Config, AppsWithoutHeartbeatNeedNoEndpoint) {
  Config cfg = parse_config(R"({"apps": [
      {"name": "a", "command": ["x"], "heartbeat": false},
      {"name": "b", "command": ["x"], "heartbeat": null}]})",
                            path, accounts, directories);
  EXPECT_EQ(cfg.apps.size(), 2u);
}

TEST(Config, SignalsByNameOrNumber) {
  const std::pair<const char *, int> cases[] = {
      {R"("SIGTERM")", SIGTERM},
      {R"("TERM")", SIGTERM},
      {R"("SIGKILL")", SIGKILL},
      {R"("HUP")", SIGHUP},
      {"9", SIGKILL},
      {"2.0", SIGINT},
      {R"("SIGUSR2")", SIGUSR2},
      {"64", 64},
  };
  for (const auto &[text, sig] : cases) {
    Config cfg = parse_config(one_app(std::string(R"("stop_signal": )") + text), path, accounts,
                              directories);
    EXPECT_EQ(cfg.apps[0].stop_signal, sig) << text;
  }
}

TEST(Config, UserRootResolves) {
  Config cfg = parse_config(one_app(R"("user": "root")"), path, accounts, directories);
  const AppConfig &a = cfg.apps[0];
  EXPECT_EQ(a.user, "root");
  EXPECT_EQ(a.uid, 0u);
  EXPECT_EQ(a.gid, 0u);
  EXPECT_EQ(a.home, "/root");
  EXPECT_THAT(a.supplementary_groups, ::testing::Contains(0u));
}

TEST(Config, NumericUserResolves) {
  Config cfg = parse_config(one_app(R"("user": 0)"), path, accounts, directories);
  EXPECT_EQ(cfg.apps[0].user, "0");
  EXPECT_EQ(cfg.apps[0].uid, 0u);
  EXPECT_EQ(cfg.apps[0].gid, 0u);
  EXPECT_EQ(cfg.apps[0].account, "root") << "its name, so a spawn needs no lookup";
  EXPECT_EQ(cfg.apps[0].home, "/root");
}

TEST(Config, GroupAloneSetsOnlyTheGid) {
  Config cfg = parse_config(one_app(R"("group": "root")"), path, accounts, directories);
  EXPECT_FALSE(cfg.apps[0].uid);
  EXPECT_EQ(cfg.apps[0].gid, 0u);
  EXPECT_TRUE(cfg.apps[0].supplementary_groups.empty());
}

TEST(Config, GroupOverridesTheUsersPrimaryGroup) {
  Config cfg = parse_config(one_app(R"("user": "root", "group": 1)"), path, accounts, directories);
  EXPECT_EQ(cfg.apps[0].uid, 0u);
  EXPECT_EQ(cfg.apps[0].gid, 1u);
}

TEST(Config, AccountsResolveThroughTheResolverGiven) {
  Config cfg = parse_config(one_app(R"("user": "daemon")"), path, accounts, directories);
  EXPECT_EQ(cfg.apps[0].uid, 1u);
  EXPECT_EQ(cfg.apps[0].gid, 1u);
  EXPECT_EQ(cfg.apps[0].home, "/usr/sbin");
  EXPECT_EQ(cfg.apps[0].supplementary_groups, (std::vector<gid_t>{1, 0}));
}

TEST(Config, AFailedAccountLookupIsReported) {
  EXPECT_EQ(error_of(one_app(R"("user": "ldap-user", "group": "ldap-user")")),
            path + ": apps[0].group: cannot look up group \"ldap-user\": Input/output error\n" +
                path + ": apps[0].user: cannot look up user \"ldap-user\": Input/output error");
}

TEST(Config, UnicodeInStringsIsKept) {
  Config cfg =
      parse_config(one_app(R"("env": {"GREETING": "h\u00e9llo"})"), path, accounts, directories);
  EXPECT_EQ(cfg.apps[0].env.at("GREETING"), "h\xc3\xa9llo");
}

// --- signals and durations ----------------------------------------------------------

TEST(Signals, NamesAndNumbersRoundTrip) {
  EXPECT_EQ(parse_signal("SIGTERM"), SIGTERM);
  EXPECT_EQ(parse_signal("TERM"), SIGTERM);
  EXPECT_EQ(parse_signal("15"), SIGTERM);
  EXPECT_EQ(parse_signal("SIGWINCH"), SIGWINCH);
  EXPECT_EQ(parse_signal("SIGRTMIN"), SIGRTMIN);
  EXPECT_EQ(parse_signal("SIGRTMIN+2"), SIGRTMIN + 2);
  EXPECT_EQ(parse_signal("RTMAX-1"), SIGRTMAX - 1);
  EXPECT_EQ(parse_signal("sigterm"), 0);
  EXPECT_EQ(parse_signal("SIG"), 0);
  EXPECT_EQ(parse_signal(""), 0);
  EXPECT_EQ(parse_signal("0"), 0);
  EXPECT_EQ(parse_signal("65"), 0);
  EXPECT_EQ(parse_signal("-9"), 0);
  EXPECT_EQ(parse_signal("SIGRTMAX+1"), 0);
  EXPECT_EQ(signal_name(SIGKILL), "SIGKILL");
  EXPECT_EQ(signal_name(SIGTERM), "SIGTERM");
  EXPECT_EQ(signal_name(42), "SIG42");
  for (int sig = 1; sig <= 64; ++sig)
    EXPECT_EQ(parse_signal(signal_name(sig)), sig) << signal_name(sig);
}

TEST(Durations, SecondsConvertBothWays) {
  EXPECT_EQ(seconds(1.5), 1500ms);
  EXPECT_EQ(seconds(0.01), 10ms);
  EXPECT_EQ(seconds(0), Duration::zero());
  EXPECT_EQ(seconds(1e30), Duration::max());
  EXPECT_EQ(seconds(-1e30), Duration::min());
  EXPECT_EQ(seconds(std::numeric_limits<double>::quiet_NaN()), Duration::zero());
  EXPECT_DOUBLE_EQ(to_seconds(250ms), 0.25);
  EXPECT_EQ(to_string(RestartPolicy::on_failure), "on-failure");
  EXPECT_EQ(to_string(RestartPolicy::always), "always");
  EXPECT_EQ(to_string(RestartPolicy::never), "never");
}

} // namespace

#include "core/config_reader.hpp"

#include "core/log_level.hpp"
#include "core/signal_names.hpp"
#include "core/small_number.hpp"

#include <algorithm>
#include <array>
#include <cctype>
#include <charconv>
#include <cmath>
#include <cstdint>
#include <fmt/format.h>
#include <system_error>

#include <arpa/inet.h>

namespace hbmon::config_detail {

namespace {

constexpr std::size_t max_ipc_path = 107; // sizeof(sockaddr_un::sun_path) - 1

constexpr std::string_view top_keys[] = {"apps",      "control", "events",
                                         "log_level", "metrics", "forensics"};
constexpr std::string_view forensics_keys[] = {"dir", "keep"};
constexpr std::string_view metrics_keys[] = {"listen"};
constexpr std::string_view app_keys[] = {
    "name",        "command",     "heartbeat",    "restart", "restart_delay", "backoff_max",
    "start_limit", "stop_signal", "stop_timeout", "user",    "group",         "cwd",
    "env",         "env_file",    "enabled",      "probe",   "hang_signal",   "abort_timeout"};
constexpr std::string_view heartbeat_keys[] = {"protocol", "endpoint", "interval", "misses",
                                               "grace"};
constexpr std::string_view start_limit_keys[] = {"burst", "interval"};
constexpr std::string_view probe_keys[] = {"exec",    "http",     "tcp",          "interval",
                                           "timeout", "failures", "initial_delay"};

constexpr double day = 86400;

bool numeric_address(const std::string &host) {
  unsigned char buf[16];
  return ::inet_pton(AF_INET, host.c_str(), buf) == 1 ||
         ::inet_pton(AF_INET6, host.c_str(), buf) == 1;
}

class Reader {
public:
  Reader(std::vector<Problem> &problems, std::string_view runtime_dir)
      : problems_(problems), runtime_dir_(runtime_dir) {}

  void read(const json &root, Config &cfg, std::vector<ReadApp> &apps) {
    if (!root.is_object()) {
      add("", "the top level must be an object such as {\"apps\": []}, got " + describe(root));
      return;
    }
    check_keys(root, "", top_keys);

    cfg.control = fmt::format("ipc://{}/control", runtime_dir_);
    cfg.events = fmt::format("ipc://{}/events", runtime_dir_);
    if (auto *v = field(root, "control"))
      endpoint(*v, "control", cfg.control);
    if (auto *v = field(root, "events"))
      endpoint(*v, "events", cfg.events);
    if (auto *v = field(root, "log_level"))
      if (auto level = choice(*v, "log_level", log_level_names))
        cfg.log_level = std::string(to_string(*level));
    if (auto *v = field(root, "metrics"))
      metrics(*v, cfg.metrics);
    if (auto *v = field(root, "forensics"))
      forensics(*v, cfg.forensics);

    read_apps(root, "", apps);
  }

  // A drop-in: {"apps": [...]} and nothing else.
  void read_dropin(const json &root, const std::string &file, std::vector<ReadApp> &apps) {
    if (!root.is_object()) {
      add("", "a drop-in must be an object such as {\"apps\": []}, got " + describe(root));
      return;
    }
    for (const auto &[key, value] : root.items()) {
      if (key == "apps")
        continue;
      if (std::find(std::begin(top_keys), std::end(top_keys), key) != std::end(top_keys))
        add(member("", key), "belongs in the main config file; a drop-in holds only \"apps\"");
      else
        add(member("", key), "unknown key; a drop-in holds only \"apps\"");
    }
    read_apps(root, file, apps);
  }

  void add(std::string place, std::string what) {
    problems_.push_back({std::move(place), std::move(what)});
  }

private:
  void read_apps(const json &root, const std::string &file, std::vector<ReadApp> &apps) {
    const json *list = field(root, "apps");
    if (!list) {
      add("apps", "missing; the top level needs \"apps\": [ ... ], a list of apps (it may be "
                  "empty)");
      return;
    }
    if (!list->is_array()) {
      add("apps", "must be an array of app objects, got " + describe(*list));
      return;
    }
    for (std::size_t i = 0; i < list->size(); ++i) {
      ReadApp app;
      app.file = file;
      app.index = i;
      if (read_app((*list)[i], element("apps", i), app))
        apps.push_back(std::move(app));
    }
  }

  static const json *field(const json &obj, std::string_view key) {
    auto it = obj.find(key);
    return it == obj.end() ? nullptr : &*it;
  }

  void check_keys(const json &obj, const std::string &place, Keys allowed) {
    for (const auto &[key, value] : obj.items()) {
      if (std::find(allowed.begin(), allowed.end(), key) != allowed.end())
        continue;
      if (auto guess = closest(key, allowed))
        add(member(place, key), fmt::format("unknown key; did you mean \"{}\"?", *guess));
      else
        add(member(place, key), "unknown key; allowed here: " + join_quoted(allowed));
    }
  }

  bool read_app(const json &v, const std::string &place, ReadApp &app) {
    if (!v.is_object()) {
      add(place, "must be an object describing one app, such as {\"name\": \"web\", "
                 "\"command\": [\"/usr/bin/web\"]}, got " +
                     describe(v));
      return false;
    }
    check_keys(v, place, app_keys);
    AppConfig &a = app.cfg;

    if (auto *n = field(v, "name"))
      app.name_ok = name(*n, member(place, "name"), a.name);
    else
      add(member(place, "name"), "missing; every app needs a unique name, e.g. \"name\": \"web\"");

    if (auto *c = field(v, "command"))
      command(*c, member(place, "command"), a.command);
    else
      add(member(place, "command"), "missing; give the program and its arguments as an array "
                                    "of strings, e.g. \"command\": [\"/usr/bin/web\", \"--port\", "
                                    "\"80\"]");

    a.heartbeat = HeartbeatConfig{};
    bool endpoint_given = false;
    if (auto *h = field(v, "heartbeat"))
      endpoint_given = heartbeat(*h, member(place, "heartbeat"), a.heartbeat, app.endpoint_ok);
    if (a.heartbeat && !endpoint_given && app.name_ok) {
      const bool notify = a.heartbeat->protocol == HeartbeatProtocol::notify;
      a.heartbeat->endpoint = notify ? fmt::format("{}/{}.notify", runtime_dir_, a.name)
                                     : fmt::format("ipc://{}/{}.hb", runtime_dir_, a.name);
      if (auto problem = notify ? notify_path_problem(a.heartbeat->endpoint)
                                : endpoint_problem(a.heartbeat->endpoint))
        add(member(member(place, "heartbeat"), "endpoint"),
            fmt::format("the default endpoint {} is not usable: {}; set heartbeat.endpoint",
                        quote(a.heartbeat->endpoint), *problem));
      else
        app.endpoint_ok = app.endpoint_defaulted = true;
    }

    if (auto *r = field(v, "restart"))
      if (auto policy = choice(*r, member(place, "restart"), restart_policy_names))
        a.restart = *policy;
    if (auto *d = field(v, "restart_delay"))
      app.restart_delay_ok =
          duration(*d, member(place, "restart_delay"), 0, false, day, a.restart_delay);
    if (auto *d = field(v, "backoff_max"))
      app.backoff_max_ok = duration(*d, member(place, "backoff_max"), 0, false, day, a.backoff_max);
    if (auto *s = field(v, "start_limit"))
      start_limit(*s, member(place, "start_limit"), a.start_limit);
    if (auto *s = field(v, "stop_signal"))
      stop_signal(*s, member(place, "stop_signal"), a.stop_signal);
    if (auto *d = field(v, "stop_timeout"))
      duration(*d, member(place, "stop_timeout"), 0, false, 3600, a.stop_timeout);
    if (auto *s = field(v, "hang_signal"))
      stop_signal(*s, member(place, "hang_signal"), a.hang_signal);
    if (auto *d = field(v, "abort_timeout"))
      duration(*d, member(place, "abort_timeout"), 0, false, 3600, a.abort_timeout);
    if (auto *u = field(v, "user"))
      app.user_ok = account(*u, member(place, "user"), "user", a.user);
    if (auto *g = field(v, "group"))
      app.group_ok = account(*g, member(place, "group"), "group", a.group);
    if (auto *c = field(v, "cwd"))
      cwd(*c, member(place, "cwd"), a.cwd);
    if (auto *e = field(v, "env"))
      env(*e, member(place, "env"), a.env);
    if (auto *f = field(v, "env_file")) {
      std::string path;
      cwd(*f, member(place, "env_file"), path); // an absolute path, as cwd is
      if (!path.empty())
        a.env_file = path;
    }
    if (auto *e = field(v, "enabled")) {
      if (e->is_boolean())
        a.enabled = e->get<bool>();
      else
        add(member(place, "enabled"), "must be true or false, got " + describe(*e));
    }
    if (auto *p = field(v, "probe"); p && !p->is_null())
      probe(*p, member(place, "probe"), a);
    return true;
  }

  // `probe`: exactly one of exec, http, tcp, and its timing. Its
  // initial_delay defaults to the heartbeat's grace (read before it), or to
  // its interval for an app without heartbeats.
  void probe(const json &v, const std::string &place, AppConfig &a) {
    if (!v.is_object()) {
      add(place,
          "must be an object such as {\"tcp\": \"127.0.0.1:5432\"}, or null, got " + describe(v));
      return;
    }
    check_keys(v, place, probe_keys);
    ProbeConfig p;
    std::vector<std::string_view> kinds;
    for (std::string_view k : {"exec", "http", "tcp"})
      if (v.contains(k))
        kinds.push_back(k);
    if (kinds.size() != 1) {
      add(place, kinds.empty()
                     ? "needs one of \"exec\" (a command), \"http\" (a URL) or "
                       "\"tcp\" (HOST:PORT)"
                     : fmt::format("has {}: a probe is exactly one of them", join_quoted(kinds)));
      return;
    }
    bool ok = true;
    if (auto *e = field(v, "exec")) {
      p.kind = ProbeKind::exec;
      command(*e, member(place, "exec"), p.argv);
      ok = !p.argv.empty();
    } else if (auto *h = field(v, "http")) {
      p.kind = ProbeKind::http;
      ok = http_url(*h, member(place, "http"), p);
    } else if (auto *t = field(v, "tcp")) {
      p.kind = ProbeKind::tcp;
      ok = tcp_address(*t, member(place, "tcp"), p);
    }
    if (auto *i = field(v, "interval"))
      ok &= duration(*i, member(place, "interval"), 0.1, false, day, p.interval);
    if (auto *t = field(v, "timeout"))
      ok &= duration(*t, member(place, "timeout"), 0.01, false, 3600, p.timeout);
    if (auto *f = field(v, "failures")) {
      std::uint64_t n = 0;
      if (integer(*f, member(place, "failures"), 1, 1000, n))
        p.failures = static_cast<unsigned>(n);
      else
        ok = false;
    }
    p.initial_delay = a.heartbeat ? a.heartbeat->grace : p.interval;
    if (auto *d = field(v, "initial_delay"))
      ok &= duration(*d, member(place, "initial_delay"), 0, false, day, p.initial_delay);
    if (ok && p.timeout > p.interval) {
      add(member(place, "timeout"),
          fmt::format("{:g} is longer than the probe's interval ({:g}): a probe must end before "
                      "the next is due; make timeout at most interval",
                      to_seconds(p.timeout), to_seconds(p.interval)));
      ok = false;
    }
    if (ok)
      a.probe = std::move(p);
  }

  // "HOST:PORT" with a port from 1 to 65535; an IPv6 address in brackets.
  static std::optional<std::string> host_port(std::string_view s, ProbeConfig &p) {
    return host_port(s, p.host, p.port);
  }
  static std::optional<std::string> host_port(std::string_view s, std::string &host_out,
                                              std::uint16_t &port_out) {
    const auto colon = s.rfind(':');
    if (colon == std::string_view::npos || colon == 0)
      return "must be HOST:PORT";
    std::string_view host = s.substr(0, colon), port = s.substr(colon + 1);
    if (host.front() == '[') {
      if (host.size() < 3 || host.back() != ']')
        return "an IPv6 address goes in brackets, as in [::1]:8080";
      host = host.substr(1, host.size() - 2);
    } else if (host.find(':') != std::string_view::npos) {
      return "an IPv6 address goes in brackets, as in [::1]:8080";
    }
    const bool host_ok = std::all_of(host.begin(), host.end(), [](char c) {
      return std::isalnum(static_cast<unsigned char>(c)) || c == '.' || c == '-' || c == ':' ||
             c == '_' || c == '%';
    });
    if (!host_ok)
      return fmt::format("{} is not a host name or address", quote(host));
    unsigned n = 0;
    auto [end, ec] = std::from_chars(port.data(), port.data() + port.size(), n);
    if (port.empty() || ec != std::errc{} || end != port.data() + port.size() || n == 0 ||
        n > 65535)
      return fmt::format("the port must be a number from 1 to 65535, got {}", quote(port));
    host_out = std::string(host);
    port_out = static_cast<std::uint16_t>(n);
    return std::nullopt;
  }

  // null or false: a section that is off (heartbeat, forensics).
  static bool turned_off(const json &v) {
    return v.is_null() || (v.is_boolean() && !v.get<bool>());
  }

  // `forensics`: {"dir": "/abs/path", "keep": N}, each key optional;
  // false or null: no records.
  void forensics(const json &v, std::optional<ForensicsConfig> &out) {
    if (turned_off(v)) {
      out.reset();
      return;
    }
    if (!v.is_object()) {
      add("forensics", "must be an object such as {\"dir\": \"/var/lib/hbmond/forensics\", "
                       "\"keep\": 20}, or false for no records, got " +
                           describe(v));
      return;
    }
    check_keys(v, "forensics", forensics_keys);
    ForensicsConfig f;
    if (auto *d = field(v, "dir")) {
      std::string dir;
      cwd(*d, "forensics.dir", dir); // an absolute path, as cwd is
      if (!dir.empty())
        f.dir = dir;
    }
    if (auto *k = field(v, "keep")) {
      std::uint64_t n = 0;
      if (integer(*k, "forensics.keep", 1, 10000, n))
        f.keep = static_cast<unsigned>(n);
    }
    out = std::move(f);
  }

  // `metrics`: {"listen": "HOST:PORT"}, HOST a numeric address (hbmond
  // binds it itself and resolves no names), or null for none.
  void metrics(const json &v, std::optional<MetricsConfig> &out) {
    if (v.is_null())
      return;
    if (!v.is_object()) {
      add("metrics", "must be an object such as {\"listen\": \"127.0.0.1:9464\"}, or null, got " +
                         describe(v));
      return;
    }
    check_keys(v, "metrics", metrics_keys);
    const json *l = field(v, "listen");
    if (!l) {
      add("metrics.listen", "missing; give the address and port to serve GET /metrics on, e.g. "
                            "\"listen\": \"127.0.0.1:9464\"");
      return;
    }
    if (!l->is_string()) {
      add("metrics.listen", "must be a string such as \"127.0.0.1:9464\", got " + describe(*l));
      return;
    }
    MetricsConfig m;
    m.listen = l->get<std::string>();
    if (auto why = host_port(m.listen, m.host, m.port)) {
      add("metrics.listen", fmt::format("{}: {}", quote(m.listen), *why));
      return;
    }
    if (!numeric_address(m.host)) {
      add("metrics.listen",
          fmt::format("{}: the address must be numeric, such as 127.0.0.1, [::1] or 0.0.0.0 "
                      "(hbmond does not look names up to bind)",
                      quote(m.listen)));
      return;
    }
    out = std::move(m);
  }

  bool tcp_address(const json &v, const std::string &place, ProbeConfig &p) {
    if (!v.is_string()) {
      add(place, "must be a string such as \"127.0.0.1:5432\", got " + describe(v));
      return false;
    }
    const auto &s = v.get_ref<const std::string &>();
    if (auto why = host_port(s, p)) {
      add(place, fmt::format("{}: {}", quote(s), *why));
      return false;
    }
    return true;
  }

  // "http://HOST:PORT/PATH": plain HTTP (a liveness probe asks a local
  // port; TLS would only add ways to fail), the port always written.
  bool http_url(const json &v, const std::string &place, ProbeConfig &p) {
    if (!v.is_string()) {
      add(place, "must be a string such as \"http://127.0.0.1:8080/healthz\", got " + describe(v));
      return false;
    }
    const auto &s = v.get_ref<const std::string &>();
    constexpr std::string_view scheme = "http://";
    if (!std::string_view(s).starts_with(scheme)) {
      add(place, fmt::format("{}: must start with \"http://\", as in "
                             "\"http://127.0.0.1:8080/healthz\"",
                             quote(s)));
      return false;
    }
    std::string_view rest = std::string_view(s).substr(scheme.size());
    const auto slash = rest.find('/');
    std::string_view authority = rest.substr(0, slash);
    if (authority.find('@') != std::string_view::npos) {
      add(place, fmt::format("{}: no user or password in a probe's URL", quote(s)));
      return false;
    }
    if (auto why = host_port(authority, p)) {
      add(place, fmt::format("{}: {}", quote(s), *why));
      return false;
    }
    p.path = slash == std::string_view::npos ? "/" : std::string(rest.substr(slash));
    const bool path_ok = std::all_of(p.path.begin(), p.path.end(), [](char c) {
      return static_cast<unsigned char>(c) > 0x20 && static_cast<unsigned char>(c) < 0x7f &&
             c != '#';
    });
    if (!path_ok) {
      add(place,
          fmt::format("{}: the path may hold no spaces, control characters or '#'", quote(s)));
      return false;
    }
    p.url = s;
    return true;
  }

  bool name(const json &v, const std::string &place, std::string &out) {
    if (!v.is_string()) {
      add(place, "must be a string, got " + describe(v));
      return false;
    }
    const auto &s = v.get_ref<const std::string &>();
    if (s.empty()) {
      add(place, "must not be empty");
      return false;
    }
    if (s.size() > 64) {
      add(place,
          fmt::format("{} is {} characters long; at most 64 are allowed", quote(s), s.size()));
      return false;
    }
    auto bad = std::find_if(s.begin(), s.end(), [](char c) {
      const bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
                      c == '_' || c == '.' || c == '-';
      return !ok;
    });
    if (bad != s.end()) {
      const auto c = static_cast<unsigned char>(*bad);
      add(place, fmt::format("{} contains {}; use only letters, digits, '_', '.' and '-'", quote(s),
                             std::isprint(c) ? fmt::format("'{}'", *bad)
                                             : fmt::format("the byte 0x{:02x}", c)));
      return false;
    }
    if (s.front() == '-' || s.front() == '.') {
      add(place, fmt::format("{} must not start with '{}'", quote(s), s.front()));
      return false;
    }
    out = s;
    return true;
  }

  void command(const json &v, const std::string &place, std::vector<std::string> &out) {
    if (!v.is_array()) {
      add(place, "must be an array of strings (the program and its arguments), e.g. "
                 "[\"/usr/bin/web\", \"--port\", \"80\"], got " +
                     describe(v));
      return;
    }
    if (v.empty()) {
      add(place, "must not be empty; give at least the program to run");
      return;
    }
    std::vector<std::string> argv;
    bool ok = true;
    for (std::size_t i = 0; i < v.size(); ++i) {
      const std::string at = element(place, i);
      if (!v[i].is_string()) {
        add(at, "must be a string, got " + describe(v[i]) +
                    (v[i].is_number() ? " (write it in quotes)" : ""));
        ok = false;
        continue;
      }
      const auto &s = v[i].get_ref<const std::string &>();
      if (s.find('\0') != std::string::npos) {
        add(at, "must not contain a NUL byte");
        ok = false;
      } else if (i == 0 && s.empty()) {
        add(at, "must not be empty; it is the program to run");
        ok = false;
      } else if (i == 0 && s.find('/') != std::string::npos && s.front() != '/') {
        add(at, fmt::format("{} is a relative path; use an absolute path (starting with '/') "
                            "or a bare program name to search PATH",
                            quote(s)));
        ok = false;
      }
      argv.push_back(s);
    }
    if (ok)
      out = std::move(argv);
  }

  // Returns whether an endpoint was given (valid or not).
  bool heartbeat(const json &v, const std::string &place, std::optional<HeartbeatConfig> &out,
                 bool &endpoint_ok) {
    if (turned_off(v)) {
      out.reset();
      return false;
    }
    if (v.is_boolean())
      return false;
    if (!v.is_object()) {
      add(place,
          "must be an object such as {\"interval\": 1}, true, false or null, got " + describe(v));
      return false;
    }
    check_keys(v, place, heartbeat_keys);
    HeartbeatConfig &hb = *out;
    if (auto *p = field(v, "protocol"))
      if (auto protocol = choice(*p, member(place, "protocol"), heartbeat_protocol_names))
        hb.protocol = *protocol;
    bool given = false;
    if (auto *e = field(v, "endpoint")) {
      given = true;
      endpoint_ok = hb.protocol == HeartbeatProtocol::notify
                        ? notify_path(*e, member(place, "endpoint"), hb.endpoint)
                        : endpoint(*e, member(place, "endpoint"), hb.endpoint);
    }
    if (auto *i = field(v, "interval"))
      duration(*i, member(place, "interval"), 0.01, false, day, hb.interval);
    if (auto *m = field(v, "misses")) {
      std::uint64_t n = 0;
      if (integer(*m, member(place, "misses"), 1, 1000, n))
        hb.misses = static_cast<unsigned>(n);
    }
    hb.grace = 2 * hb.interval;
    if (auto *g = field(v, "grace"))
      duration(*g, member(place, "grace"), 0, true, day, hb.grace);
    return given;
  }

  void start_limit(const json &v, const std::string &place, StartLimit &out) {
    if (!v.is_object()) {
      add(place,
          "must be an object such as {\"burst\": 10, \"interval\": 300}, got " + describe(v));
      return;
    }
    check_keys(v, place, start_limit_keys);
    if (auto *b = field(v, "burst")) {
      std::uint64_t n = 0;
      if (integer(*b, member(place, "burst"), 1, 100000, n))
        out.burst = static_cast<unsigned>(n);
    }
    if (auto *i = field(v, "interval"))
      duration(*i, member(place, "interval"), 0, false, 7 * day, out.interval);
  }

  void stop_signal(const json &v, const std::string &place, int &out) {
    if (v.is_string()) {
      const auto &s = v.get_ref<const std::string &>();
      if (int sig = parse_signal(s)) {
        out = sig;
        return;
      }
      std::string upper(s);
      for (char &c : upper)
        c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
      if (int sig = parse_signal(upper))
        add(place, fmt::format("unknown signal {}; did you mean \"{}\"? (signal names are upper "
                               "case)",
                               quote(s), signal_name(sig)));
      else
        add(place, fmt::format("unknown signal {}; use a name such as \"SIGTERM\" or a number "
                               "from 1 to {}",
                               quote(s), max_signal));
      return;
    }
    if (v.is_number()) {
      std::uint64_t n = 0;
      if (integer(v, place, 1, max_signal, n, "a signal number"))
        out = static_cast<int>(n);
      return;
    }
    add(place, "must be a signal name such as \"SIGTERM\" or a number, got " + describe(v));
  }

  // user or group, by name or id; resolved by verify().
  bool account(const json &v, const std::string &place, std::string_view what,
               std::optional<std::string> &out) {
    if (v.is_string()) {
      const auto &s = v.get_ref<const std::string &>();
      if (s.empty() || s.find('\0') != std::string::npos) {
        add(place, fmt::format("must be a {} name or id, got {}", what, quote(s)));
        return false;
      }
      out = s;
      return true;
    }
    if (v.is_number()) {
      std::uint64_t id = 0;
      if (!integer(v, place, 0, 4294967294u, id, fmt::format("a {} id", what)))
        return false;
      out = std::to_string(id);
      return true;
    }
    add(place, fmt::format("must be a {} name (string) or id (number), got {}", what, describe(v)));
    return false;
  }

  void cwd(const json &v, const std::string &place, std::string &out) {
    if (!v.is_string()) {
      add(place, "must be a string (an absolute path), got " + describe(v));
      return;
    }
    const auto &s = v.get_ref<const std::string &>();
    if (s.find('\0') != std::string::npos)
      add(place, "must not contain a NUL byte");
    else if (s.empty() || s.front() != '/')
      add(place, fmt::format("must be an absolute path (starting with '/'), got {}", quote(s)));
    else
      out = s;
  }

  void env(const json &v, const std::string &place, std::map<std::string, std::string> &out) {
    if (!v.is_object()) {
      add(place, "must be an object of variable names to string values, such as {\"LANG\": "
                 "\"C.UTF-8\"}, got " +
                     describe(v));
      return;
    }
    for (const auto &[key, value] : v.items()) {
      const std::string at = member(place, key);
      bool ok = true;
      if (key.empty()) {
        add(at, "variable name must not be empty");
        ok = false;
      } else if (key.find('=') != std::string::npos) {
        add(at, "variable name must not contain '='");
        ok = false;
      } else if (key.find('\0') != std::string::npos) {
        add(at, "variable name must not contain a NUL byte");
        ok = false;
      } else if (key.starts_with("HBMON_")) {
        add(at, "HBMON_* variables are set by hbmond for each app and cannot be overridden; "
                "choose another name");
        ok = false;
      } else if (key == "NOTIFY_SOCKET" || key == "WATCHDOG_USEC" || key == "WATCHDOG_PID") {
        add(at, fmt::format("{} is hbmond's to set: an app with heartbeat.protocol \"notify\" "
                            "gets it from hbmond, every other app has it removed; remove it",
                            key));
        ok = false;
      }
      if (!value.is_string()) {
        add(at, "must be a string, got " + describe(value) +
                    (value.is_number() || value.is_boolean() ? " (write it in quotes)" : ""));
        continue;
      }
      const auto &s = value.get_ref<const std::string &>();
      if (s.find('\0') != std::string::npos) {
        add(at, "value must not contain a NUL byte");
        continue;
      }
      if (ok)
        out[key] = s;
    }
  }

  bool choice(const json &v, const std::string &place, Keys choices, std::string &out) {
    if (v.is_string()) {
      const auto &s = v.get_ref<const std::string &>();
      if (std::find(choices.begin(), choices.end(), s) != choices.end()) {
        out = s;
        return true;
      }
      auto guess = closest(s, choices);
      add(place, fmt::format("must be one of {}, got {}{}", join_quoted(choices), quote(s),
                             guess ? fmt::format("; did you mean \"{}\"?", *guess) : ""));
      return false;
    }
    add(place, fmt::format("must be one of {}, got {}", join_quoted(choices), describe(v)));
    return false;
  }

  // One of the names in `table` (core/names.hpp), as its value.
  template <typename E, std::size_t N>
  std::optional<E> choice(const json &v, const std::string &place, const Names<E, N> &table) {
    const std::array<std::string_view, N> names = table.names();
    std::string name;
    if (!choice(v, place, names, name))
      return std::nullopt;
    return table.parse(name);
  }

  bool endpoint(const json &v, const std::string &place, std::string &out) {
    if (!v.is_string()) {
      add(place, "must be a string such as \"ipc:///run/hbmond/web.hb\" or "
                 "\"tcp://127.0.0.1:5555\", got " +
                     describe(v));
      return false;
    }
    const auto &s = v.get_ref<const std::string &>();
    if (auto problem = endpoint_problem(s)) {
      add(place, *problem);
      return false;
    }
    out = s;
    return true;
  }

  // A notify-protocol app's socket: a plain absolute path, as systemd's
  // NOTIFY_SOCKET names its own.
  bool notify_path(const json &v, const std::string &place, std::string &out) {
    if (!v.is_string()) {
      add(place, "must be a string such as \"/run/hbmond/web.notify\", got " + describe(v));
      return false;
    }
    const auto &s = v.get_ref<const std::string &>();
    if (auto problem = notify_path_problem(s)) {
      add(place, *problem);
      return false;
    }
    out = s;
    return true;
  }

  static std::optional<std::string> notify_path_problem(std::string_view s) {
    if (s.find('\0') != std::string_view::npos)
      return "must not contain a NUL byte";
    if (s.starts_with("ipc://"))
      return fmt::format("with protocol \"notify\" the endpoint is a socket path, not a ZeroMQ "
                         "endpoint: write {}",
                         quote(s.substr(6)));
    if (s.empty() || s.front() != '/')
      return fmt::format("must be an absolute path such as \"/run/hbmond/web.notify\" (an "
                         "abstract socket name could be taken by any user), got {}",
                         quote(s));
    if (s.back() == '/')
      return fmt::format("must name a socket file, not a directory, got {}", quote(s));
    if (s.size() > max_ipc_path)
      return fmt::format("the path is {} bytes long; at most {} are allowed (the limit of a Unix "
                         "socket path), use a shorter path",
                         s.size(), max_ipc_path);
    return std::nullopt;
  }

  static std::optional<std::string> endpoint_problem(std::string_view s) {
    if (s.find('\0') != std::string_view::npos)
      return "must not contain a NUL byte";
    if (s.starts_with("ipc://")) {
      std::string_view path = s.substr(6);
      if (path.empty() || path.front() != '/')
        return fmt::format("the ipc path must be absolute, as in \"ipc:///run/hbmond/web.hb\", "
                           "got {}",
                           quote(s));
      if (path.size() > max_ipc_path)
        return fmt::format("the ipc path is {} bytes long; at most {} are allowed (the limit of "
                           "a Unix socket path), use a shorter path",
                           path.size(), max_ipc_path);
      return std::nullopt;
    }
    if (s.starts_with("tcp://")) {
      std::string_view rest = s.substr(6);
      const auto colon = rest.rfind(':');
      const bool ok = colon != std::string_view::npos && colon > 0 && colon + 1 < rest.size() &&
                      (rest.substr(colon + 1) == "*" || small_number(rest.substr(colon + 1)));
      if (!ok)
        return fmt::format("a tcp endpoint must be \"tcp://<host>:<port>\", such as "
                           "\"tcp://127.0.0.1:5555\", got {}",
                           quote(s));
      return std::nullopt;
    }
    return fmt::format("must start with \"ipc://\" or \"tcp://\", got {}", quote(s));
  }

  // A number in [lo, hi] (or (lo, hi] when lo_open), converted to Duration.
  bool duration(const json &v, const std::string &place, double lo, bool lo_open, double hi,
                Duration &out) {
    const std::string range = lo_open ? fmt::format("greater than {} and at most {}", lo, hi)
                                      : fmt::format("from {} to {}", lo, hi);
    if (!v.is_number()) {
      add(place, fmt::format("must be a number of seconds {}, got {}{}", range, describe(v),
                             quoted_number_hint(v)));
      return false;
    }
    const double d = v.get<double>();
    if (!std::isfinite(d) || d > hi || d < lo || (lo_open && d == lo)) {
      add(place, fmt::format("must be a number of seconds {}, got {}", range, number_text(v)));
      return false;
    }
    out = seconds(d);
    return true;
  }

  bool integer(const json &v, const std::string &place, std::uint64_t lo, std::uint64_t hi,
               std::uint64_t &out, std::string_view what = "an integer") {
    const auto fail = [&] {
      add(place, fmt::format("must be {} from {} to {}, got {}{}", what, lo, hi,
                             v.is_number() ? number_text(v) : describe(v), quoted_number_hint(v)));
      return false;
    };
    if (v.is_number_unsigned()) {
      out = v.get<std::uint64_t>();
    } else if (v.is_number_integer()) {
      const auto n = v.get<std::int64_t>();
      if (n < 0)
        return fail();
      out = static_cast<std::uint64_t>(n);
    } else if (v.is_number_float()) {
      const double d = v.get<double>();
      if (!std::isfinite(d) || std::trunc(d) != d || d < static_cast<double>(lo) ||
          d > static_cast<double>(hi))
        return fail();
      out = static_cast<std::uint64_t>(d);
    } else {
      return fail();
    }
    if (out < lo || out > hi)
      return fail();
    return true;
  }

  static std::string quoted_number_hint(const json &v) {
    if (!v.is_string())
      return "";
    const auto &s = v.get_ref<const std::string &>();
    double d = 0;
    auto [end, ec] = std::from_chars(s.data(), s.data() + s.size(), d);
    if (!s.empty() && ec == std::errc() && end == s.data() + s.size())
      return " (write numbers without quotes)";
    return "";
  }

  std::vector<Problem> &problems_;
  std::string_view runtime_dir_;
};

} // namespace

void read_config(const json &root, std::string_view runtime_dir, Config &cfg,
                 std::vector<ReadApp> &apps, std::vector<Problem> &problems) {
  Reader(problems, runtime_dir).read(root, cfg, apps);
}

void read_dropin(const json &root, const std::string &file, std::string_view runtime_dir,
                 std::vector<ReadApp> &apps, std::vector<Problem> &problems) {
  Reader(problems, runtime_dir).read_dropin(root, file, apps);
}

} // namespace hbmon::config_detail

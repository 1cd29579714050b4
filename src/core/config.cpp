// Config: text -> JSON tree (strict: duplicate keys refused) -> plain structs
// (types and ranges checked field by field) -> one verify pass (what needs more
// than one field: unique names and endpoints, backoff_max >= restart_delay,
// accounts resolved). Every problem is collected; one ConfigError lists them.
#include "core/config.hpp"

#include <algorithm>
#include <cctype>
#include <charconv>
#include <cmath>
#include <csignal>
#include <cstdint>
#include <fcntl.h>
#include <fmt/format.h>
#include <grp.h>
#include <nlohmann/json.hpp>
#include <pwd.h>
#include <span>
#include <sys/stat.h>
#include <system_error>
#include <unistd.h>

namespace hbmon {

const AppConfig *Config::find(std::string_view name) const {
  for (const auto &a : apps)
    if (a.name == name)
      return &a;
  return nullptr;
}

// ---------------------------------------------------------------------------
// Durations and signals

Duration seconds(double s) {
  if (std::isnan(s))
    return Duration::zero();
  const double ns = s * 1e9;
  // 2^63 ns: the first value a Duration cannot hold.
  constexpr double limit = 9223372036854775808.0;
  if (ns >= limit)
    return Duration::max();
  if (ns <= -limit)
    return Duration::min();
  return Duration(std::llround(ns));
}

double to_seconds(Duration d) { return std::chrono::duration<double>(d).count(); }

namespace {

struct SignalEntry {
  int number;
  std::string_view name; // without "SIG"
};

const SignalEntry signal_table[] = {
    {SIGHUP, "HUP"},       {SIGINT, "INT"},       {SIGQUIT, "QUIT"}, {SIGILL, "ILL"},
    {SIGTRAP, "TRAP"},     {SIGABRT, "ABRT"},     {SIGBUS, "BUS"},   {SIGFPE, "FPE"},
    {SIGKILL, "KILL"},     {SIGUSR1, "USR1"},     {SIGSEGV, "SEGV"}, {SIGUSR2, "USR2"},
    {SIGPIPE, "PIPE"},     {SIGALRM, "ALRM"},     {SIGTERM, "TERM"},
#ifdef SIGSTKFLT
    {SIGSTKFLT, "STKFLT"},
#endif
    {SIGCHLD, "CHLD"},     {SIGCONT, "CONT"},     {SIGSTOP, "STOP"}, {SIGTSTP, "TSTP"},
    {SIGTTIN, "TTIN"},     {SIGTTOU, "TTOU"},     {SIGURG, "URG"},   {SIGXCPU, "XCPU"},
    {SIGXFSZ, "XFSZ"},     {SIGVTALRM, "VTALRM"}, {SIGPROF, "PROF"}, {SIGWINCH, "WINCH"},
    {SIGIO, "IO"},
#ifdef SIGPWR
    {SIGPWR, "PWR"},
#endif
    {SIGSYS, "SYS"},
};

constexpr int max_signal = 64;

// Digits only, no sign, no spaces; nullopt otherwise.
std::optional<int> small_number(std::string_view s) {
  if (s.empty() || s.size() > 9)
    return std::nullopt;
  int n = 0;
  auto [end, ec] = std::from_chars(s.data(), s.data() + s.size(), n);
  if (ec != std::errc() || end != s.data() + s.size() || s.front() == '+' || s.front() == '-')
    return std::nullopt;
  return n;
}

} // namespace

int parse_signal(std::string_view name) {
  if (auto n = small_number(name))
    return *n >= 1 && *n <= max_signal ? *n : 0;
  if (name.starts_with("SIG"))
    name.remove_prefix(3);
  for (const auto &e : signal_table)
    if (e.name == name)
      return e.number;
  if (auto n = small_number(name)) // "SIG42", as signal_name() writes it
    return *n >= 1 && *n <= max_signal ? *n : 0;
  // RTMIN, RTMIN+n, RTMAX, RTMAX-n
  for (bool min : {true, false}) {
    std::string_view base = min ? "RTMIN" : "RTMAX";
    if (!name.starts_with(base))
      continue;
    std::string_view rest = name.substr(base.size());
    int sig = min ? SIGRTMIN : SIGRTMAX;
    if (!rest.empty()) {
      if (rest.front() != (min ? '+' : '-'))
        return 0;
      auto n = small_number(rest.substr(1));
      if (!n)
        return 0;
      sig = min ? sig + *n : sig - *n;
    }
    return sig >= SIGRTMIN && sig <= SIGRTMAX ? sig : 0;
  }
  return 0;
}

std::string signal_name(int sig) {
  for (const auto &e : signal_table)
    if (e.number == sig)
      return fmt::format("SIG{}", e.name);
  return fmt::format("SIG{}", sig);
}

// ---------------------------------------------------------------------------
// Parsing

namespace {

using json = nlohmann::json;

constexpr std::size_t max_ipc_path = 107; // sizeof(sockaddr_un::sun_path) - 1
constexpr std::size_t max_nesting = 512;
constexpr std::size_t max_reported = 100;

struct Problem {
  std::string place; // "" for the document as a whole
  std::string what;
};

// A place inside the document, written the way a reader would point at it:
// `apps[2].heartbeat.interval`, `apps[0].env["A=B"]`.
std::string member(std::string_view base, std::string_view key) {
  const bool plain = !key.empty() && !std::isdigit(static_cast<unsigned char>(key.front())) &&
                     std::all_of(key.begin(), key.end(), [](char c) {
                       return std::isalnum(static_cast<unsigned char>(c)) || c == '_';
                     });
  if (plain)
    return base.empty() ? std::string(key) : fmt::format("{}.{}", base, key);
  return fmt::format("{}[{}]", base,
                     json(std::string(key)).dump(-1, ' ', false, json::error_handler_t::replace));
}

std::string element(std::string_view base, std::size_t i) { return fmt::format("{}[{}]", base, i); }

std::string quote(std::string_view s) {
  constexpr std::size_t max = 60;
  std::string text(s.substr(0, max));
  std::string q = json(text).dump(-1, ' ', false, json::error_handler_t::replace);
  if (s.size() > max)
    q.insert(q.size() - 1, "...");
  return q;
}

std::string number_text(const json &v) {
  if (v.is_number_unsigned())
    return fmt::format("{}", v.get<std::uint64_t>());
  if (v.is_number_integer())
    return fmt::format("{}", v.get<std::int64_t>());
  const double d = v.get<double>();
  if (!std::isfinite(d))
    return "a number too large to represent";
  return fmt::format("{}", d);
}

// What was found, for "must be X, got <describe>".
std::string describe(const json &v) {
  switch (v.type()) {
  case json::value_t::null:
    return "null";
  case json::value_t::boolean:
    return v.get<bool>() ? "true" : "false";
  case json::value_t::string:
    return "string " + quote(v.get_ref<const std::string &>());
  case json::value_t::number_integer:
  case json::value_t::number_unsigned:
  case json::value_t::number_float:
    return "number " + number_text(v);
  case json::value_t::array:
    return "an array";
  case json::value_t::object:
    return "an object";
  default:
    return "a value of an unexpected kind";
  }
}

using Keys = std::span<const std::string_view>;

std::string lower(std::string_view s) {
  std::string out(s);
  for (char &c : out)
    c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return out;
}

std::size_t levenshtein(std::string_view a, std::string_view b) {
  std::vector<std::size_t> row(b.size() + 1);
  for (std::size_t j = 0; j <= b.size(); ++j)
    row[j] = j;
  for (std::size_t i = 1; i <= a.size(); ++i) {
    std::size_t diag = row[0];
    row[0] = i;
    for (std::size_t j = 1; j <= b.size(); ++j) {
      const std::size_t up = row[j];
      row[j] = std::min({row[j] + 1, row[j - 1] + 1, diag + (a[i - 1] == b[j - 1] ? 0 : 1)});
      diag = up;
    }
  }
  return row[b.size()];
}

// The closest of `choices` within edit distance 2 (case-insensitive), if any.
std::optional<std::string_view> closest(std::string_view word, Keys choices) {
  if (word.size() > 64)
    return std::nullopt;
  const std::string w = lower(word);
  std::optional<std::string_view> best;
  std::size_t best_distance = 3;
  for (std::string_view c : choices) {
    const std::size_t d = levenshtein(w, lower(c));
    if (d < best_distance) {
      best = c;
      best_distance = d;
    }
  }
  return best;
}

std::string join_quoted(Keys words) {
  std::string out;
  for (std::string_view w : words)
    out += fmt::format("{}\"{}\"", out.empty() ? "" : ", ", w);
  return out;
}

// --- JSON text -> tree --------------------------------------------------------

// A SAX consumer that builds the tree like nlohmann's own DOM parser, but
// refuses duplicate keys (naming the place) and absurd nesting.
class TreeBuilder {
public:
  explicit TreeBuilder(std::vector<Problem> &problems) : problems_(problems) {}

  json root;
  std::optional<std::size_t> error_position;
  std::string error_reason;

  bool null() { return add(json(nullptr)); }
  bool boolean(bool v) { return add(json(v)); }
  bool number_integer(json::number_integer_t v) { return add(json(v)); }
  bool number_unsigned(json::number_unsigned_t v) { return add(json(v)); }
  bool number_float(json::number_float_t v, const std::string &) { return add(json(v)); }
  bool string(std::string &v) { return add(json(std::move(v))); }
  bool binary(json::binary_t &) { return false; } // not produced by the JSON reader

  bool start_object(std::size_t) { return open(json::object()); }
  bool start_array(std::size_t) { return open(json::array()); }
  bool end_object() { return close(); }
  bool end_array() { return close(); }

  bool key(std::string &k) {
    Frame &f = stack_.back();
    if (f.value->contains(k))
      problems_.push_back({member(place(), k),
                           fmt::format("duplicate key \"{}\"; each key may appear only once in an "
                                       "object, remove one of them",
                                       k)});
    f.key = std::move(k);
    return true;
  }

  bool parse_error(std::size_t position, const std::string &,
                   const nlohmann::detail::exception &ex) {
    error_position = position;
    error_reason = short_reason(ex.what());
    return false;
  }

  bool too_deep() const { return too_deep_; }

private:
  struct Frame {
    json *value;
    std::string key; // current key, when value is an object
  };

  // The place of the child currently being built in the innermost container.
  std::string place() const {
    std::string p;
    for (std::size_t i = 0; i + 1 < stack_.size(); ++i)
      p = stack_[i].value->is_array() ? element(p, stack_[i].value->size() - 1)
                                      : member(p, stack_[i].key);
    return p;
  }

  json *insert(json v) {
    if (stack_.empty()) {
      root = std::move(v);
      return &root;
    }
    Frame &f = stack_.back();
    if (f.value->is_array()) {
      f.value->push_back(std::move(v));
      return &f.value->back();
    }
    json &slot = (*f.value)[f.key];
    slot = std::move(v);
    return &slot;
  }

  bool add(json v) {
    insert(std::move(v));
    return true;
  }

  bool open(json v) {
    if (stack_.size() >= max_nesting) {
      too_deep_ = true;
      return false;
    }
    stack_.push_back({insert(std::move(v)), {}});
    return true;
  }

  bool close() {
    stack_.pop_back();
    return true;
  }

  // "[json.exception.parse_error.101] parse error at line 1, column 5: syntax
  // error while parsing value - invalid literal; last read: 'tru'" -> the part
  // after the last " - ", which is what went wrong.
  static std::string short_reason(std::string_view what) {
    if (what.starts_with("[json.exception."))
      if (auto end = what.find("] "); end != std::string_view::npos)
        what.remove_prefix(end + 2);
    if (auto col = what.find("column "); col != std::string_view::npos)
      if (auto colon = what.find(": ", col); colon != std::string_view::npos)
        what.remove_prefix(colon + 2);
    if (what.starts_with("syntax error while parsing "))
      if (auto dash = what.find(" - "); dash != std::string_view::npos)
        what.remove_prefix(dash + 3);
    return std::string(what);
  }

  std::vector<Problem> &problems_;
  std::vector<Frame> stack_;
  bool too_deep_ = false;
};

// 1-based line and column (in bytes) of the character that stopped the
// parser; nlohmann reports the count of bytes read, which includes it.
std::pair<std::size_t, std::size_t> line_column(std::string_view text, std::size_t position) {
  const std::size_t at = std::min(position > 0 ? position - 1 : 0, text.size());
  const std::string_view before = text.substr(0, at);
  const std::size_t line =
      1 + static_cast<std::size_t>(std::count(before.begin(), before.end(), '\n'));
  const std::size_t nl = before.rfind('\n');
  const std::size_t column = nl == std::string_view::npos ? at + 1 : at - nl;
  return {line, column};
}

// --- tree -> structs -----------------------------------------------------------

constexpr std::string_view top_keys[] = {"apps", "control", "events", "log_level"};
constexpr std::string_view app_keys[] = {
    "name",        "command",     "heartbeat",   "restart",      "restart_delay",
    "backoff_max", "start_limit", "stop_signal", "stop_timeout", "user",
    "group",       "cwd",         "env",         "enabled"};
constexpr std::string_view heartbeat_keys[] = {"endpoint", "interval", "misses", "grace"};
constexpr std::string_view start_limit_keys[] = {"burst", "interval"};
constexpr std::string_view restart_values[] = {"on-failure", "always", "never"};
constexpr std::string_view log_levels[] = {"debug", "info", "warning", "error"};

constexpr double day = 86400;

// An app as read, plus what verify() needs to know about how it was read.
struct ReadApp {
  std::size_t index = 0;
  AppConfig cfg;
  bool name_ok = false;
  bool endpoint_ok = false;
  bool endpoint_defaulted = false; // derived from the name
  bool restart_delay_ok = true;
  bool backoff_max_ok = true;
  bool user_ok = true;
  bool group_ok = true;
};

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
    if (auto *v = field(root, "log_level")) {
      std::string level;
      if (choice(*v, "log_level", log_levels, level))
        cfg.log_level = level;
    }

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
      app.index = i;
      if (read_app((*list)[i], element("apps", i), app))
        apps.push_back(std::move(app));
    }
  }

  void add(std::string place, std::string what) {
    problems_.push_back({std::move(place), std::move(what)});
  }

private:
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
      a.heartbeat->endpoint = fmt::format("ipc://{}/{}.hb", runtime_dir_, a.name);
      if (auto problem = endpoint_problem(a.heartbeat->endpoint))
        add(member(member(place, "heartbeat"), "endpoint"),
            fmt::format("the default endpoint {} is not usable: {}; set heartbeat.endpoint",
                        quote(a.heartbeat->endpoint), *problem));
      else
        app.endpoint_ok = app.endpoint_defaulted = true;
    }

    if (auto *r = field(v, "restart")) {
      std::string policy;
      if (choice(*r, member(place, "restart"), restart_values, policy))
        a.restart = policy == "always"  ? RestartPolicy::always
                    : policy == "never" ? RestartPolicy::never
                                        : RestartPolicy::on_failure;
    }
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
    if (auto *u = field(v, "user"))
      app.user_ok = account(*u, member(place, "user"), "user", a.user);
    if (auto *g = field(v, "group"))
      app.group_ok = account(*g, member(place, "group"), "group", a.group);
    if (auto *c = field(v, "cwd"))
      cwd(*c, member(place, "cwd"), a.cwd);
    if (auto *e = field(v, "env"))
      env(*e, member(place, "env"), a.env);
    if (auto *e = field(v, "enabled")) {
      if (e->is_boolean())
        a.enabled = e->get<bool>();
      else
        add(member(place, "enabled"), "must be true or false, got " + describe(*e));
    }
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
    if (v.is_null() || (v.is_boolean() && !v.get<bool>())) {
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
    bool given = false;
    if (auto *e = field(v, "endpoint")) {
      given = true;
      endpoint_ok = endpoint(*e, member(place, "endpoint"), hb.endpoint);
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
      } else if (key == "NOTIFY_SOCKET") {
        add(at, "NOTIFY_SOCKET is removed by hbmond from every app's environment (apps report "
                "to hbmond over their heartbeat endpoint); remove it");
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

// --- verify: what needs more than one field, and the system ---------------------

enum class Lookup { found, missing, failed };

template <typename Entry, typename Call>
Lookup lookup(Call call, Entry &entry, std::vector<char> &buffer, int &error) {
  buffer.resize(1024);
  for (;;) {
    Entry *result = nullptr;
    const int rc = call(&entry, buffer.data(), buffer.size(), &result);
    if (rc == ERANGE && buffer.size() < (1u << 22)) {
      buffer.resize(buffer.size() * 2);
      continue;
    }
    if (rc == 0 && result)
      return Lookup::found;
    if (rc == 0 || rc == ENOENT || rc == ESRCH || rc == EBADF || rc == EPERM)
      return Lookup::missing;
    error = rc;
    return Lookup::failed;
  }
}

bool all_digits(std::string_view s) {
  return !s.empty() && std::all_of(s.begin(), s.end(), [](char c) { return c >= '0' && c <= '9'; });
}

// "1000" -> 1000, for a user or group given by id; nullopt if not a valid id.
std::optional<std::uint32_t> account_id(std::string_view s) {
  std::uint64_t n = 0;
  auto [end, ec] = std::from_chars(s.data(), s.data() + s.size(), n);
  if (!all_digits(s) || ec != std::errc() || end != s.data() + s.size() || n > 4294967294u)
    return std::nullopt;
  return static_cast<std::uint32_t>(n);
}

class Verifier {
public:
  Verifier(std::vector<Problem> &problems) : problems_(problems) {}

  void verify(const Config &cfg, std::vector<ReadApp> &apps) {
    std::map<std::string, std::string, std::less<>> endpoints; // endpoint -> place
    auto claim = [&](const std::string &ep, const std::string &place) {
      auto [it, fresh] = endpoints.emplace(ep, place);
      if (!fresh)
        add(place, fmt::format("{} is already used by {}; every socket needs its own endpoint",
                               quote(ep), it->second));
    };
    claim(cfg.control, "control");
    claim(cfg.events, "events");

    std::map<std::string, std::size_t, std::less<>> names; // name -> index
    for (ReadApp &app : apps) {
      const std::string place = element("apps", app.index);
      AppConfig &a = app.cfg;
      bool duplicate = false;
      if (app.name_ok) {
        auto [it, fresh] = names.emplace(a.name, app.index);
        duplicate = !fresh;
        if (duplicate)
          add(member(place, "name"),
              fmt::format("duplicate name {}, first used at apps[{}].name; names must be unique",
                          quote(a.name), it->second));
      }
      // A duplicate name already explains the clash of endpoints derived from it.
      if (a.heartbeat && app.endpoint_ok && !(duplicate && app.endpoint_defaulted))
        claim(a.heartbeat->endpoint, member(member(place, "heartbeat"), "endpoint"));
      if (app.restart_delay_ok && app.backoff_max_ok && a.backoff_max < a.restart_delay)
        add(member(place, "backoff_max"),
            fmt::format("{:g} is less than restart_delay ({:g}); backoff_max caps the restart "
                        "delay, so it must be at least restart_delay",
                        to_seconds(a.backoff_max), to_seconds(a.restart_delay)));
      resolve_accounts(place, app);
    }
  }

private:
  void add(std::string place, std::string what) {
    problems_.push_back({std::move(place), std::move(what)});
  }

  void resolve_accounts(const std::string &place, ReadApp &app) {
    AppConfig &a = app.cfg;
    std::optional<gid_t> group_gid;
    if (a.group && app.group_ok)
      group_gid = resolve_group(member(place, "group"), *a.group);
    if (a.user && app.user_ok) {
      passwd pw{};
      std::vector<char> buffer;
      if (!resolve_user(member(place, "user"), *a.user, pw, buffer))
        return;
      if (a.group && !group_gid)
        return;
      a.uid = pw.pw_uid;
      a.gid = group_gid ? *group_gid : pw.pw_gid;
      a.home = pw.pw_dir ? pw.pw_dir : "";
      int n = 32;
      std::vector<gid_t> groups;
      for (int attempt = 0; attempt < 8; ++attempt) {
        groups.resize(static_cast<std::size_t>(n));
        if (getgrouplist(pw.pw_name, *a.gid, groups.data(), &n) >= 0) {
          groups.resize(static_cast<std::size_t>(n));
          break;
        }
        n = std::max(n, static_cast<int>(groups.size()) * 2);
      }
      a.supplementary_groups = std::move(groups);
    } else if (group_gid) {
      a.gid = *group_gid;
    }
  }

  bool resolve_user(const std::string &place, const std::string &name, passwd &pw,
                    std::vector<char> &buffer) {
    int error = 0;
    Lookup r = lookup<passwd>([&](passwd *p, char *b, std::size_t n,
                                  passwd **out) { return getpwnam_r(name.c_str(), p, b, n, out); },
                              pw, buffer, error);
    if (auto id = account_id(name); r == Lookup::missing && id) {
      r = lookup<passwd>([&](passwd *p, char *b, std::size_t n,
                             passwd **out) { return getpwuid_r(*id, p, b, n, out); },
                         pw, buffer, error);
    }
    return report(place, "user", name, r, error);
  }

  std::optional<gid_t> resolve_group(const std::string &place, const std::string &name) {
    group gr{};
    std::vector<char> buffer;
    int error = 0;
    Lookup r = lookup<group>([&](group *g, char *b, std::size_t n,
                                 group **out) { return getgrnam_r(name.c_str(), g, b, n, out); },
                             gr, buffer, error);
    if (auto id = account_id(name); r == Lookup::missing && id) {
      r = lookup<group>([&](group *g, char *b, std::size_t n,
                            group **out) { return getgrgid_r(*id, g, b, n, out); },
                        gr, buffer, error);
    }
    if (!report(place, "group", name, r, error))
      return std::nullopt;
    return gr.gr_gid;
  }

  bool report(const std::string &place, std::string_view what, const std::string &name, Lookup r,
              int error) {
    if (r == Lookup::found)
      return true;
    if (r == Lookup::missing)
      add(place, fmt::format("no such {} {} on this system; create it or use an existing {}", what,
                             all_digits(name) ? name : quote(name), what));
    else
      add(place, fmt::format("cannot look up {} {}: {}", what, quote(name),
                             std::generic_category().message(error)));
    return false;
  }

  std::vector<Problem> &problems_;
};

[[noreturn]] void fail(const std::string &path, const std::vector<Problem> &problems) {
  std::string text;
  const std::size_t shown = std::min(problems.size(), max_reported);
  for (std::size_t i = 0; i < shown; ++i) {
    const Problem &p = problems[i];
    if (!text.empty())
      text += '\n';
    text += p.place.empty() ? fmt::format("{}: {}", path, p.what)
                            : fmt::format("{}: {}: {}", path, p.place, p.what);
  }
  if (problems.size() > shown)
    text += fmt::format("\n{}: ... and {} more problems", path, problems.size() - shown);
  throw ConfigError(text);
}

} // namespace

Config parse_config(std::string_view text, const std::string &path, std::string_view runtime_dir) {
  std::vector<Problem> problems;

  TreeBuilder tree(problems);
  const bool parsed = json::sax_parse(text, &tree, json::input_format_t::json, true, false);
  if (!parsed) {
    std::string where = path;
    std::string reason = "nested deeper than " + std::to_string(max_nesting) + " levels";
    if (tree.error_position) {
      auto [line, column] = line_column(text, *tree.error_position);
      where = fmt::format("{}:{}:{}", path, line, column);
      reason = tree.error_reason;
    }
    // Duplicate keys found before the syntax error are still worth knowing.
    std::string message = fmt::format("{}: invalid JSON: {}", where, reason);
    for (std::size_t i = 0; i < problems.size() && i < max_reported; ++i)
      message += fmt::format("\n{}: {}: {}", path, problems[i].place, problems[i].what);
    throw ConfigError(message);
  }

  Config cfg;
  cfg.path = path;
  std::vector<ReadApp> apps;
  Reader(problems, runtime_dir).read(tree.root, cfg, apps);
  Verifier(problems).verify(cfg, apps);
  if (!problems.empty())
    fail(path, problems);

  cfg.apps.reserve(apps.size());
  for (ReadApp &a : apps)
    cfg.apps.push_back(std::move(a.cfg));
  return cfg;
}

// ---------------------------------------------------------------------------
// Reading the file

namespace {

class Fd {
public:
  explicit Fd(int fd) : fd_(fd) {}
  Fd(const Fd &) = delete;
  Fd &operator=(const Fd &) = delete;
  ~Fd() {
    if (fd_ >= 0)
      ::close(fd_);
  }
  int get() const { return fd_; }

private:
  int fd_;
};

std::string_view file_kind(mode_t mode) {
  if (S_ISDIR(mode))
    return "a directory";
  if (S_ISFIFO(mode))
    return "a FIFO";
  if (S_ISSOCK(mode))
    return "a socket";
  if (S_ISCHR(mode))
    return "a character device";
  if (S_ISBLK(mode))
    return "a block device";
  if (S_ISLNK(mode))
    return "a symbolic link";
  return "not a file";
}

[[noreturn]] void io_error(const std::string &path, std::string_view action, int error) {
  throw ConfigError(
      fmt::format("{}: {}: {}", path, action, std::generic_category().message(error)));
}

} // namespace

Config load_config(const std::string &path, std::string_view runtime_dir) {
  // O_NONBLOCK: opening a FIFO must not wait for a writer; we refuse it below.
  Fd fd(::open(path.c_str(), O_RDONLY | O_CLOEXEC | O_NONBLOCK | O_NOCTTY));
  if (fd.get() < 0)
    io_error(path, "cannot read", errno);
  struct stat st {};
  if (::fstat(fd.get(), &st) < 0)
    io_error(path, "cannot read", errno);
  if (!S_ISREG(st.st_mode))
    throw ConfigError(fmt::format("{}: not a regular file (it is {}); give the path of a JSON file",
                                  path, file_kind(st.st_mode)));
  const auto too_large = [&](std::uintmax_t size) {
    return ConfigError(fmt::format("{}: too large ({} bytes); a config may be at most {} bytes",
                                   path, size, max_config_bytes));
  };
  if (static_cast<std::uintmax_t>(st.st_size) > max_config_bytes)
    throw too_large(static_cast<std::uintmax_t>(st.st_size));

  std::string text;
  text.resize(static_cast<std::size_t>(st.st_size) + 1);
  std::size_t used = 0;
  for (;;) {
    if (used == text.size()) {
      if (text.size() > max_config_bytes)
        throw too_large(used);
      text.resize(std::min(text.size() * 2 + 4096, max_config_bytes + 1));
    }
    const ssize_t n = ::read(fd.get(), text.data() + used, text.size() - used);
    if (n < 0) {
      if (errno == EINTR)
        continue;
      io_error(path, "cannot read", errno);
    }
    if (n == 0)
      break;
    used += static_cast<std::size_t>(n);
  }
  if (used > max_config_bytes)
    throw too_large(used);
  text.resize(used);
  return parse_config(text, path, runtime_dir);
}

} // namespace hbmon

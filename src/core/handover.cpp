#include "core/handover.hpp"

#include <algorithm>
#include <fmt/format.h>
#include <nlohmann/json.hpp>

namespace hbmon::handover {

namespace {

using json = nlohmann::json;

// Each type has an encoder (put) and a decoder (get), side by side, so a
// field added to one is seen missing from the other. Decoders read every
// key with at(): a missing one throws, which read() reports.

// Declared first: the optional<T> templates below call them.
json put(const std::string &s);
void get(const json &j, std::string &s);
json put(int v);
void get(const json &j, int &v);
json put(const HeartbeatConfig &h);
void get(const json &j, HeartbeatConfig &h);
json put(const ProbeConfig &p);
void get(const json &j, ProbeConfig &p);
json put(const AppConfig &a);
void get(const json &j, AppConfig &a);
json put(const ExitStatus &e);
void get(const json &j, ExitStatus &e);
json put(const Watchdog::ProbeVerdict &v);
void get(const json &j, Watchdog::ProbeVerdict &v);
json put(const Guardian &g);
void get(const json &j, Guardian &g);

json put(Duration d) { return d.count(); }
void get(const json &j, Duration &d) { d = Duration(j.get<Duration::rep>()); }

json put(TimePoint t) { return t.time_since_epoch().count(); }
void get(const json &j, TimePoint &t) { t = TimePoint(Duration(j.get<Duration::rep>())); }

template <typename T> json put(const std::optional<T> &o) { return o ? put(*o) : json(nullptr); }
template <typename T> void get(const json &j, std::optional<T> &o) {
  if (j.is_null()) {
    o.reset();
    return;
  }
  T v{};
  get(j, v);
  o = std::move(v);
}

// Scalars that nlohmann converts itself.
json put(const std::string &s) { return s; }
void get(const json &j, std::string &s) { s = j.get<std::string>(); }
json put(int v) { return v; }
void get(const json &j, int &v) { v = j.get<int>(); }
void get(const json &j, unsigned &v) { v = j.get<unsigned>(); }

template <typename E, std::size_t N> json put_name(const Names<E, N> &names, E e) {
  return std::string(names.name(e));
}
template <typename E, std::size_t N> void get_name(const json &j, const Names<E, N> &names, E &e) {
  const auto s = j.get<std::string>();
  if (auto v = names.parse(s))
    e = *v;
  else
    throw HandoverError(fmt::format("unknown name \"{}\"", s));
}

// Counters by name, the ones at zero left out: {"exit-code": 3}.
template <typename E, std::size_t N>
json put_counts(const Names<E, N> &names, const std::array<std::uint64_t, N> &counts) {
  json j = json::object();
  for (std::size_t i = 0; i < N; ++i)
    if (counts[i] != 0)
      j[std::string(names.entries[i].name)] = counts[i];
  return j;
}
template <typename E, std::size_t N>
void get_counts(const json &j, const Names<E, N> &names, std::array<std::uint64_t, N> &counts) {
  counts = {};
  for (const auto &[name, n] : j.items()) {
    E e{};
    get_name(json(name), names, e);
    counts[static_cast<std::size_t>(e)] = n.template get<std::uint64_t>();
  }
}

template <std::size_t N> json put(const metrics::Histogram<N> &h) {
  return {{"counts", h.counts}, {"sum", h.sum}};
}
template <std::size_t N> void get(const json &j, metrics::Histogram<N> &h) {
  const auto counts = j.at("counts").get<std::vector<std::uint64_t>>();
  if (counts.size() != h.counts.size())
    throw HandoverError(
        fmt::format("a histogram of {} buckets, not {}", counts.size(), h.counts.size()));
  std::copy(counts.begin(), counts.end(), h.counts.begin());
  h.sum = j.at("sum").get<double>();
}

constexpr Names<Queued, 3> queued_names{{{
    {Queued::none, "none"},
    {Queued::start, "start"},
    {Queued::restart, "restart"},
}}};
static_assert(queued_names.in_order());

json put(const HeartbeatConfig &h) {
  return {{"endpoint", h.endpoint},
          {"interval", put(h.interval)},
          {"misses", h.misses},
          {"grace", put(h.grace)},
          {"protocol", put_name(heartbeat_protocol_names, h.protocol)}};
}
void get(const json &j, HeartbeatConfig &h) {
  get(j.at("endpoint"), h.endpoint);
  get(j.at("interval"), h.interval);
  get(j.at("misses"), h.misses);
  get(j.at("grace"), h.grace);
  get_name(j.at("protocol"), heartbeat_protocol_names, h.protocol);
}

json put(const ProbeConfig &p) {
  return {{"kind", put_name(probe_kind_names, p.kind)},
          {"argv", p.argv},
          {"url", p.url},
          {"host", p.host},
          {"port", p.port},
          {"path", p.path},
          {"interval", put(p.interval)},
          {"timeout", put(p.timeout)},
          {"failures", p.failures},
          {"initial_delay", put(p.initial_delay)}};
}
void get(const json &j, ProbeConfig &p) {
  get_name(j.at("kind"), probe_kind_names, p.kind);
  p.argv = j.at("argv").get<std::vector<std::string>>();
  get(j.at("url"), p.url);
  get(j.at("host"), p.host);
  p.port = j.at("port").get<std::uint16_t>();
  get(j.at("path"), p.path);
  get(j.at("interval"), p.interval);
  get(j.at("timeout"), p.timeout);
  get(j.at("failures"), p.failures);
  get(j.at("initial_delay"), p.initial_delay);
}

json put(const AppConfig &a) {
  return {
      {"name", a.name},
      {"command", a.command},
      {"heartbeat", put(a.heartbeat)},
      {"probe", put(a.probe)},
      {"restart", put_name(restart_policy_names, a.restart)},
      {"restart_delay", put(a.restart_delay)},
      {"backoff_max", put(a.backoff_max)},
      {"start_limit", {{"burst", a.start_limit.burst}, {"interval", put(a.start_limit.interval)}}},
      {"stop_signal", a.stop_signal},
      {"stop_timeout", put(a.stop_timeout)},
      {"hang_signal", a.hang_signal},
      {"abort_timeout", put(a.abort_timeout)},
      {"user", put(a.user)},
      {"group", put(a.group)},
      {"cwd", a.cwd},
      {"env", a.env},
      {"env_file", put(a.env_file)},
      {"enabled", a.enabled},
      {"uid", a.uid ? json(*a.uid) : json(nullptr)},
      {"gid", a.gid ? json(*a.gid) : json(nullptr)},
      {"supplementary_groups", a.supplementary_groups},
      {"account", a.account},
      {"home", a.home}};
}
void get(const json &j, AppConfig &a) {
  get(j.at("name"), a.name);
  a.command = j.at("command").get<std::vector<std::string>>();
  get(j.at("heartbeat"), a.heartbeat);
  get(j.at("probe"), a.probe);
  get_name(j.at("restart"), restart_policy_names, a.restart);
  get(j.at("restart_delay"), a.restart_delay);
  get(j.at("backoff_max"), a.backoff_max);
  get(j.at("start_limit").at("burst"), a.start_limit.burst);
  get(j.at("start_limit").at("interval"), a.start_limit.interval);
  get(j.at("stop_signal"), a.stop_signal);
  get(j.at("stop_timeout"), a.stop_timeout);
  // None from 0.2.0: its defaults.
  if (const auto it = j.find("hang_signal"); it != j.end())
    get(*it, a.hang_signal);
  if (const auto it = j.find("abort_timeout"); it != j.end())
    get(*it, a.abort_timeout);
  get(j.at("user"), a.user);
  get(j.at("group"), a.group);
  get(j.at("cwd"), a.cwd);
  a.env = j.at("env").get<std::map<std::string, std::string>>();
  get(j.at("env_file"), a.env_file);
  a.enabled = j.at("enabled").get<bool>();
  if (const auto &u = j.at("uid"); !u.is_null())
    a.uid = u.get<uid_t>();
  if (const auto &g = j.at("gid"); !g.is_null())
    a.gid = g.get<gid_t>();
  a.supplementary_groups = j.at("supplementary_groups").get<std::vector<gid_t>>();
  get(j.at("account"), a.account);
  get(j.at("home"), a.home);
}

json put(const ExitStatus &e) {
  return {{"code", e.code},
          {"signal", e.signal},
          {"exec_error", e.exec_error},
          {"core_dumped", e.core_dumped},
          {"oom_killed", e.oom_killed},
          {"cpu_seconds", e.cpu_seconds}};
}
void get(const json &j, ExitStatus &e) {
  get(j.at("code"), e.code);
  get(j.at("signal"), e.signal);
  get(j.at("exec_error"), e.exec_error);
  e.core_dumped = j.at("core_dumped").get<bool>();
  e.oom_killed = j.at("oom_killed").get<bool>();
  e.cpu_seconds = j.value("cpu_seconds", 0.0); // none from 0.2.0
}

json put(const Watchdog::ProbeVerdict &v) {
  return {{"at", put(v.at)}, {"ok", v.ok}, {"reason", v.reason}};
}
void get(const json &j, Watchdog::ProbeVerdict &v) {
  get(j.at("at"), v.at);
  v.ok = j.at("ok").get<bool>();
  get(j.at("reason"), v.reason);
}

json put(const Watchdog::Memory &m) {
  json starts = json::array();
  for (TimePoint t : m.starts)
    starts.push_back(put(t));
  return {{"state", put_name(state_names, m.state)},
          {"want_up", m.want_up},
          {"deadline", put(m.deadline)},
          {"reason", m.reason},
          {"pid", m.pid},
          {"started_at", put(m.started_at)},
          {"running_since", put(m.running_since)},
          {"last_heartbeat", put(m.last_heartbeat)},
          {"misses", m.misses},
          {"kill_reason", m.kill_reason},
          {"kill_result", put_name(result_names, m.kill_result)},
          {"result", put_name(result_names, m.result)},
          {"spawn_pending", m.spawn_pending},
          {"restart_due", m.restart_due},
          {"starts", std::move(starts)},
          {"delay", put(m.delay)},
          {"last_exit", put(m.last_exit)},
          {"status_text", put(m.status_text)},
          {"error", put(m.error)},
          {"reloading", m.reloading},
          {"self_stop", m.self_stop},
          {"aborting", m.aborting},
          {"interval", put(m.interval)},
          {"restarts", m.restarts},
          {"heartbeats", m.heartbeats},
          {"misses_total", m.misses_total},
          {"probe_failures", m.probe_failures},
          {"last_probe", put(m.last_probe)},
          {"metrics",
           {{"restarts", put_counts(result_names, m.restarts_by_result)},
            {"kills", put_counts(metrics::kill_reason_names, m.kills)},
            {"gaps", put(m.gaps)},
            {"cpu_ended", m.cpu_ended},
            {"cpu_shown", m.cpu_shown}}}};
}
void get(const json &j, Watchdog::Memory &m) {
  get_name(j.at("state"), state_names, m.state);
  m.want_up = j.at("want_up").get<bool>();
  get(j.at("deadline"), m.deadline);
  get(j.at("reason"), m.reason);
  m.pid = j.at("pid").get<pid_t>();
  get(j.at("started_at"), m.started_at);
  get(j.at("running_since"), m.running_since);
  get(j.at("last_heartbeat"), m.last_heartbeat);
  get(j.at("misses"), m.misses);
  get(j.at("kill_reason"), m.kill_reason);
  get_name(j.at("kill_result"), result_names, m.kill_result);
  get_name(j.at("result"), result_names, m.result);
  m.spawn_pending = j.at("spawn_pending").get<bool>();
  m.restart_due = j.at("restart_due").get<bool>();
  m.starts.clear();
  for (const auto &t : j.at("starts")) {
    TimePoint at;
    get(t, at);
    m.starts.push_back(at);
  }
  get(j.at("delay"), m.delay);
  get(j.at("last_exit"), m.last_exit);
  get(j.at("status_text"), m.status_text);
  get(j.at("error"), m.error);
  m.reloading = j.at("reloading").get<bool>();
  m.self_stop = j.at("self_stop").get<bool>();
  m.aborting = j.value("aborting", false); // none from 0.2.0
  get(j.at("interval"), m.interval);
  m.restarts = j.at("restarts").get<std::uint64_t>();
  m.heartbeats = j.at("heartbeats").get<std::uint64_t>();
  m.misses_total = j.at("misses_total").get<std::uint64_t>();
  get(j.at("probe_failures"), m.probe_failures);
  get(j.at("last_probe"), m.last_probe);
  // hbmond 0.2.0 wrote none: its counters start at zero here.
  if (const auto it = j.find("metrics"); it != j.end()) {
    get_counts(it->at("restarts"), result_names, m.restarts_by_result);
    get_counts(it->at("kills"), metrics::kill_reason_names, m.kills);
    get(it->at("gaps"), m.gaps);
    m.cpu_ended = it->value("cpu_ended", 0.0);
    m.cpu_shown = it->value("cpu_shown", 0.0);
  }
}

json put(const AppCounters &c) {
  return {{"heartbeats_refused", c.heartbeats_refused},
          {"messages_dropped", c.messages_dropped},
          {"connections_refused", c.connections_refused},
          {"output_dropped", c.output_dropped},
          {"fds_closed", c.fds_closed}};
}
void get(const json &j, AppCounters &c) {
  c.heartbeats_refused = j.at("heartbeats_refused").get<std::uint64_t>();
  c.messages_dropped = j.at("messages_dropped").get<std::uint64_t>();
  c.connections_refused = j.at("connections_refused").get<std::uint64_t>();
  c.output_dropped = j.at("output_dropped").get<std::uint64_t>();
  c.fds_closed = j.at("fds_closed").get<std::uint64_t>();
}

json put(const Output &o) {
  json ring = json::array();
  for (const LogLine &l : o.ring)
    ring.push_back({l.seq, l.time_us, l.priority, l.text});
  return {{"fds", o.fds},         {"partial", o.partial},    {"lines", o.lines},
          {"dropped", o.dropped}, {"ring", std::move(ring)}, {"ring_next", o.ring_next}};
}
void get(const json &j, Output &o) {
  o.fds = j.at("fds").get<std::array<int, 4>>();
  o.partial = j.at("partial").get<std::array<std::string, 2>>();
  o.lines = j.at("lines").get<std::uint64_t>();
  o.dropped = j.at("dropped").get<std::uint64_t>();
  o.ring.clear();
  for (const auto &l : j.at("ring"))
    o.ring.push_back({l.at(0).get<std::uint64_t>(), l.at(1).get<std::int64_t>(), l.at(2).get<int>(),
                      l.at(3).get<std::string>()});
  o.ring_next = j.at("ring_next").get<std::uint64_t>();
}

json put(const App &a) {
  return {{"config", put(a.config)},
          {"memory", put(a.memory)},
          {"pidfd", a.pidfd},
          {"since", put(a.since)},
          {"admin_down", a.admin_down},
          {"retiring", a.retiring},
          {"successor", put(a.successor)},
          {"queued", put_name(queued_names, a.queued)},
          {"output", put(a.output)},
          {"notify_fd", a.notify_fd},
          {"counters", put(a.counters)},
          {"probe_next", put(a.probe_next)}};
}
void get(const json &j, App &a) {
  get(j.at("config"), a.config);
  get(j.at("memory"), a.memory);
  get(j.at("pidfd"), a.pidfd);
  get(j.at("since"), a.since);
  a.admin_down = j.at("admin_down").get<bool>();
  a.retiring = j.at("retiring").get<bool>();
  get(j.at("successor"), a.successor);
  get_name(j.at("queued"), queued_names, a.queued);
  get(j.at("output"), a.output);
  get(j.at("notify_fd"), a.notify_fd);
  get(j.at("counters"), a.counters);
  get(j.at("probe_next"), a.probe_next);
}

json put(const Guardian &g) {
  return {{"pid", g.pid}, {"pidfd", g.pidfd}, {"writer", g.writer}, {"table", g.table}};
}
void get(const json &j, Guardian &g) {
  g.pid = j.at("pid").get<pid_t>();
  get(j.at("pidfd"), g.pidfd);
  get(j.at("writer"), g.writer);
  get(j.at("table"), g.table);
}

json put(const Config &c) {
  json apps = json::array();
  for (const AppConfig &a : c.apps)
    apps.push_back(put(a));
  return {{"path", c.path},
          {"dropins", c.dropins},
          {"apps", std::move(apps)},
          {"control", c.control},
          {"events", c.events},
          {"log_level", put(c.log_level)},
          {"metrics", c.metrics ? json{{"listen", c.metrics->listen},
                                       {"host", c.metrics->host},
                                       {"port", c.metrics->port}}
                                : json(nullptr)},
          {"forensics", c.forensics ? json{{"dir", c.forensics->dir}, {"keep", c.forensics->keep}}
                                    : json(nullptr)}};
}
void get(const json &j, Config &c) {
  get(j.at("path"), c.path);
  c.dropins = j.at("dropins").get<std::vector<std::string>>();
  c.apps.clear();
  for (const auto &a : j.at("apps"))
    get(a, c.apps.emplace_back());
  get(j.at("control"), c.control);
  get(j.at("events"), c.events);
  get(j.at("log_level"), c.log_level);
  c.metrics.reset();
  if (const auto it = j.find("metrics"); it != j.end() && !it->is_null()) // none from 0.2.0
    c.metrics =
        MetricsConfig{it->at("listen").get<std::string>(), it->at("host").get<std::string>(),
                      it->at("port").get<std::uint16_t>()};
  c.forensics = ForensicsConfig{}; // 0.2.0 wrote none: the default
  if (const auto it = j.find("forensics"); it != j.end())
    c.forensics = it->is_null() ? std::nullopt
                                : std::optional(ForensicsConfig{it->at("dir").get<std::string>(),
                                                                it->at("keep").get<unsigned>()});
}

bool same(const Config &a, const Config &b) {
  return a.path == b.path && a.dropins == b.dropins && a.apps == b.apps && a.control == b.control &&
         a.events == b.events && a.log_level == b.log_level && a.metrics == b.metrics &&
         a.forensics == b.forensics;
}

} // namespace

std::vector<int> State::fds() const {
  std::vector<int> out;
  auto add = [&](int fd) {
    if (fd >= 0)
      out.push_back(fd);
  };
  if (guardian) {
    add(guardian->pidfd);
    add(guardian->writer);
    add(guardian->table);
  }
  for (const App &a : apps) {
    add(a.pidfd);
    for (int fd : a.output.fds)
      add(fd);
    add(a.notify_fd);
  }
  return out;
}

bool State::operator==(const State &o) const {
  return format == o.format && version == o.version && started == o.started &&
         reexecs == o.reexecs && loop_lag == o.loop_lag && written == o.written &&
         child_nofile == o.child_nofile && same(config, o.config) && guardian == o.guardian &&
         event_seq == o.event_seq && counters == o.counters && apps == o.apps;
}

std::string write(const State &s) {
  json apps = json::array();
  for (const App &a : s.apps)
    apps.push_back(put(a));
  const json doc = {{"format", s.format},
                    {"version", s.version},
                    {"started", s.started},
                    {"reexecs", s.reexecs},
                    {"loop_lag", put(s.loop_lag)},
                    {"written", put(s.written)},
                    {"child_nofile", s.child_nofile ? json(*s.child_nofile) : json(nullptr)},
                    {"config", put(s.config)},
                    {"guardian", put(s.guardian)},
                    {"event_seq", s.event_seq},
                    {"counters", s.counters},
                    {"apps", std::move(apps)}};
  // Replace, not throw, on invalid UTF-8 (an app's output): the state must
  // always be written.
  return doc.dump(-1, ' ', false, json::error_handler_t::replace);
}

State read(std::string_view text) {
  json doc;
  try {
    doc = json::parse(text);
  } catch (const json::exception &e) {
    throw HandoverError(fmt::format("not a handover state: {}", e.what()));
  }
  if (!doc.is_object() || !doc.contains("format") || !doc["format"].is_number_integer())
    throw HandoverError("not a handover state: no \"format\"");
  const auto fmt_seen = doc["format"].get<long long>();
  if (fmt_seen < oldest_format || fmt_seen > format)
    throw HandoverError(fmt::format(
        "state format {} (written by hbmond {}) is not a format {}-{} this hbmond reads", fmt_seen,
        doc.value("version", std::string("?")), oldest_format, format));
  State s;
  try {
    s.format = static_cast<int>(fmt_seen);
    get(doc.at("version"), s.version);
    s.started = doc.at("started").get<double>();
    s.reexecs = doc.at("reexecs").get<std::uint64_t>();
    if (const auto it = doc.find("loop_lag"); it != doc.end())
      get(*it, s.loop_lag);
    get(doc.at("written"), s.written);
    if (const auto &n = doc.at("child_nofile"); !n.is_null())
      s.child_nofile = n.get<std::uint64_t>();
    get(doc.at("config"), s.config);
    get(doc.at("guardian"), s.guardian);
    s.event_seq = doc.at("event_seq").get<std::uint64_t>();
    if (const auto it = doc.find("counters"); it != doc.end())
      s.counters = it->get<std::map<std::string, std::uint64_t>>();
    for (const auto &a : doc.at("apps"))
      get(a, s.apps.emplace_back());
  } catch (const json::exception &e) {
    throw HandoverError(fmt::format("bad handover state: {}", e.what()));
  }
  return s;
}

} // namespace hbmon::handover

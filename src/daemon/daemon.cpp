#include "daemon/daemon.hpp"

#include "sys/forensics_store.hpp"

#include "core/heartbeat.hpp"
#include "core/signal_names.hpp"
#include "daemon/log.hpp"
#include "protocol/protocol.hpp"
#include "protocol/selectors.hpp"
#include "protocol/text.hpp"
#include "protocol/version.hpp"
#include "sys/config_file.hpp"

#include <algorithm>
#include <csignal>
#include <ctime>
#include <fmt/format.h>
#include <unistd.h>

namespace hbmon {

namespace {

// Requests waiting for the worker (a user database lookup or a reload) at
// most; more are answered "busy" at once.
constexpr std::size_t max_deferred = 256;
constexpr std::size_t max_metrics_renders = 4;

// "2026-11-30T08:15:02Z"
std::string iso8601(double unix_seconds) {
  const auto t = static_cast<std::time_t>(unix_seconds);
  std::tm tm{};
  ::gmtime_r(&t, &tm);
  char buf[32];
  std::strftime(buf, sizeof buf, "%Y-%m-%dT%H:%M:%SZ", &tm);
  return buf;
}

std::string join(const std::vector<std::string> &v, const char *sep = ", ") {
  if (v.empty())
    return "-";
  std::string out;
  for (const auto &s : v)
    out += (out.empty() ? "" : sep) + s;
  return out;
}

} // namespace

Daemon::Daemon(Loop &loop, Settings settings, Config config)
    : loop_(loop), settings_(std::move(settings)), config_(std::move(config)), reports_(loop),
      sup_(loop, reports_, settings_.supervisor),
      signals_(loop, {SIGTERM, SIGINT, SIGHUP, SIGCHLD, SIGUSR2},
               [this](int sig) {
                 switch (sig) {
                 case SIGCHLD:
                   sup_.reap();
                   break;
                 case SIGHUP:
                   reload("SIGHUP");
                   break;
                 case SIGUSR2:
                   reexec("SIGUSR2");
                   break;
                 default:
                   if (reexec_)
                     reexec_->cancel("hbmond began to shut down");
                   sup_.shutdown(fmt::format("{} received", sig == SIGTERM ? "SIGTERM" : "SIGINT"));
                   break;
                 }
               }),
      started_(to_seconds(std::chrono::system_clock::now().time_since_epoch())),
      metrics_(loop, sup_, worker_,
               [this] {
                 return metrics::DaemonSample{program_version, reexecs_, loop_.lag()};
               }),
      worker_(loop) {
  sup_.connections().limit = settings_.connection_limit;
  if (logging::to_journal()) {
    journal_reader_ = std::make_unique<JournalReader>();
    unit_ = JournalReader::own_unit();
  }
  // An event that fails is logged; the other apps are not given up for it.
  loop_.on_error([](const std::exception &e) {
    logging::daemon(LogLevel::error, fmt::format("internal error, carrying on: {}", e.what()));
  });
  if (settings_.control_plane) {
    events_ =
        std::make_unique<EventPublisher>(sup_.zmq(), loop_, config_.events, sup_.connections());
    reports_.set_sink([this](const std::string &json) { events_->publish(json); });
    control_ = std::make_unique<ControlServer>(
        sup_.zmq(), loop_, config_.control,
        [this](std::string_view body, std::optional<PeerCred> peer) { return handle(body, peer); },
        sup_.connections());
    // Supervising comes first: an endpoint that cannot be had is logged,
    // and a reload tries again.
    if (auto why = metrics_.listen(config_.metrics))
      logging::daemon(LogLevel::error,
                      fmt::format("{}; GET /metrics is off until a reload can serve it", *why));
  }
}

nlohmann::json Daemon::refusal(const Request &req, const std::string &who) const {
  std::string what = req.app;
  for (const auto &sel : req.apps)
    what += (what.empty() ? "" : " ") + sel;
  // About one app (HBMON_APP in the journal) when the request names one.
  const bool one_name = req.apps.size() == 1 && req.apps.front() != "all" &&
                        req.apps.front().find_first_of("*?[") == std::string::npos;
  const std::string about = !req.app.empty() ? req.app
                            : one_name       ? req.apps.front()
                                             : std::string();
  logging::daemon_about(about, LogLevel::warning,
                        fmt::format("refused {}{}{} from {}: permission denied", to_string(req.cmd),
                                    what.empty() ? "" : " ", printable(what, {.limit = 512}), who));
  return error_reply("permission-denied",
                     fmt::format("permission denied: {} needs root, hbmond's user or group {}",
                                 to_string(req.cmd), Admins::group));
}

std::string Daemon::handle(std::string_view body, std::optional<PeerCred> peer) {
  Request req;
  try {
    req = parse_request(body);
  } catch (const ProtocolError &e) {
    logging::daemon(LogLevel::debug, fmt::format("bad control request: {}", e.what()));
    return dump(error_reply(e.code(), e.what()));
  }
  const std::string who =
      peer ? fmt::format("uid {}, pid {}", peer->uid, peer->pid) : std::string("a tcp peer");
  if (req.cmd == Command::logs)
    return logs(req, peer, who);
  if (req.cmd == Command::metrics)
    return metrics();
  if (req.cmd == Command::forensics)
    return forensics(req, peer, who);
  if (!is_mutating(req.cmd))
    return dump(dispatch(req, who));
  const std::optional<bool> allowed = peer ? admins_.known(peer->uid) : false;
  if (allowed && !*allowed)
    return dump(refusal(req, who));
  const bool waits = req.cmd == Command::reload || req.cmd == Command::reexec;
  if (allowed && !waits)
    return dump(dispatch(req, who));
  // The worker has the answer (the user database's, or the reload's), or
  // the re-exec's check: the reply waits for it, the loop does not.
  if (control_->deferred() >= max_deferred)
    return dump(error_reply("busy", "too many requests are waiting for hbmond; try again"));
  Answer answer = [this, ticket = control_->defer()](const nlohmann::json &reply) {
    control_->answer(ticket, dump(reply));
  };
  if (allowed) {
    deferred(req, who, std::move(answer));
    return {};
  }
  admins_.resolve(peer->uid, [this, req, who, answer](bool ok) {
    if (!ok)
      answer(refusal(req, who));
    else
      deferred(req, who, answer);
  });
  return {};
}

void Daemon::deferred(const Request &req, const std::string &who, Answer answer) {
  if (req.cmd == Command::reload)
    reload("requested by " + who, std::move(answer));
  else if (req.cmd == Command::reexec)
    reexec("requested by " + who, std::move(answer));
  else
    answer(dispatch(req, who));
}

nlohmann::json Daemon::dispatch(const Request &req, const std::string &who) {
  nlohmann::json reply = ok_reply();
  auto admin = [&](const Supervisor::Reply &r) {
    if (!r.ok)
      return error_reply(r.error, r.message);
    reply["app"] = req.app;
    reply["state"] = std::string(to_string(r.state));
    reply["message"] = r.message;
    return reply;
  };
  switch (req.cmd) {
  case Command::status: {
    Selection sel = select_apps(req.apps, sup_.names());
    if (!sel.unmatched.empty())
      return unknown_apps(sel.unmatched);
    auto &apps = reply["apps"] = nlohmann::json::array();
    for (const auto &st : sup_.status())
      // sel.apps is sorted, as names() is.
      if (req.apps.empty() || std::binary_search(sel.apps.begin(), sel.apps.end(), st.name))
        apps.push_back(to_json(st));
    reply["summary"] = sup_.summary();
    return reply;
  }
  case Command::info:
    reply["version"] = program_version;
    reply["pid"] = ::getpid();
    reply["started"] = iso8601(started_);
    reply["reexecs"] = reexecs_;
    reply["config"] = settings_.config_path;
    reply["control"] = config_.control;
    reply["events"] = config_.events;
    reply["summary"] = sup_.summary();
    if (control_) {
      reply["counters"] = counters();
      reply["counters"]["connections_open"] = sup_.connections().open;
      reply["counters"]["connections_limit"] = sup_.connections().limit;
    }
    return reply;
  case Command::panic:
    return admin(sup_.panic(req.app, req.reason, who));
  case Command::start:
  case Command::stop:
  case Command::restart:
  case Command::signal:
    return act_on_apps(req, who);
  case Command::reload:
  case Command::reexec:
  case Command::logs:
  case Command::metrics:
  case Command::forensics:
    break; // handle() has reload(), reexec(), logs(), metrics() and forensics() answer them
  }
  return error_reply("bad-request", "unknown command");
}

nlohmann::json Daemon::unknown_apps(const std::vector<std::string> &unmatched) const {
  std::vector<std::string> shown;
  for (const auto &s : unmatched)
    shown.push_back(printable(s, {.limit = 80}));
  return error_reply("unknown-app", fmt::format("no app named {}", join(shown)));
}

const AppConfig *Daemon::config_of(const std::string &name) const {
  for (const auto &a : config_.apps)
    if (a.name == name)
      return &a;
  return nullptr;
}

// start, stop, restart and signal on every selected app: all of them or,
// when a selector names no app, none. Each app's reply says what a waiting
// client needs: its state now, why, and how long its way there may take;
// "seq" is the last event sent before, so a client following the events
// knows which are news.
nlohmann::json Daemon::act_on_apps(const Request &req, const std::string &who) {
  int sig = 0;
  if (req.cmd == Command::signal) {
    sig = parse_signal(req.signal);
    if (sig == 0)
      return error_reply("unknown-signal", fmt::format("no signal named \"{}\"",
                                                       printable(req.signal, {.limit = 32})));
  }
  Selection sel = select_apps(req.apps, sup_.names());
  if (!sel.unmatched.empty())
    return unknown_apps(sel.unmatched);
  nlohmann::json reply = ok_reply();
  reply["seq"] = reports_.last_seq();
  auto &apps = reply["apps"] = nlohmann::json::array();
  std::vector<std::string> failures;
  std::string error;
  for (const auto &name : sel.apps) {
    Supervisor::Reply r;
    switch (req.cmd) {
    case Command::start:
      r = sup_.start_app(name, who);
      break;
    case Command::stop:
      r = sup_.stop_app(name, who);
      break;
    case Command::restart:
      r = sup_.restart_app(name, who);
      break;
    default: {
      // A pattern or `all` picks the apps that run; a name must run.
      const bool named = std::binary_search(sel.named.begin(), sel.named.end(), name);
      r = sup_.signal_app(name, sig, who);
      if (!r.ok && r.error == "not-running" && !named)
        r = {true, "", "not running, no signal sent", r.state, ""};
    }
    }
    nlohmann::json one = {{"app", name},
                          {"ok", r.ok},
                          {"state", std::string(to_string(r.state))},
                          {"message", r.message},
                          {"reason", r.reason}};
    if (const AppConfig *cfg = config_of(name)) {
      one["stop_timeout"] = to_seconds(cfg->stop_timeout);
      one["grace"] = cfg->heartbeat ? to_seconds(cfg->heartbeat->grace) : 0.0;
    }
    if (!r.ok) {
      one["error"] = r.error;
      failures.push_back(r.message);
      if (error.empty())
        error = r.error;
    }
    apps.push_back(std::move(one));
  }
  if (sel.apps.size() == 1) { // as protocol v1 first answered one app
    reply["app"] = apps[0]["app"];
    reply["state"] = apps[0]["state"];
    reply["message"] = apps[0]["message"];
  }
  if (failures.empty())
    return reply;
  nlohmann::json refused = error_reply(error, join(failures, "; "));
  refused["apps"] = std::move(apps);
  return refused;
}

void Daemon::reload(const std::string &trigger, Answer answer) {
  if (!settings_.control_plane) {
    logging::daemon(LogLevel::warning,
                    fmt::format("{}: --exec mode has no config to reload", trigger));
    if (answer)
      answer(error_reply("bad-request", "--exec mode has no config to reload"));
    return;
  }
  if (sup_.shutting_down()) {
    // As start and restart: nothing new once the apps are being stopped.
    logging::daemon(LogLevel::warning,
                    fmt::format("refused reload ({}): hbmond is shutting down", trigger));
    if (answer)
      answer(error_reply("shutting-down", "hbmond is shutting down"));
    return;
  }
  if (reexec_ && reexec_->running()) {
    logging::daemon(LogLevel::warning,
                    fmt::format("refused reload ({}): a re-exec is under way, and the new "
                                "hbmond reloads the config itself",
                                trigger));
    if (answer)
      answer(error_reply("busy", "a re-exec is under way; the new hbmond reloads the config"));
    return;
  }
  if (reloads_.running) {
    // It may have read the file already: one more reload, after it, reads
    // what this one asks for.
    logging::daemon(LogLevel::info,
                    fmt::format("reload ({}) waits for the one in progress", trigger));
    auto &triggers = reloads_.next_triggers;
    if (std::find(triggers.begin(), triggers.end(), trigger) == triggers.end())
      triggers.push_back(trigger); // a SIGHUP storm is one trigger
    if (answer)
      reloads_.next_answers.push_back(std::move(answer));
    return;
  }
  begin_reload(trigger, {std::move(answer)});
}

void Daemon::begin_reload(std::string trigger, std::vector<Answer> answers) {
  reloads_.running = true;
  reloads_.answers = std::move(answers);
  reports_.reload_begins();
  logging::daemon(LogLevel::info, fmt::format("reloading {} ({})", settings_.config_path, trigger));
  worker_.post([this, path = settings_.config_path, dir = settings_.runtime_dir] {
    Loaded loaded;
    try {
      loaded = load_config(path, dir); // file reads and NSS: off the loop
    } catch (const std::exception &e) {
      loaded = std::string(e.what());
    }
    return Worker::Completion([this, loaded = std::move(loaded)]() mutable {
      nlohmann::json reply = apply(std::move(loaded));
      reports_.reload_ends();
      reloads_.running = false;
      for (Answer &a : std::exchange(reloads_.answers, {}))
        if (a)
          a(reply);
      if (!reloads_.next_triggers.empty())
        begin_reload(join(std::exchange(reloads_.next_triggers, {}), "; "),
                     std::exchange(reloads_.next_answers, {}));
      else if (std::exchange(reexec_waits_, false))
        for (Answer &a : std::exchange(reexec_after_reload_, {}))
          reexec("after the reload", std::move(a));
    });
  });
}

nlohmann::json Daemon::apply(Loaded loaded) {
  if (auto *error = std::get_if<std::string>(&loaded)) {
    logging::daemon(LogLevel::error,
                    fmt::format("reload failed, the running config is kept:\n{}", *error));
    sup_.publish("", "reload", "reload failed, the running config is kept");
    return error_reply("invalid-config", *error);
  }
  Config &next = std::get<Config>(loaded);
  auto refused = [this](const std::string &why) {
    logging::daemon(LogLevel::error,
                    fmt::format("reload refused, the running config is kept: {}", why));
    sup_.publish("", "reload", "reload refused, the running config is kept: " + why);
    return error_reply("reload-failed",
                       "cannot apply the reload, the running config is kept: " + why);
  };
  // The endpoint first: of what a reload changes, only it can fail to bind.
  if (auto why = metrics_.listen(next.metrics))
    return refused(*why);
  auto applied = sup_.reload(next);
  if (auto *why = std::get_if<std::string>(&applied)) {
    metrics_.listen(config_.metrics);
    return refused(*why);
  }
  const ReloadPlan &rep = std::get<ReloadPlan>(applied);
  if (next.control != config_.control || next.events != config_.events)
    logging::daemon(LogLevel::warning,
                    "the control and events endpoints change only when hbmond restarts");
  next.control = config_.control;
  next.events = config_.events;
  config_ = std::move(next);
  if (!settings_.cli_log_level)
    logging::set_level(config_.log_level
                           ? logging::parse_level(*config_.log_level).value_or(LogLevel::info)
                           : LogLevel::info);
  std::string text =
      fmt::format("reloaded: added {}; removed {}; changed {}; unchanged {}", join(rep.added),
                  join(rep.removed), join(rep.changed), join(rep.unchanged));
  logging::daemon(LogLevel::info, text);
  sup_.publish("", "reload", text);
  nlohmann::json reply = ok_reply();
  reply["added"] = rep.added;
  reply["removed"] = rep.removed;
  reply["changed"] = rep.changed;
  reply["unchanged"] = rep.unchanged;
  return reply;
}

// An app's lines are for root, group hbmond and the app's own user (as
// journalctl gives a user their own units' lines): checked by the caller's
// uid from the socket, never by what the client says.
// The counters are copied on the loop (~0.2 ms at 1,000 apps); the text
// (2 MiB at 1,000 apps) is written and put in its reply by the Worker, so
// no reader of the metrics, however often it asks, holds up a verdict.
// At most max_metrics_renders at once: a client that asks again and again
// gets "busy", not a queue of copies.
std::string Daemon::metrics() {
  if (control_->deferred() >= max_deferred || metrics_renders_ >= max_metrics_renders)
    return dump(error_reply("busy", "too many requests are waiting for hbmond; try again"));
  ++metrics_renders_;
  metrics_.text([this, ticket = control_->defer()](std::string text) -> Worker::Completion {
    nlohmann::json reply = ok_reply();
    reply["metrics"] = std::move(text);
    return [this, ticket, text = dump(reply)] {
      --metrics_renders_;
      control_->answer(ticket, text);
    };
  });
  return {};
}

// Whether `peer` may read what is the app's own (its lines, its forensics
// records): root, group hbmond and the app's own user, as journalctl gives
// a user their own units' lines. nullopt: the user database must be asked.
std::optional<bool> Daemon::may_read(const App &a, std::optional<PeerCred> peer) {
  if (!peer)
    return false;
  return peer->uid == a.cfg.uid.value_or(0) ? std::optional(true) : admins_.known(peer->uid);
}

// The refusal of such a read, logged. `what`: "the logs", "the forensics records".
std::function<nlohmann::json()> Daemon::read_refusal(const Request &req, const std::string &who,
                                                     std::string_view what) const {
  return [req, who, what = std::string(what)] {
    logging::daemon_about(req.app, LogLevel::warning,
                          fmt::format("refused {} {} from {}: permission denied",
                                      to_string(req.cmd), printable(req.app), who));
    return error_reply("permission-denied",
                       fmt::format("permission denied: {} of {} are for root, group {} "
                                   "and the app's own user",
                                   what, printable(req.app), Admins::group));
  };
}

std::string Daemon::logs(const Request &req, std::optional<PeerCred> peer, const std::string &who) {
  const App *a = sup_.find_app(req.app);
  if (!a)
    return dump(error_reply("unknown-app", fmt::format("no app named \"{}\"", printable(req.app))));
  auto refused = read_refusal(req, who, "the logs");
  const std::optional<bool> allowed = may_read(*a, peer);
  if (allowed && !*allowed)
    return dump(refused());
  if (allowed && !journal_reader_)
    return dump(ring_logs(req));
  if (control_->deferred() >= max_deferred)
    return dump(error_reply("busy", "too many requests are waiting for hbmond; try again"));
  Answer answer = [this, ticket = control_->defer()](const nlohmann::json &reply) {
    control_->answer(ticket, dump(reply));
  };
  if (allowed) {
    read_logs(req, std::move(answer));
    return {};
  }
  admins_.resolve(peer->uid, [this, req, answer, refused](bool ok) {
    if (ok)
      read_logs(req, answer);
    else
      answer(refused());
  });
  return {};
}

// An app's forensics records: the list, or one. Read by the Worker (the
// files may be many and large); for root, group hbmond and the app's user.
std::string Daemon::forensics(const Request &req, std::optional<PeerCred> peer,
                              const std::string &who) {
  const App *a = sup_.find_app(req.app);
  if (!a)
    return dump(error_reply("unknown-app", fmt::format("no app named \"{}\"", printable(req.app))));
  const auto &cfg = sup_.forensics();
  if (!cfg)
    return dump(error_reply("forensics-off", "hbmond keeps no forensics records (the config has "
                                             "\"forensics\": false)"));
  if (!req.id.empty() && !forensics::valid_id(req.id))
    return dump(error_reply("unknown-record",
                            fmt::format("\"{}\" is not a record's id; hbmonctl forensics {} lists "
                                        "them",
                                        printable(req.id), printable(req.app))));
  auto refused = read_refusal(req, who, "the forensics records");
  const std::optional<bool> allowed = may_read(*a, peer);
  if (allowed && !*allowed)
    return dump(refused());
  if (control_->deferred() >= max_deferred)
    return dump(error_reply("busy", "too many requests are waiting for hbmond; try again"));
  Answer answer = [this, ticket = control_->defer()](const nlohmann::json &reply) {
    control_->answer(ticket, dump(reply));
  };
  auto serve = [this, req, store = ForensicsStore(*cfg), answer] {
    worker_.post([req, store, answer]() -> Worker::Completion {
      nlohmann::json reply = ok_reply();
      reply["app"] = req.app;
      reply["dir"] = store.config().dir + "/" + req.app;
      try {
        if (req.id.empty()) {
          reply["records"] = store.list(req.app);
        } else if (auto text = store.read(req.app, req.id)) {
          reply["id"] = req.id;
          reply["record"] = nlohmann::json::parse(*text);
        } else {
          reply =
              error_reply("unknown-record", fmt::format("{} has no record {}", req.app, req.id));
        }
      } catch (const std::exception &e) {
        reply = error_reply("forensics", e.what());
      }
      return [answer, reply = std::move(reply)] { answer(reply); };
    });
  };
  if (allowed) {
    serve();
    return {};
  }
  admins_.resolve(peer->uid, [serve, answer, refused](bool ok) {
    if (ok)
      serve();
    else
      answer(refused());
  });
  return {};
}

void Daemon::read_logs(const Request &req, Answer answer) {
  if (!journal_reader_) {
    answer(ring_logs(req));
    return;
  }
  JournalQuery q;
  q.unit = unit_;
  q.app = req.app;
  q.lines = req.lines;
  q.after = req.cursor.rfind("j:", 0) == 0;
  if (q.after)
    q.cursor = req.cursor.substr(2);
  worker_.post([this, q = std::move(q), answer = std::move(answer)]() -> Worker::Completion {
    JournalRead got = journal_reader_->read(q);
    return [got = std::move(got), app = q.app, answer = std::move(answer)] {
      if (!got.error.empty()) {
        answer(error_reply("journal", got.error));
        return;
      }
      nlohmann::json reply = ok_reply();
      reply["app"] = app;
      reply["source"] = "journal";
      auto &lines = reply["lines"] = nlohmann::json::array();
      for (const JournalEntry &e : got.entries)
        lines.push_back({{"time", e.time_us},
                         {"priority", e.priority},
                         {"identifier", e.identifier},
                         {"pid", e.pid},
                         {"message", printable(e.message)}});
      reply["cursor"] = "j:" + got.cursor;
      answer(reply);
    };
  });
}

// Without a journal: the app's ring of recent lines. The cursor is the
// sequence number of the last line given.
nlohmann::json Daemon::ring_logs(const Request &req) const {
  const App *a = sup_.find_app(req.app);
  if (!a)
    return error_reply("unknown-app", fmt::format("no app named \"{}\"", printable(req.app)));
  const LogRing &ring = a->output.ring();
  std::vector<LogLine> got;
  std::uint64_t last = ring.next_seq() - 1; // the cursor: the last line given
  if (req.cursor.rfind("m:", 0) == 0) {
    last = std::strtoull(req.cursor.c_str() + 2, nullptr, 10);
    if (last >= ring.next_seq())
      last = 0; // the app was made anew (a reload): all its lines are new
    got = ring.since(last, req.lines);
  } else {
    got = ring.last(req.lines);
  }
  if (!got.empty())
    last = got.back().seq;
  nlohmann::json reply = ok_reply();
  reply["app"] = req.app;
  reply["source"] = "memory";
  auto &lines = reply["lines"] = nlohmann::json::array();
  for (const LogLine &l : got)
    lines.push_back({{"time", l.time_us},
                     {"priority", l.priority},
                     {"identifier", req.app},
                     {"message", printable(l.text)}});
  reply["cursor"] = fmt::format("m:{}", last);
  return reply;
}

// hbmond's own counters, from its first start on: what this program
// counted plus what the programs before it had (a re-exec hands them over).
std::map<std::string, std::uint64_t> Daemon::counters() const {
  std::map<std::string, std::uint64_t> c = counters_before_;
  if (control_) {
    c["control_requests"] += control_->requests();
    c["control_replies_dropped"] += control_->replies_dropped();
    c["control_connections_refused"] += control_->connections_refused();
    c["events_connections_refused"] += events_->connections_refused();
  }
  return c;
}

} // namespace hbmon

// The daemon: the supervisor plus its control plane (control socket,
// events, signals, reload). main() builds one and runs the loop.
//
// Contract: nothing here waits for the user database or the config file on
// the loop. A reload is read and verified by the Worker and applied on the
// loop when it is done; a reload asked for while one runs waits for it, and
// all that waited are then served by one more reload. A request that
// changes something is authorized by daemon/admins.hpp, which may have to
// ask the Worker first. Either way the control reply waits (the control
// server's deferred reply), never the loop. `logs` is for root, group
// hbmond and the app's own user; under the journal it is read by the Worker
// (sys/journal_read.hpp), otherwise from the app's ring of recent lines.
#pragma once

#include "core/config.hpp"
#include "core/forensics.hpp"
#include "core/handover.hpp"
#include "daemon/admins.hpp"
#include "daemon/control.hpp"
#include "daemon/metrics_service.hpp"
#include "daemon/reexec.hpp"
#include "daemon/reports.hpp"
#include "daemon/supervisor.hpp"
#include "protocol/protocol.hpp"
#include "sys/journal_read.hpp"
#include "sys/loop.hpp"
#include "sys/signals.hpp"
#include "sys/worker.hpp"

#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <variant>
#include <vector>

namespace hbmon {

class Daemon {
public:
  struct Settings {
    std::string config_path;
    std::string runtime_dir;
    std::optional<LogLevel> cli_log_level; // --log-level wins over the config
    bool control_plane = true;             // false in --exec mode
    // Connections all untrusted peers together may hold (fds kept free for
    // hbmond's own work: libzmq aborts when an accept finds none).
    std::size_t connection_limit = 256;
    Supervisor::Options supervisor;
    // A re-exec runs `program` (hbmond's path when it started) with
    // `program_args` (its config, runtime dir and log level flags).
    std::string program;
    std::vector<std::string> program_args;
  };

  // Binds the control and events sockets; throws std::runtime_error when
  // it cannot.
  Daemon(Loop &loop, Settings settings, Config config);
  // Start the enabled apps, then READY=1.
  void start() { sup_.start(config_); }
  // Instead of start(), after a re-exec: take over what the hbmond before
  // handed over (daemon/reexec.hpp), then reload the config as `reload`
  // does (a re-exec also applies the config on disk, as systemd's
  // daemon-reexec does).
  void restore(const handover::State &state);
  Daemon(const Daemon &) = delete;
  Daemon &operator=(const Daemon &) = delete;

  Supervisor &supervisor() { return sup_; }

  // Where a control reply goes once it is known.
  using Answer = std::function<void(const nlohmann::json &reply)>;

  // Re-read the config file (off the loop): on success apply the
  // difference, on failure keep everything and say why. `answer`, when
  // given, gets the control reply.
  void reload(const std::string &trigger, Answer answer = {});
  // Check the binary at settings.program, then exec it in place, keeping
  // every app (SPEC "Re-exec"). `answer` hears only of a refusal: once the
  // exec is under way the next program answers `info`.
  void reexec(const std::string &trigger, Answer answer = {});

private:
  using Loaded = std::variant<Config, std::string>; // the config, or why not
  std::string handle(std::string_view body, std::optional<PeerCred> peer);
  nlohmann::json dispatch(const Request &req, const std::string &who);
  nlohmann::json refusal(const Request &req, const std::string &who) const;
  std::string logs(const Request &req, std::optional<PeerCred> peer, const std::string &who);
  std::string metrics();
  std::string forensics(const Request &req, std::optional<PeerCred> peer, const std::string &who);
  std::optional<bool> may_read(const App &a, std::optional<PeerCred> peer);
  std::function<nlohmann::json()> read_refusal(const Request &req, const std::string &who,
                                               std::string_view what) const;
  void read_logs(const Request &req, Answer answer);
  nlohmann::json ring_logs(const Request &req) const;
  nlohmann::json act_on_apps(const Request &req, const std::string &who);
  nlohmann::json unknown_apps(const std::vector<std::string> &unmatched) const;
  const AppConfig *config_of(const std::string &name) const;
  void begin_reload(std::string trigger, std::vector<Answer> answers);
  nlohmann::json apply(Loaded loaded);
  handover::State state() const;
  std::map<std::string, std::uint64_t> counters() const;
  void deferred(const Request &req, const std::string &who, Answer answer);

  Loop &loop_;
  Settings settings_;
  Config config_;
  Reports reports_;
  Supervisor sup_;
  std::unique_ptr<EventPublisher> events_;
  std::unique_ptr<ControlServer> control_;
  SignalSource signals_;
  struct Reloads {
    bool running = false;
    std::vector<Answer> answers;            // of the one running
    std::vector<std::string> next_triggers; // asked for while it ran (then one more runs)
    std::vector<Answer> next_answers;
  } reloads_;
  // Set when hbmond logs to the journal: `logs` reads it there. Used by
  // the Worker's thread only, so it goes after the Worker.
  std::unique_ptr<JournalReader> journal_reader_;
  std::string unit_; // hbmond's systemd unit, for the journal's selection
  double started_;   // Unix seconds, when the first hbmond of this line of re-execs started
  std::uint64_t reexecs_ = 0;
  std::map<std::string, std::uint64_t> counters_before_; // counted before the last re-exec
  std::size_t metrics_renders_ = 0; // metrics texts the Worker is writing (for the control socket)
  // Before the Worker, which it posts to: dropped after it.
  MetricsService metrics_;
  std::unique_ptr<Reexec> reexec_;
  std::vector<Answer> reexec_after_reload_; // asked for while a reload ran
  bool reexec_waits_ = false;
  // Last: its thread is joined first, before anything a completion uses.
  Worker worker_;
  Admins admins_{worker_};
};

} // namespace hbmon

// The supervisor: carries out what each app's watchdog decides.
//
// Contract: everything happens on the loop's thread. The apps (daemon/app.hpp)
// live in its AppRegistry. Events from the kernel (a child's exit from the
// ProcessRunner, a deadline's timer, a heartbeat from HeartbeatIntake) and
// from admins become watchdog events, handled one at a time in the order
// they arise (one raised while another is handled waits its turn). The
// watchdog's actions are carried out here: spawns and signals through the
// ProcessRunner, starts and restarts when the StartQueue allows, logs and
// events through Reports.
#pragma once

#include "core/config.hpp"
#include "core/forensics.hpp"
#include "core/metrics_text.hpp"
#include "core/reload_plan.hpp"
#include "core/start_queue.hpp"
#include "core/status.hpp"
#include "core/watchdog.hpp"
#include "daemon/app_registry.hpp"
#include "daemon/forensics_service.hpp"
#include "daemon/guardian.hpp"
#include "daemon/heartbeat_intake.hpp"
#include "daemon/output.hpp"
#include "daemon/probes.hpp"
#include "daemon/process_runner.hpp"
#include "daemon/reports.hpp"
#include "sys/loop.hpp"
#include "sys/spawn.hpp"

#include <array>
#include <deque>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <unordered_map>
#include <variant>
#include <vector>
#include <zmq.hpp>

namespace hbmon {

class Supervisor {
public:
  using Options = ProcessRunner::Options; // all it needs is for the processes
  // Called on every state change (after the watchdog's own log lines).
  using StateHook = std::function<void(const std::string &app, const act::Changed &)>;

  // The outcome of an admin command.
  struct Reply {
    bool ok = true;
    std::string error;   // protocol error code when !ok
    std::string message; // for the operator
    State state = State::stopped;
    std::string reason{}; // why the app is in `state`
  };

  Supervisor(Loop &loop, Reports &reports, Options opts);
  Supervisor(const Supervisor &) = delete;
  Supervisor &operator=(const Supervisor &) = delete;
  ~Supervisor();

  // Create every app of `cfg` and queue the enabled ones to start; READY=1
  // once the queue has run them all.
  void start(const Config &cfg);
  // Stop every app at once; the loop quits when all are down and no
  // process is left that was re-parented to hbmond (each is SIGKILLed).
  void shutdown(std::string why);
  // Reap children that are not apps (we are a subreaper) and notice app
  // exits that SIGCHLD reported before their pidfd did.
  void reap();

  // Admin commands. `who` names the caller for the log ("uid 0, pid 42").
  // Once the shutdown has begun, start and restart are refused.
  Reply panic(const std::string &app, const std::string &reason, const std::string &who);
  Reply start_app(const std::string &app, const std::string &who);
  Reply stop_app(const std::string &app, const std::string &who);
  Reply restart_app(const std::string &app, const std::string &who);
  // Send `sig` to the app's process group (as its stop signal goes), when
  // it has a process.
  Reply signal_app(const std::string &app, int sig, const std::string &who);
  // Apply a verified config: new apps start, removed apps stop and go,
  // changed apps restart with their new settings once the old process is
  // gone, unchanged apps are not touched. What the new settings need (each
  // new app's output pipe, and its heartbeat socket unless a running app
  // holds that endpoint until it is gone) is made first: when any of it
  // cannot be (out of fds, an endpoint in use), nothing changes and the
  // reason is returned instead of the plan.
  std::variant<ReloadPlan, std::string> reload(const Config &next);

  // A re-exec (core/handover.hpp). hand_over() lists every app as it is
  // now; cancel_probes() ends the probes in flight right before the exec
  // (resume_probes() starts them again if the exec fails);
  // restore() takes over the apps an hbmond before the exec supervised:
  // their processes, pipes and sockets, each watchdog where it was, their
  // queued starts and probes, then READY=1; the watchdogs resume on the
  // loop's first turn, right before it first drains their sockets (a
  // heartbeat due before then is judged handover::grace after it).
  std::vector<handover::App> hand_over() const;
  void cancel_probes() { probes_.cancel_all(); }
  // Before an exec: the kills still waiting for their records go now.
  void kill_unrecorded() { forensics_.kill_all_now(); }
  // After an exec that failed: every app's probes again, from now.
  void resume_probes();
  // Wait (at most `bound`) until every app's child has exec'd or failed to,
  // and the watchdogs have heard which: false if one has not.
  bool settle_execs(std::chrono::milliseconds bound) { return runner_.settle_execs(bound); }
  void drain_heartbeats() {
    for (const auto &[name, a] : apps_.all())
      a->intake.drain_all();
  }
  void restore(const std::vector<handover::App> &apps);
  // hbmond's own helper processes (a re-exec's check), as apps are run.
  std::variant<pid_t, std::string> launch(const SpawnRequest &r, ProcessRunner::ExitHandler h) {
    return runner_.launch(r, std::move(h));
  }

  bool has_app(const std::string &name) const { return apps_.find(name) != nullptr; }
  const App *find_app(std::string_view name) const { return apps_.find(name); }
  std::vector<AppStatus> status() const;
  // What every app's metrics show, copied (core/metrics_text.hpp renders
  // it, off the loop).
  std::vector<metrics::AppSample> metrics() const;
  // A sample of `app`'s live group showed `live_cpu_seconds`: its counter
  // keeps it (if `group` still runs: a run that ended since counts its
  // exit's rusage instead).
  void show_cpu(const std::string &app, pid_t group, double live_cpu_seconds);
  std::vector<std::string> names() const; // sorted (std::less), as the registry keeps them
  std::string summary() const { return hbmon::summary(apps_.counts()); }
  // An event for the events stream, with the app's state and pid.
  void publish(const std::string &app, std::string_view event, const std::string &message);
  void set_state_hook(StateHook h) { hook_ = std::move(h); }
  // Where hang and panic kills are recorded (none: not recorded).
  void configure_forensics(const std::optional<ForensicsConfig> &cfg) { forensics_.configure(cfg); }
  const std::optional<ForensicsConfig> &forensics() const { return forensics_.config(); }
  bool shutting_down() const { return shutting_down_; }
  zmq::context_t &zmq() { return zmq_; }
  ConnectionBudget::Pool &connections() { return intakes_.connections(); }

private:
  using Starts = StartQueue<App *>;
  template <typename Act> Reply with_process(const std::string &name, Act &&act);
  template <typename Act>
  Reply admin(const std::string &name, std::string_view verb, const std::string &who, bool down,
              Act &&act);
  bool run_start_queue();
  std::unique_ptr<App> make_app(const AppConfig &ac);         // throws when a resource is short
  std::unique_ptr<App> with_timer(std::unique_ptr<App> made); // its deadline's timer
  void resume_restored();
  App &add_app(std::unique_ptr<App> made);
  void deliver(App &a, Event e);
  void handle(App &a, const Event &e);
  void execute(App &a, const Actions &acts);
  void do_spawn(App &a);
  void heartbeat(App &a, HeartbeatMsg m);
  void send(pid_t pid, const act::Kill &k);
  forensics::Facts facts(const App &a, const std::string &reason) const;
  void on_exit(App &a, const ExitStatus &st);
  void on_exec(App &a, const std::string *error);
  void check_booted(); // READY once every first start has exec'd or failed
  bool held_back(App &a, Event &e);
  void check_shutdown_done();
  void retire(App &a, std::unique_ptr<App> successor);
  void finish_retired();
  Reply reply_for(const App &a, std::string message) const;

  Loop &loop_;
  Reports &reports_;
  ProcessRunner runner_;
  Probes probes_; // after runner_, which runs its exec probes
  zmq::context_t zmq_;
  IntakeSet intakes_; // heartbeat sockets to drain before the next wait; outlives apps_
  AppRegistry apps_;
  std::deque<std::pair<App *, Event>> pending_; // events raised while delivering
  Actions actions_;                             // the watchdog's answer to the current one
  bool delivering_ = false;
  // Starts and restarts waiting their turn, run a slice at a time.
  Starts starts_;
  bool booting_ = false;       // READY=1 once the boot starts are done
  std::size_t boot_execs_ = 0; // first starts whose exec's outcome READY=1 waits for
  bool status_dirty_ = true;
  bool shutting_down_ = false;
  Loop::Timer shutdown_timer_;
  Loop::Timer stop_extension_; // EXTEND_TIMEOUT_USEC= while apps are stopping
  StateHook hook_;
  Guardian *guardian_;
  // Records of hang and panic kills; its thread is joined before the apps go.
  Forensics forensics_;
  std::vector<App *> resuming_; // restored, their watchdogs not resumed yet
};

} // namespace hbmon

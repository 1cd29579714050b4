// The daemon: the supervisor plus its control plane (control socket,
// events, signals, reload). main() builds one and runs the loop.
#pragma once

#include "core/config.hpp"
#include "daemon/control.hpp"
#include "daemon/reports.hpp"
#include "daemon/supervisor.hpp"
#include "protocol/protocol.hpp"
#include "sys/loop.hpp"
#include "sys/signals.hpp"

#include <memory>
#include <optional>
#include <string>

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
  };

  // Binds the control and events sockets; throws std::runtime_error when
  // it cannot.
  Daemon(Loop &loop, Settings settings, Config config);
  // Start the enabled apps, then READY=1.
  void start() { sup_.start(config_); }
  Daemon(const Daemon &) = delete;
  Daemon &operator=(const Daemon &) = delete;

  Supervisor &supervisor() { return sup_; }

  // Re-read the config file: on success apply the difference, on failure
  // keep everything and say why. Returns the control reply.
  nlohmann::json reload(const std::string &trigger);

private:
  std::string handle(std::string_view body, std::optional<PeerCred> peer);
  nlohmann::json dispatch(const Request &req, const std::string &who);
  bool authorized(const PeerCred &peer) const;

  Loop &loop_;
  Settings settings_;
  Config config_;
  Reports reports_;
  Supervisor sup_;
  std::unique_ptr<EventPublisher> events_;
  std::unique_ptr<ControlServer> control_;
  SignalSource signals_;
};

} // namespace hbmon

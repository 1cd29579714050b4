// Heartbeat intake: what arrives on an app's heartbeat socket, judged.
//
// Contract: one HeartbeatIntake per app. bind() binds the app's socket
// unless it is bound already: a ZeroMQ PULL socket
// (daemon/heartbeat_socket.hpp), or for heartbeat.protocol "notify" a
// datagram socket (daemon/notify_socket.hpp). A message reaches the
// watchdog (the Beat callback, with the parsed message) only when it is a
// single part (ZeroMQ) or a datagram that fit (notify) and, over ipc:// or
// notify, comes from the app's current process or one of its descendants,
// the very process that was judged, not one that got its pid later
// (core/sender_check.hpp); anything else is counted (dropped, refused) and
// refusals are logged at most once per 10 s (core/log_limit.hpp). Over
// notify, MAINPID= and fds other than a BARRIER=1's one are refused and
// logged as rarely; every fd is closed once its datagram was judged (a
// barrier is answered by that close, after every datagram before it). A socket that wakes joins the
// IntakeSet, which drains every woken socket, at most drain_budget messages each, before the loop
// waits again: no scan of idle sockets, and no socket can starve the others.
#pragma once

#include "core/connection_budget.hpp"
#include "core/heartbeat.hpp"
#include "core/log_limit.hpp"
#include "core/sender_check.hpp"
#include "core/status.hpp"
#include "daemon/heartbeat_socket.hpp"
#include "daemon/notify_socket.hpp"
#include "sys/proc.hpp"

#include <functional>
#include <memory>
#include <string>
#include <vector>
#include <zmq.hpp>

namespace hbmon {

class IntakeSet;

class HeartbeatIntake {
public:
  using Beat = std::function<void(HeartbeatMsg)>;
  static constexpr std::size_t drain_budget = 512; // messages per socket per turn
  // Connections one user may hold to an app's socket (the app's processes
  // each need one; every connection costs hbmond an fd and ~23 KiB).
  static constexpr std::size_t connections_per_user = 64;

  HeartbeatIntake(std::string app, IntakeSet &set, Beat beat);
  HeartbeatIntake(const HeartbeatIntake &) = delete;
  HeartbeatIntake &operator=(const HeartbeatIntake &) = delete;
  ~HeartbeatIntake();

  // Bind `app`'s heartbeat endpoint unless bound already (or the app has
  // no heartbeat): the error text, or "".
  std::string bind(zmq::context_t &ctx, Loop &loop, const AppConfig &app);
  // After a re-exec: the counters so far and, for a notify-protocol app,
  // its socket as the hbmond before bound it (bind() takes it over).
  void resume(const AppCounters &counters, UniqueFd notify_socket);
  // The bound notify socket, for a re-exec to hand over; -1 when none.
  int notify_fd() const { return notify_ ? notify_->fd() : -1; }
  // The app's process changed (0: none): heartbeats are its, or its
  // descendants', from now on; earlier verdicts on senders are forgotten.
  void set_process(pid_t pid);
  // Everything already queued on the socket, e.g. before a deadline is judged.
  void drain_all();
  AppCounters counters() const;

private:
  friend class IntakeSet;
  void on_message(std::string_view data, std::optional<PeerCred> peer, bool multipart);
  void on_datagram(const NotifySocket::Datagram &d);
  bool sender_ok(const std::optional<PeerCred> &peer); // counts and logs a refusal
  void delivered(HeartbeatMsg m);
  bool drain(); // one turn's budget; true: more may be waiting

  std::string app_;
  IntakeSet &set_;
  Beat beat_;
  bool ipc_ = false; // senders can be checked
  pid_t pid_ = 0;
  std::unique_ptr<HeartbeatSocket> socket_;
  std::unique_ptr<NotifySocket> notify_;
  AppCounters counters_;
  std::uint64_t connections_refused_before_ = 0; // by the hbmond before a re-exec
  UniqueFd handed_over_;                         // a notify socket for bind()
  SenderCheck senders_;
  StartTimes start_times_; // of the senders, for senders_
  LogLimit refusal_log_;
  LogLimit beat_log_;    // at debug level
  LogLimit refused_log_; // MAINPID=, fds
  bool woken_ = false;   // listed in set_
};

// The sockets that woke (or ran out of budget) since the last drain.
class IntakeSet {
public:
  // Connections to every socket hbmond binds draw from this pool.
  ConnectionBudget::Pool &connections() { return connections_; }
  void wake(HeartbeatIntake *in);
  void forget(HeartbeatIntake *in);
  // Drain each woken socket once; true if some still hold messages.
  bool drain();

private:
  std::vector<HeartbeatIntake *> woken_, todo_;
  ConnectionBudget::Pool connections_;
};

} // namespace hbmon

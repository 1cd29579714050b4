// hbmon::Heartbeat — the header-only client an app uses to keep itself alive
// under hbmond (C++17, cppzmq >= 4.7).
//
// Contract:
// - hbmond binds one PULL socket per app and starts the app with
//   HBMON_ENDPOINT, HBMON_INTERVAL (seconds) and HBMON_INTERVAL_USEC set.
//   from_env() connects a PUSH socket there; it returns nullopt when
//   HBMON_ENDPOINT is unset or empty, so the app also runs outside hbmond.
// - Every message is a heartbeat. beat() sends an empty one; ready(),
//   status(), trigger() and notify() send sd_notify(3)-style KEY=VALUE lines
//   and count as heartbeats too. Send one at least every interval().
// - Sending never blocks and never throws: a message that cannot be queued
//   (daemon gone, queue full) is dropped and the call returns false. Only the
//   constructors throw (zmq::error_t for an unusable endpoint).
// - The object owns its own ZeroMQ context. After fork() the child must not
//   use it: in a process other than the one that created it every send is a
//   no-op returning false, and the destructor leaks the context instead of
//   tearing down threads that do not exist in the child.
// - Messages are capped at max_message_bytes (the daemon drops the
//   connection of a peer that sends more).
#pragma once

#include <zmq.hpp>

#include <cerrno>
#include <chrono>
#include <cstddef>
#include <cstdlib>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <unistd.h>
#include <utility>

namespace hbmon {

class Heartbeat {
public:
  static constexpr std::size_t max_message_bytes = 4096;
  static constexpr int linger_ms = 100;
  static constexpr int send_hwm = 16;

  // Connect to `endpoint` (e.g. "ipc:///run/hbmond/app.hb"). `interval` is
  // informational: the period the daemon expects, or zero when unknown.
  explicit Heartbeat(const std::string &endpoint,
                     std::chrono::microseconds interval = std::chrono::microseconds::zero())
      : impl_(std::make_unique<Impl>()), endpoint_(endpoint), interval_(interval),
        owner_(::getpid()) {
    impl_->socket.set(zmq::sockopt::linger, linger_ms);
    impl_->socket.set(zmq::sockopt::sndhwm, send_hwm);
    impl_->socket.connect(endpoint_);
  }

  // The endpoint and interval hbmond put in the environment; nullopt when
  // HBMON_ENDPOINT is unset or empty.
  static std::optional<Heartbeat> from_env() {
    const char *endpoint = std::getenv("HBMON_ENDPOINT");
    if (endpoint == nullptr || *endpoint == '\0')
      return std::nullopt;
    return std::optional<Heartbeat>(std::in_place, std::string(endpoint), interval_from_env());
  }

  Heartbeat(const Heartbeat &) = delete;
  Heartbeat &operator=(const Heartbeat &) = delete;
  Heartbeat(Heartbeat &&) noexcept = default;
  Heartbeat &operator=(Heartbeat &&other) noexcept {
    if (this != &other) {
      release_if_forked();
      impl_ = std::move(other.impl_);
      endpoint_ = std::move(other.endpoint_);
      interval_ = other.interval_;
      owner_ = other.owner_;
    }
    return *this;
  }
  ~Heartbeat() { release_if_forked(); }

  const std::string &endpoint() const noexcept { return endpoint_; }
  // The expected heartbeat period; zero when unknown.
  std::chrono::microseconds interval() const noexcept { return interval_; }

  bool beat() noexcept { return send({}); }
  bool ready() noexcept { return send("READY=1"); }
  bool trigger() noexcept { return send("WATCHDOG=trigger"); }

  // One line of status text, shown by `hbmonctl status`. Newlines become
  // spaces; overlong text is cut at a UTF-8 character boundary.
  bool status(std::string_view text) noexcept {
    try {
      std::string msg = "STATUS=";
      std::size_t room = max_message_bytes - msg.size();
      if (text.size() > room) {
        text = text.substr(0, room);
        while (!text.empty() && (static_cast<unsigned char>(text.back()) & 0xC0) == 0x80)
          text.remove_suffix(1);
        if (!text.empty() && static_cast<unsigned char>(text.back()) >= 0xC0)
          text.remove_suffix(1);
      }
      for (char c : text)
        msg += (c == '\n' || c == '\r') ? ' ' : c;
      return send(msg);
    } catch (...) {
      return false;
    }
  }

  // Raw newline-separated KEY=VALUE lines, sent as they are. Returns false
  // (nothing sent) when longer than max_message_bytes.
  bool notify(std::string_view kv_lines) noexcept { return send(kv_lines); }

private:
  struct Impl {
    zmq::context_t context{1};
    zmq::socket_t socket{context, zmq::socket_type::push};
  };

  static std::chrono::microseconds interval_from_env() {
    if (const char *usec = std::getenv("HBMON_INTERVAL_USEC"); usec && *usec) {
      char *end = nullptr;
      errno = 0;
      unsigned long long v = std::strtoull(usec, &end, 10);
      if (errno == 0 && *end == '\0' && *usec != '-' && v <= 1000000000000000ULL)
        return std::chrono::microseconds(static_cast<std::chrono::microseconds::rep>(v));
    }
    if (const char *sec = std::getenv("HBMON_INTERVAL"); sec && *sec) {
      char *end = nullptr;
      errno = 0;
      double v = std::strtod(sec, &end);
      if (errno == 0 && *end == '\0' && v > 0 && v < 1e9)
        return std::chrono::microseconds(static_cast<std::chrono::microseconds::rep>(v * 1e6));
    }
    return std::chrono::microseconds::zero();
  }

  bool usable() const noexcept { return impl_ && owner_ == ::getpid(); }

  // A forked child inherited the parent's context but not its I/O threads:
  // closing it there could hang, so the child lets it go.
  void release_if_forked() noexcept {
    if (impl_ && owner_ != ::getpid())
      (void)impl_.release();
  }

  bool send(std::string_view data) noexcept {
    if (!usable() || data.size() > max_message_bytes)
      return false;
    try {
      auto sent = impl_->socket.send(zmq::const_buffer(data.data(), data.size()),
                                     zmq::send_flags::dontwait);
      return sent.has_value();
    } catch (...) {
      return false; // ETERM, EINTR, ...: a dropped heartbeat, never a crash
    }
  }

  std::unique_ptr<Impl> impl_;
  std::string endpoint_;
  std::chrono::microseconds interval_;
  pid_t owner_;
};

} // namespace hbmon

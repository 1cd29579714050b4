// journald's native protocol, spoken by hbmond itself: libsystemd's
// sd_journal_send() blocks while journald does not read its socket, and a
// slow journald must not stall the loop.
//
// Contract: send() never blocks. Each entry is one datagram of fields
// ("NAME=value\n", or the binary-safe form for a value with a newline) on
// a non-blocking socket connected to journald. Once attached to the loop,
// entries wait in a bounded queue (max_entries, max_bytes), in order, and
// go before the loop's next wait, many to one system call (sendmmsg): a
// pipe read of an app's output that holds a hundred lines costs one send,
// not a hundred. What the socket cannot take then waits on in the queue and
// is sent when the socket is writable again (an EPOLLOUT watch, held only
// while entries wait). Entries beyond the bound, or that cannot be sent at
// all, are dropped and counted; when the queue has emptied after drops,
// the drops hook is called once with their number. Before it is attached
// (at start-up), and when it is dropped, what can be sent at once is.
// Entries stay small (lines are cut at 4096 bytes before they get here),
// so none needs the memfd that libsystemd uses for large ones.
#pragma once

#include "sys/fd.hpp"
#include "sys/loop.hpp"
#include "sys/unix_dgram.hpp"

#include <cstdint>
#include <deque>
#include <functional>
#include <span>
#include <string>
#include <string_view>

namespace hbmon {

class Journal {
public:
  struct Field {
    std::string_view name;
    std::string_view value;
  };
  using DropsHook = std::function<void(std::uint64_t dropped)>;

  static constexpr std::size_t max_entries = 1000;
  static constexpr std::size_t max_bytes = 1 << 20;
  static constexpr const char *default_socket = "/run/systemd/journal/socket";

  explicit Journal(DropsHook on_drops, std::string socket = default_socket);
  Journal(const Journal &) = delete;
  Journal &operator=(const Journal &) = delete;
  ~Journal();

  void send(std::span<const Field> fields);

  // From now on entries are sent from `loop`, before each wait; until then
  // (at start-up) each is sent at once, or waits if it cannot be.
  void attach(Loop &loop);
  // Before the loop goes: what still waits gets one last chance, up to
  // `patience`, then is dropped (and counted, as is what cannot be sent
  // at all). Destroying the journal sends what the socket takes at once.
  void detach(std::chrono::milliseconds patience);

  std::uint64_t dropped() const { return dropped_total_; }
  std::size_t waiting() const { return queue_.size(); }

private:
  enum class Put { sent, would_block, lost };
  Put put(const std::string &entry);
  std::size_t put_many();
  // Some of the queue's front, or its first entry dropped as undeliverable:
  // true; false when the socket takes nothing now.
  bool send_front();
  void discard_queue(); // counted as dropped
  bool connect();
  void drain();
  void drop();
  void enqueue(std::string entry);

  std::string path_;
  DropsHook on_drops_;
  UniqueFd fd_;
  bool connected_ = false;
  std::deque<std::string> queue_;
  std::size_t queued_bytes_ = 0;
  std::uint64_t dropped_ = 0, dropped_total_ = 0;
  Loop *loop_ = nullptr;
  std::uint64_t hooked_ = 0; // Loop::serial() of the loop whose prepare hook drains the queue
  Loop::Watch writable_;
};

} // namespace hbmon

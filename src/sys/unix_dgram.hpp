// A datagram to a local AF_UNIX socket that never blocks: how hbmond speaks
// to systemd (sd_notify) and to journald (the native journal protocol).
//
// Contract: sockets are SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC and every
// send is MSG_DONTWAIT | MSG_NOSIGNAL: a receiver that does not read makes a
// send report `would_block`, never wait.
#pragma once

#include "sys/fd.hpp"

#include <optional>
#include <string_view>
#include <sys/socket.h>
#include <sys/un.h>

namespace hbmon {

struct UnixAddress {
  sockaddr_un sa{};
  socklen_t len = 0;
};

// As sd_notify(3) reads NOTIFY_SOCKET: a path ("/run/...") or, with a
// leading '@', a name in the abstract namespace. nullopt: neither, or too long.
std::optional<UnixAddress> unix_address(std::string_view name);

// A new non-blocking datagram socket; throws std::system_error.
UniqueFd unix_dgram_socket();

enum class SendResult {
  sent,
  would_block, // the receiver's queue (or our send buffer) is full: try again later
  failed,      // no receiver, or the message cannot go: it never will
};

// To `to`, or to the connected peer when `to` is null.
SendResult send_dgram(int fd, std::string_view message, const UnixAddress *to = nullptr);

} // namespace hbmon

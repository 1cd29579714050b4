#include "sys/journal.hpp"

#include <array>
#include <cerrno>
#include <poll.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <sys/uio.h>

namespace hbmon {

namespace {

void append_field(std::string &out, const Journal::Field &f) {
  out += f.name;
  if (f.value.find('\n') == std::string_view::npos) {
    out += '=';
    out += f.value;
    out += '\n';
    return;
  }
  // NAME\n, the value's length as 64-bit little endian, the value, \n
  out += '\n';
  std::uint64_t n = f.value.size();
  for (int i = 0; i < 8; ++i, n >>= 8)
    out += static_cast<char>(n & 0xff);
  out += f.value;
  out += '\n';
}

} // namespace

Journal::Journal(DropsHook on_drops, std::string socket)
    : path_(std::move(socket)), on_drops_(std::move(on_drops)), fd_(unix_dgram_socket()) {}

Journal::~Journal() {
  // Last words (an exit after an error) are not lost for a turn the loop
  // did not take: whatever the socket takes now.
  writable_.reset();
  loop_ = nullptr;
  while (!queue_.empty() && send_front()) {
  }
  discard_queue();
}

bool Journal::connect() {
  auto to = unix_address(path_);
  if (!to)
    return false;
  int r;
  do {
    r = ::connect(fd_.get(), reinterpret_cast<const sockaddr *>(&to->sa), to->len);
  } while (r < 0 && errno == EINTR);
  connected_ = r == 0;
  return connected_;
}

Journal::Put Journal::put(const std::string &entry) {
  if (!connected_ && !connect())
    return Put::lost;
  auto r = send_dgram(fd_.get(), entry);
  if (r == SendResult::failed && (errno == ECONNREFUSED || errno == ENOTCONN)) {
    // journald's socket was made anew: connect to the new one (a datagram
    // socket may; the fd, and so the loop's watch on it, stays).
    if (!connect())
      return Put::lost;
    r = send_dgram(fd_.get(), entry);
  }
  if (r == SendResult::would_block)
    return Put::would_block;
  return r == SendResult::sent ? Put::sent : Put::lost;
}

void Journal::drop() {
  ++dropped_;
  ++dropped_total_;
}

// As many entries from the front of the queue as the socket takes in one
// sendmmsg; 0 when it took none (put() then says why).
std::size_t Journal::put_many() {
  constexpr std::size_t batch = 64;
  if (!connected_ || queue_.empty())
    return 0;
  std::array<iovec, batch> iov{};
  std::array<mmsghdr, batch> msgs{};
  std::size_t n = 0;
  for (; n < batch && n < queue_.size(); ++n) {
    iov[n] = {queue_[n].data(), queue_[n].size()};
    msgs[n].msg_hdr.msg_iov = &iov[n];
    msgs[n].msg_hdr.msg_iovlen = 1;
  }
  int sent;
  do {
    sent =
        ::sendmmsg(fd_.get(), msgs.data(), static_cast<unsigned>(n), MSG_DONTWAIT | MSG_NOSIGNAL);
  } while (sent < 0 && errno == EINTR);
  if (sent <= 0)
    return 0;
  for (int i = 0; i < sent; ++i) {
    queued_bytes_ -= queue_.front().size();
    queue_.pop_front();
  }
  return static_cast<std::size_t>(sent);
}

void Journal::send(std::span<const Field> fields) {
  std::string entry;
  for (const auto &f : fields)
    append_field(entry, f);
  if (loop_) {
    enqueue(std::move(entry)); // sent before the loop waits (drain)
    return;
  }
  if (queue_.empty()) {
    switch (put(entry)) {
    case Put::sent:
      return;
    case Put::lost:
      drop();
      return;
    case Put::would_block:
      break;
    }
  }
  enqueue(std::move(entry));
}

void Journal::enqueue(std::string entry) {
  if (queue_.size() >= max_entries || queued_bytes_ + entry.size() > max_bytes) {
    drop();
    return;
  }
  queued_bytes_ += entry.size();
  queue_.push_back(std::move(entry));
}

bool Journal::send_front() {
  if (put_many() > 0)
    return true;
  // The front entry did not go with the others: alone, it says why (and
  // a socket journald made anew is connected to again).
  auto r = put(queue_.front());
  if (r == Put::would_block)
    return false;
  if (r == Put::lost)
    drop();
  queued_bytes_ -= queue_.front().size();
  queue_.pop_front();
  return true;
}

void Journal::discard_queue() {
  dropped_total_ += queue_.size();
  queue_.clear();
  queued_bytes_ = 0;
}

void Journal::drain() {
  while (!queue_.empty()) {
    if (!send_front()) {
      if (loop_ && !writable_) // EPOLLOUT says when to go on
        writable_ = loop_->watch(fd_.get(), EPOLLOUT, [this](std::uint32_t) { drain(); });
      return;
    }
  }
  writable_.reset();
  if (const std::uint64_t n = std::exchange(dropped_, 0); n && on_drops_)
    on_drops_(n); // its entry goes on the next turn
}

void Journal::attach(Loop &loop) {
  loop_ = &loop;
  if (hooked_ != loop.serial()) {
    hooked_ = loop.serial();
    // After every other hook, so that what they logged goes too; again
    // without waiting while the drops hook has just added its line.
    loop.add_last_prepare([this, &loop] {
      // Not while detached (before an exec), nor while EPOLLOUT is awaited.
      if (loop_ != &loop || writable_)
        return false;
      if (!queue_.empty())
        drain();
      return !queue_.empty() && !writable_;
    });
  }
}

void Journal::detach(std::chrono::milliseconds patience) {
  writable_.reset();
  loop_ = nullptr;
  const auto end = std::chrono::steady_clock::now() + patience;
  while (!queue_.empty()) {
    if (send_front())
      continue;
    auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
        end - std::chrono::steady_clock::now());
    pollfd p{fd_.get(), POLLOUT, 0};
    if (left.count() <= 0 || ::poll(&p, 1, static_cast<int>(left.count())) <= 0)
      break;
  }
  discard_queue();
}

} // namespace hbmon

#include "daemon/guardian.hpp"

#include "daemon/log.hpp"
#include "sys/spawn.hpp"

#include <algorithm>
#include <cerrno>
#include <csignal>
#include <cstring>
#include <fcntl.h>
#include <fmt/format.h>
#include <linux/close_range.h>
#include <sys/epoll.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

namespace hbmon {

namespace {

void close_all_but(int a, int b) {
  if (a > b)
    std::swap(a, b);
  auto close_range = [](int first, int last) {
    if (first <= last)
      ::syscall(SYS_close_range, static_cast<unsigned>(first), static_cast<unsigned>(last), 0U);
  };
  close_range(0, a - 1);
  close_range(a + 1, b - 1);
  close_range(b + 1, ~0U >> 1);
}

// The guardian's whole life. hbmond may have threads (ZeroMQ's) when this
// runs after a fork: only async-signal-safe calls from here on.
[[noreturn]] void guardian_main(int reader, int table) {
  sigset_t all;
  sigfillset(&all);
  ::sigprocmask(SIG_BLOCK, &all, nullptr);
  ::setpgid(0, 0); // a signal to hbmond's group must not take us too
  ::prctl(PR_SET_NAME, "hbmond-guardian");
  close_all_but(reader, table);

  char byte;
  while (true) {
    ssize_t n = ::read(reader, &byte, 1);
    if (n == 0 || (n < 0 && errno != EINTR))
      break; // hbmond is gone
  }
  std::int32_t pgids[1024];
  off_t off = 0;
  while (true) {
    ssize_t n = ::pread(table, pgids, sizeof pgids, off);
    if (n <= 0)
      break;
    for (ssize_t i = 0; i < n / static_cast<ssize_t>(sizeof pgids[0]); ++i)
      if (pgids[i] > 1)
        ::kill(-pgids[i], SIGKILL);
    off += n;
  }
  ::_exit(0);
}

void no_guardian(const char *call) {
  logging::daemon(LogLevel::warning,
                  fmt::format("no guardian ({}: {}): apps would outlive a killed hbmond", call,
                              std::strerror(errno)));
}

} // namespace

Guardian::Guardian(Loop &loop) : loop_(loop) {
  table_.reset(::memfd_create("hbmond-groups", MFD_CLOEXEC));
  if (!table_) {
    no_guardian("memfd_create");
    return;
  }
  fork_guardian();
}

Guardian::Guardian(Loop &loop, const std::optional<handover::Guardian> &was) : loop_(loop) {
  if (was)
    table_.reset(was->table);
  if (!table_)
    table_.reset(::memfd_create("hbmond-groups", MFD_CLOEXEC));
  if (!table_) {
    no_guardian("memfd_create");
    return;
  }
  // The slots as the table holds them.
  std::int32_t pgids[1024];
  off_t off = 0;
  while (true) {
    ssize_t n = ::pread(table_.get(), pgids, sizeof pgids, off);
    if (n <= 0)
      break;
    for (ssize_t i = 0; i < n / static_cast<ssize_t>(sizeof pgids[0]); ++i) {
      if (pgids[i] > 0)
        slot_of_[pgids[i]] = next_slot_;
      else
        free_slots_.push_back(next_slot_);
      ++next_slot_;
    }
    off += n;
  }
  if (was && was->writer >= 0 && was->pidfd >= 0) {
    writer_.reset(was->writer);
    pidfd_.reset(was->pidfd);
    pid_ = was->pid;
    exit_watch_ = loop_.watch(pidfd_.get(), EPOLLIN, [this](std::uint32_t) { on_exit(); });
    logging::daemon(LogLevel::debug, fmt::format("guardian pid {} kept", pid_));
    return;
  }
  fork_guardian();
}

void Guardian::forget_all_but(const std::vector<pid_t> &keep) {
  std::vector<pid_t> kept = keep, gone;
  std::sort(kept.begin(), kept.end());
  for (const auto &[pgid, slot] : slot_of_)
    if (!std::binary_search(kept.begin(), kept.end(), pgid))
      gone.push_back(pgid);
  for (pid_t pgid : gone)
    forget(pgid);
}

std::optional<handover::Guardian> Guardian::handover() const {
  if (!table_)
    return std::nullopt;
  return handover::Guardian{pid_, pidfd_ ? pidfd_.get() : -1, writer_ ? writer_.get() : -1,
                            table_.get()};
}

bool Guardian::fork_guardian() {
  int p[2];
  if (::pipe2(p, O_CLOEXEC) < 0) {
    no_guardian("pipe");
    return false;
  }
  UniqueFd reader(p[0]), writer(p[1]);
  pid_t pid = ::fork();
  if (pid < 0) {
    no_guardian("fork");
    return false;
  }
  if (pid == 0)
    guardian_main(reader.get(), table_.get());
  writer_ = std::move(writer);
  pid_ = pid;
  pidfd_.reset(pidfd_open(pid));
  if (pidfd_)
    exit_watch_ = loop_.watch(pidfd_.get(), EPOLLIN, [this](std::uint32_t) { on_exit(); });
  logging::daemon(LogLevel::debug, fmt::format("guardian started, pid {}", pid));
  return true;
}

void Guardian::on_exit() {
  if (pid_ <= 0)
    return;
  siginfo_t si{};
  int r = pidfd_ ? ::waitid(static_cast<idtype_t>(P_PIDFD), static_cast<id_t>(pidfd_.get()), &si,
                            WEXITED | WNOHANG)
                 : ::waitid(P_PID, static_cast<id_t>(pid_), &si, WEXITED | WNOHANG);
  if (r == 0 && si.si_pid == 0)
    return; // still running
  // (ECHILD: reaped elsewhere already; it is gone either way.)
  logging::daemon(LogLevel::error,
                  fmt::format("guardian pid {} {}; starting another", pid_,
                              r == 0 && si.si_code != CLD_EXITED
                                  ? fmt::format("killed by signal {}", si.si_status)
                                  : std::string("exited")));
  exit_watch_.reset();
  pidfd_.reset();
  writer_.reset();
  pid_ = 0;
  fork_guardian();
}

void Guardian::put(std::uint32_t slot, std::int32_t value) {
  if (!table_)
    return;
  ssize_t n = ::pwrite(table_.get(), &value, sizeof value,
                       static_cast<off_t>(slot) * static_cast<off_t>(sizeof value));
  if (n != static_cast<ssize_t>(sizeof value) && !table_failed_) {
    table_failed_ = true; // say it once
    logging::daemon(LogLevel::error, fmt::format("guardian table write failed: {}",
                                                 n < 0 ? std::strerror(errno) : "short write"));
  }
}

void Guardian::watch(pid_t pgid) {
  if (slot_of_.count(pgid))
    return;
  std::uint32_t slot;
  if (!free_slots_.empty()) {
    slot = free_slots_.back();
    free_slots_.pop_back();
  } else {
    slot = next_slot_++;
  }
  slot_of_[pgid] = slot;
  put(slot, pgid);
}

void Guardian::forget(pid_t pgid) {
  auto it = slot_of_.find(pgid);
  if (it == slot_of_.end())
    return;
  put(it->second, 0);
  free_slots_.push_back(it->second);
  slot_of_.erase(it);
}

} // namespace hbmon

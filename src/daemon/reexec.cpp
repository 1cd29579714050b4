#include "daemon/reexec.hpp"

#include "daemon/log.hpp"

#include <cerrno>
#include <csignal>
#include <cstring>
#include <fcntl.h>
#include <fmt/format.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>
#include <utility>

extern char **environ;

namespace hbmon {

namespace {

// A memfd holding `text`, its offset at 0. `cloexec` false: for the next
// program.
UniqueFd memfd_with(const char *name, std::string_view text, bool cloexec) {
  UniqueFd fd(::memfd_create(name, cloexec ? MFD_CLOEXEC : 0));
  if (!fd)
    throw std::runtime_error(fmt::format("memfd_create: {}", std::strerror(errno)));
  while (!text.empty()) {
    const ssize_t n = ::write(fd.get(), text.data(), text.size());
    if (n < 0 && errno == EINTR)
      continue;
    if (n <= 0)
      throw std::runtime_error(fmt::format("writing the state: {}", std::strerror(errno)));
    text.remove_prefix(static_cast<std::size_t>(n));
  }
  ::lseek(fd.get(), 0, SEEK_SET);
  return fd;
}

std::string read_all(int fd, std::size_t limit) {
  struct stat st {};
  if (::fstat(fd, &st) < 0)
    throw std::runtime_error(fmt::format("fstat: {}", std::strerror(errno)));
  const auto size = static_cast<std::size_t>(st.st_size);
  const std::size_t from = size > limit ? size - limit : 0;
  std::string out(size - from, '\0');
  std::size_t got = 0;
  while (got < out.size()) {
    const ssize_t n =
        ::pread(fd, out.data() + got, out.size() - got, static_cast<off_t>(from + got));
    if (n < 0 && errno == EINTR)
      continue;
    if (n <= 0)
      break;
    got += static_cast<std::size_t>(n);
  }
  out.resize(got);
  return out;
}

void set_cloexec(const std::vector<int> &fds, bool on) {
  for (int fd : fds)
    ::fcntl(fd, F_SETFD, on ? FD_CLOEXEC : 0);
}

} // namespace

Reexec::Reexec(Loop &loop, std::string path, std::vector<std::string> args, Hooks hooks)
    : loop_(loop), path_(std::move(path)), args_(std::move(args)), hooks_(std::move(hooks)) {}

void Reexec::request(const std::string &trigger, Done done) {
  waiting_.push_back(std::move(done));
  if (running()) {
    logging::daemon(LogLevel::info,
                    fmt::format("re-exec ({}) joins the one being checked", trigger));
    return;
  }
  handover::State state;
  try {
    state = hooks_.state();
  } catch (const std::exception &e) {
    finish(e.what());
    return;
  }
  // Writing a thousand apps' state takes ~130 ms: not on the loop.
  writing_ = true;
  hooks_.write(std::move(state), [this, trigger](std::string text) {
    writing_ = false;
    check(trigger, text);
  });
}

void Reexec::check(const std::string &trigger, const std::string &text) {
  if (!cancelled_.empty()) {
    finish(std::exchange(cancelled_, {}));
    return;
  }
  UniqueFd state;
  try {
    state = memfd_with("hbmond-handover-check", text, true);
    output_ = memfd_with("hbmond-check-output", "", true);
  } catch (const std::exception &e) {
    finish(e.what());
    return;
  }
  logging::daemon(LogLevel::info, fmt::format("re-exec ({}): checking {} with this state first "
                                              "({} KiB)",
                                              trigger, path_, (text.size() + 1023) / 1024));
  SpawnRequest r;
  r.path = path_;
  r.argv = {path_, "--check-handover"};
  r.argv.insert(r.argv.end(), args_.begin(), args_.end());
  for (char **e = environ; e && *e; ++e)
    r.env.emplace_back(*e);
  r.stdin_fd = state.get();
  r.output_fd = output_.get();
  auto started = hooks_.launch(r, [this](const ExitStatus &st) { checked(st); });
  if (auto *err = std::get_if<std::string>(&started)) {
    finish(fmt::format("cannot run {}: {}", path_, *err));
    return;
  }
  checking_ = std::get<pid_t>(started);
  timeout_ = loop_.timer([this] {
    logging::daemon(LogLevel::warning,
                    fmt::format("re-exec: the check of {} did not end within {} s; killing it",
                                path_, check_timeout.count()));
    ::kill(checking_, SIGKILL); // its exit ends the request
  });
  timeout_.arm(Loop::now() + check_timeout);
}

void Reexec::cancel(const std::string &why) {
  if (!running())
    return;
  cancelled_ = why;
  if (checking_ > 0)
    ::kill(checking_, SIGKILL); // its exit ends the request
}

void Reexec::checked(const ExitStatus &st) {
  checking_ = 0;
  const bool timed_out = !timeout_.armed();
  timeout_ = {};
  std::string said;
  try {
    said = read_all(output_.get(), max_reason);
  } catch (const std::exception &e) {
    said = e.what();
  }
  output_.reset();
  while (!said.empty() && (said.back() == '\n' || said.back() == ' '))
    said.pop_back();
  if (!cancelled_.empty()) {
    finish(std::exchange(cancelled_, {}));
    return;
  }
  if (timed_out) {
    finish(
        fmt::format("{} --check-handover did not end within {} s", path_, check_timeout.count()));
    return;
  }
  if (!st.exec_error.empty()) {
    finish(fmt::format("cannot run {}: {}", path_, st.exec_error));
    return;
  }
  if (!st.clean()) {
    finish(
        fmt::format("{} refuses ({}){}{}", path_, st.describe(), said.empty() ? "" : ": ", said));
    return;
  }
  exec();
}

void Reexec::exec() {
  handover::State state;
  UniqueFd fd;
  try {
    state = hooks_.state();
    fd = memfd_with("hbmond-handover", handover::write(state), false);
  } catch (const std::exception &e) {
    finish(e.what());
    return;
  }
  std::vector<std::string> args{path_};
  args.insert(args.end(), args_.begin(), args_.end());
  args.push_back("--handover");
  args.push_back(std::to_string(fd.get()));
  std::vector<char *> argv;
  for (std::string &a : args)
    argv.push_back(a.data());
  argv.push_back(nullptr);

  const std::vector<int> fds = state.fds();
  set_cloexec(fds, false);
  logging::daemon(LogLevel::info, fmt::format("re-executing {} (re-exec {}), handing over {} apps",
                                              path_, state.reexecs, state.apps.size()));
  hooks_.before_exec();
  ::execve(path_.c_str(), argv.data(), environ);
  const int err = errno;
  set_cloexec(fds, true);
  hooks_.exec_failed();
  finish(fmt::format("execve {}: {}", path_, std::strerror(err)));
}

void Reexec::finish(const std::string &error) {
  logging::daemon(LogLevel::error, fmt::format("re-exec refused, hbmond goes on: {}", error));
  std::vector<Done> done;
  done.swap(waiting_);
  for (Done &d : done)
    if (d)
      d(error);
}

handover::State read_handover(int fd) {
  UniqueFd owned(fd);
  std::string text;
  try {
    text = read_all(fd, std::size_t(1) << 30);
  } catch (const std::exception &e) {
    throw handover::HandoverError(fmt::format("reading fd {}: {}", fd, e.what()));
  }
  return handover::read(text);
}

} // namespace hbmon

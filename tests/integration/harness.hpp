// Test harness: a real hbmond in a temp dir, its log read line by line with
// deadlines (waiting for events, never sleeping for them), and helpers to
// watch processes from the outside with pidfds.
#pragma once

#include <arpa/inet.h>
#include <chrono>
#include <csignal>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <dirent.h>
#include <fcntl.h>
#include <filesystem>
#include <fstream>
#include <gtest/gtest.h>
#include <memory>
#include <netinet/in.h>
#include <nlohmann/json.hpp>
#include <optional>
#include <poll.h>
#include <spawn.h>
#include <sstream>
#include <string>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>
#include <vector>
#include <zmq.hpp>

extern char **environ;

namespace hbtest {

using namespace std::chrono_literals;
using Clock = std::chrono::steady_clock;
namespace fs = std::filesystem;

// The programs under test; the mutant check (tests/mutants/run) points
// these at binaries built from mutated sources.
inline const char *program(const char *env, const char *built) {
  const char *v = std::getenv(env);
  return v && *v ? v : built;
}
inline const char *hbmond_path = program("HBTEST_HBMOND", HBMOND_PATH);
inline const char *app_path = program("HBTEST_APP", HBTEST_APP_PATH);
#ifdef HBTEST_NOTIFY_APP_PATH
inline const char *notify_app_path = HBTEST_NOTIFY_APP_PATH;
inline const char *notify_clients_dir = HBTEST_NOTIFY_CLIENTS;
#endif
#ifdef HBMONCTL_PATH
inline std::string hbmonctl_path = program("HBTEST_HBMONCTL", HBMONCTL_PATH);
#endif

// With HBTEST_FAIL_FAST set (the mutant check sets it), a test that has
// failed stops waiting: every later wait gives up at once. The verdict is
// in, and a mutant's tests need not sit out each of their timeouts.
inline bool giving_up() {
  static const bool fail_fast = std::getenv("HBTEST_FAIL_FAST") != nullptr;
  return fail_fast && ::testing::Test::HasFailure();
}

inline long long mono_ns() {
  timespec ts{};
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return static_cast<long long>(ts.tv_sec) * 1'000'000'000 + ts.tv_nsec;
}

inline double secs(long long ns) { return static_cast<double>(ns) / 1e9; }

class TempDir {
public:
  TempDir() {
    char tmpl[] = "/tmp/hbmond-test.XXXXXX";
    path_ = ::mkdtemp(tmpl);
  }
  ~TempDir() {
    std::error_code ec;
    fs::remove_all(path_, ec);
  }
  const std::string &path() const { return path_; }
  std::string operator/(const std::string &name) const { return path_ + "/" + name; }

private:
  std::string path_;
};

// One line of the trace an hbtest_app writes.
struct TraceLine {
  std::string kind;
  std::vector<long long> values;
};

inline std::vector<TraceLine> read_trace(const std::string &path) {
  std::vector<TraceLine> out;
  std::ifstream in(path);
  std::string line;
  while (std::getline(in, line)) {
    std::istringstream ls(line);
    TraceLine t;
    ls >> t.kind;
    std::string v;
    while (ls >> v) {
      try {
        t.values.push_back(std::stoll(v));
      } catch (...) {
      }
    }
    out.push_back(t);
  }
  return out;
}

inline std::vector<TraceLine> trace_of(const std::vector<TraceLine> &all, const std::string &k) {
  std::vector<TraceLine> out;
  for (const auto &t : all)
    if (t.kind == k)
      out.push_back(t);
  return out;
}

inline int pidfd_open(pid_t pid) { return static_cast<int>(::syscall(SYS_pidfd_open, pid, 0)); }

// Waits on a pidfd until the process is gone; returns CLOCK_MONOTONIC ns of
// the wake-up, or nullopt on timeout.
inline std::optional<long long> wait_pidfd(int fd, std::chrono::milliseconds timeout) {
  if (giving_up())
    timeout = 0ms;
  pollfd p{fd, POLLIN, 0};
  int r = ::poll(&p, 1, static_cast<int>(timeout.count()));
  if (r <= 0)
    return std::nullopt;
  return mono_ns();
}

// Waits until process `pid` is gone (through a pidfd); as wait_pidfd.
inline std::optional<long long> wait_gone(pid_t pid, std::chrono::milliseconds timeout) {
  const int fd = pidfd_open(pid);
  if (fd < 0)
    return std::nullopt;
  const auto gone = wait_pidfd(fd, timeout);
  ::close(fd);
  return gone;
}

// SIGKILL through a pidfd: never reaches a stranger that reused the pid.
inline void kill_pidfd(int fd) { ::syscall(SYS_pidfd_send_signal, fd, SIGKILL, nullptr, 0); }

// A TCP socket bound to a free port on 127.0.0.1 (`port` says which).
inline int bound_loopback(int &port) {
  const int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  sockaddr_in sa{};
  sa.sin_family = AF_INET;
  sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  ::bind(fd, reinterpret_cast<sockaddr *>(&sa), sizeof sa);
  socklen_t len = sizeof sa;
  ::getsockname(fd, reinterpret_cast<sockaddr *>(&sa), &len);
  port = ntohs(sa.sin_port);
  return fd;
}

// A local TCP port that was free a moment ago.
inline int free_port() {
  int port = 0;
  ::close(bound_loopback(port));
  return port;
}

// A TCP socket connected to 127.0.0.1:PORT, reads timing out after 10 s
// (`rcvbuf`: its receive buffer, when > 0); -1 when refused.
inline int connect_loopback(int port, int rcvbuf = 0) {
  const int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (rcvbuf > 0)
    ::setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &rcvbuf, sizeof rcvbuf);
  timeval tv{10, 0};
  ::setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
  sockaddr_in sa{};
  sa.sin_family = AF_INET;
  sa.sin_port = htons(static_cast<std::uint16_t>(port));
  sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  if (::connect(fd, reinterpret_cast<sockaddr *>(&sa), sizeof sa) < 0) {
    ::close(fd);
    return -1;
  }
  return fd;
}

struct HttpReply {
  bool connected = false;
  int status = 0;   // 0: no HTTP answer
  std::string head; // status line and headers
  std::string body;
};

// `request` sent as is to 127.0.0.1:PORT; the reply read to its end (the
// requests are HTTP/1.0: the server closes).
inline HttpReply http_exchange(int port, const std::string &request) {
  HttpReply r;
  const int fd = connect_loopback(port);
  if (fd < 0)
    return r;
  r.connected = true;
  if (::send(fd, request.data(), request.size(), MSG_NOSIGNAL) < 0) {
    ::close(fd);
    return r;
  }
  std::string all;
  char buf[65536];
  for (ssize_t n; (n = ::read(fd, buf, sizeof buf)) > 0;)
    all.append(buf, static_cast<std::size_t>(n));
  ::close(fd);
  const auto end = all.find("\r\n\r\n");
  r.head = all.substr(0, end);
  r.body = end == std::string::npos ? "" : all.substr(end + 4);
  if (r.head.starts_with("HTTP/1.") && r.head.size() > 12)
    r.status = std::stoi(r.head.substr(9, 3));
  return r;
}

// How many fds process `pid` holds.
inline std::size_t open_fds(pid_t pid) {
  std::size_t n = 0;
  if (DIR *d = ::opendir(("/proc/" + std::to_string(pid) + "/fd").c_str())) {
    while (const dirent *e = ::readdir(d))
      n += e->d_name[0] != '.';
    ::closedir(d);
  }
  return n;
}

// A process is gone when it no longer exists or is a zombie awaiting reaping.
inline bool process_gone(pid_t pid) {
  if (::kill(pid, 0) < 0 && errno == ESRCH)
    return true;
  std::ifstream in("/proc/" + std::to_string(pid) + "/stat");
  std::string s;
  std::getline(in, s);
  auto close = s.rfind(')');
  return close != std::string::npos && close + 2 < s.size() && s[close + 2] == 'Z';
}

class Daemon {
public:
  struct Options {
    std::vector<std::string> args; // replaces --config ... when set
    std::vector<std::string> env;  // extra KEY=VALUE, replacing inherited ones
    std::string log_level = "debug";
    std::string user; // run hbmond as this user (its runtime dir is given to it)
    // A command that runs first and execs hbmond (its path and arguments
    // follow), e.g. to start it in a mount namespace of its own.
    std::vector<std::string> wrapper{};
  };

  explicit Daemon(const std::string &config_json) : Daemon(config_json, Options()) {}
  Daemon(const std::string &config_json, Options opts) {
    config_ = dir_ / "apps.json";
    std::ofstream(config_) << with_forensics_here(config_json);
    std::vector<std::string> args;
    if (!opts.user.empty()) {
      // setpriv execs hbmond in place: the pid we hold is hbmond's.
      const std::string chown = "chown " + opts.user + ": " + dir_.path() + " " + config_;
      if (std::system(chown.c_str()) != 0)
        std::abort();
      args = {"/usr/bin/setpriv", "--reuid=" + opts.user, "--regid=" + opts.user, "--init-groups",
              "--"};
    }
    args.insert(args.end(), opts.wrapper.begin(), opts.wrapper.end());
    args.push_back(hbmond_path);
    if (opts.args.empty()) {
      args.insert(args.end(), {"--config", config_, "--runtime-dir", dir_.path(), "--log-level",
                               opts.log_level});
    } else {
      args.insert(args.end(), opts.args.begin(), opts.args.end());
    }
    start(args, opts.env);
  }

  ~Daemon() {
    if (pid_ > 0) {
      // Gracefully, so its apps (and theirs) go too; then by force.
      ::kill(pid_, SIGTERM);
      if (wait_exit(15s) == -1 && pid_ > 0) {
        ::kill(pid_, SIGKILL);
        ::waitpid(pid_, nullptr, 0);
      }
    }
    if (log_fd_ >= 0)
      ::close(log_fd_);
    if (pidfd_ >= 0)
      ::close(pidfd_);
  }

  const TempDir &dir() const { return dir_; }
  pid_t pid() const { return pid_; }
  // Where its forensics records go unless the test's config says.
  std::string forensics_dir() const { return dir_ / "forensics"; }
  // A config without "forensics" gets this daemon's own directory, not
  // the machine's /var/lib/hbmond/forensics. Written into the text after its
  // first '{', on the same line: the rest stays as the test wrote it (a
  // duplicate key, a line number). A text that is no JSON object is left as
  // it is: it is there to be refused.
  std::string with_forensics_here(const std::string &text) const {
    const auto doc = nlohmann::json::parse(text, nullptr, false);
    if (!doc.is_object() || text.find("\"forensics\"") != std::string::npos)
      return text;
    const auto brace = text.find('{');
    const auto next = text.find_first_not_of(" \t\r\n", brace + 1);
    const std::string member =
        "\"forensics\": {\"dir\": \"" + forensics_dir() + "\"}" + (text[next] == '}' ? "" : ", ");
    return text.substr(0, brace + 1) + member + text.substr(brace + 1);
  }
  const std::string &config_path() const { return config_; }

  // Waits search the whole log from its first line, so events of several
  // apps may arrive in any order: the n-th line containing `needle`.
  std::optional<std::string> wait_for(const std::string &needle,
                                      std::chrono::milliseconds timeout = 10s,
                                      std::size_t nth = 1) {
    return wait_match([&](const std::string &l) { return l.find(needle) != std::string::npos; },
                      timeout, nth);
  }

  bool wait_count(const std::string &needle, std::size_t n,
                  std::chrono::milliseconds timeout = 10s) {
    return wait_for(needle, timeout, n).has_value();
  }

  // The n-th line for which pred(line) holds.
  template <typename Pred>
  std::optional<std::string> wait_line(Pred pred, std::chrono::milliseconds timeout = 10s,
                                       std::size_t nth = 1) {
    return wait_match(pred, timeout, nth);
  }

  // Pid from the n-th "[monitor] <app>: started, pid N".
  std::optional<pid_t> wait_started(const std::string &app, std::chrono::milliseconds timeout = 10s,
                                    std::size_t nth = 1) {
    const std::string key = "[monitor] " + app + ": started, pid ";
    auto line = wait_for(key, timeout, nth);
    if (!line)
      return std::nullopt;
    return static_cast<pid_t>(std::stol(line->substr(line->find(key) + key.size())));
  }

  // The n-th transition "[monitor] <app>: <from> -> <state>" (debug log).
  bool wait_state(const std::string &app, const std::string &state,
                  std::chrono::milliseconds timeout = 10s, std::size_t nth = 1) {
    const std::string who = "[monitor] " + app + ": ", to = " -> " + state;
    return wait_match(
               [&](const std::string &l) {
                 auto w = l.find(who), t = l.find(to);
                 if (w == std::string::npos || t == std::string::npos || t < w)
                   return false;
                 auto end = t + to.size();
                 return end == l.size() || l[end] == ':';
               },
               timeout, nth)
        .has_value();
  }

  // Read whatever hbmond has written so far, without waiting: lines it
  // wrote before some other sign of life (a datagram, a reply) are here.
  void poll_log() { drain_log(0); }

  // Every line seen so far (for counting and for failure messages).
  const std::vector<std::string> &lines() const { return lines_; }
  std::size_t count(const std::string &needle) const {
    std::size_t n = 0;
    for (const auto &l : lines_)
      n += l.find(needle) != std::string::npos;
    return n;
  }
  std::string log() const {
    std::string s;
    for (const auto &l : lines_)
      s += l + "\n";
    return s;
  }

  void signal(int sig) { ::kill(pid_, sig); }

  // Wait for hbmond to exit; its exit code, or -1 on timeout / signal.
  int wait_exit(std::chrono::milliseconds timeout = 20s) {
    auto end = Clock::now() + timeout;
    while (true) {
      int status = 0;
      if (::waitpid(pid_, &status, WNOHANG) == pid_) {
        pid_ = 0;
        drain_log(0);
        return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
      }
      auto left = std::chrono::duration_cast<std::chrono::milliseconds>(end - Clock::now());
      if (left.count() <= 0)
        return -1;
      // Wake on the exit (pidfd) or on log output (which must be read so
      // the daemon never blocks on a full pipe).
      pollfd p[2] = {{pidfd_, POLLIN, 0}, {log_fd_, POLLIN, 0}};
      ::poll(p, 2, static_cast<int>(left.count()));
      if (p[1].revents)
        drain_log(0);
    }
  }

private:
  void start(const std::vector<std::string> &args, const std::vector<std::string> &extra_env) {
    int p[2];
    if (::pipe2(p, O_CLOEXEC) < 0)
      std::abort();
    log_fd_ = p[0];
    posix_spawn_file_actions_t fa;
    posix_spawn_file_actions_init(&fa);
    posix_spawn_file_actions_adddup2(&fa, p[1], 2);
    posix_spawn_file_actions_adddup2(&fa, p[1], 1);
    std::vector<std::string> env;
    auto overridden = [&](const std::string &kv) {
      for (const auto &x : extra_env)
        if (kv.compare(0, x.find('=') + 1, x, 0, x.find('=') + 1) == 0)
          return true;
      return false;
    };
    for (char **e = environ; *e; ++e) {
      std::string kv = *e;
      if (kv.rfind("NOTIFY_SOCKET=", 0) == 0 || kv.rfind("WATCHDOG_", 0) == 0 ||
          kv.rfind("JOURNAL_STREAM=", 0) == 0 || overridden(kv))
        continue;
      env.push_back(kv);
    }
    env.insert(env.end(), extra_env.begin(), extra_env.end());
    std::vector<char *> argv, envp;
    for (auto &a : args)
      argv.push_back(const_cast<char *>(a.c_str()));
    argv.push_back(nullptr);
    for (auto &e : env)
      envp.push_back(const_cast<char *>(e.c_str()));
    envp.push_back(nullptr);
    if (posix_spawn(&pid_, argv[0], &fa, nullptr, argv.data(), envp.data()) != 0)
      std::abort();
    posix_spawn_file_actions_destroy(&fa);
    ::close(p[1]);
    ::fcntl(log_fd_, F_SETFL, O_NONBLOCK);
    pidfd_ = pidfd_open(pid_);
  }

  // Read what is available, waiting up to `ms` for the first bytes.
  void drain_log(int ms) {
    pollfd p{log_fd_, POLLIN, 0};
    if (::poll(&p, 1, ms) <= 0)
      return;
    char buf[65536];
    while (true) {
      ssize_t n = ::read(log_fd_, buf, sizeof buf);
      if (n <= 0)
        break;
      partial_.append(buf, static_cast<std::size_t>(n));
      std::size_t nl;
      while ((nl = partial_.find('\n')) != std::string::npos) {
        lines_.push_back(partial_.substr(0, nl));
        partial_.erase(0, nl + 1);
      }
    }
  }

  template <typename Pred>
  std::optional<std::string> wait_match(Pred pred, std::chrono::milliseconds timeout,
                                        std::size_t nth) {
    auto end = Clock::now() + timeout;
    std::size_t seen = 0, scanned = 0;
    while (true) {
      for (; scanned < lines_.size(); ++scanned)
        if (pred(lines_[scanned]) && ++seen == nth)
          return lines_[scanned];
      auto left = std::chrono::duration_cast<std::chrono::milliseconds>(end - Clock::now());
      if (left.count() <= 0 || giving_up())
        return std::nullopt;
      drain_log(static_cast<int>(std::min<long long>(left.count(), 100)));
    }
  }

  TempDir dir_;
  std::string config_;
  pid_t pid_ = 0;
  int log_fd_ = -1;
  int pidfd_ = -1;
  std::string partial_;
  std::vector<std::string> lines_;
};

// Polls `pred` every 5 ms until it holds or `timeout` passes: for state
// another process keeps in a file or a counter, with no event to wait on.
template <typename Pred> bool wait_until(Pred pred, std::chrono::milliseconds timeout = 10s) {
  const auto end = Clock::now() + timeout;
  while (!pred()) {
    if (Clock::now() >= end || giving_up())
      return false;
    ::usleep(5000);
  }
  return true;
}

// Set when the programs under test are the sanitized build's (.ci/dev
// points HBTEST_HBMOND and the others there): bounds that measure hbmond's
// speed, not its logic, are scaled then.
inline const bool sanitized = std::getenv("HBTEST_SANITIZED") != nullptr;

// How fast hbmond must answer `status` (of up to 2,000 apps) while it is
// under attack: 100 ms; 600 ms in the sanitized build, which is also
// unoptimized (building JSON there costs about six times as much).
inline const double status_bound = sanitized ? 0.6 : 0.1;

// One request on hbmond's control socket: the parsed reply (null when none
// came within 2 s) and how long hbmond took to answer (up to the reply's
// arrival: parsing it here is the test's time, not hbmond's).
struct Answer {
  nlohmann::json reply;
  double seconds = 0;
};
inline Answer ask(const std::string &control, const std::string &body) {
  zmq::context_t ctx;
  zmq::socket_t req(ctx, zmq::socket_type::req);
  req.set(zmq::sockopt::linger, 0);
  req.set(zmq::sockopt::rcvtimeo, 2000);
  req.connect(control);
  const auto t0 = Clock::now();
  req.send(zmq::buffer(body));
  zmq::message_t reply;
  Answer a;
  const bool answered = req.recv(reply).has_value();
  a.seconds = std::chrono::duration<double>(Clock::now() - t0).count();
  if (answered)
    a.reply = nlohmann::json::parse(reply.to_string(), nullptr, false);
  return a;
}

// The status object of one app (null if the daemon did not answer).
inline nlohmann::json app_status(const std::string &control, const std::string &app) {
  auto a = ask(control, R"({"v":1,"cmd":"status","apps":[")" + app + R"("]})");
  if (!a.reply.is_object() || !a.reply.value("ok", false) || a.reply["apps"].size() != 1)
    return nullptr;
  return a.reply["apps"][0];
}

// `status` answered within status_bound, whatever else goes on. Asked up
// to three times, the fastest answer counts: on a busy machine one ask can
// wait for a core, and a daemon that is really held up (the fault these
// tests look for) is slow every time.
inline void expect_status_fast(const std::string &control) {
  std::string times;
  for (int i = 0; i < 3; ++i) {
    auto a = ask(control, R"({"v":1,"cmd":"status"})");
    ASSERT_TRUE(a.reply.is_object()) << "no answer to status";
    ASSERT_EQ(a.reply["ok"], true) << a.reply;
    if (a.seconds < status_bound)
      return;
    times += (times.empty() ? "" : ", ") + std::to_string(a.seconds) + " s";
  }
  ADD_FAILURE() << "status took " << times << " (bound " << status_bound << " s)";
}

// A shell command's exit status and output (stdout and stderr).
inline std::pair<int, std::string> shell(const std::string &command) {
  FILE *p = ::popen((command + " 2>&1").c_str(), "r");
  std::string out;
  char buf[256];
  while (p && std::fgets(buf, sizeof buf, p))
    out += buf;
  const int status = p ? ::pclose(p) : -1;
  return {WIFEXITED(status) ? WEXITSTATUS(status) : -1, out};
}

// One app object running hbtest_app with `args` (flags split at spaces),
// its trace in `trace` when given; `extra` holds more JSON members.
inline std::string app_json(const std::string &name, const std::string &args,
                            const std::string &extra, const std::string &trace = "") {
  std::string cmd = "[\"" + std::string(app_path) + "\"";
  if (!trace.empty())
    cmd += ", \"--trace\", \"" + trace + "\"";
  std::istringstream in(args);
  for (std::string w; in >> w;)
    cmd += ", \"" + w + "\"";
  return "{\"name\": \"" + name + "\", \"command\": " + cmd + "]" +
         (extra.empty() ? "" : ", " + extra) + "}";
}

// argv[0] started with its stdout and stderr on pipes of their own: its pid
// and the read ends (close-on-exec), for a test that runs a command and
// reads what it prints.
struct PipedChild {
  pid_t pid = -1;
  int out = -1, err = -1;
};
inline PipedChild spawn_piped(std::vector<std::string> argv) {
  int out[2], err[2];
  if (::pipe2(out, O_CLOEXEC) < 0 || ::pipe2(err, O_CLOEXEC) < 0)
    std::abort();
  posix_spawn_file_actions_t fa;
  posix_spawn_file_actions_init(&fa);
  posix_spawn_file_actions_adddup2(&fa, out[1], 1);
  posix_spawn_file_actions_adddup2(&fa, err[1], 2);
  std::vector<char *> args;
  for (auto &a : argv)
    args.push_back(a.data());
  args.push_back(nullptr);
  PipedChild c;
  if (posix_spawn(&c.pid, args[0], &fa, nullptr, args.data(), environ) != 0)
    std::abort();
  posix_spawn_file_actions_destroy(&fa);
  ::close(out[1]);
  ::close(err[1]);
  c.out = out[0];
  c.err = err[0];
  return c;
}

// A heartbeat that a hang misses within 0.4 s: for tests that wait for one.
inline constexpr const char *fast_hb = R"("heartbeat": {"interval": 0.2, "misses": 2})";

// The value of the series `series` (name and labels, as written) in a
// metrics text; nullopt when it is not there.
inline std::optional<double> metric(const std::string &text, const std::string &series) {
  const std::string key = "\n" + series + " ";
  const auto at = text.find(key);
  if (at == std::string::npos)
    return std::nullopt;
  return std::stod(text.substr(at + key.size()));
}

// {"apps": [ ... ]} from app objects written as JSON text.
inline std::string config_of(std::initializer_list<std::string> apps) {
  std::string s = "{\"apps\": [";
  const char *sep = "";
  for (const auto &a : apps) {
    s += sep + a;
    sep = ", ";
  }
  return s + "]}";
}

// systemd's side of sd_notify (or journald's of the native journal
// protocol): a datagram socket we read ourselves, or leave unread.
class NotifyListener {
public:
  explicit NotifyListener(const std::string &path) : path_(path) {
    fd_ = ::socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
    sockaddr_un sa{};
    sa.sun_family = AF_UNIX;
    std::strncpy(sa.sun_path, path.c_str(), sizeof sa.sun_path - 1);
    ::bind(fd_, reinterpret_cast<sockaddr *>(&sa), sizeof sa);
  }
  ~NotifyListener() { ::close(fd_); }
  // Next datagram, with its arrival time.
  std::optional<std::pair<std::string, long long>> next(std::chrono::milliseconds timeout) {
    pollfd p{fd_, POLLIN, 0};
    if (::poll(&p, 1, static_cast<int>(timeout.count())) <= 0)
      return std::nullopt;
    static char buf[65536];
    ssize_t n = ::recv(fd_, buf, sizeof buf, 0);
    if (n < 0)
      return std::nullopt;
    return std::make_pair(std::string(buf, static_cast<std::size_t>(n)), mono_ns());
  }
  // Next datagram starting with `prefix`; others go to `seen`.
  std::optional<std::pair<std::string, long long>> wait(const std::string &prefix,
                                                        std::chrono::milliseconds timeout = 10s) {
    auto end = Clock::now() + timeout;
    while (Clock::now() < end && !giving_up()) {
      auto left = std::chrono::duration_cast<std::chrono::milliseconds>(end - Clock::now());
      auto m = next(left);
      if (!m)
        return std::nullopt;
      seen.push_back(*m);
      if (m->first.rfind(prefix, 0) == 0)
        return m;
    }
    return std::nullopt;
  }
  std::vector<std::pair<std::string, long long>> seen;

  // A receiver that stopped reading: fill its queue (net.unix.max_dgram_qlen
  // datagrams) from another socket until the kernel takes no more. How many
  // went in; each says "filler".
  std::size_t fill() {
    int s = ::socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
    sockaddr_un sa{};
    sa.sun_family = AF_UNIX;
    std::strncpy(sa.sun_path, path_.c_str(), sizeof sa.sun_path - 1);
    std::size_t n = 0;
    while (::sendto(s, "filler", 6, MSG_DONTWAIT, reinterpret_cast<sockaddr *>(&sa), sizeof sa) ==
           6)
      ++n;
    ::close(s);
    return n;
  }

private:
  std::string path_;
  int fd_ = -1;
};

} // namespace hbtest

// hbmond: parse flags, load the config, build the supervisor, run the loop.
#include "build_config.hpp"
#include "core/config.hpp"
#include "daemon/daemon.hpp"
#include "daemon/log.hpp"
#include "daemon/reexec.hpp"
#include "protocol/version.hpp"
#include "sys/accounts.hpp"
#include "sys/cgroup.hpp"
#include "sys/config_file.hpp"
#include "sys/directories.hpp"
#include "sys/loop.hpp"
#include "sys/spawn.hpp"

#include <algorithm>
#include <cerrno>
#include <csignal>
#include <cstdlib>
#include <cstring>
#include <fcntl.h>
#include <fmt/format.h>
#include <fmt/ranges.h>
#include <getopt.h>
#include <iostream>
#include <optional>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <unistd.h>

namespace {

using namespace hbmon;

constexpr int exit_usage = 2;

const char *usage_text = R"(Usage:
  hbmond [--config FILE] [--log-level LEVEL] [--runtime-dir DIR]
  hbmond --check [--config FILE] [--runtime-dir DIR]
  hbmond --check-handover [--config FILE] [--runtime-dir DIR] < STATE
  hbmond --exec [--protocol zmq|notify] [--interval S] [--misses N] [--endpoint E]
                [--log-level LEVEL] -- CMD [ARG...]
  hbmond --version | --help

Supervise the apps listed in the config: restart them when they crash, kill
and restart them when they miss heartbeats sent over ZeroMQ or, for apps
written for systemd's watchdog, with sd_notify("WATCHDOG=1").

Options:
  -c, --config FILE      config file (default: )" HBMON_DEFAULT_CONFIG R"()
  -l, --log-level LEVEL  debug, info, warning or error (default: the config's
                         log_level, else info)
      --runtime-dir DIR  where the default heartbeat, control and events
                         endpoints are bound (default: /run/hbmond; made
                         with mode 0755 when missing); it must be writable
                         only by root or hbmond's user
  -t, --check            validate the config and exit: 0 valid, 1 invalid
      --check-handover   as --check, and also read a re-exec's state from
                         stdin (a running hbmond asks this of the binary it
                         is about to become: hbmonctl reexec)
      --handover FD      internal: take over the apps of the hbmond that
                         re-executed into this one, its state in FD
      --exec             run CMD alone in the foreground with heartbeat
                         supervision; exit 0 when CMD exits 0
      --protocol P       --exec: how CMD sends heartbeats: zmq (default), or
                         notify: systemd's notify protocol (NOTIFY_SOCKET,
                         WATCHDOG_USEC = 2 x the interval, WATCHDOG_PID)
      --interval S       --exec: heartbeat interval in seconds (default 1)
      --misses N         --exec: missed heartbeats before the kill (default 2)
      --endpoint E       --exec: heartbeat endpoint (default: ipc://DIR/heartbeat,
                         or DIR/notify with --protocol notify, in a new
                         private DIR under $XDG_RUNTIME_DIR, else /tmp,
                         removed at exit); its directory must be writable
                         only by root or hbmond's user
  -V, --version          print the version and exit
  -h, --help             print this help and exit

Signals: SIGTERM/SIGINT stop every app and exit 0; SIGHUP reloads the config;
SIGUSR2 re-executes hbmond in place, keeping every app (as hbmonctl reexec).
See hbmond(8) and hbmond.json(5).
)";

struct Flags {
  std::string config = HBMON_DEFAULT_CONFIG;
  std::optional<LogLevel> log_level;
  std::string runtime_dir{default_runtime_dir};
  bool check = false;
  bool check_handover = false;
  std::optional<int> handover; // --handover FD
  bool exec = false;
  double interval = 1.0;
  long misses = 2;
  HeartbeatProtocol protocol = HeartbeatProtocol::zmq;
  std::optional<std::string> endpoint;
  std::vector<std::string> command;
};

[[noreturn]] void usage_error(const std::string &msg) {
  std::cerr << "hbmond: " << msg << "\nTry 'hbmond --help'.\n";
  std::exit(exit_usage);
}

Flags parse_flags(int argc, char **argv) {
  enum {
    opt_runtime = 256,
    opt_exec,
    opt_interval,
    opt_misses,
    opt_endpoint,
    opt_protocol,
    opt_check_handover,
    opt_handover
  };
  static const option longopts[] = {
      {"config", required_argument, nullptr, 'c'},
      {"log-level", required_argument, nullptr, 'l'},
      {"runtime-dir", required_argument, nullptr, opt_runtime},
      {"check", no_argument, nullptr, 't'},
      {"check-handover", no_argument, nullptr, opt_check_handover},
      {"handover", required_argument, nullptr, opt_handover},
      {"exec", no_argument, nullptr, opt_exec},
      {"interval", required_argument, nullptr, opt_interval},
      {"misses", required_argument, nullptr, opt_misses},
      {"endpoint", required_argument, nullptr, opt_endpoint},
      {"protocol", required_argument, nullptr, opt_protocol},
      {"version", no_argument, nullptr, 'V'},
      {"help", no_argument, nullptr, 'h'},
      {nullptr, 0, nullptr, 0},
  };
  Flags f;
  bool exec_only = false;
  int c;
  opterr = 0;
  while ((c = getopt_long(argc, argv, "+:c:l:tVh", longopts, nullptr)) != -1) {
    switch (c) {
    case 'c':
      f.config = optarg;
      break;
    case 'l':
      f.log_level = logging::parse_level(optarg);
      if (!f.log_level)
        usage_error(fmt::format("--log-level: unknown level '{}' (use debug, info, warning "
                                "or error)",
                                optarg));
      break;
    case opt_runtime:
      f.runtime_dir = optarg;
      break;
    case 't':
      f.check = true;
      break;
    case opt_check_handover:
      f.check = f.check_handover = true;
      break;
    case opt_handover: {
      char *end = nullptr;
      errno = 0;
      const long fd = std::strtol(optarg, &end, 10);
      if (errno || *end || fd < 3 || fd > 1 << 30)
        usage_error(fmt::format("--handover: expected an fd number, got '{}'", optarg));
      f.handover = static_cast<int>(fd);
      break;
    }
    case opt_exec:
      f.exec = true;
      break;
    case opt_interval: {
      char *end = nullptr;
      errno = 0;
      f.interval = std::strtod(optarg, &end);
      if (errno || *end || !(f.interval >= 0.01 && f.interval <= 86400))
        usage_error(fmt::format("--interval: expected seconds in [0.01, 86400], got '{}'", optarg));
      exec_only = true;
      break;
    }
    case opt_misses: {
      char *end = nullptr;
      errno = 0;
      f.misses = std::strtol(optarg, &end, 10);
      if (errno || *end || f.misses < 1 || f.misses > 1000)
        usage_error(fmt::format("--misses: expected an integer in [1, 1000], got '{}'", optarg));
      exec_only = true;
      break;
    }
    case opt_endpoint:
      f.endpoint = optarg;
      exec_only = true;
      break;
    case opt_protocol:
      if (auto p = heartbeat_protocol_names.parse(optarg))
        f.protocol = *p;
      else
        usage_error(fmt::format("--protocol: expected zmq or notify, got '{}'", optarg));
      exec_only = true;
      break;
    case 'V':
      std::cout << "hbmond " << program_version << "\n";
      std::exit(0);
    case 'h':
      std::cout << usage_text;
      std::exit(0);
    case ':':
      usage_error(fmt::format("option '{}' needs a value", argv[optind - 1]));
    default:
      usage_error(fmt::format("unknown option '{}'", argv[optind - 1]));
    }
  }
  for (int i = optind; i < argc; ++i)
    f.command.emplace_back(argv[i]);
  if (f.exec && f.check)
    usage_error("--exec and --check cannot be combined");
  if (f.handover && (f.exec || f.check))
    usage_error("--handover cannot be combined with --exec or --check");
  if (exec_only && !f.exec)
    usage_error("--protocol, --interval, --misses and --endpoint only apply to --exec");
  if (f.exec && f.command.empty())
    usage_error("--exec needs a command: hbmond --exec -- CMD [ARG...]");
  if (!f.exec && !f.command.empty())
    usage_error(fmt::format("unexpected argument '{}'", f.command.front()));
  return f;
}

// The working directory as the kernel knows it; $PWD is only what whoever
// started us says it is, and may be stale.
std::optional<std::string> working_dir() {
  char cwd[4096];
  if (!::getcwd(cwd, sizeof cwd))
    return std::nullopt;
  return std::string(cwd);
}

// The config is re-read on reload: keep a path that does not depend on cwd.
std::string absolute(const std::string &path) {
  if (path.empty() || path.front() == '/')
    return path;
  const auto cwd = working_dir();
  return cwd ? *cwd + "/" + path : path;
}

// The single app of --exec mode, named after its program. Its default
// endpoint is in `private_dir`.
Config exec_config(const Flags &f, const std::string &private_dir) {
  std::string base = f.command.front();
  if (auto slash = base.rfind('/'); slash != std::string::npos)
    base = base.substr(slash + 1);
  std::string name;
  for (char ch : base)
    name += (std::isalnum(static_cast<unsigned char>(ch)) || ch == '_' || ch == '-' || ch == '.')
                ? ch
                : '_';
  while (!name.empty() && (name.front() == '.' || name.front() == '-'))
    name.erase(name.begin());
  if (name.empty())
    name = "app";
  name.resize(std::min<std::size_t>(name.size(), 64));

  const bool notify = f.protocol == HeartbeatProtocol::notify;
  const std::string endpoint =
      f.endpoint ? *f.endpoint
                 : (notify ? "" : "ipc://") + private_dir + (notify ? "/notify" : "/heartbeat");
  // Like a shell: ./worker means the one here.
  std::vector<std::string> command = f.command;
  if (command[0].find('/') != std::string::npos)
    command[0] = absolute(command[0]);
  nlohmann::json app = {
      {"name", name},
      {"command", command},
      {"heartbeat",
       {{"protocol", std::string(to_string(f.protocol))},
        {"endpoint", endpoint},
        {"interval", f.interval},
        {"misses", f.misses}}},
  };
  if (const auto cwd = working_dir())
    app["cwd"] = *cwd;
  nlohmann::json doc = {{"apps", {app}}};
  return parse_config(doc.dump(), "--exec", system_accounts(), system_directories());
}

// Many apps mean many fds; apps themselves get the usual soft limit back.
std::optional<rlim_t> raise_nofile() {
  rlimit rl{};
  if (::getrlimit(RLIMIT_NOFILE, &rl) < 0 || rl.rlim_cur >= rl.rlim_max)
    return std::nullopt;
  rlim_t original = rl.rlim_cur;
  rl.rlim_cur = rl.rlim_max;
  if (::setrlimit(RLIMIT_NOFILE, &rl) < 0)
    return std::nullopt;
  return original;
}

// Connections every untrusted peer together may hold to hbmond's sockets:
// at most half the fds (libzmq aborts when an accept finds none, apis.md),
// and at most 16,384 (each costs ~23 KiB in libzmq: 370 MiB at most).
std::size_t connection_limit() {
  rlimit rl{};
  if (::getrlimit(RLIMIT_NOFILE, &rl) < 0 || rl.rlim_cur == RLIM_INFINITY)
    return 16384;
  return std::min<std::size_t>(rl.rlim_cur / 2, 16384);
}

// --exec without --endpoint binds in a directory of its own: a name of
// its own in a shared one (such as /tmp) could be taken first by anyone.
std::optional<PrivateDir> exec_dir(const Flags &f) {
  if (!f.exec || f.endpoint)
    return std::nullopt;
  const char *dir = std::getenv("XDG_RUNTIME_DIR");
  return std::make_optional<PrivateDir>(dir && *dir == '/' ? dir : "/tmp", "hbmond-exec.");
}

// The path of the binary running now, as it was when it started: a
// re-exec runs what is at that path then (an upgrade's new binary), not
// /proc/self/exe, which stays the old one.
std::string own_path() {
  char buf[4096];
  const ssize_t n = ::readlink("/proc/self/exe", buf, sizeof buf - 1);
  if (n <= 0)
    return {};
  std::string path(buf, static_cast<std::size_t>(n));
  constexpr std::string_view deleted = " (deleted)";
  if (path.ends_with(deleted))
    path.resize(path.size() - deleted.size());
  return path;
}

// After a re-exec every fd but 0-2 and the ones handed over is closed: one
// a library opened without O_CLOEXEC would otherwise outlive every re-exec.
void close_all_but(std::vector<int> keep) {
  std::sort(keep.begin(), keep.end());
  unsigned from = 3;
  for (int fd : keep) {
    if (fd < static_cast<int>(from))
      continue;
    if (static_cast<unsigned>(fd) > from)
      ::close_range(from, static_cast<unsigned>(fd) - 1, 0);
    from = static_cast<unsigned>(fd) + 1;
  }
  ::close_range(from, ~0U, 0);
}

// --check-handover: the state a running hbmond would hand over, on stdin.
int check_handover() {
  std::string text;
  char buf[65536];
  while (true) {
    const ssize_t n = ::read(STDIN_FILENO, buf, sizeof buf);
    if (n < 0 && errno == EINTR)
      continue;
    if (n <= 0)
      break;
    text.append(buf, static_cast<std::size_t>(n));
  }
  try {
    const handover::State s = handover::read(text);
    std::cout << fmt::format("handover state: format {} from hbmond {}, {} app{}: readable\n",
                             s.format, s.version, s.apps.size(), s.apps.size() == 1 ? "" : "s");
    return 0;
  } catch (const handover::HandoverError &e) {
    std::cerr << "hbmond " << program_version
              << ": cannot take over this hbmond's apps: " << e.what() << "\n";
    return 1;
  }
}

int run(const Flags &f) {
  // After a re-exec: what the hbmond before handed over. Nothing can fall
  // back to it now: a state this binary cannot read ends it, and the
  // guardian then stops every app (no orphans).
  std::optional<handover::State> was;
  if (f.handover) {
    try {
      was = read_handover(*f.handover);
    } catch (const std::exception &e) {
      logging::setup(f.log_level.value_or(LogLevel::info));
      logging::daemon(LogLevel::error,
                      fmt::format("re-exec failed: cannot take over the apps: {}; exiting, and "
                                  "the guardian stops every app",
                                  e.what()));
      return 1;
    }
    close_all_but(was->fds());
  }
  // Before any other fd: the lowest numbers make every spawn cheap.
  if (!f.check)
    reserve_spawn_fds();
  // Before the config check, which judges the directory as it will be used.
  const int runtime_dir_error = f.exec || f.check ? 0 : make_runtime_dir(f.runtime_dir);
  const std::optional<PrivateDir> private_dir = exec_dir(f);
  Config cfg;
  try {
    cfg = was      ? was->config
          : f.exec ? exec_config(f, private_dir ? private_dir->path() : "")
                   : load_config(absolute(f.config), f.runtime_dir);
  } catch (const ConfigError &e) {
    std::cerr << e.what() << (f.check || f.exec ? "" : "\nhbmond: not started") << "\n";
    return f.exec ? exit_usage : 1; // in --exec mode the flags were wrong
  }
  if (f.check) {
    std::cout << fmt::format("{}: valid, {} app{}", f.config, cfg.apps.size(),
                             cfg.apps.size() == 1 ? "" : "s");
    if (!cfg.dropins.empty())
      std::cout << fmt::format(" (with {} drop-in{}: {})", cfg.dropins.size(),
                               cfg.dropins.size() == 1 ? "" : "s", fmt::join(cfg.dropins, ", "));
    std::cout << "\n";
    return f.check_handover ? check_handover() : 0;
  }

  LogLevel level = f.log_level.value_or(
      cfg.log_level ? logging::parse_level(*cfg.log_level).value_or(LogLevel::info)
                    : LogLevel::info);
  logging::setup(level);

  if (runtime_dir_error)
    logging::daemon(LogLevel::warning, fmt::format("cannot create {}: {}", f.runtime_dir,
                                                   std::strerror(runtime_dir_error)));
  // Orphans of our apps become our children, so none stay zombies.
  ::prctl(PR_SET_CHILD_SUBREAPER, 1);

  Loop loop;
  logging::OnLoop log_on_loop(loop);
  Daemon::Settings settings;
  settings.config_path = f.exec ? "--exec" : cfg.path;
  settings.runtime_dir = f.runtime_dir;
  settings.cli_log_level = f.log_level;
  settings.control_plane = !f.exec;
  // Raised once: after a re-exec the limit apps get back is the one the
  // first hbmond found.
  const std::optional<rlim_t> raised = raise_nofile();
  settings.supervisor.child_nofile =
      was ? std::optional<rlim_t>(was->child_nofile) : std::optional<rlim_t>(raised);
  settings.supervisor.oom_events = oom_events_file();
  settings.connection_limit = connection_limit();
  if (!f.exec) {
    settings.program = own_path();
    settings.program_args = {"--config", cfg.path, "--runtime-dir", f.runtime_dir};
    if (f.log_level)
      settings.program_args.insert(settings.program_args.end(),
                                   {"--log-level", std::string(to_string(*f.log_level))});
  }
  logging::daemon(LogLevel::info,
                  fmt::format("hbmond {} {}, config {}", program_version,
                              was ? "re-executed" : "starting", settings.config_path));
  std::optional<Guardian> guardian;
  if (was)
    guardian.emplace(loop, was->guardian);
  else
    guardian.emplace(loop);
  settings.supervisor.guardian = &*guardian;
  Daemon daemon(loop, std::move(settings), std::move(cfg));
  int exit_code = 0;
  if (f.exec) {
    // The wrapper's contract: done when CMD is done (0) or given up on (1).
    daemon.supervisor().set_state_hook([&](const std::string &, const act::Changed &ch) {
      if (ch.to == State::exited || ch.to == State::failed) {
        exit_code = ch.to == State::exited ? 0 : 1;
        daemon.supervisor().shutdown(ch.to == State::exited ? "the command finished"
                                                            : "the command failed");
      }
    });
  }
  if (was)
    daemon.restore(*was);
  else
    daemon.start();
  loop.run();
  logging::daemon(LogLevel::info, "exiting");
  return exit_code;
}

// Started with fd 0, 1 or 2 closed, hbmond's own files and sockets would
// take those numbers: its log would go into one of them, and the spawn slots
// would end up at 0-2, leaving an app without its stderr. Like systemd and
// s6, which give every service all three, hold each closed one with
// /dev/null before anything else opens a file.
void hold_standard_fds() {
  for (int fd = 0; fd <= 2; ++fd) {
    if (::fcntl(fd, F_GETFD) >= 0 || errno != EBADF)
      continue;
    // The lower ones are open by now: open() takes the lowest free number.
    const int null = ::open("/dev/null", O_RDWR);
    if (null != fd) {
      static constexpr char msg[] = "hbmond: fatal: cannot open /dev/null for fds 0-2\n";
      [[maybe_unused]] auto n = ::write(STDERR_FILENO, msg, sizeof msg - 1);
      std::_Exit(1);
    }
  }
}

} // namespace

int main(int argc, char **argv) {
  hold_standard_fds();
  Flags f = parse_flags(argc, argv);
  try {
    return run(f);
  } catch (const std::exception &e) {
    std::cerr << "hbmond: fatal: " << e.what() << "\n";
    return 1;
  }
}

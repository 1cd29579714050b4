// The ctl suite's fixture, shared by its files (test_ctl.cpp and
// ctl_*.cpp, one per topic): a real hbmond, and hbmonctl run against it as
// root or as another user, its exit status and output captured.
#pragma once

#include "harness.hpp"

#include <grp.h>
#include <gtest/gtest.h>
#include <nlohmann/json.hpp>
#include <pwd.h>

namespace hbtest {

using nlohmann::json;

struct Result {
  int status = -1; // exit status, -1 if killed or timed out
  std::string out, err;
  double seconds = 0;
};

// Run a command to completion (bounded), capturing stdout and stderr.
inline Result run(std::vector<std::string> argv, std::chrono::milliseconds timeout = 20s) {
  auto t0 = Clock::now();
  const PipedChild child = spawn_piped(std::move(argv));
  const pid_t pid = child.pid;
  Result r;
  int pfd = pidfd_open(pid);
  auto end = Clock::now() + timeout;
  bool out_open = true, err_open = true;
  while (out_open || err_open) {
    auto left = std::chrono::duration_cast<std::chrono::milliseconds>(end - Clock::now());
    if (left.count() <= 0) {
      ::kill(pid, SIGKILL);
      break;
    }
    pollfd p[2] = {{child.out, POLLIN, 0}, {child.err, POLLIN, 0}};
    ::poll(p, 2, static_cast<int>(left.count()));
    char buf[65536];
    for (int i = 0; i < 2; ++i) {
      if (!p[i].revents)
        continue;
      ssize_t n = ::read(p[i].fd, buf, sizeof buf);
      if (n <= 0)
        (i == 0 ? out_open : err_open) = false;
      else
        (i == 0 ? r.out : r.err).append(buf, static_cast<std::size_t>(n));
    }
  }
  int st = 0;
  ::waitpid(pid, &st, 0);
  r.seconds = std::chrono::duration<double>(Clock::now() - t0).count();
  r.status = WIFEXITED(st) ? WEXITSTATUS(st) : -1;
  ::close(child.out);
  ::close(child.err);
  ::close(pfd);
  return r;
}

inline std::string describe(const Result &r) {
  return "exit " + std::to_string(r.status) + "\nstdout:\n" + r.out + "\nstderr:\n" + r.err;
}

// A local account for a test: made here when missing (with the group
// when given, made too when missing), and removed again at the end.
class Account {
public:
  explicit Account(std::string name, std::string group = "")
      : name_(std::move(name)), group_(std::move(group)) {
    if (!group_.empty() && !::getgrnam(group_.c_str())) {
      made_group_ = sh("groupadd --system " + group_) == 0;
      EXPECT_TRUE(made_group_) << "cannot create group " << group_;
    }
    if (!::getpwnam(name_.c_str())) {
      made_user_ = sh("useradd --system --no-create-home --shell /usr/sbin/nologin " +
                      (group_.empty() ? "" : "--groups " + group_ + " ") + name_) == 0;
      EXPECT_TRUE(made_user_) << "cannot create user " << name_;
    } else if (!group_.empty()) {
      EXPECT_EQ(sh("usermod --append --groups " + group_ + " " + name_), 0);
    }
  }
  ~Account() {
    if (made_user_)
      sh("userdel " + name_);
    if (made_group_)
      sh("groupdel " + group_);
  }
  Account(const Account &) = delete;
  Account &operator=(const Account &) = delete;
  const std::string &name() const { return name_; }

private:
  static int sh(const std::string &cmd) { return std::system((cmd + " >/dev/null 2>&1").c_str()); }
  std::string name_, group_;
  bool made_user_ = false, made_group_ = false;
};

class Ctl : public ::testing::Test {
protected:
  TempDir work;

  std::string app(const std::string &name, const std::string &args,
                  const std::string &extra = R"("heartbeat": {"interval": 0.3})") {
    return app_json(name, args, extra);
  }

  std::unique_ptr<Daemon> start(const std::string &config, Daemon::Options opts = {}) {
    auto d = std::make_unique<Daemon>(config, opts);
    control_ = "ipc://" + d->dir() / "control";
    // hbmond serves its control socket once READY; "supervising" follows.
    EXPECT_TRUE(d->wait_for("supervising")) << d->log();
    return d;
  }

  Result ctl(std::vector<std::string> args, std::chrono::milliseconds timeout = 20s) {
    std::vector<std::string> argv = {hbmonctl_path, "--control", control_};
    argv.insert(argv.end(), args.begin(), args.end());
    return run(argv, timeout);
  }

  Result ctl_as(const std::string &user, std::vector<std::string> args) {
    std::vector<std::string> argv = {"/usr/sbin/runuser", "-u",        user,    "--",
                                     hbmonctl_path,       "--control", control_};
    argv.insert(argv.end(), args.begin(), args.end());
    return run(argv);
  }

  json status_json() {
    auto r = ctl({"--json", "status"});
    EXPECT_EQ(r.status, 0) << describe(r);
    return json::parse(r.out, nullptr, false);
  }

  std::optional<int> pid_of(const std::string &name) {
    const json st = status_json();
    for (const auto &a : st["apps"])
      if (a["name"] == name && a["pid"].is_number())
        return a["pid"].get<int>();
    return std::nullopt;
  }

  std::string control_;
};

} // namespace hbtest

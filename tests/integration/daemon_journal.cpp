// What hbmond tells the journal about an app, and what `hbmonctl logs`
// gives back: every line about an app carries HBMON_APP, the lines that
// alerting matches carry a MESSAGE_ID and their facts, an app's stderr is
// logged at priority 3 and its stdout at 6 (or what a <N> prefix says), and
// its recent lines are shown to root, group hbmond and its own user only.
#include "harness.hpp"

#include <fcntl.h>
#include <gtest/gtest.h>
#include <map>
#include <poll.h>
#include <sys/stat.h>

extern char **environ;

using namespace hbtest;

namespace {

// A journal entry in the native protocol: NAME=value lines (hbmond sends no
// value with a newline in these tests).
std::map<std::string, std::string> fields_of(const std::string &datagram) {
  std::map<std::string, std::string> f;
  std::istringstream in(datagram);
  for (std::string l; std::getline(in, l);)
    if (auto eq = l.find('='); eq != std::string::npos)
      f[l.substr(0, eq)] = l.substr(eq + 1);
  return f;
}

bool starts_with(const std::string &s, const std::string &prefix) {
  return s.rfind(prefix, 0) == 0;
}

// A command run to its end, bounded: its exit status and what it printed.
struct Output {
  int status = -1;
  std::string out, err;
};

class Command {
public:
  explicit Command(std::vector<std::string> argv) {
    const PipedChild c = spawn_piped(std::move(argv));
    pid_ = c.pid;
    out_ = c.out;
    err_ = c.err;
  }
  ~Command() {
    if (pid_ > 0) {
      ::kill(pid_, SIGKILL);
      ::waitpid(pid_, nullptr, 0);
    }
    ::close(out_);
    ::close(err_);
  }
  // Reads until `pred(stdout so far)` holds or the command ends: whether it held.
  template <typename Pred> bool read_until(Pred pred, std::chrono::milliseconds timeout = 10s) {
    const auto end = Clock::now() + timeout;
    while (!pred(result.out)) {
      const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(end - Clock::now());
      if (left.count() <= 0)
        return false;
      pollfd p[2] = {{out_, POLLIN, 0}, {err_, POLLIN, 0}};
      if (::poll(p, 2, static_cast<int>(left.count())) <= 0)
        return false;
      char buf[65536];
      bool open = false;
      for (int i = 0; i < 2; ++i) {
        if (!p[i].revents)
          continue;
        ssize_t n = ::read(p[i].fd, buf, sizeof buf);
        if (n > 0) {
          (i ? result.err : result.out).append(buf, static_cast<std::size_t>(n));
          open = true;
        }
      }
      if (!open && (p[0].revents & POLLHUP) && !(p[0].revents & POLLIN))
        return pred(result.out);
    }
    return true;
  }
  // Waits for its end (bounded): the result.
  Output finish(std::chrono::milliseconds timeout = 20s) {
    read_until([](const std::string &) { return false; }, timeout);
    int st = 0;
    if (pid_ > 0 && wait_until([&] { return ::waitpid(pid_, &st, WNOHANG) == pid_; }, timeout)) {
      result.status = WIFEXITED(st) ? WEXITSTATUS(st) : -1;
      pid_ = 0;
    }
    return result;
  }
  Output result;

private:
  pid_t pid_ = 0;
  int out_ = -1, err_ = -1;
};

std::vector<std::string> hbmonctl(const Daemon &d, std::vector<std::string> args,
                                  const std::string &user = "") {
  std::vector<std::string> argv;
  if (!user.empty())
    argv = {"/usr/sbin/runuser", "-u", user, "--"};
  argv.insert(argv.end(), {hbmonctl_path, "--control", "ipc://" + d.dir() / "control"});
  argv.insert(argv.end(), args.begin(), args.end());
  return argv;
}

Output run_ctl(const Daemon &d, std::vector<std::string> args, const std::string &user = "") {
  return Command(hbmonctl(d, std::move(args), user)).finish();
}

std::vector<nlohmann::json> json_lines(const std::string &out) {
  std::vector<nlohmann::json> v;
  std::istringstream in(out);
  for (std::string l; std::getline(in, l);)
    v.push_back(nlohmann::json::parse(l));
  return v;
}

// Prints on stdout and stderr, then one more line once `flag` exists.
std::string talker(const std::string &name, const std::string &flag,
                   const std::string &extra = "") {
  return R"({"name": ")" + name +
         R"(", "heartbeat": null, "restart": "never", "command": ["/bin/sh", "-c",)"
         R"( "echo out-1; echo err-1 >&2; echo '<4>warn-1'; while [ ! -e )" +
         flag + R"( ]; do sleep 0.05; done; echo later; exec sleep 600"])" +
         (extra.empty() ? "" : ", " + extra) + "}";
}

} // namespace

class Journal : public ::testing::Test {
protected:
  TempDir work;
};

// hbmond writes to a journal socket of ours (its own mount namespace, with
// JOURNAL_STREAM naming its stderr, as under systemd): each entry is read
// back field by field.
TEST_F(Journal, EveryLineAboutAnAppCarriesItsNameAndTheAlertsTheirFacts) {
  fs::create_directories(work / "systemd/journal");
  NotifyListener journal(work / "systemd/journal/socket");
  Daemon::Options o;
  o.log_level = "info";
  o.wrapper = {"/usr/bin/unshare",
               "-m",
               "/bin/sh",
               "-c",
               "mount --bind \"$0\" /run/systemd && "
               "export JOURNAL_STREAM=$(stat -L -c %d:%i /proc/self/fd/2) && exec \"$@\"",
               work / "systemd"};
  Daemon d(
      config_of({app_json("hang", "--beats 2 --period 0.1 --then hang",
                          R"("heartbeat": {"interval": 0.3, "misses": 2}, "restart": "never")"),
                 talker("talk", work / "never"),
                 R"({"name": "crashy", "heartbeat": null, "command": ["/bin/false"],)"
                 R"( "restart_delay": 0, "start_limit": {"burst": 2, "interval": 60}})"}),
      o);
  std::vector<std::map<std::string, std::string>> entries;
  auto find = [&](const std::string &prefix) -> const std::map<std::string, std::string> * {
    for (const auto &e : entries)
      if (auto m = e.find("MESSAGE"); m != e.end() && starts_with(m->second, prefix))
        return &e;
    return nullptr;
  };
  auto wait_entry = [&](const std::string &prefix) {
    return wait_until([&] {
      while (auto m = journal.next(std::chrono::milliseconds(50)))
        entries.push_back(fields_of(m->first));
      return find(prefix) != nullptr;
    });
  };
  ASSERT_TRUE(wait_entry("[monitor] hang: pid ")) << "the hang's exit never came";
  ASSERT_TRUE(wait_entry("[monitor] crashy: failed: ")) << "crashy never failed";
  ASSERT_TRUE(wait_entry("warn-1"));
  ASSERT_TRUE(wait_entry("err-1"));
  // hbmond's own lines about an app name it too: a refused request.
  ASSERT_EQ(::chmod(d.dir().path().c_str(), 0755), 0); // others reach the 0666 socket
  EXPECT_EQ(run_ctl(d, {"logs", "hang"}, "nobody").status, 1);
  ASSERT_TRUE(wait_entry("[monitor] refused logs hang from uid "));
  EXPECT_EQ(find("[monitor] refused logs hang from uid ")->at("HBMON_APP"), "hang");

  // Every line about an app, hbmond's and the app's own, names it.
  std::size_t about = 0;
  for (const auto &e : entries) {
    const std::string &m = e.at("MESSAGE");
    for (std::string app : {"hang", "talk", "crashy"})
      if (starts_with(m, "[monitor] " + app + ": ")) {
        ++about;
        EXPECT_EQ(e.count("HBMON_APP") ? e.at("HBMON_APP") : "", app) << m;
        EXPECT_EQ(e.at("SYSLOG_IDENTIFIER"), "hbmond") << m;
      }
  }
  EXPECT_GE(about, 8u);

  const auto *started = find("[monitor] hang: started, pid ");
  ASSERT_TRUE(started);
  const std::string pid = started->at("HBMON_PID");
  EXPECT_EQ(started->at("MESSAGE_ID"), "4a417fa566de44299f506ddec32be46e");
  const auto *kill = find("[monitor] hang: killing pid ");
  ASSERT_TRUE(kill);
  EXPECT_EQ(kill->at("MESSAGE_ID"), "96b6fbc6864d473aa83e42866f204c77");
  EXPECT_EQ(kill->at("HBMON_PID"), pid);
  EXPECT_EQ(kill->at("HBMON_SIGNAL"), "SIGKILL");
  EXPECT_EQ(kill->at("HBMON_REASON"), "missed 2 heartbeats");
  EXPECT_EQ(kill->at("PRIORITY"), "4");
  const auto *exit = find("[monitor] hang: pid " + pid + " exited: ");
  ASSERT_TRUE(exit);
  EXPECT_EQ(exit->at("MESSAGE_ID"), "6f7d8a730ddc4285bc8dd133e7cf2f1d");
  EXPECT_EQ(exit->at("HBMON_PID"), pid);
  EXPECT_EQ(exit->at("HBMON_SIGNAL"), "SIGKILL");
  EXPECT_EQ(exit->count("HBMON_EXIT_STATUS"), 0u);
  EXPECT_EQ(exit->at("HBMON_REASON"), "missed 2 heartbeats");

  const auto *crash = find("[monitor] crashy: pid ");
  ASSERT_TRUE(crash);
  EXPECT_EQ(crash->at("HBMON_EXIT_STATUS"), "1");
  EXPECT_EQ(crash->count("HBMON_SIGNAL"), 0u);
  const auto *limit = find("[monitor] crashy: start limit hit: ");
  ASSERT_TRUE(limit);
  EXPECT_EQ(limit->at("MESSAGE_ID"), "8894e7e041374ae59c6f2ccc832f14f2");
  EXPECT_EQ(limit->at("PRIORITY"), "3");
  const auto *failed = find("[monitor] crashy: failed: ");
  ASSERT_TRUE(failed);
  EXPECT_EQ(failed->at("MESSAGE_ID"), "8b3c3300c8984d27bf7cc5ef3869c6fb");
  EXPECT_EQ(failed->at("HBMON_REASON"), limit->at("HBMON_REASON"));
  // A line that is no alert has no id.
  const auto *miss = find("[monitor] hang: missed heartbeat 1/2");
  ASSERT_TRUE(miss);
  EXPECT_EQ(miss->count("MESSAGE_ID"), 0u);

  // The app's own lines: stdout at 6, stderr at 3, <N> wins and goes.
  const auto *out = find("out-1"), *err = find("err-1"), *warn = find("warn-1");
  ASSERT_TRUE(out && err && warn);
  EXPECT_EQ(out->at("PRIORITY"), "6");
  EXPECT_EQ(err->at("PRIORITY"), "3");
  EXPECT_EQ(warn->at("PRIORITY"), "4");
  EXPECT_EQ(warn->at("MESSAGE"), "warn-1");
  for (const auto *e : {out, err, warn}) {
    EXPECT_EQ(e->at("SYSLOG_IDENTIFIER"), "talk");
    EXPECT_EQ(e->at("HBMON_APP"), "talk");
  }
  d.poll_log();
  EXPECT_EQ(d.lines().size(), 0u) << "under journald nothing goes to stderr\n" << d.log();
}

// Without a journal the lines come from hbmond's memory of each app's
// recent output: the newest N, with priorities, and -f goes on with new ones.
TEST_F(Journal, LogsShowAnAppsRecentLinesFromMemoryAndFollowThem) {
  const std::string flag = work / "go";
  Daemon d(config_of({talker("talk", flag),
                      R"({"name": "flood", "heartbeat": null, "restart": "never", "command":)"
                      R"( ["/bin/sh", "-c", "i=0; while [ $i -lt 300 ]; do printf '%02000d\n' $i;)"
                      R"( i=$((i+1)); done; echo flood-done; exec sleep 600"]})"}),
           Daemon::Options{{}, {}, "info", ""});
  // (hbmond's stderr is a pipe the test reads: read the flood first.)
  ASSERT_TRUE(d.wait_for("[flood] flood-done")) << d.log();
  ASSERT_TRUE(d.wait_for("[talk] warn-1")) << d.log();
  ASSERT_TRUE(d.wait_for("[talk] err-1")) << d.log();

  Output r = run_ctl(d, {"--json", "logs", "talk"});
  ASSERT_EQ(r.status, 0) << r.err;
  std::map<std::string, int> priority;
  for (const auto &l : json_lines(r.out)) {
    EXPECT_EQ(l["app"], "talk");
    priority[l["message"]] = l["priority"];
  }
  EXPECT_EQ(priority, (std::map<std::string, int>{{"out-1", 6}, {"err-1", 3}, {"warn-1", 4}}));
  r = run_ctl(d, {"logs", "-n", "1", "talk"});
  ASSERT_EQ(r.status, 0) << r.err;
  EXPECT_EQ(std::count(r.out.begin(), r.out.end(), '\n'), 1) << r.out;
  EXPECT_NE(r.out.find(" talk: "), std::string::npos) << r.out; // journalctl -o short's form

  // -f: what is there, then what comes.
  Command follow(hbmonctl(d, {"logs", "-f", "-n", "1", "talk"}));
  ASSERT_TRUE(follow.read_until([](const std::string &o) { return !o.empty(); }))
      << follow.result.err;
  std::ofstream(flag) << "";
  ASSERT_TRUE(follow.read_until([](const std::string &o) {
    return o.find("talk: later\n") != std::string::npos;
  })) << follow.result.out
      << follow.result.err;
  EXPECT_EQ(std::count(follow.result.out.begin(), follow.result.out.end(), '\n'), 2)
      << follow.result.out;

  // A flood is kept to the newest 200 lines of 1 KiB at most.
  r = run_ctl(d, {"--json", "logs", "-n", "10000", "flood"});
  ASSERT_EQ(r.status, 0) << r.err;
  const auto flood = json_lines(r.out);
  ASSERT_EQ(flood.size(), 200u);
  for (const auto &l : flood)
    EXPECT_LE(l["message"].get<std::string>().size(), 1024u);
  EXPECT_EQ(flood.back()["message"], "flood-done");
}

// An app's lines are its own user's, and the admins': nobody else's.
TEST_F(Journal, LogsAreForRootGroupHbmondAndTheAppsOwnUserOnly) {
  Daemon d(config_of({talker("rootly", work / "never"),
                      talker("mine", work / "never", R"("user": "nobody")")}),
           Daemon::Options{{}, {}, "info", ""});
  ASSERT_EQ(::chmod(d.dir().path().c_str(), 0755), 0); // others reach the 0666 socket
  ASSERT_TRUE(d.wait_for("[rootly] err-1")) << d.log();
  ASSERT_TRUE(d.wait_for("[mine] err-1")) << d.log();

  Output r = run_ctl(d, {"logs", "rootly"}, "nobody");
  EXPECT_EQ(r.status, 1) << r.out << r.err;
  EXPECT_NE(r.err.find("permission denied"), std::string::npos) << r.err;
  EXPECT_EQ(r.out.find("out-1"), std::string::npos) << r.out;
  EXPECT_TRUE(d.wait_for("refused logs rootly from uid ")) << d.log();

  r = run_ctl(d, {"logs", "mine"}, "nobody");
  EXPECT_EQ(r.status, 0) << r.err;
  EXPECT_NE(r.out.find("mine: err-1"), std::string::npos) << r.out;
  r = run_ctl(d, {"logs", "rootly"});
  EXPECT_EQ(r.status, 0) << r.err;
  EXPECT_NE(r.out.find("rootly: err-1"), std::string::npos) << r.out;
}

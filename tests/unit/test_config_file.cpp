// The system half of the config: load_config refuses what is not a small
// regular file, the shipped configs load, and the system's accounts
// (sys/accounts.hpp) answer like NSS. Needs a file system and the machine's
// own root account, so it links sys, unlike test_config.
#include "config_text.hpp"
#include "sys/accounts.hpp"
#include "sys/config_file.hpp"

#include <fcntl.h>
#include <filesystem>
#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <string>
#include <sys/stat.h>
#include <unistd.h>
#include <vector>

using namespace hbmon;
using ::testing::HasSubstr;

namespace {

using hbtest::one_app;

TEST(Config, TheShippedConfigsParse) {
  for (const char *file : {"/config/demo.json", "/config/apps.json"}) {
    const std::string p = std::string(HBMON_SOURCE_ROOT) + file;
    EXPECT_NO_THROW({
      try {
        load_config(p);
      } catch (const ConfigError &e) {
        ADD_FAILURE() << e.what();
        throw;
      }
    }) << p;
  }
}

// --- load_config --------------------------------------------------------------------

class LoadConfig : public ::testing::Test {
protected:
  void SetUp() override {
    std::string tmpl = (std::filesystem::temp_directory_path() / "hbmond-config-XXXXXX").string();
    ASSERT_NE(::mkdtemp(tmpl.data()), nullptr);
    dir_ = tmpl;
  }
  void TearDown() override {
    std::error_code ec;
    std::filesystem::remove_all(dir_, ec);
  }

  std::string file(const std::string &name) const { return (dir_ / name).string(); }

  static std::string error_loading(const std::string &p) {
    try {
      load_config(p);
    } catch (const ConfigError &e) {
      return e.what();
    }
    return "";
  }

  std::filesystem::path dir_;
};

TEST_F(LoadConfig, ReadsARegularFile) {
  const std::string p = file("apps.json");
  int fd = ::open(p.c_str(), O_WRONLY | O_CREAT | O_CLOEXEC, 0644);
  ASSERT_GE(fd, 0);
  const std::string text = one_app("");
  ASSERT_EQ(::write(fd, text.data(), text.size()), static_cast<ssize_t>(text.size()));
  ::close(fd);
  // Not /tmp/rt: anyone could create that first (sys/directories.hpp).
  Config cfg = load_config(p, file("rt"));
  EXPECT_EQ(cfg.path, p);
  ASSERT_EQ(cfg.apps.size(), 1u);
  EXPECT_EQ(cfg.apps[0].heartbeat->endpoint, "ipc://" + file("rt") + "/web.hb");
}

TEST_F(LoadConfig, ErrorsNameTheFile) {
  const std::string p = file("apps.json");
  int fd = ::open(p.c_str(), O_WRONLY | O_CREAT | O_CLOEXEC, 0644);
  ASSERT_GE(fd, 0);
  const std::string text = "{\"apps\": 3}";
  ASSERT_EQ(::write(fd, text.data(), text.size()), static_cast<ssize_t>(text.size()));
  ::close(fd);
  EXPECT_EQ(error_loading(p), p + ": apps: must be an array of app objects, got number 3");
}

TEST_F(LoadConfig, RefusesADirectory) {
  EXPECT_EQ(error_loading(dir_.string()),
            dir_.string() +
                ": not a regular file (it is a directory); give the path of a JSON file");
}

TEST_F(LoadConfig, RefusesAFifoWithoutBlocking) {
  const std::string p = file("fifo");
  ASSERT_EQ(::mkfifo(p.c_str(), 0600), 0);
  EXPECT_THAT(error_loading(p), HasSubstr(p + ": not a regular file (it is a FIFO)"));
}

TEST_F(LoadConfig, RefusesADevice) {
  EXPECT_THAT(error_loading("/dev/null"),
              HasSubstr("/dev/null: not a regular file (it is a character device)"));
}

TEST_F(LoadConfig, RefusesAMissingFile) {
  const std::string p = file("missing.json");
  EXPECT_EQ(error_loading(p), p + ": cannot read: No such file or directory");
}

TEST_F(LoadConfig, RefusesAnOversizedFile) {
  const std::string p = file("big.json");
  int fd = ::open(p.c_str(), O_WRONLY | O_CREAT | O_CLOEXEC, 0644);
  ASSERT_GE(fd, 0);
  ASSERT_EQ(::ftruncate(fd, static_cast<off_t>(max_config_bytes + 1)), 0);
  ::close(fd);
  EXPECT_THAT(error_loading(p), HasSubstr(p + ": too large (16777217 bytes)"));
}

TEST_F(LoadConfig, AcceptsAFileOfExactlyTheMaximumSize) {
  const std::string p = file("max.json");
  std::string text = R"({"apps": []})";
  text.resize(max_config_bytes, ' ');
  int fd = ::open(p.c_str(), O_WRONLY | O_CREAT | O_CLOEXEC, 0644);
  ASSERT_GE(fd, 0);
  ASSERT_EQ(::write(fd, text.data(), text.size()), static_cast<ssize_t>(text.size()));
  ::close(fd);
  EXPECT_NO_THROW(load_config(p));
}

// --- the system's accounts ------------------------------------------------------------

TEST(SystemAccounts, RootByNameAndById) {
  const Accounts &accounts = system_accounts();
  const auto by_name = accounts.user_by_name("root");
  ASSERT_TRUE(by_name.found);
  EXPECT_EQ(by_name.found->uid, 0u);
  EXPECT_EQ(by_name.found->gid, 0u);
  EXPECT_EQ(by_name.found->home, "/root");
  const auto by_id = accounts.user_by_id(0);
  ASSERT_TRUE(by_id.found);
  EXPECT_EQ(by_id.found->name, "root");
  const auto group = accounts.group_by_name("root");
  ASSERT_TRUE(group.found);
  EXPECT_EQ(group.found->gid, 0u);
  ASSERT_TRUE(accounts.group_by_id(0).found);
  EXPECT_EQ(accounts.group_by_id(0).found->name, "root");
  EXPECT_THAT(accounts.groups_of("root", 0), ::testing::Contains(0u));
  EXPECT_TRUE(uid_in_group(0, "root"));
}

TEST(SystemAccounts, MissingIsNotAnError) {
  const Accounts &accounts = system_accounts();
  const auto user = accounts.user_by_name("no-such-user-hbmond");
  EXPECT_FALSE(user.found);
  EXPECT_EQ(user.error, 0);
  const auto group = accounts.group_by_name("no-such-group-hbmond");
  EXPECT_FALSE(group.found);
  EXPECT_EQ(group.error, 0);
  EXPECT_FALSE(accounts.user_by_id(3999999999u).found);
  EXPECT_FALSE(uid_in_group(0, "no-such-group-hbmond"));
  EXPECT_FALSE(uid_in_group(3999999999u, "root"));
}

TEST_F(LoadConfig, ResolvesAccountsOnTheSystem) {
  const std::string p = file("apps.json");
  int fd = ::open(p.c_str(), O_WRONLY | O_CREAT | O_CLOEXEC, 0644);
  ASSERT_GE(fd, 0);
  const std::string text = one_app(R"("user": "root")");
  ASSERT_EQ(::write(fd, text.data(), text.size()), static_cast<ssize_t>(text.size()));
  ::close(fd);
  Config cfg = load_config(p);
  EXPECT_EQ(cfg.apps.at(0).uid, 0u);
  EXPECT_EQ(cfg.apps.at(0).home, "/root");
}

// --- drop-ins ------------------------------------------------------------------------

class DropinFiles : public LoadConfig {
protected:
  void SetUp() override {
    LoadConfig::SetUp();
    write(file("apps.json"), R"({"apps": [{"name": "main", "command": ["/bin/true"]}]})");
    ASSERT_EQ(::mkdir(file("apps.d").c_str(), 0755), 0);
  }
  static void write(const std::string &p, const std::string &text, mode_t mode = 0644) {
    int fd = ::open(p.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, mode);
    ASSERT_GE(fd, 0) << p;
    ASSERT_EQ(::write(fd, text.data(), text.size()), static_cast<ssize_t>(text.size()));
    ::close(fd);
    ASSERT_EQ(::chmod(p.c_str(), mode), 0); // whatever the umask
  }
  static std::string apps_of(const std::string &name) {
    return R"({"apps": [{"name": ")" + name + R"(", "command": ["/bin/true"]}]})";
  }
  std::vector<std::string> names() {
    std::vector<std::string> n;
    for (const auto &a : load_config(file("apps.json"), file("rt")).apps)
      n.push_back(a.name);
    return n;
  }
};

TEST_F(DropinFiles, ReadInByteOrderOfTheirNamesSkippingOtherFiles) {
  write(file("apps.d/b.json"), apps_of("b"));
  write(file("apps.d/A.json"), apps_of("upper_a"));
  write(file("apps.d/10-x.json"), apps_of("ten"));
  write(file("apps.d/.hidden.json"), apps_of("hidden"));
  write(file("apps.d/notes.txt"), "not json");
  write(file("apps.d/old.json~"), apps_of("backup"));
  EXPECT_EQ(names(), (std::vector<std::string>{"main", "ten", "upper_a", "b"}));
  EXPECT_EQ(dropin_paths(file("apps.d")),
            (std::vector<std::string>{file("apps.d/10-x.json"), file("apps.d/A.json"),
                                      file("apps.d/b.json")}));
}

TEST_F(DropinFiles, NoDirectoryMeansNoDropins) {
  ASSERT_EQ(::rmdir(file("apps.d").c_str()), 0);
  EXPECT_EQ(names(), (std::vector<std::string>{"main"}));
}

TEST_F(DropinFiles, ADropinOthersMayWriteIsRefused) {
  write(file("apps.d/web.json"), apps_of("web"), 0664);
  EXPECT_THAT(error_loading(file("apps.json")),
              HasSubstr(file("apps.d/web.json") + ": refused: it is writable by its group"));
  write(file("apps.d/web.json"), apps_of("web"), 0646);
  EXPECT_THAT(error_loading(file("apps.json")), HasSubstr("it is writable by others"));
}

TEST_F(DropinFiles, ADropinOfAnotherUserIsRefused) {
  write(file("apps.d/web.json"), apps_of("web"));
  ASSERT_EQ(::chown(file("apps.d/web.json").c_str(), 65534, 65534), 0) << "tests run as root";
  EXPECT_THAT(error_loading(file("apps.json")),
              HasSubstr(file("apps.d/web.json") + ": refused: it belongs to uid 65534"));
}

TEST_F(DropinFiles, ADirectoryOthersMayWriteIsRefused) {
  write(file("apps.d/web.json"), apps_of("web"));
  ASSERT_EQ(::chmod(file("apps.d").c_str(), 0777), 0);
  EXPECT_THAT(error_loading(file("apps.json")), HasSubstr(file("apps.d") + ": refused: "));
  ASSERT_EQ(::chmod(file("apps.d").c_str(), 0755), 0);
  ASSERT_EQ(::chown(file("apps.d").c_str(), 65534, 65534), 0);
  EXPECT_THAT(error_loading(file("apps.json")), HasSubstr("belongs to"));
}

TEST_F(DropinFiles, ALinkIsJudgedByWhereItLeads) {
  ASSERT_EQ(::mkdir(file("shared").c_str(), 0755), 0);
  write(file("shared/web.json"), apps_of("web"));
  ASSERT_EQ(::symlink(file("shared/web.json").c_str(), file("apps.d/web.json").c_str()), 0);
  EXPECT_EQ(names(), (std::vector<std::string>{"main", "web"}));
  // The same file, in a directory another user may write: refused.
  ASSERT_EQ(::chmod(file("shared").c_str(), 0777), 0);
  EXPECT_THAT(error_loading(file("apps.json")), HasSubstr(file("apps.d/web.json") + ": refused: "));
  // A trusted file, linked from a directory others may write: they chose
  // which file to link, so that is refused too.
  ASSERT_EQ(::chmod(file("shared").c_str(), 0755), 0);
  EXPECT_EQ(names(), (std::vector<std::string>{"main", "web"}));
  ASSERT_EQ(::chmod(file("apps.d").c_str(), 0777), 0);
  EXPECT_THAT(error_loading(file("apps.json")), HasSubstr(file("apps.d") + ": refused: "));
}

TEST_F(DropinFiles, ADuplicateNameNamesBothFiles) {
  write(file("apps.d/main.json"), apps_of("main"));
  EXPECT_THAT(error_loading(file("apps.json")),
              HasSubstr(file("apps.d/main.json") +
                        ": apps[0].name: duplicate name \"main\", "
                        "first used at apps[0].name in " +
                        file("apps.json")));
}

} // namespace

// env_file syntax (systemd's EnvironmentFile=): what each line means, and
// every line that cannot be read is an error naming it.
#include "core/env_file.hpp"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

using namespace hbmon;
using ::testing::HasSubstr;

namespace {

EnvVars vars(std::string_view text) {
  auto r = parse_env_file(text);
  if (auto *e = std::get_if<std::string>(&r)) {
    ADD_FAILURE() << "refused: " << *e;
    return {};
  }
  return std::get<EnvVars>(r);
}

std::string error_of(std::string_view text) {
  auto r = parse_env_file(text);
  if (auto *e = std::get_if<std::string>(&r))
    return *e;
  return "";
}

} // namespace

TEST(EnvFile, AssignmentsCommentsAndBlanks) {
  EXPECT_EQ(vars("A=1\n\n# a comment\n  ; another\nB = two words  \n\tC=\nD=x=y"),
            (EnvVars{{"A", "1"}, {"B", "two words"}, {"C", ""}, {"D", "x=y"}}));
  EXPECT_EQ(vars(""), EnvVars{});
  EXPECT_EQ(vars("A=1\r\nB=2\r\n"), (EnvVars{{"A", "1"}, {"B", "2"}}));
}

TEST(EnvFile, ALaterAssignmentWins) { EXPECT_EQ(vars("A=1\nA=2\n"), (EnvVars{{"A", "2"}})); }

TEST(EnvFile, DoubleQuotes) {
  EXPECT_EQ(vars(R"(A="  kept blanks  ")"), (EnvVars{{"A", "  kept blanks  "}}));
  EXPECT_EQ(vars(R"(A="a \"b\" \\ \$HOME \` \n")"), (EnvVars{{"A", R"(a "b" \ $HOME ` \n)"}}));
  EXPECT_EQ(vars("A=\"one\ntwo\"\nB=3"), (EnvVars{{"A", "one\ntwo"}, {"B", "3"}}));
  EXPECT_EQ(vars("A=\"one \\\ntwo\""), (EnvVars{{"A", "one two"}}));
}

TEST(EnvFile, SingleQuotes) {
  EXPECT_EQ(vars(R"(A='no \escapes "here"')"), (EnvVars{{"A", R"(no \escapes "here")"}}));
  EXPECT_EQ(vars("A='x\ny'"), (EnvVars{{"A", "x\ny"}}));
}

TEST(EnvFile, UnquotedBackslashes) {
  EXPECT_EQ(vars("A=a\\ b\\\\c"), (EnvVars{{"A", "a b\\c"}}));
  EXPECT_EQ(vars("A=first \\\nsecond\nB=1"), (EnvVars{{"A", "first second"}, {"B", "1"}}));
  EXPECT_EQ(vars("A=end\\ "), (EnvVars{{"A", "end "}}));
}

TEST(EnvFile, EveryUnreadableLineIsAnErrorNamingIt) {
  EXPECT_EQ(error_of("A=1\nJUSTAWORD\n"), "line 2: no '=' in it; write KEY=VALUE");
  EXPECT_EQ(error_of("A=1\n=x"), "line 2: the variable name is empty");
  EXPECT_THAT(error_of("1A=x"), HasSubstr("line 1: the variable name \"1A\" starts with a digit"));
  EXPECT_EQ(error_of("A=\"open\nB=2"), "line 1: the double quote is never closed");
  EXPECT_EQ(error_of("A='open"), "line 1: the single quote is never closed");
  EXPECT_EQ(error_of("A=\"x\" y"), "line 1: text after the closing quote; quote the whole value");
  EXPECT_EQ(error_of(std::string_view("A=x\0y", 5)),
            "line 1: the value must not contain a NUL byte");
  EXPECT_THAT(error_of("A=1\nB=\"x\ny\"\nC\n"), HasSubstr("line 4: "));
}

TEST(EnvFile, KeysOfHbmondAndItsServiceManagerAreRefused) {
  EXPECT_THAT(error_of("HBMON_ENDPOINT=ipc:///x"),
              HasSubstr("line 1: HBMON_ENDPOINT is set by hbmond for each app"));
  EXPECT_THAT(error_of("A=1\nNOTIFY_SOCKET=/run/x"),
              HasSubstr("line 2: NOTIFY_SOCKET belongs to hbmond's service manager"));
  EXPECT_THAT(error_of("WATCHDOG_USEC=1"), HasSubstr("WATCHDOG_USEC belongs to"));
  EXPECT_EQ(refused_env_key("PATH"), "");
}

// hbmond's log: its own lines as "[monitor] <app>: <event>", each app's
// output as "[<app>] <line>". On a terminal or a plain stderr: spdlog with
// timestamps. Under journald (JOURNAL_STREAM names our stderr): the journal
// itself, in its native protocol over a socket that never blocks
// (sys/journal), app lines with SYSLOG_IDENTIFIER=<app>. Every line about
// an app, its own and hbmond's, carries HBMON_APP=<app> there, and
// hbmond's lines the structured fields of core/log_fields.hpp (MESSAGE_ID,
// HBMON_PID, HBMON_EXIT_STATUS, HBMON_SIGNAL, HBMON_REASON); on stderr the
// lines read as they always did.
#pragma once

#include "core/log_fields.hpp"
#include "core/watchdog.hpp"
#include "sys/loop.hpp"

#include <optional>
#include <string_view>
#include <sys/types.h>

namespace hbmon::logging {

void setup(LogLevel level);
void set_level(LogLevel level);
bool to_journal();
std::optional<LogLevel> parse_level(std::string_view s);

void daemon(LogLevel level, std::string_view text);
void app_event(std::string_view app, LogLevel level, std::string_view text,
               const LogFields &fields = {});
// A line of hbmond's own that concerns `app` ("refused panic web from ..."):
// as daemon(), with HBMON_APP in the journal.
void daemon_about(std::string_view app, LogLevel level, std::string_view text);
// `pid`: the app's current process (0: none), for the journal's SYSLOG_PID;
// `priority`: syslog's 0-7 (stdout 6, stderr 3, or the line's own <N>).
void app_output(std::string_view app, pid_t pid, int priority, std::string_view line);
bool enabled(LogLevel level);
// A "can't happen" that happened: logged at error as "internal error: ..."
// and, in builds with assertions (debug, sanitizers: the soak and the
// fuzzers), an abort, so that a logic slip is caught instead of skipped.
void invariant(std::string_view what);

// While it lives, journal entries that had to wait (journald busy) are sent
// from `loop`; when it goes (before the loop), they get one last second.
// Right before a re-exec's execve(): journal entries still waiting get
// half a second; if the execve fails, they wait on `loop` again.
void before_exec();
void exec_failed(Loop &loop);

class OnLoop {
public:
  explicit OnLoop(Loop &loop);
  OnLoop(const OnLoop &) = delete;
  OnLoop &operator=(const OnLoop &) = delete;
  ~OnLoop();
};

} // namespace hbmon::logging

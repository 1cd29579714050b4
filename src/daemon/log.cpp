#include "daemon/log.hpp"

#include "core/heartbeat.hpp"
#include "core/signal_names.hpp"

#include "sys/journal.hpp"

#include <array>
#include <cassert>
#include <cstdlib>
#include <spdlog/details/null_mutex.h>
#include <spdlog/sinks/base_sink.h>
#include <spdlog/sinks/stdout_sinks.h>
#include <spdlog/spdlog.h>
#include <sys/stat.h>
#include <unistd.h>

namespace hbmon::logging {

namespace {

bool journal = false;
std::unique_ptr<Journal> journal_out; // set when `journal`
std::shared_ptr<spdlog::logger> logger;

spdlog::level::level_enum to_spd(LogLevel l) {
  switch (l) {
  case LogLevel::debug:
    return spdlog::level::debug;
  case LogLevel::info:
    return spdlog::level::info;
  case LogLevel::warning:
    return spdlog::level::warn;
  case LogLevel::error:
    return spdlog::level::err;
  }
  return spdlog::level::info;
}

// JOURNAL_STREAM is "<dev>:<ino>" of the stream systemd connected; it only
// counts when that stream is still our stderr (not inherited by accident).
bool stderr_is_journal() {
  const char *js = std::getenv("JOURNAL_STREAM");
  if (!js || !*js)
    return false;
  struct stat st {};
  if (::fstat(STDERR_FILENO, &st) < 0)
    return false;
  unsigned long long dev = 0, ino = 0;
  if (std::sscanf(js, "%llu:%llu", &dev, &ino) != 2)
    return false;
  return dev == st.st_dev && ino == st.st_ino;
}

// syslog(3) priorities, as journald files them.
std::string_view priority(spdlog::level::level_enum l) {
  switch (l) {
  case spdlog::level::trace:
  case spdlog::level::debug:
    return "7";
  case spdlog::level::info:
    return "6";
  case spdlog::level::warn:
    return "4";
  case spdlog::level::err:
    return "3";
  default:
    return "2";
  }
}

// hbmond's own lines into the journal (sys/journal: never blocking).
class JournalSink : public spdlog::sinks::base_sink<spdlog::details::null_mutex> {
protected:
  void sink_it_(const spdlog::details::log_msg &msg) override {
    const std::array<Journal::Field, 3> fields{{
        {"MESSAGE", std::string_view(msg.payload.data(), msg.payload.size())},
        {"PRIORITY", priority(msg.level)},
        {"SYSLOG_IDENTIFIER", "hbmond"},
    }};
    journal_out->send(fields);
  }
  void flush_() override {}
};

} // namespace

void setup(LogLevel level) {
  journal = stderr_is_journal();
  if (journal) {
    journal_out = std::make_unique<Journal>([](std::uint64_t n) {
      daemon(LogLevel::warning, fmt::format("journal busy: {} lines dropped", n));
    });
    logger = std::make_shared<spdlog::logger>("hbmond", std::make_shared<JournalSink>());
  } else {
    auto sink = std::make_shared<spdlog::sinks::stderr_sink_st>();
    logger = std::make_shared<spdlog::logger>("hbmond", sink);
    logger->set_pattern("%Y-%m-%d %H:%M:%S.%e %-7l %v");
  }
  logger->set_level(to_spd(level));
  logger->flush_on(spdlog::level::trace);
  spdlog::set_default_logger(logger);
}

void set_level(LogLevel level) {
  if (logger)
    logger->set_level(to_spd(level));
}

bool enabled(LogLevel level) { return logger && logger->should_log(to_spd(level)); }

bool to_journal() { return journal; }

std::optional<LogLevel> parse_level(std::string_view s) {
  if (s == "warn")
    return LogLevel::warning; // as spdlog and syslog spell it
  return log_level_names.parse(s);
}

void invariant(std::string_view what) {
  daemon(LogLevel::error, fmt::format("internal error: {}", what));
  assert(!"a can't-happen branch was taken; see the log line before");
}

void daemon(LogLevel level, std::string_view text) {
  if (logger)
    logger->log(to_spd(level), "[monitor] {}", text);
}

namespace {

// One of hbmond's lines about `app`, with its fields, into the journal.
void journal_line(LogLevel level, const std::string &message, std::string_view app,
                  const LogFields &f) {
  const std::string pid = std::to_string(f.pid), status = std::to_string(f.exit_status),
                    signal = f.signal ? signal_name(f.signal) : std::string();
  std::array<Journal::Field, 9> fields;
  std::size_t n = 0;
  auto add = [&](std::string_view name, std::string_view value, bool when = true) {
    if (when)
      fields[n++] = {name, value};
  };
  add("MESSAGE", message);
  add("PRIORITY", priority(to_spd(level)));
  add("SYSLOG_IDENTIFIER", "hbmond");
  add("HBMON_APP", app, !app.empty());
  add("MESSAGE_ID", f.message_id, !f.message_id.empty());
  add("HBMON_PID", pid, f.pid > 0);
  add("HBMON_EXIT_STATUS", status, f.exit_status >= 0);
  add("HBMON_SIGNAL", signal, f.signal != 0);
  add("HBMON_REASON", f.reason, !f.reason.empty());
  journal_out->send(std::span(fields).first(n));
}

} // namespace

void app_event(std::string_view app, LogLevel level, std::string_view text, const LogFields &f) {
  if (!enabled(level))
    return;
  if (journal)
    journal_line(level, fmt::format("[monitor] {}: {}", app, text), app, f);
  else
    logger->log(to_spd(level), "[monitor] {}: {}", app, text);
}

void daemon_about(std::string_view app, LogLevel level, std::string_view text) {
  if (!enabled(level))
    return;
  if (journal)
    journal_line(level, fmt::format("[monitor] {}", text), app, {});
  else
    logger->log(to_spd(level), "[monitor] {}", text);
}

void app_output(std::string_view app, pid_t pid, int prio, std::string_view line) {
  const std::string text = printable(line);
  if (journal) {
    const std::string pid_text = std::to_string(pid);
    const char prio_text[2] = {static_cast<char>('0' + (prio & 7)), '\0'};
    std::array<Journal::Field, 5> fields{{
        {"MESSAGE", text},
        {"PRIORITY", prio_text},
        {"SYSLOG_IDENTIFIER", app},
        {"HBMON_APP", app},
        {"SYSLOG_PID", pid_text},
    }};
    journal_out->send(std::span(fields).first(pid > 0 ? 5 : 4));
    return;
  }
  // On stderr an app's lines keep their old form, whatever their priority.
  if (logger)
    logger->log(spdlog::level::info, "[{}] {}", app, text);
}

void before_exec() {
  if (journal_out)
    journal_out->detach(std::chrono::milliseconds(500));
}

void exec_failed(Loop &loop) {
  if (journal_out)
    journal_out->attach(loop);
}

OnLoop::OnLoop(Loop &loop) {
  if (journal_out)
    journal_out->attach(loop);
}

OnLoop::~OnLoop() {
  if (journal_out)
    journal_out->detach(std::chrono::seconds(1));
}

} // namespace hbmon::logging

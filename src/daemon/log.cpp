#include "daemon/log.hpp"

#include "core/heartbeat.hpp"

#include <cassert>
#include <cstdlib>
#include <spdlog/sinks/stdout_sinks.h>
#include <spdlog/sinks/systemd_sink.h>
#include <spdlog/spdlog.h>
#include <sys/stat.h>
#include <systemd/sd-journal.h>
#include <unistd.h>

namespace hbmon::logging {

namespace {

bool journal = false;
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

} // namespace

void setup(LogLevel level) {
  journal = stderr_is_journal();
  if (journal) {
    auto sink = std::make_shared<spdlog::sinks::systemd_sink_st>("hbmond");
    logger = std::make_shared<spdlog::logger>("hbmond", sink);
    logger->set_pattern("%v");
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

void app_event(std::string_view app, LogLevel level, std::string_view text) {
  if (logger)
    logger->log(to_spd(level), "[monitor] {}: {}", app, text);
}

void app_output(std::string_view app, pid_t pid, std::string_view line) {
  const std::string text = printable(line);
  if (journal) {
    const int len = static_cast<int>(app.size());
    if (pid > 0)
      sd_journal_send("MESSAGE=%s", text.c_str(), "PRIORITY=6", "SYSLOG_IDENTIFIER=%.*s", len,
                      app.data(), "SYSLOG_PID=%d", static_cast<int>(pid), "HBMON_APP=%.*s", len,
                      app.data(), nullptr);
    else
      sd_journal_send("MESSAGE=%s", text.c_str(), "PRIORITY=6", "SYSLOG_IDENTIFIER=%.*s", len,
                      app.data(), "HBMON_APP=%.*s", len, app.data(), nullptr);
    return;
  }
  if (logger)
    logger->log(spdlog::level::info, "[{}] {}", app, text);
}

} // namespace hbmon::logging

#include "sys/journal_read.hpp"

#include <algorithm>
#include <cstdlib>
#include <cstring>
#include <string_view>
#include <systemd/sd-journal.h>
#include <systemd/sd-login.h>

namespace hbmon {

namespace {

std::string field(sd_journal *j, const char *name) {
  const void *data = nullptr;
  size_t len = 0;
  if (sd_journal_get_data(j, name, &data, &len) < 0)
    return {};
  std::string_view s(static_cast<const char *>(data), len);
  const std::size_t eq = s.find('=');
  return eq == std::string_view::npos ? std::string() : std::string(s.substr(eq + 1));
}

std::string errno_text(const char *what, int r) {
  return std::string(what) + ": " + std::strerror(-r);
}

} // namespace

JournalReader::~JournalReader() {
  if (j_)
    sd_journal_close(j_);
}

std::string JournalReader::own_unit() {
  char *unit = nullptr;
  if (sd_pid_get_unit(0, &unit) < 0 || !unit)
    return "hbmond.service";
  std::string u(unit);
  std::free(unit);
  return u;
}

JournalRead JournalReader::read(const JournalQuery &q) {
  JournalRead out;
  if (!j_) {
    if (int r = sd_journal_open(&j_, SD_JOURNAL_LOCAL_ONLY); r < 0) {
      j_ = nullptr;
      out.error = errno_text("cannot open the journal", r);
      return out;
    }
    sd_journal_get_fd(j_); // from now on it watches for new and rotated files
  }
  sd_journal_process(j_); // take in what changed since the last read
  // (unit AND identifier) OR (unit AND HBMON_APP)
  const std::string unit = "_SYSTEMD_UNIT=" + q.unit, ident = "SYSLOG_IDENTIFIER=" + q.app,
                    app = "HBMON_APP=" + q.app;
  sd_journal_flush_matches(j_);
  if (sd_journal_add_match(j_, unit.data(), unit.size()) < 0 ||
      sd_journal_add_match(j_, ident.data(), ident.size()) < 0 ||
      sd_journal_add_disjunction(j_) < 0 ||
      sd_journal_add_match(j_, unit.data(), unit.size()) < 0 ||
      sd_journal_add_match(j_, app.data(), app.size()) < 0) {
    out.error = "cannot select the app's entries";
    return out;
  }
  auto take = [&](std::size_t &bytes) {
    JournalEntry e;
    std::uint64_t usec = 0;
    if (sd_journal_get_realtime_usec(j_, &usec) >= 0)
      e.time_us = static_cast<std::int64_t>(usec);
    const std::string prio = field(j_, "PRIORITY");
    if (prio.size() == 1 && prio[0] >= '0' && prio[0] <= '7')
      e.priority = prio[0] - '0';
    e.identifier = field(j_, "SYSLOG_IDENTIFIER");
    std::string pid = field(j_, "SYSLOG_PID"); // the app's; hbmond's own lines have none
    if (pid.empty())
      pid = field(j_, "_PID");
    e.pid = static_cast<pid_t>(std::atoi(pid.c_str()));
    e.message = field(j_, "MESSAGE");
    bytes += e.message.size() + e.identifier.size() + 64;
    out.entries.push_back(std::move(e));
  };
  auto remember = [&] {
    char *c = nullptr;
    if (sd_journal_get_cursor(j_, &c) >= 0 && c) {
      out.cursor = c;
      std::free(c);
    }
  };
  std::size_t bytes = 0;
  if (!q.after) {
    sd_journal_seek_tail(j_);
    for (std::uint64_t n = 0; n < q.lines && bytes < q.max_bytes; ++n) {
      if (sd_journal_previous(j_) <= 0)
        break;
      if (n == 0)
        remember();
      take(bytes);
    }
    std::reverse(out.entries.begin(), out.entries.end());
    if (out.cursor.empty()) {
      // Nothing yet: go on from the end as it is now.
      sd_journal_seek_tail(j_);
      if (sd_journal_previous(j_) > 0)
        remember();
    }
    return out;
  }
  out.cursor = q.cursor;
  if (q.cursor.empty()) {
    sd_journal_seek_head(j_); // there was no entry: each one is new
  } else if (sd_journal_seek_cursor(j_, q.cursor.c_str()) < 0) {
    out.error = "bad cursor";
    return out;
  } else if (sd_journal_next(j_) > 0 && sd_journal_test_cursor(j_, q.cursor.c_str()) <= 0) {
    // seek_cursor lands on that entry when it is still there; else on the
    // next one, which is new: step back so that the loop reads it.
    sd_journal_previous(j_);
  }
  for (std::uint64_t n = 0; n < q.lines && bytes < q.max_bytes; ++n) {
    if (sd_journal_next(j_) <= 0)
      break;
    take(bytes);
    remember();
  }
  return out;
}

} // namespace hbmon

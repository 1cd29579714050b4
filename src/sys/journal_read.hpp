// Reading one app's lines back from the journal, for `hbmonctl logs` under
// systemd: the entries of hbmond's unit that the app wrote
// (SYSLOG_IDENTIFIER=<app>) or that hbmond wrote about it (HBMON_APP=<app>),
// as SPEC.md selects them, and nothing that an unrelated program with the
// app's name wrote.
//
// Contract: a JournalReader is used by one thread at a time (the Worker:
// sd-journal reads files and may block). It opens the local journal on
// first use and keeps it open. read() gives the newest `lines` entries, or
// with `after` the first `lines` after the cursor, oldest first, at most
// `max_bytes` of messages in all, and the cursor of the last entry read
// (the one it was given when none is newer), for the next read to go on
// from. A journal that cannot be opened or read gives an error text.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <sys/types.h>
#include <vector>

struct sd_journal;

namespace hbmon {

struct JournalQuery {
  std::string unit; // hbmond's own, e.g. "hbmond.service"
  std::string app;
  std::uint64_t lines = 10;
  bool after = false; // false: the newest `lines`; true: the first after `cursor`
  std::string cursor; // empty with `after`: there was none, every entry is new
  std::size_t max_bytes = 1 << 20;
};

struct JournalEntry {
  std::int64_t time_us = 0; // wall clock
  int priority = 6;
  std::string identifier; // SYSLOG_IDENTIFIER: the app, or hbmond
  pid_t pid = 0;
  std::string message;
};

struct JournalRead {
  std::vector<JournalEntry> entries;
  std::string cursor;
  std::string error; // empty when it worked
};

class JournalReader {
public:
  JournalReader() = default;
  JournalReader(const JournalReader &) = delete;
  JournalReader &operator=(const JournalReader &) = delete;
  ~JournalReader();

  JournalRead read(const JournalQuery &q);

  // hbmond's unit, as systemd named it ("hbmond.service" when unknown).
  static std::string own_unit();

private:
  sd_journal *j_ = nullptr;
};

} // namespace hbmon

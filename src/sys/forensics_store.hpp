// The forensics directory (SPEC "Forensics"): <dir>/<app>/<id>.json, mode
// 0600, the newest `keep` of each app.
//
// Contract: blocking file I/O, for the forensics thread (writes) and the
// Worker (listing, reading for `hbmonctl forensics`). The directory and each
// app's are made 0700 when missing. Each one on the way must be a real
// directory (not a symlink) owned by root or by hbmond's user, and not
// writable by group or others: a local user who could write there could
// plant a symlink where a record goes, and root would follow it. A record
// is created with O_EXCL and O_NOFOLLOW under the directory's fd, never by
// a path a second time. Failures throw std::runtime_error with the reason.
#pragma once

#include "core/config.hpp"

#include <optional>
#include <string>
#include <vector>

namespace hbmon {

class ForensicsStore {
public:
  explicit ForensicsStore(ForensicsConfig cfg) : cfg_(std::move(cfg)) {}

  // Write `text` as record `id` of `app`, then delete its oldest beyond
  // `keep`. Returns the record's path.
  std::string write(const std::string &app, const std::string &id, const std::string &text) const;
  // The ids of `app`'s records, oldest first (none: no directory yet).
  std::vector<std::string> list(const std::string &app) const;
  // Record `id` of `app` (nullopt: no such record).
  std::optional<std::string> read(const std::string &app, const std::string &id) const;

  const ForensicsConfig &config() const { return cfg_; }

private:
  ForensicsConfig cfg_;
};

} // namespace hbmon

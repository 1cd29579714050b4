// The verify pass of parse_config(): what needs more than one field, or the
// system. Names and endpoints must be unique (control and events included),
// backoff_max must be at least restart_delay, and each `user` and `group`
// must name an existing account, by name or by id, and the directory of each
// ipc:// endpoint must be one only root and hbmond's user can change
// (core/directories.hpp).
//
// Contract: resolves accounts only through `accounts` and judges directories
// only through `directories` (no system call here),
// filling in uid, gid, home and the supplementary groups; adds a Problem for
// each failure. Fields that read_config() could not read are not checked
// again (ReadApp's *_ok flags), so each mistake is reported once.
#pragma once

#include "core/accounts.hpp"
#include "core/config.hpp"
#include "core/config_messages.hpp"
#include "core/config_reader.hpp"
#include "core/directories.hpp"

#include <vector>

namespace hbmon::config_detail {

void verify_config(const Config &cfg, std::vector<ReadApp> &apps, const Accounts &accounts,
                   const Directories &directories, std::vector<Problem> &problems);

} // namespace hbmon::config_detail

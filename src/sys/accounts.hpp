// Users and groups from the system's account databases (NSS: /etc/passwd,
// /etc/group, LDAP, ...). The one place of the project that calls getpw*,
// getgr* and getgrouplist.
//
// Contract: system_accounts() is core/accounts.hpp's interface answered by
// getpwnam_r & co (buffers grow as needed; "no such entry" and the errors
// NSS modules use for it are told apart from a failed lookup). The helpers
// below answer the daemon's own questions the same way.
#pragma once

#include "core/accounts.hpp"

#include <optional>
#include <string>
#include <sys/types.h>

namespace hbmon {

const Accounts &system_accounts();

// The account name of `uid`; nullopt when it has none (or the lookup failed).
std::optional<std::string> name_of_uid(uid_t uid);

// True when `uid`'s account has `group` as its primary or a supplementary
// group. False when either does not exist.
bool uid_in_group(uid_t uid, const std::string &group);

} // namespace hbmon

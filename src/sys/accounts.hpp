// Users and groups from the system's account databases (NSS: /etc/passwd,
// /etc/group, LDAP, ...). The one place of the project that calls getpw*,
// getgr* and getgrouplist.
//
// Contract: system_accounts() is core/accounts.hpp's interface answered by
// getpwnam_r & co (buffers grow as needed; "no such entry" and the errors
// NSS modules use for it are told apart from a failed lookup). The helper
// below answers the daemon's own question the same way. Each call may
// block as long as NSS takes (LDAP, SSSD): hbmond makes them off its loop
// (daemon/admins.hpp, the config's load in daemon/daemon.cpp).
#pragma once

#include "core/accounts.hpp"

#include <string>
#include <sys/types.h>

namespace hbmon {

const Accounts &system_accounts();

// True when `uid`'s account has `group` as its primary or a supplementary
// group. False when either does not exist.
bool uid_in_group(uid_t uid, const std::string &group);

} // namespace hbmon

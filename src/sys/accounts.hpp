// Users and groups from the system's account databases (NSS: /etc/passwd,
// /etc/group, LDAP, ...).
//
// Contract: system_accounts() is core/accounts.hpp's interface answered by
// getpwnam_r & co (buffers grow as needed; "no such entry" and the errors
// NSS modules use for it are told apart from a failed lookup).
#pragma once

#include "core/accounts.hpp"

namespace hbmon {

const Accounts &system_accounts();

} // namespace hbmon

// Account facts for authorization.
#pragma once

#include <string>
#include <sys/types.h>

namespace hbmon {

// True when `uid`'s account has `group` as its primary or a supplementary
// group. False when either does not exist.
bool uid_in_group(uid_t uid, const std::string &group);

} // namespace hbmon

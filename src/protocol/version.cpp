#include "protocol/version.hpp"

#include "version.h"

namespace hbmon {

const char *const program_version = HBMON_VERSION;

} // namespace hbmon

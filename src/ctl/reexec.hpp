// `hbmonctl reexec`: ask hbmond to re-execute itself, then wait until the
// new program answers (SPEC "Re-exec": done once `info` shows `reexecs`
// incremented).
//
// The reply to the reexec request normally never comes: when hbmond's check
// of the new binary passes, it execs, and the request dies with the old
// program. So hbmonctl asks `info` on a fresh connection every reexec_poll
// while it waits, and takes connections that fail or stay silent for a
// moment (the exec itself) as normal. The wait ends with
//   - an `info` from the same pid with a higher `reexecs`: done;
//   - an `info` from another pid: hbmond was restarted instead (exit 1);
//   - an ok:false reply to the request: the check refused (exit 1);
//   - the deadline: exit 3.
#pragma once

#include "ctl/client.hpp"

#include <chrono>
#include <nlohmann/json.hpp>

namespace hbmon::ctl {

// The wait without --timeout: hbmond's check may take 30 s (Reexec::check_timeout).
inline constexpr double reexec_wait = 35.0; // seconds
inline constexpr auto reexec_poll = std::chrono::milliseconds(100);
// Each `info` while waiting waits for its reply at most this long.
inline constexpr double reexec_info_timeout = 1.0; // seconds

// `target.timeout` bounds the first `info`; `wait` (seconds) the whole.
// Returns the re-executed hbmond's `info` reply; throws CtlError otherwise.
nlohmann::json reexec_and_wait(const ControlTarget &target, double wait);

} // namespace hbmon::ctl

// The wait: the request on its own socket, read between the `info` polls,
// each of which is a fresh connection (the old one may have died with the
// old program).
#include "ctl/reexec.hpp"

#include "ctl/error.hpp"
#include "protocol/protocol.hpp"

#include <algorithm>
#include <fmt/format.h>
#include <optional>
#include <thread>

namespace hbmon::ctl {
namespace {

using nlohmann::json;
using Clock = std::chrono::steady_clock;

std::optional<long long> integer_member(const json &reply, const char *key) {
  auto it = reply.find(key);
  if (it == reply.end() || !it->is_number_integer())
    return std::nullopt;
  return it->get<long long>();
}

double seconds_until(Clock::time_point t) {
  return std::chrono::duration<double>(t - Clock::now()).count();
}

} // namespace

json reexec_and_wait(const ControlTarget &target, double wait) {
  const auto deadline = Clock::now() + std::chrono::duration_cast<Clock::duration>(
                                           std::chrono::duration<double>(wait));
  const json info_request = build_request({.cmd = Command::info});
  const json before = call(target, info_request);
  const std::optional<long long> pid = integer_member(before, "pid");
  const long long reexecs = integer_member(before, "reexecs").value_or(0);

  PendingCall request(target, build_request({.cmd = Command::reexec}));
  bool answered = false; // ok:true: the exec is under way, all the same
  while (Clock::now() < deadline) {
    const auto next = std::min(Clock::now() + reexec_poll, deadline);
    if (!answered)
      answered = request.reply(std::chrono::ceil<std::chrono::milliseconds>(next - Clock::now()))
                     .has_value(); // a refusal throws
    std::this_thread::sleep_until(next);
    const double left = seconds_until(deadline);
    if (left <= 0)
      break;
    const auto info =
        call_if_answered({target.endpoint, std::min(reexec_info_timeout, left)}, info_request);
    if (!info)
      continue;
    const std::optional<long long> now_pid = integer_member(*info, "pid");
    if (pid && now_pid && *now_pid != *pid)
      throw CtlError(
          exit_refused,
          fmt::format("hbmond was restarted, not re-executed: pid {} -> {}", *pid, *now_pid),
          "restarted");
    if (integer_member(*info, "reexecs").value_or(0) > reexecs)
      return *info;
  }
  throw CtlError(exit_unreachable,
                 fmt::format("no re-executed hbmond answered within {:g} s", wait), "no-reply");
}

} // namespace hbmon::ctl

// libFuzzer target: any message an app (or anyone) sends to a heartbeat
// socket parses, over either protocol (ZeroMQ, or systemd's notify
// datagrams), and STATUS= text and printable() come out printable (no C0,
// DEL or C1 controls) and bounded. Over ZeroMQ every message is a
// heartbeat; over notify only one with WATCHDOG=1 is.
#include "core/heartbeat.hpp"

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

namespace {

// No C0 control but tab, no DEL, no C1 control (U+0080..U+009F, in UTF-8
// 0xC2 0x80..0x9F): what a terminal or a log viewer would act on.
void check_printable(const std::string &s) {
  for (std::size_t i = 0; i < s.size(); ++i) {
    const auto c = static_cast<unsigned char>(s[i]);
    if ((c < 0x20 && c != '\t') || c == 0x7f)
      __builtin_trap();
    if (c == 0xC2 && i + 1 < s.size() && static_cast<unsigned char>(s[i + 1]) < 0xA0)
      __builtin_trap();
  }
}

} // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t *data, std::size_t size) {
  std::string_view text(reinterpret_cast<const char *>(data), size);
  for (auto protocol : {hbmon::HeartbeatProtocol::zmq, hbmon::HeartbeatProtocol::notify}) {
    const hbmon::HeartbeatMsg m = hbmon::parse_heartbeat(text, protocol);
    if (m.status) {
      if (m.status->size() > hbmon::max_status_chars)
        __builtin_trap();
      check_printable(*m.status);
    }
    const bool notify = protocol == hbmon::HeartbeatProtocol::notify;
    if (notify ? m.beat && text.find("WATCHDOG=1") == std::string_view::npos : !m.beat)
      __builtin_trap();
    if (!notify && (m.stopping || m.reloading || m.error || m.watchdog_usec || m.extend_timeout ||
                    m.mainpid || m.fdstore || m.barrier))
      __builtin_trap();
    if (m.watchdog_usec && m.watchdog_usec->count() <= 0)
      __builtin_trap();
    if ((m.extend_timeout && m.extend_timeout->count() < 0) || (m.error && *m.error < 0))
      __builtin_trap();
  }
  check_printable(hbmon::printable(text));
  const std::string cut = hbmon::printable(text, {.limit = 100});
  if (cut.size() > 100)
    __builtin_trap();
  check_printable(cut);
  return 0;
}

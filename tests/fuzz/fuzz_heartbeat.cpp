// libFuzzer target: any message an app (or anyone) sends to a heartbeat
// socket parses, and STATUS= text comes out printable and bounded.
#include "core/heartbeat.hpp"

#include <cstddef>
#include <cstdint>
#include <string_view>

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t *data, std::size_t size) {
  std::string_view text(reinterpret_cast<const char *>(data), size);
  hbmon::HeartbeatMsg m = hbmon::parse_heartbeat(text);
  if (m.status) {
    if (m.status->size() > hbmon::max_status_chars)
      __builtin_trap();
    for (unsigned char c : *m.status)
      if (c < 0x20 && c != '\t')
        __builtin_trap();
  }
  (void)hbmon::printable(text);
  return 0;
}

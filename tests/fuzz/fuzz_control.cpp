// libFuzzer target: any control request gets a Request or a ProtocolError,
// and every reply built from it serializes.
#include "protocol/protocol.hpp"

#include <cstddef>
#include <cstdint>
#include <string_view>

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t *data, std::size_t size) {
  std::string_view text(reinterpret_cast<const char *>(data), size);
  try {
    hbmon::Request r = hbmon::parse_request(text);
    nlohmann::json reply = hbmon::ok_reply();
    reply["app"] = r.app;
    reply["message"] = r.reason;
    reply["apps"] = r.apps;
    (void)hbmon::dump(reply);
  } catch (const hbmon::ProtocolError &e) {
    (void)hbmon::dump(hbmon::error_reply(e.code(), e.what()));
  }
  return 0;
}

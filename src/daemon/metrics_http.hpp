// GET /metrics over HTTP (SPEC "Metrics"): libmicrohttpd in its external
// epoll mode. Its epoll fd is one more watch in the loop and its deadlines
// one loop timer: the server has no thread and never blocks the loop.
//
// Contract: the constructor binds the address (throws std::system_error
// naming it). A GET or HEAD of /metrics is held, its connection suspended,
// until the text is ready: it asks `produce` once, and every request that
// arrives before the text is delivered gets that same text, so a flood of
// scrapes costs one text at a time. A client that accepts gzip (Prometheus
// does) gets it gzipped, by the producer, off the loop. Other paths are 404, other methods 405.
// What a peer may hold is bounded (connections in all and per address, an
// idle timeout, the size of a request): a slow, idle or hostile peer is cut
// off by libmicrohttpd and the loop never waits for it. Dropping the server
// answers the held requests 503 and closes every connection.
#pragma once

#include "sys/loop.hpp"

#include <cstdint>
#include <functional>
#include <memory>
#include <string>

struct MHD_Daemon;

namespace hbmon {

// What the peers of the endpoint may hold.
struct HttpLimits {
  unsigned connections = 64;
  unsigned per_address = 16;
  unsigned idle_timeout_s = 10;
  std::size_t request_bytes = 16 * 1024; // headers and all
};

class MetricsHttp {
public:
  using Limits = HttpLimits;
  // The text, and when asked for, the same gzipped (else empty).
  struct Text {
    std::string plain;
    std::string gzipped;
  };
  using Deliver = std::function<void(Text text)>; // called on the loop
  // `gzip`: a request waiting for the text takes gzip (Accept-Encoding).
  using Produce = std::function<void(bool gzip, Deliver deliver)>;

  MetricsHttp(Loop &loop, const std::string &host, std::uint16_t port, Produce produce,
              Limits limits = {});
  MetricsHttp(const MetricsHttp &) = delete;
  MetricsHttp &operator=(const MetricsHttp &) = delete;
  ~MetricsHttp();

  struct Core;    // what libmicrohttpd's callbacks reach
  struct Request; // one request's state

private:
  std::shared_ptr<Core> core_;
};

} // namespace hbmon

// HTTP and TCP liveness probes on the event loop, through libcurl's
// multi-socket interface: libcurl does the name resolution (its threaded
// resolver), the non-blocking connect and HTTP; the loop watches the
// sockets libcurl names and runs the one timer it asks for. Nothing here
// blocks.
//
// Contract: http() and tcp() start one probe each and return its id; its
// `done` is called exactly once, from the loop, with the verdict, unless
// cancel() came first (then never). A probe that has not ended within its
// timeout has failed ("timed out after 1s"), and its connection is closed.
// HTTP: a GET on a fresh connection, no proxy, no redirect followed; an
// answer with status 200-399 is alive, whatever its body (read up to 64
// KiB, then the connection is dropped: a huge answer costs nothing more).
// TCP: alive when a connection is established (then closed at once).
// `done` may start or cancel probes.
#pragma once

#include "sys/loop.hpp"

#include <chrono>
#include <cstdint>
#include <functional>
#include <map>
#include <string>
#include <unordered_map>

namespace hbmon {

class NetProbes {
public:
  using Id = std::uint64_t;
  using Done = std::function<void(bool ok, std::string reason)>;

  explicit NetProbes(Loop &loop);
  NetProbes(const NetProbes &) = delete;
  NetProbes &operator=(const NetProbes &) = delete;
  ~NetProbes();

  // `url`: "http://HOST:PORT/PATH", as the config checked it. Both throw
  // std::runtime_error when libcurl cannot start (at the first probe).
  Id http(const std::string &url, std::chrono::milliseconds timeout, Done done);
  // `host`: a name or an address (IPv6 without brackets).
  Id tcp(const std::string &host, std::uint16_t port, std::chrono::milliseconds timeout, Done done);
  void cancel(Id id);
  std::size_t in_flight() const { return probes_.size(); }

private:
  struct Probe;
  Id start(const std::string &url, bool connect_only, std::chrono::milliseconds timeout, Done done);
  void start_curl();
  void drop(Probe &p);
  void act(int fd, std::uint32_t events);
  void reap();
  struct Callbacks; // libcurl's, in net_probes.cpp

  Loop &loop_;
  void *multi_ = nullptr; // CURLM *
  std::map<Id, std::unique_ptr<Probe>> probes_;
  std::unordered_map<int, Loop::Watch> watches_; // the sockets libcurl asked us to watch
  Loop::Timer timer_;
  Id next_id_ = 1;
};

} // namespace hbmon

// hbbench_pull: the raw libzmq floor for heartbeat intake. Binds a PULL
// socket at ENDPOINT, waits for the first message, then counts messages
// for SECONDS in a tight recv loop and prints "<messages> <seconds>".
//
// Usage: hbbench_pull ENDPOINT SECONDS
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <zmq.hpp>

int main(int argc, char **argv) {
  if (argc != 3) {
    std::fprintf(stderr, "usage: hbbench_pull ENDPOINT SECONDS\n");
    return 2;
  }
  const double seconds = std::atof(argv[2]);
  zmq::context_t ctx(1);
  zmq::socket_t pull(ctx, zmq::socket_type::pull);
  pull.set(zmq::sockopt::maxmsgsize, std::int64_t{4096}); // as hbmond's sockets
  pull.bind(argv[1]);
  std::printf("ready\n");
  std::fflush(stdout);
  zmq::message_t msg;
  if (!pull.recv(msg))
    return 1;
  using Clock = std::chrono::steady_clock;
  const auto start = Clock::now();
  const auto end = start + std::chrono::duration<double>(seconds);
  unsigned long long n = 0;
  pull.set(zmq::sockopt::rcvtimeo, 100);
  while (Clock::now() < end) {
    // Check the clock every 1,024 messages: the loop stays tight.
    for (int i = 0; i < 1024; ++i) {
      if (!pull.recv(msg))
        break;
      ++n;
    }
  }
  std::printf("%llu %.6f\n", n, std::chrono::duration<double>(Clock::now() - start).count());
  return 0;
}

// Where the metrics come from (SPEC "Metrics"), for `hbmonctl metrics` and
// for GET /metrics (daemon/metrics_http.hpp) when `metrics.listen` is set.
//
// Contract: text() copies on the loop what the families show (~0.2 ms at
// 1,000 apps); the Worker then samples the apps' process groups from /proc
// (one pass, reused for a second) and writes the text, and `finish` gets it
// there. Each group's sampled CPU time goes back to its app on the loop,
// whose counter never goes down. listen() binds, moves or closes the HTTP
// endpoint; when it cannot bind it keeps what was serving and says why.
#pragma once

#include "core/config.hpp"
#include "core/metrics_text.hpp"
#include "daemon/metrics_http.hpp"
#include "daemon/supervisor.hpp"
#include "sys/loop.hpp"
#include "sys/proc.hpp"
#include "sys/worker.hpp"

#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <unordered_map>
#include <vector>

namespace hbmon {

class MetricsService {
public:
  using DaemonSample = std::function<metrics::DaemonSample()>;
  // Runs on the Worker with the text; what it returns runs on the loop.
  using Finish = std::function<Worker::Completion(std::string text)>;

  // `worker` is only kept: it may be built after this (and is dropped first).
  MetricsService(Loop &loop, Supervisor &sup, Worker &worker, DaemonSample daemon);
  MetricsService(const MetricsService &) = delete;
  MetricsService &operator=(const MetricsService &) = delete;

  void text(Finish finish);

  // Serve GET /metrics where `cfg` says (none: stop serving). nullopt when
  // done, else why not (then the endpoint as it was is kept).
  std::optional<std::string> listen(const std::optional<MetricsConfig> &cfg);
  const MetricsHttp *http() const { return http_.get(); }

private:
  // The last /proc pass: the Worker's alone.
  struct Usage {
    Loop::TimePoint at{};
    std::vector<pid_t> groups; // asked for, sorted
    std::unordered_map<pid_t, GroupUsage> found;
  };
  const Usage &usage(std::vector<pid_t> groups); // on the Worker

  Loop &loop_;
  Supervisor &sup_;
  Worker &worker_;
  DaemonSample daemon_;
  Usage usage_;
  std::optional<MetricsConfig> listening_;
  std::unique_ptr<MetricsHttp> http_;
};

} // namespace hbmon

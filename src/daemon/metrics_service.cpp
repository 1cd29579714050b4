#include "daemon/metrics_service.hpp"

#include "daemon/log.hpp"
#include "sys/gzip.hpp"

#include <algorithm>
#include <fmt/format.h>
#include <system_error>

namespace hbmon {

namespace {
// A scrape every second or two (two Prometheus servers, hbmonctl beside
// them) reads /proc once.
constexpr auto usage_reuse = std::chrono::seconds(1);

double ms(Loop::Clock::duration d) { return std::chrono::duration<double, std::milli>(d).count(); }
} // namespace

MetricsService::MetricsService(Loop &loop, Supervisor &sup, Worker &worker, DaemonSample daemon)
    : loop_(loop), sup_(sup), worker_(worker), daemon_(std::move(daemon)) {}

const MetricsService::Usage &MetricsService::usage(std::vector<pid_t> groups) {
  std::sort(groups.begin(), groups.end());
  const auto now = Loop::now();
  if (groups != usage_.groups || now - usage_.at >= usage_reuse || usage_.at == Loop::TimePoint{}) {
    usage_.found = group_usage(groups);
    usage_.groups = std::move(groups);
    usage_.at = now;
  }
  return usage_;
}

void MetricsService::text(Finish finish) {
  const auto copy_start = Loop::now();
  auto apps = sup_.metrics();
  const auto copied = Loop::now() - copy_start;
  worker_.post([this, finish = std::move(finish), daemon = daemon_(), apps = std::move(apps),
                copied]() mutable -> Worker::Completion {
    const auto scan_start = Loop::now();
    std::vector<pid_t> groups;
    for (const auto &a : apps)
      if (a.group > 0)
        groups.push_back(a.group);
    const Usage &u = usage(std::move(groups));
    const auto render_start = Loop::now();
    struct Shown {
      std::string app;
      pid_t group;
      double live;
    };
    std::vector<Shown> shown;
    for (auto &a : apps) {
      const auto it = a.group > 0 ? u.found.find(a.group) : u.found.end();
      if (it == u.found.end())
        continue;
      metrics::add_usage(a, it->second.cpu_seconds, it->second.rss_bytes);
      shown.push_back({a.name, a.group, it->second.cpu_seconds});
    }
    std::string text = metrics::render(daemon, apps);
    const auto rendered = Loop::now();
    // For bench/metrics-scrape: what a text costs, and where.
    logging::daemon(LogLevel::debug,
                    fmt::format("metrics: {} apps' counters copied on the loop in {:.3f} ms; "
                                "/proc read in {:.3f} ms and {} bytes written in {:.3f} ms "
                                "by the worker",
                                apps.size(), ms(copied), ms(render_start - scan_start), text.size(),
                                ms(rendered - render_start)));
    Worker::Completion then = finish(std::move(text));
    return [this, shown = std::move(shown), then = std::move(then)] {
      const auto start = Loop::now();
      for (const auto &s : shown)
        sup_.show_cpu(s.app, s.group, s.live);
      logging::daemon(LogLevel::debug,
                      fmt::format("metrics: {} CPU samples kept on the loop in {:.3f} ms",
                                  shown.size(), ms(Loop::now() - start)));
      if (then)
        then();
    };
  });
}

std::optional<std::string> MetricsService::listen(const std::optional<MetricsConfig> &cfg) {
  if (cfg == listening_ && (http_ || !cfg))
    return std::nullopt;
  auto produce = [this](bool gzipped, MetricsHttp::Deliver deliver) {
    text([gzipped, deliver = std::move(deliver)](std::string t) -> Worker::Completion {
      MetricsHttp::Text text{std::move(t), {}};
      if (gzipped)
        try {
          text.gzipped = gzip(text.plain);
        } catch (const std::exception &) {
          // Sent as it is, then.
        }
      return [deliver, text = std::move(text)]() mutable { deliver(std::move(text)); };
    });
  };
  auto bind = [&](const MetricsConfig &c) {
    http_ = std::make_unique<MetricsHttp>(loop_, c.host, c.port, produce);
    listening_ = c;
  };
  std::optional<MetricsConfig> was = http_ ? listening_ : std::nullopt;
  // The old one goes first: the new address may share its port.
  http_.reset();
  listening_.reset();
  if (!cfg) {
    logging::daemon(LogLevel::info, "metrics: no longer serving GET /metrics");
    return std::nullopt;
  }
  try {
    bind(*cfg);
    logging::daemon(LogLevel::info,
                    fmt::format("metrics: serving GET /metrics on {}", cfg->listen));
    return std::nullopt;
  } catch (const std::system_error &e) {
    std::string why = fmt::format("metrics.listen: {}", e.what());
    if (was) {
      try {
        bind(*was);
      } catch (const std::system_error &again) {
        logging::daemon(LogLevel::error, fmt::format("metrics: cannot serve on {} again: {}",
                                                     was->listen, again.what()));
      }
    }
    return why;
  }
}

} // namespace hbmon

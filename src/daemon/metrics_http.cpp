#include "daemon/metrics_http.hpp"

#include "daemon/log.hpp"
#include "sys/fd.hpp"

#include <arpa/inet.h>
#include <cstdarg>
#include <cstdio>
#include <cstring>
#include <fmt/format.h>
#include <microhttpd.h>
#include <netinet/in.h>
#include <string_view>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <system_error>
#include <vector>

namespace hbmon {

namespace {

constexpr const char *content_type = "text/plain; version=0.0.4; charset=utf-8";

// A bound, listening, non-blocking socket for HOST:PORT (a numeric address).
UniqueFd listen_on(const std::string &host, std::uint16_t port) {
  sockaddr_storage ss{};
  socklen_t len = 0;
  auto *v4 = reinterpret_cast<sockaddr_in *>(&ss);
  auto *v6 = reinterpret_cast<sockaddr_in6 *>(&ss);
  if (::inet_pton(AF_INET, host.c_str(), &v4->sin_addr) == 1) {
    v4->sin_family = AF_INET;
    v4->sin_port = htons(port);
    len = sizeof *v4;
  } else if (::inet_pton(AF_INET6, host.c_str(), &v6->sin6_addr) == 1) {
    v6->sin6_family = AF_INET6;
    v6->sin6_port = htons(port);
    len = sizeof *v6;
  } else {
    throw std::system_error(EINVAL, std::generic_category(),
                            fmt::format("{} is not a numeric address", host));
  }
  const std::string where = ss.ss_family == AF_INET6 ? fmt::format("[{}]:{}", host, port)
                                                     : fmt::format("{}:{}", host, port);
  UniqueFd fd(::socket(ss.ss_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0));
  if (!fd)
    throw std::system_error(errno, std::generic_category(), "socket for " + where);
  const int on = 1;
  ::setsockopt(fd.get(), SOL_SOCKET, SO_REUSEADDR, &on, sizeof on);
  if (::bind(fd.get(), reinterpret_cast<sockaddr *>(&ss), len) < 0)
    throw std::system_error(errno, std::generic_category(), "cannot listen on " + where);
  if (::listen(fd.get(), 64) < 0)
    throw std::system_error(errno, std::generic_category(), "cannot listen on " + where);
  return fd;
}

// libmicrohttpd's own complaints (a peer that went away, a request too big)
// are about peers, not hbmond: debug.
void mhd_log(void *, const char *fmt, va_list ap) {
  char buf[512];
  std::vsnprintf(buf, sizeof buf, fmt, ap);
  std::string_view s(buf);
  while (!s.empty() && (s.back() == '\n' || s.back() == '\r'))
    s.remove_suffix(1);
  logging::daemon(LogLevel::debug, fmt::format("metrics http: {}", s));
}

void free_text(void *cls) { delete static_cast<std::shared_ptr<const MetricsHttp::Text> *>(cls); }

// Accept-Encoding names gzip, and not with q=0.
bool accepts_gzip(MHD_Connection *c) {
  const char *v = MHD_lookup_connection_value(c, MHD_HEADER_KIND, MHD_HTTP_HEADER_ACCEPT_ENCODING);
  if (!v)
    return false;
  const std::string_view s(v);
  const auto at = s.find("gzip");
  if (at == std::string_view::npos)
    return false;
  const auto rest = s.substr(at + 4, s.find(',', at) - (at + 4));
  return rest.find("q=0") == std::string_view::npos || rest.find("q=0.") != std::string_view::npos;
}

MHD_Result queue_text(MHD_Connection *c, unsigned status, std::string_view body,
                      std::string_view allow = {}) {
  MHD_Response *r = MHD_create_response_from_buffer(body.size(), const_cast<char *>(body.data()),
                                                    MHD_RESPMEM_MUST_COPY);
  if (!r)
    return MHD_NO;
  MHD_add_response_header(r, MHD_HTTP_HEADER_CONTENT_TYPE, "text/plain; charset=utf-8");
  if (!allow.empty())
    MHD_add_response_header(r, MHD_HTTP_HEADER_ALLOW, std::string(allow).c_str());
  const MHD_Result ok = MHD_queue_response(c, status, r);
  MHD_destroy_response(r);
  return ok;
}

} // namespace

// One request's state, libmicrohttpd's per-request pointer.
struct MetricsHttp::Request {
  std::shared_ptr<const MetricsHttp::Text> text; // once delivered
  bool gzip = false;                             // the client accepts it
  bool held = false;                             // suspended, waiting for a text
  Loop::Clock::duration busy_before{};           // the server's loop time when it came
};

struct MetricsHttp::Core : std::enable_shared_from_this<Core> {
  Produce produce;
  MHD_Daemon *mhd = nullptr;
  Loop::Watch watch;
  Loop::Timer timer;
  // Suspended, waiting for the text being produced.
  std::vector<std::pair<MHD_Connection *, Request *>> held;
  bool producing = false;
  bool stopping = false;
  Loop::Clock::duration busy{}; // in libmicrohttpd, on the loop, in all

  explicit Core(Produce p) : produce(std::move(p)) {}

  // libmicrohttpd's work, then its next deadline (0: more to do now).
  void run() {
    const auto start = Loop::now();
    MHD_run(mhd);
    busy += Loop::now() - start;
    MHD_UNSIGNED_LONG_LONG ms = 0;
    if (MHD_get_timeout(mhd, &ms) == MHD_YES)
      timer.arm(Loop::now() + std::chrono::milliseconds(ms));
    else
      timer.disarm();
  }

  MHD_Result on_request(MHD_Connection *c, std::string_view url, std::string_view method,
                        std::size_t *upload_size, void **per_request) {
    auto *req = static_cast<Request *>(*per_request);
    if (!req) { // the headers are in
      if (url != "/metrics") {
        return queue_text(c, MHD_HTTP_NOT_FOUND, "hbmond serves GET /metrics only\n");
      }
      if (method != MHD_HTTP_METHOD_GET && method != MHD_HTTP_METHOD_HEAD) {
        return queue_text(c, MHD_HTTP_METHOD_NOT_ALLOWED, "/metrics takes GET or HEAD\n",
                          "GET, HEAD");
      }
      *per_request = new Request{{}, accepts_gzip(c), false, busy};
      return MHD_YES;
    }
    if (*upload_size != 0) { // a body nobody asked for: read and forget
      *upload_size = 0;
      return MHD_YES;
    }
    if (stopping)
      return queue_text(c, MHD_HTTP_SERVICE_UNAVAILABLE, "hbmond is stopping its metrics\n");
    if (!req->text) {
      req->held = true;
      held.emplace_back(c, req);
      MHD_suspend_connection(c);
      if (!producing) {
        producing = true;
        produce(req->gzip, [weak = weak_from_this()](Text text) {
          if (auto self = weak.lock())
            self->deliver(std::move(text));
        });
      }
      return MHD_YES;
    }
    const bool gzipped = req->gzip && !req->text->gzipped.empty();
    const std::string &body = gzipped ? req->text->gzipped : req->text->plain;
    auto *keep = new std::shared_ptr<const Text>(req->text);
    MHD_Response *r = MHD_create_response_from_buffer_with_free_callback_cls(
        body.size(), const_cast<char *>(body.data()), free_text, keep);
    if (!r) {
      delete keep;
      return MHD_NO;
    }
    MHD_add_response_header(r, MHD_HTTP_HEADER_CONTENT_TYPE, content_type);
    MHD_add_response_header(r, MHD_HTTP_HEADER_VARY, MHD_HTTP_HEADER_ACCEPT_ENCODING);
    if (gzipped)
      MHD_add_response_header(r, MHD_HTTP_HEADER_CONTENT_ENCODING, "gzip");
    const MHD_Result ok = MHD_queue_response(c, MHD_HTTP_OK, r);
    MHD_destroy_response(r);
    return ok;
  }

  void deliver(Text text) {
    producing = false;
    resume_all(std::make_shared<const Text>(std::move(text)));
  }

  // Wake every held request (with the text, or for a 503 when stopping).
  void resume_all(const std::shared_ptr<const Text> &text) {
    for (auto &[c, req] : held) {
      req->text = text;
      req->held = false;
      MHD_resume_connection(c);
    }
    held.clear();
    // libmicrohttpd hears of a resume on its own epoll fd; run it now anyway.
    if (!stopping)
      timer.arm(Loop::now());
  }

  void completed(void **per_request) {
    auto *req = static_cast<Request *>(*per_request);
    if (!req)
      return;
    if (req->held)
      std::erase_if(held, [req](const auto &h) { return h.second == req; });
    // For bench/metrics-scrape (one scraper at a time: all of it is this one's).
    if (req->text) {
      const bool gzipped = req->gzip && !req->text->gzipped.empty();
      logging::daemon(
          LogLevel::debug,
          fmt::format("metrics http: {} bytes served{}; libmicrohttpd took the loop "
                      "{:.3f} ms meanwhile",
                      gzipped ? req->text->gzipped.size() : req->text->plain.size(),
                      gzipped ? " gzipped" : "",
                      std::chrono::duration<double, std::milli>(busy - req->busy_before).count()));
    }
    delete req;
    *per_request = nullptr;
  }
};

namespace {
MHD_Result on_request(void *cls, MHD_Connection *c, const char *url, const char *method,
                      const char *, const char *, std::size_t *upload_size, void **per_request) {
  return static_cast<MetricsHttp::Core *>(cls)->on_request(c, url, method, upload_size,
                                                           per_request);
}
void on_completed(void *cls, MHD_Connection *, void **per_request, MHD_RequestTerminationCode) {
  static_cast<MetricsHttp::Core *>(cls)->completed(per_request);
}
} // namespace

MetricsHttp::MetricsHttp(Loop &loop, const std::string &host, std::uint16_t port, Produce produce,
                         Limits limits)
    : core_(std::make_shared<Core>(std::move(produce))) {
  UniqueFd fd = listen_on(host, port);
  Core *core = core_.get();
  core->mhd = MHD_start_daemon(
      MHD_USE_EPOLL | MHD_ALLOW_SUSPEND_RESUME | MHD_USE_ERROR_LOG, 0, nullptr, nullptr,
      &hbmon::on_request, core,
      // The logger first: it hears of the options that follow.
      MHD_OPTION_EXTERNAL_LOGGER, &mhd_log, nullptr, MHD_OPTION_LISTEN_SOCKET, fd.get(),
      MHD_OPTION_CONNECTION_LIMIT, limits.connections, MHD_OPTION_PER_IP_CONNECTION_LIMIT,
      limits.per_address, MHD_OPTION_CONNECTION_TIMEOUT, limits.idle_timeout_s,
      MHD_OPTION_CONNECTION_MEMORY_LIMIT, limits.request_bytes, MHD_OPTION_NOTIFY_COMPLETED,
      &hbmon::on_completed, core, MHD_OPTION_END);
  if (!core->mhd)
    throw std::system_error(EIO, std::generic_category(),
                            fmt::format("cannot serve metrics on {}:{}", host, port));
  (void)fd.release(); // libmicrohttpd closes it when it stops
  const MHD_DaemonInfo *info = MHD_get_daemon_info(core->mhd, MHD_DAEMON_INFO_EPOLL_FD);
  core->timer = loop.timer([core] { core->run(); });
  core->watch = loop.watch(info->epoll_fd, EPOLLIN, [core](std::uint32_t) { core->run(); });
  core->run();
}

MetricsHttp::~MetricsHttp() {
  Core &core = *core_;
  core.watch.reset();
  core.timer.reset();
  // libmicrohttpd must not be stopped with a connection still suspended.
  core.stopping = true;
  core.resume_all(nullptr);
  MHD_stop_daemon(core.mhd);
}

} // namespace hbmon

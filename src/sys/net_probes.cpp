#include "sys/net_probes.hpp"
#include "protocol/version.hpp"

#include <cstring>
#include <curl/curl.h>
#include <fmt/format.h>
#include <stdexcept>
#include <sys/epoll.h>

namespace hbmon {

namespace {

constexpr std::size_t max_answer_bytes = 64 * 1024; // headers, and body, each

CURLM *multi_of(void *m) { return static_cast<CURLM *>(m); }

std::string seconds_text(std::chrono::milliseconds ms) {
  return fmt::format("{:g}s", std::chrono::duration<double>(ms).count());
}

} // namespace

struct NetProbes::Probe {
  Id id;
  CURL *easy = nullptr;
  bool connect_only;
  std::chrono::milliseconds timeout;
  Done done;
  std::size_t header_bytes = 0, body_bytes = 0;
  bool cut = false; // we dropped a long answer on purpose
  char error[CURL_ERROR_SIZE] = {};
};

struct NetProbes::Callbacks {
  static int socket(CURL *, curl_socket_t fd, int what, void *self, void *) {
    auto *n = static_cast<NetProbes *>(self);
    n->watches_.erase(fd); // before a new watch: epoll takes an fd once
    if (what == CURL_POLL_REMOVE)
      return 0;
    std::uint32_t events = 0;
    if (what == CURL_POLL_IN || what == CURL_POLL_INOUT)
      events |= EPOLLIN;
    if (what == CURL_POLL_OUT || what == CURL_POLL_INOUT)
      events |= EPOLLOUT;
    try {
      n->watches_.emplace(
          fd, n->loop_.watch(fd, events, [n, fd](std::uint32_t ev) { n->act(fd, ev); }));
    } catch (const std::exception &) {
      return -1; // libcurl fails the transfer
    }
    return 0;
  }

  // libcurl's one timer: run the loop's at `ms` from now (-1: none). The
  // action itself waits for the loop: libcurl is not to be re-entered.
  static int timer(CURLM *, long ms, void *self) {
    auto *n = static_cast<NetProbes *>(self);
    if (ms < 0)
      n->timer_.disarm();
    else
      n->timer_.arm(Loop::now() + std::chrono::milliseconds(ms));
    return 0;
  }

  static std::size_t header(char *, std::size_t size, std::size_t count, void *p) {
    auto *probe = static_cast<Probe *>(p);
    probe->header_bytes += size * count;
    if (probe->header_bytes > max_answer_bytes) {
      probe->cut = true;
      return 0;
    }
    return size * count;
  }

  static std::size_t body(char *, std::size_t size, std::size_t count, void *p) {
    auto *probe = static_cast<Probe *>(p);
    probe->body_bytes += size * count;
    if (probe->body_bytes > max_answer_bytes) {
      probe->cut = true;
      return 0; // the status line and headers are in: enough to judge
    }
    return size * count;
  }
};

NetProbes::NetProbes(Loop &loop) : loop_(loop) {
  timer_ = loop_.timer([this] {
    int running = 0;
    curl_multi_socket_action(multi_of(multi_), CURL_SOCKET_TIMEOUT, 0, &running);
    reap();
  });
}

// libcurl starts at the first probe, not with hbmond: its start-up
// initialises OpenSSL (2.3 MiB resident, measured) that a daemon with no
// network probe never needs. (The libraries stay loaded either way: hbmond
// links libcurl.)
void NetProbes::start_curl() {
  if (multi_)
    return;
  // Thread-safe since libcurl 7.84; idempotent.
  if (curl_global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK)
    throw std::runtime_error("libcurl: curl_global_init failed");
  multi_ = curl_multi_init();
  if (!multi_)
    throw std::runtime_error("libcurl: curl_multi_init failed");
  curl_multi_setopt(multi_of(multi_), CURLMOPT_SOCKETFUNCTION, &Callbacks::socket);
  curl_multi_setopt(multi_of(multi_), CURLMOPT_SOCKETDATA, this);
  curl_multi_setopt(multi_of(multi_), CURLMOPT_TIMERFUNCTION, &Callbacks::timer);
  curl_multi_setopt(multi_of(multi_), CURLMOPT_TIMERDATA, this);
}

NetProbes::~NetProbes() {
  while (!probes_.empty())
    drop(*probes_.begin()->second);
  watches_.clear();
  timer_.reset();
  if (multi_)
    curl_multi_cleanup(multi_of(multi_));
}

NetProbes::Id NetProbes::http(const std::string &url, std::chrono::milliseconds timeout,
                              Done done) {
  return start(url, false, timeout, std::move(done));
}

NetProbes::Id NetProbes::tcp(const std::string &host, std::uint16_t port,
                             std::chrono::milliseconds timeout, Done done) {
  const bool v6 = host.find(':') != std::string::npos;
  const std::string url =
      fmt::format("http://{}{}{}:{}/", v6 ? "[" : "", host, v6 ? "]" : "", port);
  return start(url, true, timeout, std::move(done));
}

NetProbes::Id NetProbes::start(const std::string &url, bool connect_only,
                               std::chrono::milliseconds timeout, Done done) {
  start_curl();
  auto p = std::make_unique<Probe>();
  p->id = next_id_++;
  p->connect_only = connect_only;
  p->timeout = timeout;
  p->done = std::move(done);
  p->easy = curl_easy_init();
  if (!p->easy)
    throw std::runtime_error("libcurl: curl_easy_init failed");
  CURL *e = p->easy;
  curl_easy_setopt(e, CURLOPT_URL, url.c_str());
  curl_easy_setopt(e, CURLOPT_PROTOCOLS_STR, "http");
  curl_easy_setopt(e, CURLOPT_NOSIGNAL, 1L);
  curl_easy_setopt(e, CURLOPT_NOPROXY, "*"); // hbmond's environment says nothing about apps
  curl_easy_setopt(e, CURLOPT_FRESH_CONNECT, 1L);
  curl_easy_setopt(e, CURLOPT_FORBID_REUSE, 1L);
  curl_easy_setopt(e, CURLOPT_FOLLOWLOCATION, 0L);
  curl_easy_setopt(e, CURLOPT_TIMEOUT_MS, static_cast<long>(timeout.count()));
  curl_easy_setopt(e, CURLOPT_ERRORBUFFER, p->error);
  curl_easy_setopt(e, CURLOPT_PRIVATE, p.get());
  static const std::string agent = std::string("hbmond-probe/") + program_version;
  curl_easy_setopt(e, CURLOPT_USERAGENT, agent.c_str());
  if (connect_only) {
    curl_easy_setopt(e, CURLOPT_CONNECT_ONLY, 1L);
  } else {
    curl_easy_setopt(e, CURLOPT_HEADERFUNCTION, &Callbacks::header);
    curl_easy_setopt(e, CURLOPT_HEADERDATA, p.get());
    curl_easy_setopt(e, CURLOPT_WRITEFUNCTION, &Callbacks::body);
    curl_easy_setopt(e, CURLOPT_WRITEDATA, p.get());
  }
  if (curl_multi_add_handle(multi_of(multi_), e) != CURLM_OK) {
    curl_easy_cleanup(e);
    throw std::runtime_error("libcurl: curl_multi_add_handle failed");
  }
  const Id id = p->id;
  probes_.emplace(id, std::move(p));
  return id;
}

void NetProbes::drop(Probe &p) {
  curl_multi_remove_handle(multi_of(multi_), p.easy);
  curl_easy_cleanup(p.easy);
  probes_.erase(p.id);
}

void NetProbes::cancel(Id id) {
  if (auto it = probes_.find(id); it != probes_.end())
    drop(*it->second);
}

void NetProbes::act(int fd, std::uint32_t events) {
  int mask = 0;
  if (events & EPOLLIN)
    mask |= CURL_CSELECT_IN;
  if (events & EPOLLOUT)
    mask |= CURL_CSELECT_OUT;
  if (events & (EPOLLERR | EPOLLHUP))
    mask |= CURL_CSELECT_ERR;
  int running = 0;
  curl_multi_socket_action(multi_of(multi_), fd, mask, &running);
  reap();
}

void NetProbes::reap() {
  int left = 0;
  while (CURLMsg *m = curl_multi_info_read(multi_of(multi_), &left)) {
    if (m->msg != CURLMSG_DONE)
      continue;
    Probe *p = nullptr;
    curl_easy_getinfo(m->easy_handle, CURLINFO_PRIVATE, reinterpret_cast<char **>(&p));
    if (!p)
      continue;
    const CURLcode code = m->data.result;
    long status = 0;
    curl_easy_getinfo(p->easy, CURLINFO_RESPONSE_CODE, &status);
    bool ok = false;
    std::string reason;
    if (code == CURLE_OPERATION_TIMEDOUT) {
      reason = "timed out after " + seconds_text(p->timeout);
    } else if (code == CURLE_COULDNT_CONNECT || (p->connect_only && code != CURLE_OK)) {
      // "connect: Connection refused", not libcurl's whole sentence.
      long os_errno = 0;
      curl_easy_getinfo(p->easy, CURLINFO_OS_ERRNO, &os_errno);
      reason = os_errno
                   ? fmt::format("connect: {}", std::strerror(static_cast<int>(os_errno)))
                   : fmt::format("connect: {}", *p->error ? p->error : curl_easy_strerror(code));
    } else if (p->connect_only) {
      ok = true;
    } else if (code == CURLE_OK || (code == CURLE_WRITE_ERROR && p->cut && status != 0)) {
      ok = status >= 200 && status < 400;
      if (!ok)
        reason = fmt::format("HTTP {}", status);
    } else {
      reason = *p->error ? p->error : curl_easy_strerror(code);
    }
    Done done = std::move(p->done);
    drop(*p); // before `done`, which may start the next probe
    done(ok, std::move(reason));
  }
}

} // namespace hbmon

// LD_PRELOAD shim for the tests: a slow user database. Each user and
// group lookup hbmond makes (getpwnam_r, getpwuid_r, getgrnam_r,
// getgrgid_r, getgrouplist) first sleeps the number of milliseconds in
// $HBTEST_NSS_DELAY_MS, as an unreachable LDAP server would, then asks the
// real one; and when $HBTEST_NSS_LOG names a file, appends "<tid> <call>"
// to it, so a test can tell which thread asked.
#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <ctime>
#include <dlfcn.h>
#include <fcntl.h>
#include <grp.h>
#include <pwd.h>
#include <unistd.h>

namespace {

void slow_down(const char *call) {
  const int saved = errno;
  if (const char *log = std::getenv("HBTEST_NSS_LOG")) {
    const int fd = ::open(log, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0644);
    if (fd >= 0) {
      char line[64];
      const int n = std::snprintf(line, sizeof line, "%d %s\n", ::gettid(), call);
      (void)!::write(fd, line, static_cast<size_t>(n));
      ::close(fd);
    }
  }
  const char *ms = std::getenv("HBTEST_NSS_DELAY_MS");
  const long n = ms ? std::strtol(ms, nullptr, 10) : 0;
  timespec ts{n / 1000, (n % 1000) * 1'000'000};
  while (n > 0 && ::nanosleep(&ts, &ts) != 0 && errno == EINTR) {
  }
  errno = saved;
}

// The real `Fn` (the next one after this shim's), slowed down.
template <auto Fn, typename... Args> int slowly(const char *name, Args... args) {
  static const auto real = reinterpret_cast<decltype(Fn)>(::dlsym(RTLD_NEXT, name));
  slow_down(name);
  return real(args...);
}

} // namespace

extern "C" int getpwnam_r(const char *name, passwd *pw, char *buf, size_t len, passwd **out) {
  return slowly<&getpwnam_r>("getpwnam_r", name, pw, buf, len, out);
}
extern "C" int getpwuid_r(uid_t uid, passwd *pw, char *buf, size_t len, passwd **out) {
  return slowly<&getpwuid_r>("getpwuid_r", uid, pw, buf, len, out);
}
extern "C" int getgrnam_r(const char *name, group *gr, char *buf, size_t len, group **out) {
  return slowly<&getgrnam_r>("getgrnam_r", name, gr, buf, len, out);
}
extern "C" int getgrgid_r(gid_t gid, group *gr, char *buf, size_t len, group **out) {
  return slowly<&getgrgid_r>("getgrgid_r", gid, gr, buf, len, out);
}
extern "C" int getgrouplist(const char *user, gid_t gid, gid_t *groups, int *n) {
  return slowly<&getgrouplist>("getgrouplist", user, gid, groups, n);
}

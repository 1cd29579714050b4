// LD_PRELOAD shim for the tests: moves the wall clock (CLOCK_REALTIME and
// friends) of a process by the number of seconds in the file named by
// $HBTEST_WALLCLOCK_FILE, read at every call, leaving every other clock
// alone. A test changes the file to make the process's wall clock jump.
#include <cerrno>
#include <cstdlib>
#include <ctime>
#include <dlfcn.h>
#include <fcntl.h>
#include <sys/time.h>
#include <unistd.h>

namespace {

long offset_seconds() {
  const char *path = std::getenv("HBTEST_WALLCLOCK_FILE");
  if (!path)
    return 0;
  const int saved = errno;
  long off = 0;
  int fd = ::open(path, O_RDONLY | O_CLOEXEC);
  if (fd >= 0) {
    char buf[32] = {};
    if (::read(fd, buf, sizeof buf - 1) > 0)
      off = std::strtol(buf, nullptr, 10);
    ::close(fd);
  }
  errno = saved;
  return off;
}

bool is_wall(clockid_t c) {
  return c == CLOCK_REALTIME || c == CLOCK_REALTIME_COARSE || c == CLOCK_TAI;
}

template <typename F> F next(const char *name) {
  return reinterpret_cast<F>(::dlsym(RTLD_NEXT, name));
}

} // namespace

extern "C" int clock_gettime(clockid_t clock, struct timespec *ts) {
  static auto real = next<int (*)(clockid_t, struct timespec *)>("clock_gettime");
  int r = real(clock, ts);
  if (r == 0 && is_wall(clock))
    ts->tv_sec += offset_seconds();
  return r;
}

extern "C" int gettimeofday(struct timeval *tv, void *tz) {
  static auto real = next<int (*)(struct timeval *, void *)>("gettimeofday");
  int r = real(tv, tz);
  if (r == 0)
    tv->tv_sec += offset_seconds();
  return r;
}

extern "C" time_t time(time_t *out) {
  struct timespec ts {};
  clock_gettime(CLOCK_REALTIME, &ts);
  if (out)
    *out = ts.tv_sec;
  return ts.tv_sec;
}

/* An app written for systemd's watchdog, in C with libsystemd, that knows
 * nothing of hbmond: what a test runs under heartbeat.protocol "notify".
 *
 *   hbtest_notify_app TRACE PINGS
 *
 * It asks sd_watchdog_enabled() (and has a forked child ask it too), waits
 * on sd_notify_barrier(), says READY=1 with a STATUS=, pings WATCHDOG=1 at
 * half of WATCHDOG_USEC as sd_watchdog_enabled(3) says to, PINGS times, and
 * then hangs. Each step is a line in TRACE with CLOCK_MONOTONIC times in
 * ns, as hbtest_app writes them:
 *   start <pid> <t>, enabled <r> <usec>, child-enabled <r>,
 *   barrier <r> <elapsed>, beat <t> (before each ping), hang <t>
 */
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/wait.h>
#include <systemd/sd-daemon.h>
#include <time.h>
#include <unistd.h>

static const char *trace_path;

static long long mono_ns(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (long long)ts.tv_sec * 1000000000LL + ts.tv_nsec;
}

static void trace(const char *fmt, ...) {
  FILE *f = fopen(trace_path, "a");
  if (!f)
    exit(2);
  va_list ap;
  va_start(ap, fmt);
  vfprintf(f, fmt, ap);
  va_end(ap);
  fputc('\n', f);
  fclose(f);
}

int main(int argc, char **argv) {
  if (argc != 3) {
    fprintf(stderr, "usage: %s TRACE PINGS\n", argv[0]);
    return 2;
  }
  trace_path = argv[1];
  const int pings = atoi(argv[2]);
  trace("start %d %lld", (int)getpid(), mono_ns());

  uint64_t usec = 0;
  const int enabled = sd_watchdog_enabled(0, &usec);
  trace("enabled %d %" PRIu64, enabled, usec);
  const pid_t child = fork();
  if (child == 0) {
    uint64_t child_usec = 0;
    trace("child-enabled %d", sd_watchdog_enabled(0, &child_usec));
    _exit(0);
  }
  if (child > 0)
    waitpid(child, NULL, 0);

  const long long before = mono_ns();
  const int r = sd_notify_barrier(0, 5 * 1000000ULL);
  trace("barrier %d %lld", r, mono_ns() - before);

  sd_notify(0, "READY=1\nSTATUS=C client up");
  for (int i = 0; i < pings; ++i) {
    trace("beat %lld", mono_ns());
    sd_notify(0, "WATCHDOG=1");
    usleep((useconds_t)(usec ? usec / 2 : 100000));
  }
  trace("hang %lld", mono_ns());
  for (;;)
    pause();
}

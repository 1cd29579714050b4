// naughty_worker — an app with arrhythmia, for demonstrating hbmond.
//
// The C++ twin of the original wrapper's random_app.py (and of
// naughty_worker.py): it works for a random spell, sends a heartbeat, and now
// and then crashes (exit 255), hangs without beating, or exits cleanly. It
// talks to hbmond through hbmon::Heartbeat and runs, without beating, when
// HBMON_ENDPOINT is not set.
#include <hbmon/heartbeat.hpp>

#include <cerrno>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <optional>
#include <random>
#include <string>
#include <string_view>
#include <thread>
#include <unistd.h>

namespace {

constexpr const char *prog = "naughty_worker";

struct Options {
  double min_work = 0.1;
  double max_work = 2.5;
  double crash_rate = 0.05;
  double hang_rate = 0.05;
  double exit_rate = 0.02;
  std::optional<unsigned long long> seed;
};

void usage(std::FILE *out) {
  std::fprintf(out,
               "Usage: %s [OPTION...]\n"
               "Work for random spells, send a heartbeat after each, and misbehave at random.\n"
               "\n"
               "  --min-work S      shortest spell of work in seconds (default 0.1)\n"
               "  --max-work S      longest spell of work in seconds (default 2.5)\n"
               "  --crash-rate P    chance per spell to crash with exit status 255 (default 0.05)\n"
               "  --hang-rate P     chance per spell to hang forever without beating (default "
               "0.05)\n"
               "  --exit-rate P     chance per spell to exit cleanly with status 0 (default 0.02)\n"
               "  --seed N          seed the random generator (default: random)\n"
               "  --help            show this help and exit\n"
               "\n"
               "Heartbeats go to $HBMON_ENDPOINT (set by hbmond); without it the worker runs\n"
               "without beating.\n",
               prog);
}

[[noreturn]] void usage_error(const std::string &msg) {
  std::fprintf(stderr, "%s: %s\nTry '%s --help'.\n", prog, msg.c_str(), prog);
  std::exit(2);
}

// A finite number in [0, hi]: seconds of work or a probability.
double parse_number(std::string_view flag, const std::string &text, double hi, const char *what) {
  char *end = nullptr;
  errno = 0;
  double v = std::strtod(text.c_str(), &end);
  if (text.empty() || *end != '\0' || errno != 0 || !std::isfinite(v) || v < 0 || v > hi)
    usage_error(std::string(flag) + ": expected " + what + ", got '" + text + "'");
  return v;
}

unsigned long long parse_seed(const std::string &text) {
  char *end = nullptr;
  errno = 0;
  unsigned long long v = std::strtoull(text.c_str(), &end, 10);
  if (text.empty() || text[0] < '0' || text[0] > '9' || *end != '\0' || errno != 0)
    usage_error("--seed: expected a non-negative integer, got '" + text + "'");
  return v;
}

Options parse_args(int argc, char **argv) {
  static constexpr const char *seconds = "a number of seconds >= 0";
  static constexpr const char *probability = "a probability between 0 and 1";
  Options o;
  for (int i = 1; i < argc; ++i) {
    std::string arg = argv[i];
    if (arg == "--help" || arg == "-h") {
      usage(stdout);
      std::exit(0);
    }
    std::string flag = arg, value;
    bool inline_value = false;
    if (auto eq = arg.find('='); arg.rfind("--", 0) == 0 && eq != std::string::npos) {
      flag = arg.substr(0, eq);
      value = arg.substr(eq + 1);
      inline_value = true;
    }
    const bool known = flag == "--min-work" || flag == "--max-work" || flag == "--crash-rate" ||
                       flag == "--hang-rate" || flag == "--exit-rate" || flag == "--seed";
    if (!known)
      usage_error(arg.rfind("-", 0) == 0 ? "unknown option '" + flag + "'"
                                         : "unexpected argument '" + arg + "'");
    if (!inline_value) {
      if (i + 1 >= argc)
        usage_error(flag + ": missing value");
      value = argv[++i];
    }
    if (flag == "--min-work")
      o.min_work = parse_number(flag, value, 1e9, seconds);
    else if (flag == "--max-work")
      o.max_work = parse_number(flag, value, 1e9, seconds);
    else if (flag == "--crash-rate")
      o.crash_rate = parse_number(flag, value, 1, probability);
    else if (flag == "--hang-rate")
      o.hang_rate = parse_number(flag, value, 1, probability);
    else if (flag == "--exit-rate")
      o.exit_rate = parse_number(flag, value, 1, probability);
    else
      o.seed = parse_seed(value);
  }
  if (o.min_work > o.max_work) {
    char msg[128];
    std::snprintf(msg, sizeof msg, "--min-work (%g) is greater than --max-work (%g)", o.min_work,
                  o.max_work);
    usage_error(msg);
  }
  return o;
}

} // namespace

int main(int argc, char **argv) {
  // hbmond tags every line with the app's name: one line, one write.
  std::setvbuf(stdout, nullptr, _IOLBF, 0);
  Options opt = parse_args(argc, argv);

  std::optional<hbmon::Heartbeat> hb;
  try {
    hb = hbmon::Heartbeat::from_env();
  } catch (const zmq::error_t &e) {
    std::fprintf(stderr, "%s: cannot connect to HBMON_ENDPOINT '%s': %s\n", prog,
                 std::getenv("HBMON_ENDPOINT"), e.what());
    return 1;
  }

  const unsigned long long seed = opt.seed ? *opt.seed : std::random_device{}();
  std::mt19937_64 rng(seed);
  std::uniform_real_distribution<double> work(opt.min_work, opt.max_work);
  std::uniform_real_distribution<double> chance(0.0, 1.0);

  if (hb)
    std::printf("Starting (pid %d, seed %llu), heartbeats to %s.\n", static_cast<int>(getpid()),
                seed, hb->endpoint().c_str());
  else
    std::printf("Starting (pid %d, seed %llu), HBMON_ENDPOINT not set: not beating.\n",
                static_cast<int>(getpid()), seed);
  if (hb)
    hb->ready();

  for (unsigned long long iteration = 1;; ++iteration) {
    const double spell = opt.min_work < opt.max_work ? work(rng) : opt.min_work;
    std::printf("Working (sleeping) for %.2f seconds.\n", spell);
    std::this_thread::sleep_for(std::chrono::duration<double>(spell));

    // Every message is a heartbeat: the status line is this iteration's beat.
    if (hb)
      hb->status("iteration " + std::to_string(iteration));

    if (chance(rng) < opt.crash_rate) {
      std::printf("Randomly crashing ...\n");
      std::exit(255);
    }
    if (chance(rng) < opt.hang_rate) {
      std::printf("Hanging (infinite loop) ...\n");
      for (;;)
        pause();
    }
    if (chance(rng) < opt.exit_rate) {
      std::printf("Enough work ...\n");
      return 0;
    }
  }
}

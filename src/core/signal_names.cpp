#include "core/signal_names.hpp"

#include "core/small_number.hpp"

#include <csignal>
#include <fmt/format.h>

namespace hbmon {

namespace {

struct SignalEntry {
  int number;
  std::string_view name; // without "SIG"
};

const SignalEntry signal_table[] = {
    {SIGHUP, "HUP"},       {SIGINT, "INT"},       {SIGQUIT, "QUIT"}, {SIGILL, "ILL"},
    {SIGTRAP, "TRAP"},     {SIGABRT, "ABRT"},     {SIGBUS, "BUS"},   {SIGFPE, "FPE"},
    {SIGKILL, "KILL"},     {SIGUSR1, "USR1"},     {SIGSEGV, "SEGV"}, {SIGUSR2, "USR2"},
    {SIGPIPE, "PIPE"},     {SIGALRM, "ALRM"},     {SIGTERM, "TERM"},
#ifdef SIGSTKFLT
    {SIGSTKFLT, "STKFLT"},
#endif
    {SIGCHLD, "CHLD"},     {SIGCONT, "CONT"},     {SIGSTOP, "STOP"}, {SIGTSTP, "TSTP"},
    {SIGTTIN, "TTIN"},     {SIGTTOU, "TTOU"},     {SIGURG, "URG"},   {SIGXCPU, "XCPU"},
    {SIGXFSZ, "XFSZ"},     {SIGVTALRM, "VTALRM"}, {SIGPROF, "PROF"}, {SIGWINCH, "WINCH"},
    {SIGIO, "IO"},
#ifdef SIGPWR
    {SIGPWR, "PWR"},
#endif
    {SIGSYS, "SYS"},
};

} // namespace

int parse_signal(std::string_view name) {
  if (auto n = small_number(name))
    return *n >= 1 && *n <= max_signal ? *n : 0;
  if (name.starts_with("SIG"))
    name.remove_prefix(3);
  for (const auto &e : signal_table)
    if (e.name == name)
      return e.number;
  if (auto n = small_number(name)) // "SIG42", as signal_name() writes it
    return *n >= 1 && *n <= max_signal ? *n : 0;
  // RTMIN, RTMIN+n, RTMAX, RTMAX-n
  for (bool min : {true, false}) {
    std::string_view base = min ? "RTMIN" : "RTMAX";
    if (!name.starts_with(base))
      continue;
    std::string_view rest = name.substr(base.size());
    int sig = min ? SIGRTMIN : SIGRTMAX;
    if (!rest.empty()) {
      if (rest.front() != (min ? '+' : '-'))
        return 0;
      auto n = small_number(rest.substr(1));
      if (!n)
        return 0;
      sig = min ? sig + *n : sig - *n;
    }
    return sig >= SIGRTMIN && sig <= SIGRTMAX ? sig : 0;
  }
  return 0;
}

std::string signal_name(int sig) {
  for (const auto &e : signal_table)
    if (e.number == sig)
      return fmt::format("SIG{}", e.name);
  return fmt::format("SIG{}", sig);
}

} // namespace hbmon

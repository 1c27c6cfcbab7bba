// Signal set-up for Linux through pthread_sigmask(3) and sigaction(2).
#include "edgerun/port/signal.hpp"

#include <signal.h>

namespace edgerun::port {
namespace {

constexpr int termination_signals[] = {SIGTERM, SIGINT, SIGHUP, SIGQUIT, SIGCHLD};

}  // namespace

void block_termination_signals_in_this_thread() noexcept {
  sigset_t set;
  sigemptyset(&set);
  for (const int sig : termination_signals) {
    sigaddset(&set, sig);
  }
  // Fails only for an invalid `how`, which SIG_BLOCK is not.
  (void)pthread_sigmask(SIG_BLOCK, &set, nullptr);
}

void ignore_sigpipe() noexcept {
  struct sigaction action {};
  action.sa_handler = SIG_IGN;
  sigemptyset(&action.sa_mask);
  // Fails only for an invalid signal number, which SIGPIPE is not.
  (void)sigaction(SIGPIPE, &action, nullptr);
}

int signal_number(ProcessSignal signal) noexcept {
  switch (signal) {
    case ProcessSignal::terminate: return SIGTERM;
    case ProcessSignal::interrupt: return SIGINT;
    case ProcessSignal::hangup: return SIGHUP;
  }
  return SIGTERM;
}

}  // namespace edgerun::port

#include "edgerun/port/signal.hpp"
#include "edgerun/port/thread.hpp"

#include <gtest/gtest.h>
#include <pthread.h>
#include <signal.h>
#include <unistd.h>

#include <cerrno>
#include <cstdlib>
#include <future>

namespace port = edgerun::port;

namespace {

constexpr int termination_signals[] = {SIGTERM, SIGINT, SIGHUP, SIGQUIT, SIGCHLD};

sigset_t current_mask() {
  sigset_t mask;
  sigemptyset(&mask);
  EXPECT_EQ(pthread_sigmask(SIG_BLOCK, nullptr, &mask), 0);
  return mask;
}

// Masks are inherited across exec, so a launcher may have blocked some of
// these already; unblock them so a test starts from a state it can tell from
// the one it expects.
void unblock_termination_signals() {
  sigset_t set;
  sigemptyset(&set);
  for (int sig : termination_signals) {
    sigaddset(&set, sig);
  }
  ASSERT_EQ(pthread_sigmask(SIG_UNBLOCK, &set, nullptr), 0);
}

void expect_none_blocked(const sigset_t& mask) {
  for (int sig : termination_signals) {
    EXPECT_EQ(sigismember(&mask, sig), 0) << "signal " << sig << " is blocked";
  }
}

void expect_all_blocked(const sigset_t& mask) {
  for (int sig : termination_signals) {
    EXPECT_EQ(sigismember(&mask, sig), 1) << "signal " << sig << " is not blocked";
  }
}

// Writes to a pipe whose read end is closed and exits with 0 when write()
// fails with EPIPE. If SIGPIPE is not ignored, the process dies of it first.
[[noreturn]] void write_to_broken_pipe() {
  int fds[2];
  if (pipe(fds) != 0) {
    std::_Exit(2);
  }
  close(fds[0]);
  const char byte = 'x';
  const ssize_t n = write(fds[1], &byte, 1);
  std::_Exit(n < 0 && errno == EPIPE ? 0 : 1);
}

}  // namespace

TEST(Signal, BlockTerminationSignalsBlocksAllFive) {
  std::thread t([] {
    unblock_termination_signals();
    expect_none_blocked(current_mask());
    port::block_termination_signals_in_this_thread();
    expect_all_blocked(current_mask());
  });
  t.join();
}

TEST(Signal, SpawnedThreadHasTerminationSignalsBlocked) {
  // Spawn from a thread with the signals unblocked, as the loop thread has.
  std::thread caller([] {
    unblock_termination_signals();
    std::promise<sigset_t> seen;
    std::thread t = port::spawn_named_thread("er-sigcheck", [&seen] { seen.set_value(current_mask()); });
    const sigset_t inside = seen.get_future().get();
    t.join();
    expect_all_blocked(inside);
    // spawn blocks them in the caller only around the thread's creation.
    expect_none_blocked(current_mask());
  });
  caller.join();
}

TEST(SignalDeathTest, BrokenPipeKillsWithoutIgnoreSigpipe) {
  // The control: shows the next test would fail if ignore_sigpipe did nothing.
  GTEST_FLAG_SET(death_test_style, "threadsafe");
  EXPECT_EXIT(
      {
        signal(SIGPIPE, SIG_DFL);
        write_to_broken_pipe();
      },
      testing::KilledBySignal(SIGPIPE), "");
}

TEST(SignalDeathTest, IgnoreSigpipeTurnsBrokenPipeIntoEpipe) {
  GTEST_FLAG_SET(death_test_style, "threadsafe");
  EXPECT_EXIT(
      {
        signal(SIGPIPE, SIG_DFL);
        port::ignore_sigpipe();
        write_to_broken_pipe();
      },
      testing::ExitedWithCode(0), "");
}

namespace {
TEST(SignalNumbers, NameThePlatformSignals) {
  EXPECT_EQ(edgerun::port::signal_number(edgerun::port::ProcessSignal::terminate), SIGTERM);
  EXPECT_EQ(edgerun::port::signal_number(edgerun::port::ProcessSignal::interrupt), SIGINT);
  EXPECT_EQ(edgerun::port::signal_number(edgerun::port::ProcessSignal::hangup), SIGHUP);
}
}  // namespace

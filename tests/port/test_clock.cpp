#include "edgerun/port/clock.hpp"

#include <gtest/gtest.h>

#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <mutex>

namespace port = edgerun::port;

TEST(Clock, MonotonicNeverGoesBackwards) {
  std::int64_t prev = port::monotonic_ns();
  for (int i = 0; i < 100'000; ++i) {
    const std::int64_t now = port::monotonic_ns();
    ASSERT_GE(now, prev) << "at sample " << i;
    prev = now;
  }
}

TEST(Clock, MonotonicAdvancesAcrossABoundedWait) {
  // A timed-out wait_for measures at least its timeout on steady_clock, which
  // libstdc++ bases on CLOCK_MONOTONIC too, so our clock must have moved by at
  // least as much. Only a lower bound is asserted, never an exact duration.
  std::mutex m;
  std::condition_variable cv;
  std::unique_lock lock(m);
  const std::int64_t before_ns = port::monotonic_ns();
  const std::int64_t before_ms = port::monotonic_ms();
  EXPECT_FALSE(cv.wait_for(lock, std::chrono::milliseconds(20), [] { return false; }));
  const std::int64_t after_ns = port::monotonic_ns();
  const std::int64_t after_ms = port::monotonic_ms();
  EXPECT_GE(after_ns - before_ns, 20'000'000);
  EXPECT_GE(after_ms - before_ms, 19);  // Truncation to ms may lose one.
}

TEST(Clock, MonotonicMsIsMonotonicNsInMilliseconds) {
  const std::int64_t ns_before = port::monotonic_ns();
  const std::int64_t ms = port::monotonic_ms();
  const std::int64_t ns_after = port::monotonic_ns();
  EXPECT_LE(ns_before / 1'000'000, ms);
  EXPECT_LE(ms, ns_after / 1'000'000);
}

TEST(Clock, MonotonicMatchesSteadyClock) {
  using std::chrono::duration_cast;
  using std::chrono::nanoseconds;
  const auto steady_before = duration_cast<nanoseconds>(std::chrono::steady_clock::now().time_since_epoch()).count();
  const std::int64_t ours = port::monotonic_ns();
  const auto steady_after = duration_cast<nanoseconds>(std::chrono::steady_clock::now().time_since_epoch()).count();
  EXPECT_LE(steady_before, ours);
  EXPECT_LE(ours, steady_after);
}

TEST(Clock, WallMsIsCloseToSystemClock) {
  using std::chrono::duration_cast;
  using std::chrono::milliseconds;
  const std::int64_t ours = port::wall_ms();
  const auto system = duration_cast<milliseconds>(std::chrono::system_clock::now().time_since_epoch()).count();
  EXPECT_LE(std::abs(system - ours), 3'000);
  // Some time after 2020-01-01, so this is a Unix-epoch clock in ms, not s or ns.
  EXPECT_GT(ours, 1'577'836'800'000);
  EXPECT_LT(ours, 1'577'836'800'000 * 10);
}

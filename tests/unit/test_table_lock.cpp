// The job table's lock: mutual exclusion under contention, and a waiter that
// went to sleep is woken when the lock is given back.
#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <future>
#include <mutex>
#include <thread>
#include <vector>

#include "../../core/runtime/src/table_lock.hpp"

namespace edgerun::detail {
namespace {

using namespace std::chrono_literals;

TEST(TableLock, ContendedIncrementsAreNeitherLostNorInterleaved) {
  TableLock lock;
  std::uint64_t counter = 0;  // plain: only the lock protects it
  int inside = 0;
  bool overlapped = false;
  constexpr int kThreads = 4;
  constexpr int kRounds = 20000;
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&] {
      for (int i = 0; i < kRounds; ++i) {
        std::lock_guard guard(lock);
        if (++inside != 1) overlapped = true;
        ++counter;
        // Now and then hold it across a yield, so that others find it taken
        // and sleep on it.
        if (i % 64 == 0) std::this_thread::yield();
        --inside;
      }
    });
  }
  for (std::thread& thread : threads) thread.join();
  EXPECT_EQ(counter, std::uint64_t{kThreads} * kRounds);
  EXPECT_FALSE(overlapped);
}

TEST(TableLock, AWaiterIsWokenWhenTheHolderGivesItBack) {
  TableLock lock;
  lock.lock();
  std::atomic<bool> waiting{false};
  auto taken = std::async(std::launch::async, [&] {
    waiting = true;
    std::lock_guard guard(lock);
    return true;
  });
  while (!waiting) std::this_thread::yield();
  // Still held: the waiter cannot have it.
  EXPECT_EQ(taken.wait_for(50ms), std::future_status::timeout);
  lock.unlock();
  ASSERT_EQ(taken.wait_for(10s), std::future_status::ready) << "the waiter was never woken";
  EXPECT_TRUE(taken.get());
}

}  // namespace
}  // namespace edgerun::detail

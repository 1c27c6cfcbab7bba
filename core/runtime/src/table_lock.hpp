#pragma once
// The lock of the job table, taken once per admission. A word with three
// states (free, held, held with waiters) and C++20's atomic wait and notify
// (a futex on Linux): taking a free lock is one compare-and-swap and giving
// it back one exchange, inline. std::mutex costs two calls into the C library
// and about 50 instructions for the same, on the loop thread's busiest path.
// Contended, it sleeps at once (libstdc++'s wait spins and yields a few
// times first): on a small board the holder is often a thread the scheduler
// has just preempted.

#include <atomic>
#include <cstdint>

namespace edgerun::detail {

class TableLock {
 public:
  void lock() noexcept {
    std::uint32_t expected = kFree;
    if (state_.compare_exchange_strong(expected, kHeld, std::memory_order_acquire, std::memory_order_relaxed)) {
      return;
    }
    // Contended: mark it, and sleep until the holder gives it back. The
    // exchange that takes it also marks it, since another waiter may sleep.
    while (state_.exchange(kHeldWithWaiters, std::memory_order_acquire) != kFree) {
      state_.wait(kHeldWithWaiters, std::memory_order_relaxed);
    }
  }

  void unlock() noexcept {
    // Sequentially consistent, not release: notify_one() reads a count of
    // sleepers, and on 32-bit ARM a release exchange lets that read move
    // before the store that frees the lock, so a waiter that has just counted
    // itself would sleep on with the lock free and no one to wake it.
    if (state_.exchange(kFree, std::memory_order_seq_cst) == kHeldWithWaiters) state_.notify_one();
  }

 private:
  static constexpr std::uint32_t kFree = 0;
  static constexpr std::uint32_t kHeld = 1;
  static constexpr std::uint32_t kHeldWithWaiters = 2;

  std::atomic<std::uint32_t> state_{kFree};
};

}  // namespace edgerun::detail

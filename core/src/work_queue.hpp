#pragma once
// The bounded queue between admission and the workers: slot indices in FIFO
// order. Producers never block (full is a result); workers sleep on a
// condition variable while it is empty, and at most one wake is in flight.

#include <atomic>
#include <condition_variable>
#include <cstdint>
#include <mutex>

#include "edgerun/port/thread.hpp"
#include "edgerun/ring_queue.hpp"

namespace edgerun::detail {

class WorkQueue {
 public:
  explicit WorkQueue(std::uint32_t capacity) : queue_(capacity) {}

  bool try_push(std::uint32_t slot) noexcept {
    bool wake = false;
    {
      std::lock_guard lock(mutex_);
      if (!queue_.try_push(slot)) return false;
      queued_.store(queue_.size(), std::memory_order_release);
      wake = claim_wake_locked();
    }
    if (wake) ready_.notify_one();
    return true;
  }

  bool remove(std::uint32_t slot) noexcept {
    std::lock_guard lock(mutex_);
    const bool removed = queue_.remove(slot);
    queued_.store(queue_.size(), std::memory_order_release);
    return removed;
  }

  // Worker threads. Blocks until a slot is available; false once closed.
  bool pop_wait(std::uint32_t& slot) noexcept {
    // A short spin before sleeping: when jobs arrive one by one a little
    // slower than a worker runs them, sleeping after each job costs a futex
    // wake and a context switch per job. The spin is bounded (a few
    // microseconds) and only reads one atomic.
    for (int spin = 0; spin < kSpins && queued_.load(std::memory_order_acquire) == 0; ++spin) port::cpu_relax();
    bool wake = false;
    {
      std::unique_lock lock(mutex_);
      while (queue_.empty() && !closed_) {
        ++sleeping_;
        ready_.wait(lock);
        --sleeping_;
        wake_pending_ = false;
      }
      if (closed_) return false;
      (void)queue_.try_pop(slot);
      queued_.store(queue_.size(), std::memory_order_release);
      // Pass the wake on: this worker was the one woken, and more work waits.
      wake = !queue_.empty() && claim_wake_locked();
    }
    if (wake) ready_.notify_one();
    return true;
  }

  void close() noexcept {
    {
      std::lock_guard lock(mutex_);
      closed_ = true;
    }
    ready_.notify_all();
  }

  bool full() const noexcept {
    std::lock_guard lock(mutex_);
    return queue_.full();
  }
  std::size_t size() const noexcept {
    std::lock_guard lock(mutex_);
    return queue_.size();
  }
  std::size_t high_water() const noexcept {
    std::lock_guard lock(mutex_);
    return queue_.high_water();
  }
  std::size_t capacity() const noexcept { return queue_.capacity(); }

 private:
  mutable std::mutex mutex_;
  std::condition_variable ready_;
  OwnedRingQueue<std::uint32_t> queue_;
  // Wakes one sleeper unless a wake is already on its way. A burst of pushes
  // then costs one futex wake, not one per job: the woken worker passes the
  // wake on (pop_wait) while work remains, so sleepers wake one after the
  // other, each to a job, and none to an empty queue.
  bool claim_wake_locked() noexcept {
    if (sleeping_ == 0 || wake_pending_) return false;
    wake_pending_ = true;
    return true;
  }

  bool closed_ = false;
  int sleeping_ = 0;  // workers waiting on ready_
  bool wake_pending_ = false;  // a notify_one whose worker has not run yet
  // The queue's size, readable without the lock, for the spin.
  std::atomic<std::size_t> queued_{0};
  static constexpr int kSpins = 64;
};

}  // namespace edgerun::detail

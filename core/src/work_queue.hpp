#pragma once
// The bounded queue between admission and the workers: slot indices in FIFO
// order. Producers never block (full is a result); workers sleep on a
// condition variable while it is empty.

#include <condition_variable>
#include <cstdint>
#include <mutex>

#include "edgerun/ring_queue.hpp"

namespace edgerun::detail {

class WorkQueue {
 public:
  explicit WorkQueue(std::uint32_t capacity) : queue_(capacity) {}

  bool try_push(std::uint32_t slot) noexcept {
    {
      std::lock_guard lock(mutex_);
      if (!queue_.try_push(slot)) return false;
    }
    ready_.notify_one();
    return true;
  }

  bool remove(std::uint32_t slot) noexcept {
    std::lock_guard lock(mutex_);
    return queue_.remove(slot);
  }

  // Worker threads. Blocks until a slot is available; false once closed.
  bool pop_wait(std::uint32_t& slot) noexcept {
    std::unique_lock lock(mutex_);
    ready_.wait(lock, [this] { return closed_ || !queue_.empty(); });
    if (closed_) return false;
    return queue_.try_pop(slot);
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
  bool closed_ = false;
};

}  // namespace edgerun::detail

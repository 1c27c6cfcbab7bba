#pragma once
// A single-producer single-consumer ring of fixed capacity: one worker
// pushes, the loop pops, with no lock between them (the ETL queue_spsc_atomic
// model, with each side keeping its last look at the other's index, as in
// Rigtorp's SPSCQueue). Full is a result, not a wait.

#include <atomic>
#include <cstddef>
#include <memory>

namespace edgerun::detail {

template <class T>
class SpscRing {
 public:
  explicit SpscRing(std::size_t capacity) : capacity_(capacity + 1), cells_(new T[capacity + 1]) {}

  // Producer thread only.
  bool try_push(const T& value) noexcept {
    const std::size_t tail = tail_.load(std::memory_order_relaxed);
    const std::size_t next = tail + 1 == capacity_ ? 0 : tail + 1;
    // The consumer's index is read again only when the last look says
    // full: reading it on every push moved its line between the two cores
    // once per item.
    if (next == head_seen_) {
      head_seen_ = head_.load(std::memory_order_acquire);
      if (next == head_seen_) return false;
    }
    cells_[tail] = value;
    tail_.store(next, std::memory_order_release);
    return true;
  }

  // Consumer thread only.
  bool try_pop(T& out) noexcept {
    const std::size_t head = head_.load(std::memory_order_relaxed);
    if (head == tail_seen_) {
      tail_seen_ = tail_.load(std::memory_order_acquire);
      if (head == tail_seen_) return false;
    }
    out = cells_[head];
    head_.store(head + 1 == capacity_ ? 0 : head + 1, std::memory_order_release);
    return true;
  }

 private:
  const std::size_t capacity_;
  std::unique_ptr<T[]> cells_;
  // Each side's index, and its last look at the other's, on a line of its
  // own, so that the producer's and the consumer's writes do not share one.
  alignas(64) std::atomic<std::size_t> head_{0};
  std::size_t tail_seen_ = 0;  // consumer
  alignas(64) std::atomic<std::size_t> tail_{0};
  std::size_t head_seen_ = 0;  // producer
};

}  // namespace edgerun::detail

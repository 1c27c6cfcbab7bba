#pragma once
// Fixed-capacity FIFO in two layers: RingQueue works over storage it is given
// and knows its capacity only at run time (APIs take it); OwnedRingQueue owns
// storage allocated once. Not thread-safe: the owner adds the locking that fits.
// Full is a normal result: try_push returns false and counts the refusal.

#include <cstddef>
#include <cstdint>
#include <memory>
#include <span>

namespace edgerun {

template <class T>
class RingQueue {
 public:
  explicit RingQueue(std::span<T> storage) noexcept : storage_(storage) {}

  bool try_push(const T& value) noexcept {
    if (size_ == storage_.size()) {
      ++refused_;
      return false;
    }
    storage_[(head_ + size_) % storage_.size()] = value;
    ++size_;
    if (size_ > high_water_) high_water_ = size_;
    return true;
  }

  bool try_pop(T& out) noexcept {
    if (size_ == 0) return false;
    out = storage_[head_];
    head_ = (head_ + 1) % storage_.size();
    --size_;
    return true;
  }

  // Removes the first element equal to `value`, keeping the order of the rest.
  // Linear in size(): for rare operations such as cancelling a queued job.
  bool remove(const T& value) noexcept {
    for (std::size_t i = 0; i < size_; ++i) {
      if (storage_[(head_ + i) % storage_.size()] == value) {
        for (std::size_t j = i; j + 1 < size_; ++j) {
          storage_[(head_ + j) % storage_.size()] = storage_[(head_ + j + 1) % storage_.size()];
        }
        --size_;
        return true;
      }
    }
    return false;
  }

  std::size_t size() const noexcept { return size_; }
  bool empty() const noexcept { return size_ == 0; }
  bool full() const noexcept { return size_ == storage_.size(); }
  std::size_t capacity() const noexcept { return storage_.size(); }
  std::size_t high_water() const noexcept { return high_water_; }
  std::uint64_t refused_total() const noexcept { return refused_; }

 private:
  std::span<T> storage_;
  std::size_t head_ = 0;
  std::size_t size_ = 0;
  std::size_t high_water_ = 0;
  std::uint64_t refused_ = 0;
};

namespace detail {
template <class T>
struct RingStorage {
  explicit RingStorage(std::size_t capacity) : cells(new T[capacity]()), count(capacity) {}
  std::unique_ptr<T[]> cells;
  std::size_t count;
};
}  // namespace detail

template <class T>
class OwnedRingQueue : private detail::RingStorage<T>, public RingQueue<T> {
 public:
  explicit OwnedRingQueue(std::size_t capacity)
      : detail::RingStorage<T>(capacity),
        RingQueue<T>(std::span<T>(detail::RingStorage<T>::cells.get(), capacity)) {}
};

}  // namespace edgerun

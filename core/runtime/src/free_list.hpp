#pragma once
// Free job slots as a stack: the slot freed last is taken next, so a
// steady stream of jobs keeps reusing the few slots still in cache instead
// of cycling through all of them (a FIFO touched every slot in turn, one
// cache miss per job at large queue capacities). Table lock.

#include <cstdint>
#include <memory>

namespace edgerun::detail {

class FreeList {
 public:
  explicit FreeList(std::uint32_t capacity) : slots_(new std::uint32_t[capacity]), capacity_(capacity) {}

  bool try_push(std::uint32_t slot) noexcept {
    if (count_ == capacity_) return false;
    slots_[count_++] = slot;
    return true;
  }
  // The slot that the try_pop after `ahead` more pops gives, if any.
  bool peek(std::uint32_t ahead, std::uint32_t& slot) const noexcept {
    if (count_ <= ahead) return false;
    slot = slots_[count_ - 1 - ahead];
    return true;
  }
  bool try_pop(std::uint32_t& slot) noexcept {
    if (count_ == 0) return false;
    slot = slots_[--count_];
    return true;
  }

 private:
  std::unique_ptr<std::uint32_t[]> slots_;
  std::uint32_t capacity_;
  std::uint32_t count_ = 0;
};

}  // namespace edgerun::detail

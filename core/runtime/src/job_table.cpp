#include "job_table.hpp"

#include <cstring>

namespace edgerun::detail {

JobTable::JobTable(const Sizes& sizes)
    : slot_count_(sizes.slots),
      queue_capacity_(sizes.queue_capacity),
      slots_(new JobSlot[sizes.slots]),
      buffers_(new char[(sizes.payload_bytes + sizes.result_bytes) * sizes.slots]),
      ids_(sizes.slots, sizes.finished_ids, sizes.finished_id_ttl_ms) {
  free_.reserve(slot_count_);
  for (std::uint32_t i = 0; i < slot_count_; ++i) {
    slots_[i].payload = buffers_.get() + (sizes.payload_bytes + sizes.result_bytes) * i;
    slots_[i].result = slots_[i].payload + sizes.payload_bytes;
  }
  // Pushed in reverse so that slot 0 is taken first.
  for (std::uint32_t i = slot_count_; i > 0; --i) free_.push_back(i - 1);
}

JobIds::Found JobTable::find(std::string_view id, std::int64_t now_ms) const noexcept {
  return ids_.find(
      id, hash_id(id), [this](std::uint32_t index) { return slots_[index].id_view(); }, [now_ms] { return now_ms; });
}

JobSlot* JobTable::take_free_slot() noexcept {
  if (free_.empty()) return nullptr;
  JobSlot& slot = slots_[free_.back()];
  free_.pop_back();
  return &slot;
}

bool JobTable::admit(JobSlot& slot, bool for_workers, bool beyond_capacity) noexcept {
  const std::uint32_t index = index_of(slot);
  if (for_workers && !beyond_capacity && waiting_ >= queue_capacity_) {
    free_.push_back(index);
    return false;
  }
  slot.in_use = true;
  ++in_flight_;
  ids_.add_in_flight(hash_id(slot.id_view()), index);
  if (!for_workers) return true;
  slot.waiting = true;
  slot.prev_waiting = last_waiting_;
  slot.next_waiting = kNoSlot;
  if (last_waiting_ == kNoSlot) {
    first_waiting_ = index;
  } else {
    slots_[last_waiting_].next_waiting = index;
  }
  last_waiting_ = index;
  if (++waiting_ > waiting_high_water_) waiting_high_water_ = waiting_;
  return true;
}

JobSlot* JobTable::pop_waiting() noexcept {
  if (first_waiting_ == kNoSlot) return nullptr;
  JobSlot& slot = slots_[first_waiting_];
  (void)remove_waiting(slot);
  return &slot;
}

bool JobTable::remove_waiting(JobSlot& slot) noexcept {
  if (!slot.waiting) return false;
  if (slot.prev_waiting == kNoSlot) {
    first_waiting_ = slot.next_waiting;
  } else {
    slots_[slot.prev_waiting].next_waiting = slot.next_waiting;
  }
  if (slot.next_waiting == kNoSlot) {
    last_waiting_ = slot.prev_waiting;
  } else {
    slots_[slot.next_waiting].prev_waiting = slot.prev_waiting;
  }
  slot.waiting = false;
  slot.prev_waiting = slot.next_waiting = kNoSlot;
  --waiting_;
  return true;
}

void JobTable::retire(JobSlot& slot, JobState terminal, std::int64_t now_ms) noexcept {
  const std::uint32_t index = index_of(slot);
  ids_.finish(slot.id.data(), slot.id_length, hash_id(slot.id_view()), index, terminal, now_ms);
  slot.in_use = false;
  ++slot.generation;
  free_.push_back(index);
  --in_flight_;
}

}  // namespace edgerun::detail

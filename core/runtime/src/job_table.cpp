#include "job_table.hpp"

#include <cstring>

namespace edgerun::detail {

JobTable::JobTable(const Sizes& sizes)
    : slot_count_(sizes.slots < sizes.buffers ? sizes.buffers : sizes.slots),
      buffer_count_(sizes.buffers),
      queue_capacity_(sizes.queue_capacity),
      payload_bytes_(sizes.payload_bytes),
      buffer_bytes_(sizes.payload_bytes + sizes.result_bytes),
      slots_(new JobSlot[slot_count_]),
      buffers_(new char[buffer_bytes_ * sizes.buffers]),
      ids_(slot_count_, sizes.finished_ids, sizes.finished_id_ttl_ms) {
  free_.reserve(slot_count_);
  free_buffers_.reserve(buffer_count_);
  // Pushed in reverse so that slot 0 and buffer 0 are taken first.
  for (std::uint32_t i = slot_count_; i > 0; --i) free_.push_back(i - 1);
  for (std::uint32_t i = buffer_count_; i > 0; --i) free_buffers_.push_back(i - 1);
}

JobIds::Found JobTable::find(std::string_view id, std::int64_t now_ms) const noexcept {
  return ids_.find(
      id, hash_id(id), [this](std::uint32_t index) { return slots_[index].id_view(); }, [now_ms] { return now_ms; });
}

JobSlot* JobTable::take_free_slot(bool with_buffers) noexcept {
  if (free_.empty() || (with_buffers && free_buffers_.empty())) return nullptr;
  JobSlot& slot = slots_[free_.back()];
  free_.pop_back();
  if (with_buffers) attach_buffers(slot);
  return &slot;
}

void JobTable::attach_buffers(JobSlot& slot) noexcept {
  char* const buffer = buffers_.get() + buffer_bytes_ * free_buffers_.back();
  free_buffers_.pop_back();
  slot.payload = buffer;
  slot.result = buffer + payload_bytes_;
  slot.has_buffers = true;
}

void JobTable::detach_buffers(JobSlot& slot) noexcept {
  if (!slot.has_buffers) return;
  free_buffers_.push_back(static_cast<std::uint32_t>((slot.payload - buffers_.get()) / buffer_bytes_));
  slot.payload = slot.result = nullptr;
  slot.has_buffers = false;
}

void JobTable::mark_in_flight(JobSlot& slot) noexcept {
  slot.in_use = true;
  ++in_flight_;
  ids_.add_in_flight(hash_id(slot.id_view()), index_of(slot));
}

bool JobTable::admit(JobSlot& slot, bool for_workers) noexcept {
  if (!slot.has_buffers || (for_workers && (waiting_ >= queue_capacity_ || backlog_ != 0))) {
    give_back(slot);
    return false;
  }
  mark_in_flight(slot);
  if (for_workers) push_back(slot, SlotList::queue);
  return true;
}

void JobTable::admit_to_backlog(JobSlot& slot) noexcept {
  mark_in_flight(slot);
  push_back(slot, SlotList::backlog);
}

void JobTable::enqueue(JobSlot& slot) noexcept { push_back(slot, SlotList::queue); }

void JobTable::push_back(JobSlot& slot, SlotList list) noexcept {
  const std::uint32_t index = index_of(slot);
  const bool queue = list == SlotList::queue;
  std::uint32_t& first = queue ? first_waiting_ : first_backlog_;
  std::uint32_t& last = queue ? last_waiting_ : last_backlog_;
  slot.list = list;
  slot.prev_waiting = last;
  slot.next_waiting = kNoSlot;
  if (last == kNoSlot) {
    first = index;
  } else {
    slots_[last].next_waiting = index;
  }
  last = index;
  if (queue) {
    if (++waiting_ > waiting_high_water_) waiting_high_water_ = waiting_;
  } else if (++backlog_ > backlog_high_water_) {
    backlog_high_water_ = backlog_;
  }
}

JobSlot* JobTable::pop_waiting() noexcept {
  if (first_waiting_ == kNoSlot) return nullptr;
  JobSlot& slot = slots_[first_waiting_];
  (void)remove_waiting(slot);
  return &slot;
}

bool JobTable::remove_waiting(JobSlot& slot) noexcept {
  if (slot.list == SlotList::none) return false;
  const bool queue = slot.list == SlotList::queue;
  std::uint32_t& first = queue ? first_waiting_ : first_backlog_;
  std::uint32_t& last = queue ? last_waiting_ : last_backlog_;
  if (slot.prev_waiting == kNoSlot) {
    first = slot.next_waiting;
  } else {
    slots_[slot.prev_waiting].next_waiting = slot.next_waiting;
  }
  if (slot.next_waiting == kNoSlot) {
    last = slot.prev_waiting;
  } else {
    slots_[slot.next_waiting].prev_waiting = slot.prev_waiting;
  }
  slot.list = SlotList::none;
  slot.prev_waiting = slot.next_waiting = kNoSlot;
  --(queue ? waiting_ : backlog_);
  return true;
}

void JobTable::retire(JobSlot& slot, JobState terminal, std::int64_t now_ms) noexcept {
  const std::uint32_t index = index_of(slot);
  ids_.finish(slot.id.data(), slot.id_length, hash_id(slot.id_view()), index, terminal, now_ms);
  slot.in_use = false;
  ++slot.generation;
  detach_buffers(slot);
  free_.push_back(index);
  --in_flight_;
}

}  // namespace edgerun::detail

#pragma once
// The jobs the runtime knows, under one lock: the slots of the jobs in
// flight, the queue of jobs waiting for a worker (first in, first out), the
// backlog of jobs waiting in the journal for room in that queue (first in,
// first out), and the ids of jobs finished recently. Admission, the
// workers, cancel, lookup and the loop's retirement each take the lock
// briefly; nothing that waits runs under it. Everything is allocated by the
// constructor.
//
// A slot is small (an id, a timer, states); its buffers (payload and
// result, kilobytes each) come from a pool of their own, as many as a job
// can hold while queued, running or ended: queue_capacity + 2 per worker.
// With a journal there are more slots than buffers: a job in the backlog
// holds a slot without buffers, and its submission is read back from the
// journal when it moves to the queue.
//
// Every member function but the constructor and mutex() expects the caller
// to hold mutex().

#include <cstdint>
#include <memory>
#include <mutex>
#include <string_view>
#include <vector>

#include "job_ids.hpp"
#include "job_slot.hpp"

namespace edgerun::detail {

class JobTable {
 public:
  struct Sizes {
    std::uint32_t slots;           // jobs in flight at most, the backlog's included
    std::uint32_t buffers;         // jobs in flight outside the backlog at most
    std::uint32_t queue_capacity;  // jobs waiting for a worker at most
    std::uint32_t finished_ids;
    std::uint32_t finished_id_ttl_ms;
    std::size_t payload_bytes;  // per slot
    std::size_t result_bytes;   // per slot
  };
  explicit JobTable(const Sizes& sizes);

  std::mutex& mutex() const noexcept { return mutex_; }

  JobSlot& slot(std::uint32_t index) noexcept { return slots_[index]; }
  const JobSlot& slot(std::uint32_t index) const noexcept { return slots_[index]; }
  std::uint32_t index_of(const JobSlot& slot) const noexcept {
    return static_cast<std::uint32_t>(&slot - slots_.get());
  }
  std::uint32_t slot_count() const noexcept { return slot_count_; }

  // Where `id` is: in flight (and in which slot), finished (and how), or
  // unknown. `now_ms` is the monotonic clock, for the finished ids' ttl.
  JobIds::Found find(std::string_view id, std::int64_t now_ms) const noexcept;

  // A free slot for a new job, with buffers when `with_buffers`, or nullptr
  // when every slot (or every buffer) is taken.
  JobSlot* take_free_slot(bool with_buffers = true) noexcept;
  // The job in `slot` (taken with buffers) was admitted: it is in flight
  // under its id and waits for a worker. False (and the slot given back)
  // when there is no room (has_room). A job the loop runs itself
  // (`for_workers` false) is in flight without waiting in the workers'
  // queue.
  bool admit(JobSlot& slot, bool for_workers = true) noexcept;
  // Whether admit() would find room: a slot with buffers, and for a job for
  // the workers a place in the queue with no job in the backlog ahead of
  // it. Asked before the journal records a job, so that a job it records is
  // never refused after.
  bool has_room(bool for_workers) const noexcept {
    return !free_.empty() && !free_buffers_.empty() &&
           (!for_workers || (waiting_ < queue_capacity_ && backlog_ == 0));
  }
  // The backlog: a job the journal keeps until the queue has room.
  bool has_backlog_room() const noexcept { return !free_.empty(); }
  // The job in `slot` (taken without buffers) was admitted into the
  // backlog: it is in flight under its id.
  void admit_to_backlog(JobSlot& slot) noexcept;
  // The oldest job of the backlog, given buffers and out of the backlog,
  // when the queue has room for it (or the loop runs it: `runs_on_loop`
  // says which handlers do); nullptr when none can move. The caller fills
  // its payload, then queues it (enqueue) unless the loop runs it.
  template <class RunsOnLoop>
  JobSlot* take_from_backlog(RunsOnLoop&& runs_on_loop) noexcept {
    if (first_backlog_ == kNoSlot || free_buffers_.empty()) return nullptr;
    JobSlot& slot = slots_[first_backlog_];
    if (!runs_on_loop(slot) && waiting_ >= queue_capacity_) return nullptr;
    (void)remove_waiting(slot);
    attach_buffers(slot);
    return &slot;
  }
  // Puts a job taken from the backlog in the workers' queue.
  void enqueue(JobSlot& slot) noexcept;
  // Gives back a slot taken by take_free_slot() and never admitted.
  void give_back(JobSlot& slot) noexcept {
    detach_buffers(slot);
    free_.push_back(index_of(slot));
  }
  // A job finished before a restart: its id is remembered as finished.
  void remember_finished(std::string_view id, JobState terminal, std::int64_t now_ms) noexcept {
    if (ids_.find(id, hash_id(id), [this](std::uint32_t index) { return slots_[index].id_view(); },
                  [now_ms] { return now_ms; })
            .kind == JobIds::Found::Kind::none) {
      ids_.remember_finished(id, hash_id(id), terminal, now_ms);
    }
  }
  std::uint64_t finished_ids_evicted_early() const noexcept { return ids_.evicted_early(); }
  // The oldest job waiting for a worker, now no longer waiting; nullptr
  // when none waits.
  JobSlot* pop_waiting() noexcept;
  // Takes a job out of the queue or the backlog, wherever it waits; false
  // when it does not wait (a worker or the loop has it).
  bool remove_waiting(JobSlot& slot) noexcept;
  // The job's terminal status went out and its worker is done with it: its
  // id is remembered as finished, and its slot is free again.
  void retire(JobSlot& slot, JobState terminal, std::int64_t now_ms) noexcept;

  std::uint32_t in_flight() const noexcept { return in_flight_; }
  std::uint32_t waiting() const noexcept { return waiting_; }
  std::uint32_t backlog() const noexcept { return backlog_; }
  std::uint32_t backlog_high_water() const noexcept { return backlog_high_water_; }
  std::uint32_t backlog_capacity() const noexcept { return slot_count_ - buffer_count_; }
  std::uint32_t waiting_high_water() const noexcept { return waiting_high_water_; }
  std::uint32_t queue_capacity() const noexcept { return queue_capacity_; }

 private:
  void attach_buffers(JobSlot& slot) noexcept;
  void detach_buffers(JobSlot& slot) noexcept;
  void mark_in_flight(JobSlot& slot) noexcept;
  void push_back(JobSlot& slot, SlotList list) noexcept;

  std::uint32_t slot_count_;
  std::uint32_t buffer_count_;
  std::uint32_t queue_capacity_;
  std::size_t payload_bytes_;
  std::size_t buffer_bytes_;  // one job's payload and result
  std::unique_ptr<JobSlot[]> slots_;
  std::unique_ptr<char[]> buffers_;
  std::vector<std::uint32_t> free_;          // a stack; reserved for every slot
  std::vector<std::uint32_t> free_buffers_;  // a stack; reserved for every buffer
  JobIds ids_;
  std::uint32_t first_waiting_ = kNoSlot;
  std::uint32_t last_waiting_ = kNoSlot;
  std::uint32_t waiting_ = 0;
  std::uint32_t first_backlog_ = kNoSlot;
  std::uint32_t last_backlog_ = kNoSlot;
  std::uint32_t backlog_ = 0;
  std::uint32_t backlog_high_water_ = 0;
  std::uint32_t waiting_high_water_ = 0;
  std::uint32_t in_flight_ = 0;
  mutable std::mutex mutex_;
};

}  // namespace edgerun::detail

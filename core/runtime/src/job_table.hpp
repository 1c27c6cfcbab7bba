#pragma once
// The jobs the runtime knows, under one lock: the slots of the jobs in
// flight, the queue of jobs waiting for a worker (first in, first out), and
// the ids of jobs finished recently. Admission, the workers, cancel, lookup
// and the loop's retirement each take the lock briefly; nothing that waits
// runs under it. Everything is allocated by the constructor.
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
    std::uint32_t slots;           // jobs in flight at most
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

  // A free slot for a new job, or nullptr when every slot is taken.
  JobSlot* take_free_slot() noexcept;
  // The job in `slot` was admitted: it is in flight under its id and waits
  // for a worker. False (and the slot given back) when queue_capacity jobs
  // are waiting already. A job the loop runs itself (`for_workers` false)
  // is in flight without waiting in the workers' queue.
  // `beyond_capacity`: the queue may pass queue_capacity (recovery puts back
  // jobs that held slots, waiting or not).
  bool admit(JobSlot& slot, bool for_workers = true, bool beyond_capacity = false) noexcept;
  // Whether admit() would find room: a slot, and for a job for the workers
  // a place in the queue. Asked before the journal records a job, so that
  // a job it records is never refused after.
  bool has_room(bool for_workers, bool beyond_capacity = false) const noexcept {
    return !free_.empty() && (!for_workers || beyond_capacity || waiting_ < queue_capacity_);
  }
  // Gives back a slot taken by take_free_slot() and never admitted.
  void give_back(JobSlot& slot) noexcept { free_.push_back(index_of(slot)); }
  // A job finished before a restart: its id is remembered as finished.
  void remember_finished(std::string_view id, JobState terminal, std::int64_t now_ms) noexcept {
    if (ids_.find(id, hash_id(id), [this](std::uint32_t index) { return slots_[index].id_view(); },
                  [now_ms] { return now_ms; })
            .kind == JobIds::Found::Kind::none) {
      ids_.remember_finished(id, hash_id(id), terminal, now_ms);
    }
  }
  std::uint64_t finished_ids_evicted_early() const noexcept { return ids_.evicted_early(); }
  // The oldest waiting job, now no longer waiting; nullptr when none waits.
  JobSlot* pop_waiting() noexcept;
  // Takes a waiting job out of the queue; false when it is not waiting (a
  // worker has it).
  bool remove_waiting(JobSlot& slot) noexcept;
  // The job's terminal status went out and its worker is done with it: its
  // id is remembered as finished, and its slot is free again.
  void retire(JobSlot& slot, JobState terminal, std::int64_t now_ms) noexcept;

  std::uint32_t in_flight() const noexcept { return in_flight_; }
  std::uint32_t waiting() const noexcept { return waiting_; }
  std::uint32_t waiting_high_water() const noexcept { return waiting_high_water_; }
  std::uint32_t queue_capacity() const noexcept { return queue_capacity_; }

 private:
  std::uint32_t slot_count_;
  std::uint32_t queue_capacity_;
  std::unique_ptr<JobSlot[]> slots_;
  std::unique_ptr<char[]> buffers_;  // each slot's payload and result
  std::vector<std::uint32_t> free_;  // a stack; reserved for every slot
  JobIds ids_;
  std::uint32_t first_waiting_ = kNoSlot;
  std::uint32_t last_waiting_ = kNoSlot;
  std::uint32_t waiting_ = 0;
  std::uint32_t waiting_high_water_ = 0;
  std::uint32_t in_flight_ = 0;
  mutable std::mutex mutex_;
};

}  // namespace edgerun::detail

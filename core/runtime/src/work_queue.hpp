#pragma once
// The bounded queue between admission and the workers: slot indices in FIFO
// order. One producer at a time (admission and cancel hold the table lock),
// any number of worker consumers, and no lock between them: a lock here was
// taken twice per job by three threads, and on a small board the thread
// holding it is often the one the scheduler has just preempted. Producers
// never block (full is a result); workers sleep on a condition variable while
// it is empty, and at most one wake is in flight.
//
// Cancel cannot take an entry out of the middle of a lock-free ring, so a job
// is taken by its ticket instead: each push gives the slot a fresh ticket and
// the entry carries it; a worker, or a cancel, takes the job by clearing the
// slot's ticket, and a worker skips an entry whose ticket is no longer its
// slot's. Such dead entries only hold ring room: the ring has room for twice
// the queue's capacity, and a push that finds it full drops them all in one
// pass, paid for by the cancels that left them.

#include <atomic>
#include <bit>
#include <condition_variable>
#include <cstdint>
#include <memory>
#include <mutex>

#include "edgerun/port/thread.hpp"

namespace edgerun::detail {

class WorkQueue {
 public:
  // capacity: jobs that may wait; slots: the number of slot indices.
  WorkQueue(std::uint32_t capacity, std::uint32_t slots)
      : capacity_(capacity),
        ring_size_(std::bit_ceil(std::uint64_t{capacity} * 2)),
        mask_(ring_size_ - 1),
        cells_(new std::atomic<std::uint64_t>[ring_size_]),
        tickets_(new std::atomic<std::uint32_t>[slots]) {
    for (std::uint64_t i = 0; i < ring_size_; ++i) cells_[i].store(0, std::memory_order_relaxed);
    for (std::uint32_t i = 0; i < slots; ++i) tickets_[i].store(kNotQueued, std::memory_order_relaxed);
  }

  // Producer. False when `capacity` jobs are waiting. With publish_now false
  // the job reaches the workers with the next publish() or at the latest
  // kPublishBatch pushes later: a burst then pays for one sequentially
  // consistent store and one transfer of the tail's cache line per batch
  // instead of per job.
  bool try_push(std::uint32_t slot, bool publish_now = true) noexcept {
    // The counts the workers write are read again only when the producer's
    // last look at them says full, and at each publish: the workers' line
    // changes with every job they take, and reading it on every push cost a
    // transfer of that line per job. A stale look only overstates the jobs
    // waiting and understates the ring's room, so nothing gets in that
    // should not.
    if (waiting_at_most() >= capacity_) {
      taken_seen_ = taken_.load(std::memory_order_relaxed);
      if (waiting_at_most() >= capacity_) return false;
    }
    if (local_tail_ - head_seen_ >= ring_size_) {
      head_seen_ = head_.load(std::memory_order_acquire);
      if (local_tail_ - head_seen_ == ring_size_) {
        drop_dead_entries();
        // Not reached: at most `capacity` entries wait, and the ring holds twice that.
        if (ring_full()) return false;
      }
    }
    if (++last_ticket_ == kNotQueued) ++last_ticket_;
    tickets_[slot].store(last_ticket_, std::memory_order_relaxed);
    pushed_.store(pushed_.load(std::memory_order_relaxed) + 1, std::memory_order_relaxed);
    append(entry(slot, last_ticket_));
    if (publish_now || local_tail_ - tail_.load(std::memory_order_relaxed) >= kPublishBatch) publish();
    return true;
  }

  // Producer: makes every pushed job visible to the workers, and wakes one
  // if all are asleep.
  void publish() noexcept {
    if (tail_.load(std::memory_order_relaxed) == local_tail_) return;
    // Sequentially consistent store, then load (not fences, which
    // ThreadSanitizer cannot see): see pop_wait.
    tail_.store(local_tail_, std::memory_order_seq_cst);
    if (sleepers_.load(std::memory_order_seq_cst) != 0) wake_one_sleeper();
    // The high water is taken here, with a fresh look at the workers'
    // count: a batch's jobs are all waiting only once it is published.
    taken_seen_ = taken_.load(std::memory_order_relaxed);
    const std::uint64_t waiting = waiting_at_most();
    if (waiting > high_water_.load(std::memory_order_relaxed)) high_water_.store(waiting, std::memory_order_relaxed);
  }

  // Producer. True when the slot's job was waiting and now never reaches a
  // worker; false when a worker has it (or it was not queued). Its entry
  // stays in the ring, dead, until a worker pops it or a push drops it.
  bool remove(std::uint32_t slot) noexcept {
    std::uint32_t ticket = tickets_[slot].load(std::memory_order_acquire);
    if (ticket == kNotQueued || !tickets_[slot].compare_exchange_strong(ticket, kNotQueued, std::memory_order_acq_rel)) {
      return false;
    }
    removed_.store(removed_.load(std::memory_order_relaxed) + 1, std::memory_order_relaxed);
    return true;
  }

  // Worker threads. Blocks until a job is taken; false once closed.
  bool pop_wait(std::uint32_t& slot) noexcept {
    for (;;) {
      if (closed_.load(std::memory_order_acquire)) return false;
      if (take(slot)) {
        // Pass the wake on: this worker may have been the one woken, and
        // more work waits.
        if (!ring_empty()) wake_one_sleeper();
        return true;
      }
      // A short spin before sleeping: when jobs arrive one by one a little
      // slower than a worker runs them, sleeping after each job costs a
      // futex wake and a context switch per job. The spin is bounded (a few
      // microseconds) and only reads.
      for (int spin = 0; spin < kSpins && ring_empty(); ++spin) port::cpu_relax();
      if (!ring_empty()) continue;
      std::unique_lock lock(sleep_mutex_);
      if (closed_.load(std::memory_order_acquire)) return false;
      // Announce the sleep, then look once more. The announcement and the
      // producer's tail store, and the reads after each, are sequentially
      // consistent: a producer either sees the announcement or its entry is
      // seen here.
      sleepers_.fetch_add(1, std::memory_order_seq_cst);
      if (!ring_empty()) {
        sleepers_.fetch_sub(1, std::memory_order_relaxed);
        continue;
      }
      ready_.wait(lock);
      sleepers_.fetch_sub(1, std::memory_order_relaxed);
      // The wake in flight has arrived. A producer that saw it pending and
      // did not wake anyone has its entry seen by the take() that follows.
      wake_pending_.store(false, std::memory_order_seq_cst);
    }
  }

  void close() noexcept {
    closed_.store(true, std::memory_order_release);
    { std::lock_guard lock(sleep_mutex_); }
    ready_.notify_all();
  }

  bool full() const noexcept { return size() >= capacity_; }
  // The jobs waiting. Read away from the producer, the three counts may be
  // of moments apart; the producer's own view never goes below zero.
  std::size_t size() const noexcept {
    const std::uint64_t out = removed_.load(std::memory_order_relaxed) + taken_.load(std::memory_order_relaxed);
    const std::uint64_t in = pushed_.load(std::memory_order_relaxed);
    return in > out ? in - out : 0;
  }
  std::size_t high_water() const noexcept { return high_water_.load(std::memory_order_relaxed); }

 private:
  static constexpr std::uint32_t kNotQueued = 0;
  static constexpr int kSpins = 64;
  static constexpr std::uint64_t kPublishBatch = 16;

  static std::uint64_t entry(std::uint32_t slot, std::uint32_t ticket) noexcept {
    return std::uint64_t{ticket} << 32 | slot;
  }
  static std::uint32_t slot_of(std::uint64_t entry) noexcept { return static_cast<std::uint32_t>(entry); }
  static std::uint32_t ticket_of(std::uint64_t entry) noexcept { return static_cast<std::uint32_t>(entry >> 32); }

  bool ring_full() const noexcept { return local_tail_ - head_.load(std::memory_order_acquire) == ring_size_; }
  // Producer: the jobs waiting, or more (taken_seen_ may be behind).
  std::uint64_t waiting_at_most() const noexcept {
    return pushed_.load(std::memory_order_relaxed) - removed_.load(std::memory_order_relaxed) - taken_seen_;
  }
  bool ring_empty() const noexcept {
    return head_.load(std::memory_order_acquire) >= tail_.load(std::memory_order_seq_cst);
  }

  // Producer: puts an entry after the last one (the ring has room); the
  // workers see it once published.
  void append(std::uint64_t value) noexcept {
    cells_[local_tail_ & mask_].store(value, std::memory_order_relaxed);
    ++local_tail_;
  }

  // Any thread: takes the entry at the head. The cell is read before the
  // head moves; a cell the producer reused meanwhile fails the exchange,
  // since the producer reuses a cell only after the head has passed it.
  // The head is read with acquire, so the tail read after it is at least the
  // tail its writer saw: a weakly ordered CPU (ARM) could otherwise read an
  // older tail than the head and walk past the end.
  bool pop_entry(std::uint64_t& value) noexcept {
    std::uint64_t head = head_.load(std::memory_order_acquire);
    for (;;) {
      if (head >= tail_.load(std::memory_order_seq_cst)) return false;
      value = cells_[head & mask_].load(std::memory_order_relaxed);
      if (head_.compare_exchange_weak(head, head + 1, std::memory_order_acq_rel, std::memory_order_acquire)) return true;
    }
  }

  // Workers: the next job still waiting; dead entries are skipped.
  bool take(std::uint32_t& slot) noexcept {
    std::uint64_t value = 0;
    while (pop_entry(value)) {
      std::uint32_t ticket = ticket_of(value);
      if (ticket == kNotQueued) continue;  // no push writes it: never a job
      if (tickets_[slot_of(value)].compare_exchange_strong(ticket, kNotQueued, std::memory_order_acq_rel)) {
        taken_.fetch_add(1, std::memory_order_relaxed);
        slot = slot_of(value);
        return true;
      }
    }
    return false;
  }

  // Producer, with the ring full: one turn of the ring, putting each entry
  // still waiting back at the tail in the same order and dropping the dead.
  // The entries put back are published at the end, so this turn never meets
  // them again. (Workers may meanwhile start a job behind one that is in this
  // thread's hands: a rare, small reordering.)
  void drop_dead_entries() noexcept {
    publish();
    const std::uint64_t count = local_tail_ - head_.load(std::memory_order_acquire);
    std::uint64_t value = 0;
    for (std::uint64_t i = 0; i < count && pop_entry(value); ++i) {
      // Only this thread clears a waiting ticket besides the worker that
      // pops the entry, and the entry is in this thread's hands.
      if (tickets_[slot_of(value)].load(std::memory_order_acquire) == ticket_of(value)) append(value);
    }
    publish();
  }

  void wake_one_sleeper() noexcept {
    if (sleepers_.load(std::memory_order_seq_cst) == 0 || wake_pending_.load(std::memory_order_seq_cst)) return;
    {
      std::lock_guard lock(sleep_mutex_);
      // Under the lock a counted sleeper is inside wait(): the notify
      // reaches it.
      if (sleepers_.load(std::memory_order_relaxed) == 0 || wake_pending_.load(std::memory_order_relaxed)) return;
      wake_pending_.store(true, std::memory_order_relaxed);
    }
    ready_.notify_one();
  }

  const std::uint32_t capacity_;
  const std::uint64_t ring_size_;
  const std::uint64_t mask_;
  std::unique_ptr<std::atomic<std::uint64_t>[]> cells_;
  std::unique_ptr<std::atomic<std::uint32_t>[]> tickets_;  // per slot; kNotQueued when not waiting
  std::uint32_t last_ticket_ = kNotQueued;  // producer only
  std::uint64_t local_tail_ = 0;            // producer only: tail_ once published
  std::uint64_t taken_seen_ = 0;            // producer only: taken_ at its last look
  std::uint64_t head_seen_ = 0;             // producer only: head_ at its last look

  // The jobs waiting are pushed - removed - taken. Each count has one kind of
  // writer, so the producer makes no read-modify-write on a line the workers
  // write. The workers' line and the producer's are apart.
  alignas(64) std::atomic<std::uint64_t> head_{0};
  std::atomic<std::uint64_t> taken_{0};  // workers
  alignas(64) std::atomic<std::uint64_t> tail_{0};
  // Apart from the tail, which idle workers keep reading: a push writes
  // these every time, and on the tail's line each write took the line from
  // the workers and each of their reads took it back.
  alignas(64) std::atomic<std::uint64_t> pushed_{0};   // producer
  std::atomic<std::uint64_t> removed_{0};  // producer
  std::atomic<std::uint64_t> high_water_{0};

  // Sleeping. wake_pending_: a notify_one whose worker has not run yet; a
  // burst of pushes then costs one futex wake, not one per job, and the woken
  // worker passes the wake on while work remains.
  alignas(64) std::mutex sleep_mutex_;
  std::condition_variable ready_;
  std::atomic<int> sleepers_{0};
  std::atomic<bool> wake_pending_{false};
  std::atomic<bool> closed_{false};
};

}  // namespace edgerun::detail

#pragma once
// The ids the runtime knows: jobs in flight (by slot) and jobs finished
// recently, with their terminal state, so that a resubmitted id is rejected
// `duplicate` and job_state() answers after the job ended. Both live in one
// open-addressing index: admission looks an id up once, and a job that ends
// has its index entry relabelled from its slot to its finished record rather
// than erased from one index and inserted into another (the loop does this
// for every job).
//
// Finished records are a fixed ring that forgets the oldest; a record older
// than the ttl counts as forgotten. Table lock.

#include <array>
#include <cstdint>
#include <cstring>
#include <functional>
#include <memory>
#include <optional>
#include <string_view>

#include "edgerun/job_state.hpp"
#include "edgerun/id_index.hpp"

namespace edgerun::detail {

// Ids are compared by hash first, then by text.
inline std::uint64_t hash_id(std::string_view id) noexcept { return std::hash<std::string_view>{}(id); }

class JobIds {
 public:
  // slots: jobs in flight at most; finished: records kept (at least 1).
  JobIds(std::uint32_t slots, std::uint32_t finished, std::int64_t ttl_ms)
      : finished_capacity_(finished),
        ttl_ms_(ttl_ms),
        records_(new Record[finished]),
        index_(slots + finished) {}

  struct Found {
    enum class Kind : std::uint8_t { none, in_flight, finished };
    Kind kind = Kind::none;
    std::uint32_t slot = 0;                     // in_flight
    JobState state = JobState::succeeded;       // finished
  };

  // slot_id(slot) gives the id of the job in a slot. `now_ms` is called only
  // when a finished record has this id: a new id, the common case, costs no
  // clock read.
  template <class SlotId, class Clock>
  Found find(std::string_view id, std::uint64_t hash, SlotId&& slot_id, Clock&& now_ms) const noexcept {
    Found found;
    (void)index_.find(hash, [&](std::uint32_t value) {
      if (!is_record(value)) {
        if (slot_id(value) != id) return false;
        found = {Found::Kind::in_flight, value, JobState::queued};
        return true;
      }
      const Record& record = records_[value & ~kRecordBit];
      // An expired record may share the id of a job admitted since: look on.
      if (record.id_view() != id || now_ms() - record.finished_ms > ttl_ms_) return false;
      found = {Found::Kind::finished, 0, record.state};
      return true;
    });
    return found;
  }

  void add_in_flight(std::uint64_t hash, std::uint32_t slot) noexcept { index_.insert(hash, slot); }

  // The job in `slot` ended: its entry now names a finished record, which
  // takes the place of the oldest.
  void finish(const char* id, std::uint8_t length, std::uint64_t hash, std::uint32_t slot, JobState state,
              std::int64_t now_ms) noexcept {
    index_.replace(hash, slot, take_record(id, length, hash, state, now_ms) | kRecordBit);
  }

  // A job that ended before a restart (the journal's): remembered as if it
  // had just finished. Its id must not be known already.
  void remember_finished(std::string_view id, std::uint64_t hash, JobState state, std::int64_t now_ms) noexcept {
    index_.insert(hash, take_record(id.data(), static_cast<std::uint8_t>(id.size()), hash, state, now_ms) | kRecordBit);
  }

  // Finished ids forgotten before their ttl because newer ones took their
  // records (finished_ids too small for the rate of jobs).
  std::uint64_t evicted_early() const noexcept { return evicted_early_; }

  static constexpr std::size_t kIdBytes = 64;

 private:
  static constexpr std::uint32_t kRecordBit = 0x80000000u;
  static bool is_record(std::uint32_t value) noexcept { return (value & kRecordBit) != 0; }

  struct Record {
    std::array<char, kIdBytes> id{};
    std::uint8_t length = 0;
    JobState state = JobState::succeeded;
    std::uint64_t hash = 0;
    std::int64_t finished_ms = 0;
    std::string_view id_view() const noexcept { return {id.data(), length}; }
  };

  // The record the next finished id takes: the oldest, whose id is
  // forgotten.
  std::uint32_t take_record(const char* id, std::uint8_t length, std::uint64_t hash, JobState state,
                            std::int64_t now_ms) noexcept {
    const std::uint32_t at = next_;  // the oldest record, once wrapped_
    Record& record = records_[at];
    if (wrapped_) {
      index_.erase(record.hash, at | kRecordBit);
      if (now_ms - record.finished_ms <= ttl_ms_) ++evicted_early_;
    }
    if (++next_ == finished_capacity_) {
      next_ = 0;
      wrapped_ = true;
    }
    std::memcpy(record.id.data(), id, length);
    record.length = length;
    record.hash = hash;
    record.state = state;
    record.finished_ms = now_ms;
    return at;
  }

  std::uint32_t finished_capacity_;
  std::int64_t ttl_ms_;
  std::unique_ptr<Record[]> records_;
  IdIndex index_;
  std::uint32_t next_ = 0;  // the record to take next: the oldest once wrapped_
  bool wrapped_ = false;    // every record has been used
  std::uint64_t evicted_early_ = 0;
};

}  // namespace edgerun::detail

#pragma once
// The journal's index of live jobs (journal.hpp): which records are still
// needed, and where they are in the current file.

#include <algorithm>
#include <array>
#include <cstdint>
#include <cstring>
#include <memory>
#include <string_view>
#include <vector>

#include "edgerun/id_index.hpp"
#include "edgerun/ids.hpp"
#include "edgerun/journal.hpp"

namespace edgerun::journal {

inline std::uint64_t hash_of(std::string_view id) noexcept { return std::hash<std::string_view>{}(id); }

// An ended record's flags: the terminal JobState, and whether the broker had
// acknowledged the status when the record was copied by a rewrite.
inline constexpr std::uint8_t kStateMask = 0x0F;
inline constexpr std::uint8_t kAckedFlag = 0x80;

// One job the journal still needs records of. Without member initializers,
// so that the array of them is not written at start: an entry's page is
// touched when a job first takes it (add_pending sets every field).
struct Journal::Entry {
  std::array<char, kMaxIdLength> id;
  std::uint8_t id_length;
  bool in_use;
  bool ended;
  bool started;
  bool cancel_requested;
  bool acked;               // ended: the broker took its terminal status
  JobState state;           // ended
  std::uint32_t generation;  // the finished ring's entries name one
  std::uint64_t hash;
  std::uint64_t order;  // its accepted record's sequence (pending) or its ended one's
  // Where its accepted record (pending) or its ended record (finished) is
  // in the current file.
  std::uint64_t offset;
  std::uint32_t length;

  std::string_view id_view() const noexcept { return {id.data(), id_length}; }
};

// The live jobs: entries, an index by id, and the finished ones oldest first.
class Journal::Index {
 public:
  Index(std::uint32_t pending, std::uint32_t finished)
      : capacity_(pending + finished + 1),
        entries_(new Entry[capacity_]),
        ids_(capacity_),
        finished_(finished),
        pending_capacity_(pending) {
    free_.reserve(capacity_);
    order_scratch_.reserve(capacity_);
  }

  Entry* find(std::string_view id) noexcept {
    const std::uint32_t at = ids_.find(hash_of(id), [&](std::uint32_t index) { return entries_[index].id_view() == id; });
    return at == detail::IdIndex::kEmpty ? nullptr : &entries_[at];
  }

  // A new pending job; nullptr when max_pending jobs are pending.
  Entry* add_pending(std::string_view id) noexcept {
    if (Entry* old = find(id)) release(*old);
    if (pending_ == pending_capacity_) return nullptr;
    std::uint32_t at = 0;
    std::uint32_t generation = 0;
    if (!free_.empty()) {
      at = free_.back();
      free_.pop_back();
      generation = entries_[at].generation + 1;
    } else if (fresh_ < capacity_) {
      at = fresh_++;
    } else {
      return nullptr;
    }
    Entry& entry = entries_[at];
    entry = Entry{};
    entry.generation = generation;
    std::memcpy(entry.id.data(), id.data(), id.size());
    entry.id_length = static_cast<std::uint8_t>(id.size());
    entry.in_use = true;
    entry.hash = hash_of(id);
    ids_.insert(entry.hash, at);
    ++pending_;
    return &entry;
  }

  // The pending job ended: it joins the finished ones, and the oldest of
  // those is forgotten when they are full.
  void finish(Entry& entry) noexcept {
    if (!entry.ended) --pending_;
    entry.ended = true;
    if (finished_count_ == finished_.size()) {
      const Slot oldest = finished_[finished_head_];
      finished_head_ = (finished_head_ + 1) % finished_.size();
      --finished_count_;
      Entry& forgotten = entries_[oldest.index];
      if (forgotten.in_use && forgotten.ended && forgotten.generation == oldest.generation) {
        release(forgotten);
        ++evicted_;
      }
    }
    finished_[(finished_head_ + finished_count_) % finished_.size()] = {index_of(entry), entry.generation};
    ++finished_count_;
  }

  // Calls visit(entry) for every live entry: finished ones oldest first,
  // then pending ones in the order they were accepted.
  template <class Visit>
  void for_each_live(Visit&& visit) {
    for (std::size_t i = 0; i < finished_count_; ++i) {
      const Slot slot = finished_[(finished_head_ + i) % finished_.size()];
      Entry& entry = entries_[slot.index];
      if (entry.in_use && entry.ended && entry.generation == slot.generation) visit(entry);
    }
    order_scratch_.clear();
    for (std::uint32_t i = 0; i < fresh_; ++i) {
      if (entries_[i].in_use && !entries_[i].ended) order_scratch_.push_back(i);
    }
    std::sort(order_scratch_.begin(), order_scratch_.end(),
              [this](std::uint32_t a, std::uint32_t b) { return entries_[a].order < entries_[b].order; });
    for (const std::uint32_t i : order_scratch_) visit(entries_[i]);
  }

  // Follows one record of the file: a new pending job, a flag, a job that
  // ended.
  void note(RecordKind kind, std::uint8_t flags, std::string_view id, std::uint64_t sequence, std::uint64_t offset,
            std::uint32_t length, LogRing& log) noexcept {
    if (id.size() > kMaxIdLength) return;  // the reader refuses such records
    switch (kind) {
      case RecordKind::accepted:
        if (Entry* entry = add_pending(id); entry != nullptr) {
          entry->order = sequence;
          entry->offset = offset;
          entry->length = length;
        } else {
          // accepted() refuses a job past max_pending, so only a file
          // written with a larger journal.max_pending gets here; a job the
          // index cannot follow would be left out of the next rewrite.
          log.write(LogLevel::error, "journal: more pending jobs than journal.max_pending; one is left out",
                    {{"job", id}});
        }
        break;
      case RecordKind::started:
      case RecordKind::cancel_requested:
        if (Entry* entry = find(id); entry != nullptr && !entry->ended) {
          (kind == RecordKind::started ? entry->started : entry->cancel_requested) = true;
        }
        break;
      case RecordKind::ended: {
        // A rewritten file holds a finished job's ended record alone.
        Entry* entry = find(id);
        if (entry == nullptr) entry = add_pending(id);
        if (entry != nullptr) {
          entry->state = static_cast<JobState>(flags & kStateMask);
          entry->acked = (flags & kAckedFlag) != 0;
          entry->order = sequence;
          entry->offset = offset;
          entry->length = length;
          finish(*entry);
        }
        break;
      }
      case RecordKind::status_acked:
        if (Entry* entry = find(id); entry != nullptr && entry->ended) entry->acked = true;
        break;
      case RecordKind::checkpoint:
        break;
    }
  }

  std::uint32_t pending() const noexcept { return pending_; }
  std::size_t finished() const noexcept { return finished_count_; }
  std::uint64_t evicted() const noexcept { return evicted_; }

 private:
  struct Slot {
    std::uint32_t index = 0;
    std::uint32_t generation = 0;
  };

  std::uint32_t index_of(const Entry& entry) const noexcept {
    return static_cast<std::uint32_t>(&entry - entries_.get());
  }

  void release(Entry& entry) noexcept {
    const std::uint32_t at = index_of(entry);
    ids_.erase(entry.hash, at);
    if (!entry.ended) --pending_;
    entry.in_use = false;
    free_.push_back(at);
  }

  std::uint32_t capacity_;
  std::unique_ptr<Entry[]> entries_;
  std::uint32_t fresh_ = 0;  // entries [0, fresh_) were ever taken
  detail::IdIndex ids_;
  std::vector<std::uint32_t> free_;
  std::vector<Slot> finished_;  // a ring, oldest at finished_head_
  std::size_t finished_head_ = 0;
  std::size_t finished_count_ = 0;
  std::uint32_t pending_capacity_;
  std::uint32_t pending_ = 0;
  std::uint64_t evicted_ = 0;
  std::vector<std::uint32_t> order_scratch_;
};

}  // namespace edgerun::journal

#pragma once
// The ids of recently finished jobs, with their terminal state, so that a
// resubmitted id is rejected `duplicate` and job_state() answers after the
// job ended. A fixed ring of entries forgets the oldest; entries older than
// the ttl count as forgotten. The id index keeps lookups O(1) however large
// the window. Table lock.

#include <array>
#include <cstdint>
#include <cstring>
#include <memory>
#include <optional>
#include <string_view>

#include "edgerun/job_state.hpp"
#include "id_index.hpp"

namespace edgerun::detail {

class FinishedIds {
 public:
  FinishedIds(std::uint32_t capacity, std::int64_t ttl_ms)
      : capacity_(capacity), ttl_ms_(ttl_ms), entries_(new Entry[capacity]), index_(capacity) {}

  void remember(std::string_view id, std::uint64_t hash, JobState state, std::int64_t now_ms) noexcept {
    const auto at = static_cast<std::uint32_t>(next_ % capacity_);
    if (next_ >= capacity_) index_.erase(entries_[at].hash, at);
    ++next_;
    Entry& e = entries_[at];
    std::memcpy(e.id.data(), id.data(), id.size());
    e.length = static_cast<std::uint8_t>(id.size());
    e.hash = hash;
    e.state = state;
    e.finished_ms = now_ms;
    index_.insert(hash, at);
  }

  // `now_ms` is called only when the id is found: a new id, the common case,
  // costs no clock read.
  template <class Clock>
  std::optional<JobState> find(std::string_view id, std::uint64_t hash, Clock&& now_ms) const noexcept {
    const std::uint32_t at = index_.find(hash, [&](std::uint32_t i) {
      return std::string_view(entries_[i].id.data(), entries_[i].length) == id;
    });
    if (at == IdIndex::kEmpty || now_ms() - entries_[at].finished_ms > ttl_ms_) return std::nullopt;
    return entries_[at].state;
  }

 private:
  struct Entry {
    std::array<char, 64> id{};
    std::uint8_t length = 0;
    JobState state = JobState::succeeded;
    std::uint64_t hash = 0;
    std::int64_t finished_ms = 0;
  };

  std::uint32_t capacity_;
  std::int64_t ttl_ms_;
  std::unique_ptr<Entry[]> entries_;
  IdIndex index_;
  std::uint64_t next_ = 0;
};

}  // namespace edgerun::detail

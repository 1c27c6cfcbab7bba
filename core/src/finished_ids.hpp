#pragma once
// The ids of recently finished jobs, with their terminal state, so that a
// resubmitted id is rejected `duplicate` and job_state() answers after the
// job ended. A fixed ring of entries forgets the oldest; entries older than
// the ttl count as forgotten. An open-addressing index (linear probing,
// backward-shift deletion) keeps lookups O(1) however large the window.
// Table lock.

#include <array>
#include <cstdint>
#include <cstring>
#include <memory>
#include <optional>
#include <string_view>

#include "edgerun/job_state.hpp"

namespace edgerun::detail {

class FinishedIds {
 public:
  FinishedIds(std::uint32_t capacity, std::int64_t ttl_ms)
      : capacity_(capacity),
        ttl_ms_(ttl_ms),
        index_size_(index_size_for(capacity)),
        entries_(new Entry[capacity]),
        index_(new std::uint32_t[index_size_]) {
    for (std::uint32_t i = 0; i < index_size_; ++i) index_[i] = kEmpty;
  }

  void remember(std::string_view id, std::uint64_t hash, JobState state, std::int64_t now_ms) noexcept {
    const std::uint32_t at = static_cast<std::uint32_t>(next_ % capacity_);
    if (next_ >= capacity_) unindex(at);
    ++next_;
    Entry& e = entries_[at];
    std::memcpy(e.id.data(), id.data(), id.size());
    e.length = static_cast<std::uint8_t>(id.size());
    e.hash = hash;
    e.state = state;
    e.finished_ms = now_ms;
    std::uint32_t cell = home(hash);
    while (index_[cell] != kEmpty) cell = (cell + 1) & (index_size_ - 1);
    index_[cell] = at;
  }

  std::optional<JobState> find(std::string_view id, std::uint64_t hash, std::int64_t now_ms) const noexcept {
    for (std::uint32_t cell = home(hash); index_[cell] != kEmpty; cell = (cell + 1) & (index_size_ - 1)) {
      const Entry& e = entries_[index_[cell]];
      if (e.hash == hash && std::string_view(e.id.data(), e.length) == id) {
        if (now_ms - e.finished_ms > ttl_ms_) return std::nullopt;
        return e.state;
      }
    }
    return std::nullopt;
  }

 private:
  static constexpr std::uint32_t kEmpty = 0xFFFFFFFFu;

  struct Entry {
    std::array<char, 64> id{};
    std::uint8_t length = 0;
    JobState state = JobState::succeeded;
    std::uint64_t hash = 0;
    std::int64_t finished_ms = 0;
  };

  // At most half full, a power of two.
  static std::uint32_t index_size_for(std::uint32_t capacity) noexcept {
    std::uint32_t size = 2;
    while (size < 2 * capacity) size *= 2;
    return size;
  }

  std::uint32_t home(std::uint64_t hash) const noexcept {
    return static_cast<std::uint32_t>(hash ^ (hash >> 32)) & (index_size_ - 1);
  }

  // Removes the index cell of entry `at` and shifts back the cells after it
  // that would otherwise become unreachable.
  void unindex(std::uint32_t at) noexcept {
    const std::uint32_t mask = index_size_ - 1;
    std::uint32_t cell = home(entries_[at].hash);
    while (index_[cell] != at) cell = (cell + 1) & mask;
    index_[cell] = kEmpty;
    for (std::uint32_t next = (cell + 1) & mask; index_[next] != kEmpty; next = (next + 1) & mask) {
      const std::uint32_t wanted = home(entries_[index_[next]].hash);
      // Move the entry back if its home is not in the (cell, next] range.
      const bool between = cell <= next ? (wanted > cell && wanted <= next) : (wanted > cell || wanted <= next);
      if (!between) {
        index_[cell] = index_[next];
        index_[next] = kEmpty;
        cell = next;
      }
    }
  }

  std::uint32_t capacity_;
  std::int64_t ttl_ms_;
  std::uint32_t index_size_;
  std::unique_ptr<Entry[]> entries_;
  std::unique_ptr<std::uint32_t[]> index_;
  std::uint64_t next_ = 0;
};

}  // namespace edgerun::detail

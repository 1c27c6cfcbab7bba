#pragma once
// An open-addressing index from a job id's hash to a small integer (a slot,
// a ring entry), sized once: linear probing, at most half full, backward-
// shift deletion so no tombstones build up. The caller compares the ids
// themselves; the index only narrows the search to one probe run.

#include <cstdint>
#include <memory>

namespace edgerun::detail {

class IdIndex {
 public:
  explicit IdIndex(std::uint32_t capacity) : size_(size_for(capacity)), cells_(new Cell[size_]) {}

  void insert(std::uint64_t hash, std::uint32_t value) noexcept {
    std::uint32_t cell = home(hash);
    while (cells_[cell].value != kEmpty) cell = next(cell);
    cells_[cell] = {hash, value};
  }

  // Calls match(value) for each entry with this hash until it returns true;
  // returns that value, or kEmpty.
  template <class Match>
  std::uint32_t find(std::uint64_t hash, Match&& match) const noexcept {
    for (std::uint32_t cell = home(hash); cells_[cell].value != kEmpty; cell = next(cell)) {
      if (cells_[cell].hash == hash && match(cells_[cell].value)) return cells_[cell].value;
    }
    return kEmpty;
  }

  // Gives the entry (hash, from) the value `to`, in place; nothing if absent.
  void replace(std::uint64_t hash, std::uint32_t from, std::uint32_t to) noexcept {
    for (std::uint32_t cell = home(hash); cells_[cell].value != kEmpty; cell = next(cell)) {
      if (cells_[cell].value == from) {
        cells_[cell].value = to;
        return;
      }
    }
  }

  void erase(std::uint64_t hash, std::uint32_t value) noexcept {
    std::uint32_t cell = home(hash);
    while (cells_[cell].value != value) {
      if (cells_[cell].value == kEmpty) return;
      cell = next(cell);
    }
    cells_[cell].value = kEmpty;
    // Move back every later entry of the run whose home is not in
    // (cell, candidate], or a lookup would stop at the hole.
    for (std::uint32_t candidate = next(cell); cells_[candidate].value != kEmpty; candidate = next(candidate)) {
      const std::uint32_t wanted = home(cells_[candidate].hash);
      const bool reachable =
          cell <= candidate ? (wanted > cell && wanted <= candidate) : (wanted > cell || wanted <= candidate);
      if (!reachable) {
        cells_[cell] = cells_[candidate];
        cells_[candidate].value = kEmpty;
        cell = candidate;
      }
    }
  }

  static constexpr std::uint32_t kEmpty = 0xFFFFFFFFu;

 private:
  struct Cell {
    std::uint64_t hash = 0;
    std::uint32_t value = kEmpty;
  };

  static std::uint32_t size_for(std::uint32_t capacity) noexcept {
    std::uint32_t size = 4;
    while (size < 2 * capacity) size *= 2;
    return size;
  }
  // The hash's low bits: the hash (std::hash of the id) mixes every byte
  // of the id into them.
  std::uint32_t home(std::uint64_t hash) const noexcept { return static_cast<std::uint32_t>(hash) & mask_; }
  std::uint32_t next(std::uint32_t cell) const noexcept { return (cell + 1) & mask_; }

  std::uint32_t size_;
  std::uint32_t mask_ = size_ - 1;
  std::unique_ptr<Cell[]> cells_;
};

}  // namespace edgerun::detail

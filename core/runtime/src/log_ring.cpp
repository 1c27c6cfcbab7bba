#include "edgerun/log_ring.hpp"

#include <algorithm>
#include <cstring>

#include "edgerun/check.hpp"
#include "edgerun/port/clock.hpp"

namespace edgerun {

namespace {

// Copies as much of `text` as fits at `offset`; returns the length copied.
std::size_t copy_cut(std::array<char, LogRecord::kTextBytes>& area, std::size_t offset, std::string_view text,
                     bool& truncated) noexcept {
  const std::size_t room = offset < area.size() ? area.size() - offset : 0;
  const std::size_t length = std::min({text.size(), room, std::size_t{255}});
  if (length < text.size()) truncated = true;
  std::copy_n(text.data(), length, area.data() + offset);
  return length;
}

}  // namespace

void LogRecord::assign(std::string_view message, std::initializer_list<LogField> fields) noexcept {
  truncated = false;
  std::size_t offset = copy_cut(text_, 0, message, truncated);
  message_len_ = static_cast<std::uint8_t>(offset);
  field_count_ = 0;
  for (const LogField& field : fields) {
    if (field_count_ == kMaxFields || offset >= text_.size()) {
      truncated = true;
      break;
    }
    const std::size_t key_offset = offset;
    const std::size_t key_length = copy_cut(text_, offset, field.key, truncated);
    offset += key_length;
    const std::size_t value_offset = offset;
    const std::size_t value_length = copy_cut(text_, offset, field.value, truncated);
    offset += value_length;
    auto* span = &field_spans_[field_count_ * 4];
    span[0] = static_cast<std::uint8_t>(key_offset);
    span[1] = static_cast<std::uint8_t>(key_length);
    span[2] = static_cast<std::uint8_t>(value_offset);
    span[3] = static_cast<std::uint8_t>(value_length);
    ++field_count_;
  }
}

LogField LogRecord::field(std::size_t index) const noexcept {
  if (index >= field_count_) return {};
  const auto* span = &field_spans_[index * 4];
  return {std::string_view(text_.data() + span[0], span[1]), std::string_view(text_.data() + span[2], span[3])};
}

static_assert(LogRecord::kTextBytes <= 255, "field offsets are stored in one byte");

LogRing::LogRing(std::uint32_t capacity, LogLevel level)
    : capacity_(capacity), slots_(new Slot[capacity]), level_(static_cast<std::uint8_t>(level)) {
  check(capacity >= 2, "log ring needs at least two records");
}

void LogRing::lock(Slot& slot) noexcept {
  // Held only for a copy of one record, by the drain or by a writer that
  // lapped the ring: the wait is a few hundred nanoseconds at worst.
  while (slot.busy.exchange(true, std::memory_order_acquire)) {
  }
}

void LogRing::write(LogLevel level, std::string_view message, std::initializer_list<LogField> fields) noexcept {
  if (!enabled(level)) return;
  const std::uint64_t position = head_.fetch_add(1, std::memory_order_acq_rel);
  Slot& slot = slots_[position % capacity_];
  lock(slot);
  if (slot.completed > position) {
    // A writer one full lap ahead already filled this slot: this record is
    // lost, and the drain counts it when it gets here.
    unlock(slot);
    return;
  }
  slot.record.ts_ms = port::wall_ms();
  slot.record.level = level;
  slot.record.assign(message, fields);
  slot.completed = position + 1;
  unlock(slot);
}

std::size_t LogRing::drain(LogSink& sink) noexcept {
  // Losses are counted here, by the one reader, so each is counted once.
  const std::uint64_t head = head_.load(std::memory_order_acquire);
  std::uint64_t read = read_.load(std::memory_order_relaxed);
  if (head - read > capacity_) {
    dropped_.fetch_add(head - capacity_ - read, std::memory_order_relaxed);
    read = head - capacity_;
  }
  std::size_t delivered = 0;
  while (read < head) {
    Slot& slot = slots_[read % capacity_];
    lock(slot);
    if (slot.completed < read + 1) {
      // Claimed but not yet written: deliver it on the next drain, in order.
      unlock(slot);
      break;
    }
    if (slot.completed > read + 1) {
      // Overwritten by a later lap.
      unlock(slot);
      dropped_.fetch_add(1, std::memory_order_relaxed);
      ++read;
      continue;
    }
    const LogRecord copy = slot.record;
    unlock(slot);
    ++read;
    read_.store(read, std::memory_order_release);
    sink.write(copy);
    ++delivered;
  }
  read_.store(read, std::memory_order_release);
  return delivered;
}

std::uint64_t LogRing::dropped_total() const noexcept {
  // What the drain counted, plus what was overwritten since and the drain has
  // not reached yet.
  const std::uint64_t head = head_.load(std::memory_order_acquire);
  const std::uint64_t read = read_.load(std::memory_order_acquire);
  const std::uint64_t overwritten = head - read > capacity_ ? head - read - capacity_ : 0;
  return dropped_.load(std::memory_order_relaxed) + overwritten;
}

std::uint64_t LogRing::pending() const noexcept {
  const std::uint64_t head = head_.load(std::memory_order_acquire);
  const std::uint64_t read = read_.load(std::memory_order_acquire);
  return std::min<std::uint64_t>(head - read, capacity_);
}

}  // namespace edgerun

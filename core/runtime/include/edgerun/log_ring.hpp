#pragma once
// The ring-buffer log sink: a fixed number of fixed-size records that any
// thread writes without blocking on a lock shared with other writers, and that
// the loop thread drains into sinks. When writers outrun the drain the oldest
// record is overwritten and counted in dropped_total().

#include <array>
#include <atomic>
#include <cstdint>
#include <initializer_list>
#include <memory>
#include <string_view>

#include "edgerun/log_level.hpp"
#include "edgerun/telemetry_view.hpp"

namespace edgerun {

// One record: the message and up to kMaxFields key/value fields packed into one
// fixed text area. What does not fit is cut (the record says so).
class LogRecord {
 public:
  static constexpr std::size_t kTextBytes = 224;
  static constexpr std::size_t kMaxFields = 6;

  std::int64_t ts_ms = 0;
  LogLevel level = LogLevel::info;
  bool truncated = false;

  std::string_view message() const noexcept { return {text_.data(), message_len_}; }
  std::size_t field_count() const noexcept { return field_count_; }
  LogField field(std::size_t index) const noexcept;

  // Fills the record; cuts what does not fit.
  void assign(std::string_view message, std::initializer_list<LogField> fields) noexcept;

 private:
  std::array<char, kTextBytes> text_{};
  std::uint8_t message_len_ = 0;
  std::uint8_t field_count_ = 0;
  // Per field: offset and length of key and value inside text_.
  std::array<std::uint8_t, kMaxFields * 4> field_spans_{};
};

class LogSink {
 public:
  virtual ~LogSink() = default;
  // Called on the loop thread for every drained record at or above the ring's
  // level, in order.
  virtual void write(const LogRecord& record) noexcept = 0;
};

class LogRing {
 public:
  // Allocates `capacity` records (once). capacity must be at least 2.
  LogRing(std::uint32_t capacity, LogLevel level);

  // Any thread. Returns at once if `level` is below the filter. Never blocks on
  // other writers; it waits only while the drain copies the same record.
  void write(LogLevel level, std::string_view message, std::initializer_list<LogField> fields = {}) noexcept;
  bool enabled(LogLevel level) const noexcept {
    return static_cast<std::uint8_t>(level) >= level_.load(std::memory_order_relaxed);
  }
  void set_level(LogLevel level) noexcept { level_.store(static_cast<std::uint8_t>(level), std::memory_order_relaxed); }
  LogLevel level() const noexcept { return static_cast<LogLevel>(level_.load(std::memory_order_relaxed)); }

  // One thread at a time (the loop). Hands each complete record, oldest first,
  // to `sink`; stops at a record still being written. Returns how many.
  std::size_t drain(LogSink& sink) noexcept;

  std::uint32_t capacity() const noexcept { return capacity_; }
  std::uint64_t written_total() const noexcept { return head_.load(std::memory_order_relaxed); }
  // Records overwritten before a drain delivered them.
  std::uint64_t dropped_total() const noexcept;
  // Records written and not yet drained (or dropped).
  std::uint64_t pending() const noexcept;

 private:
  struct Slot {
    std::atomic<bool> busy{false};
    // Position (+1) of the write that completed this slot; 0 for never.
    std::uint64_t completed = 0;
    LogRecord record;
  };

  void lock(Slot& slot) noexcept;
  static void unlock(Slot& slot) noexcept { slot.busy.store(false, std::memory_order_release); }

  std::uint32_t capacity_;
  std::unique_ptr<Slot[]> slots_;
  std::atomic<std::uint8_t> level_;
  std::atomic<std::uint64_t> head_{0};
  std::atomic<std::uint64_t> read_{0};
  std::atomic<std::uint64_t> dropped_{0};
};

}  // namespace edgerun

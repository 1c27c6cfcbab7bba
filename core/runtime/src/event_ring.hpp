#pragma once
// Events emitted by handlers, waiting for the loop to hand them to the event
// sinks. A full ring refuses a new event and counts it: an event is a fact a
// handler reported, and the newest does not replace an older one.

#include <array>
#include <cstdint>
#include <memory>
#include <mutex>
#include <string_view>

#include "edgerun/sinks.hpp"

struct cJSON;

namespace edgerun::detail {

class EventRing {
 public:
  EventRing(std::uint32_t capacity, std::uint32_t max_data_bytes);

  // Any thread. The data is serialized into the ring; false (and counted)
  // when the ring is full or the data does not fit max_data_bytes.
  bool push(std::int64_t ts_ms, std::string_view job_id, std::string_view type, const cJSON* data) noexcept;

  // Loop thread only: hands each event, oldest first, to `sink`.
  std::size_t drain(EventSink& sink) noexcept;

  std::uint64_t dropped_total() const noexcept;
  std::size_t size() const noexcept;

 private:
  struct Record {
    std::int64_t ts_ms = 0;
    std::array<char, 65> job_id{};
    std::array<char, 65> type{};
    char* data = nullptr;
    std::uint32_t data_length = 0;
  };

  std::uint32_t capacity_;
  std::uint32_t data_bytes_;  // per record, with cJSON's printing slack
  std::unique_ptr<Record[]> records_;
  std::unique_ptr<char[]> data_;
  mutable std::mutex mutex_;
  std::uint32_t head_ = 0;
  std::uint32_t size_ = 0;
  std::uint64_t dropped_ = 0;
};

}  // namespace edgerun::detail

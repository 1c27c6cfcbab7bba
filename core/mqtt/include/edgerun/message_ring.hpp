#pragma once
// A fixed ring of encoded MQTT messages (topic + payload), allocated once, for
// what the transport must keep while the broker is away: job statuses (the
// outbox), handler events, telemetry batches. Pushing into a full ring drops
// the oldest message and counts it: full is a normal result, never an
// allocation or a block.
//
// Threads: one thread (the loop) owns an instance.

#include <cstddef>
#include <cstdint>
#include <memory>
#include <string_view>

namespace edgerun {

class MessageRing {
 public:
  struct Message {
    std::string_view topic;
    std::string_view payload;
    int qos = 1;
    bool retain = false;
    // The owner's own number (a log batch's record count), handed back when
    // the message is dropped.
    std::uint32_t tag = 0;
  };

  // `capacity` messages of at most `topic_bytes` + `payload_bytes` each.
  // capacity 0 makes a ring that refuses (and counts) every push.
  MessageRing(std::uint32_t capacity, std::size_t topic_bytes, std::size_t payload_bytes);

  // Copies the message in. Returns false when it did not fit its record (the
  // message is then refused and counted). A full ring overwrites its oldest
  // message, counted in dropped_total().
  // `dropped_tag` (optional) adds the tag of an overwritten message.
  bool push(const Message& message, std::uint64_t* dropped_tag = nullptr) noexcept;
  // The oldest message; valid until the next push or pop. size() must be > 0.
  Message front() const noexcept;
  void pop() noexcept;

  std::uint32_t size() const noexcept { return size_; }
  bool empty() const noexcept { return size_ == 0; }
  std::uint32_t capacity() const noexcept { return capacity_; }
  std::uint32_t high_water() const noexcept { return high_water_; }
  std::uint64_t dropped_total() const noexcept { return dropped_; }
  std::uint64_t refused_total() const noexcept { return refused_; }

 private:
  struct Record {
    std::uint32_t topic_len = 0;
    std::uint32_t payload_len = 0;
    std::uint8_t qos = 1;
    bool retain = false;
    std::uint32_t tag = 0;
  };
  char* topic_at(std::uint32_t index) const noexcept { return storage_.get() + std::size_t{index} * record_bytes_; }
  char* payload_at(std::uint32_t index) const noexcept { return topic_at(index) + topic_bytes_; }

  std::uint32_t capacity_;
  std::size_t topic_bytes_;
  std::size_t payload_bytes_;
  std::size_t record_bytes_;
  std::unique_ptr<char[]> storage_;
  std::unique_ptr<Record[]> records_;
  std::uint32_t head_ = 0;  // oldest
  std::uint32_t size_ = 0;
  std::uint32_t high_water_ = 0;
  std::uint64_t dropped_ = 0;
  std::uint64_t refused_ = 0;
};

}  // namespace edgerun

#include "edgerun/message_ring.hpp"

#include <algorithm>
#include <cstring>

namespace edgerun {

MessageRing::MessageRing(std::uint32_t capacity, std::size_t topic_bytes, std::size_t payload_bytes)
    : capacity_(capacity),
      topic_bytes_(topic_bytes),
      payload_bytes_(payload_bytes),
      record_bytes_(topic_bytes + payload_bytes),
      storage_(capacity > 0 ? new char[std::size_t{capacity} * (topic_bytes + payload_bytes)] : nullptr),
      records_(capacity > 0 ? new Record[capacity] : nullptr) {}

bool MessageRing::push(const Message& message, std::uint64_t* dropped_tag) noexcept {
  if (capacity_ == 0 || message.topic.size() > topic_bytes_ || message.payload.size() > payload_bytes_) {
    ++refused_;
    return false;
  }
  if (size_ == capacity_) {
    if (dropped_tag != nullptr) *dropped_tag += records_[head_].tag;
    pop();
    ++dropped_;
  }
  const std::uint32_t index = (head_ + size_) % capacity_;
  std::memcpy(topic_at(index), message.topic.data(), message.topic.size());
  if (!message.payload.empty()) std::memcpy(payload_at(index), message.payload.data(), message.payload.size());
  records_[index] = Record{static_cast<std::uint32_t>(message.topic.size()),
                           static_cast<std::uint32_t>(message.payload.size()), static_cast<std::uint8_t>(message.qos),
                           message.retain, message.tag};
  ++size_;
  high_water_ = std::max(high_water_, size_);
  return true;
}

MessageRing::Message MessageRing::front() const noexcept {
  const Record& record = records_[head_];
  return {std::string_view(topic_at(head_), record.topic_len), std::string_view(payload_at(head_), record.payload_len),
          record.qos, record.retain, record.tag};
}

void MessageRing::pop() noexcept {
  if (size_ == 0) return;
  head_ = (head_ + 1) % capacity_;
  --size_;
}

}  // namespace edgerun

#include "event_ring.hpp"

#include <cjson/cJSON.h>

#include <algorithm>
#include <cstring>

namespace edgerun::detail {

namespace {
// cJSON_PrintPreallocated wants a few bytes beyond the text it writes.
constexpr std::uint32_t kPrintSlack = 8;

void copy_cut(std::array<char, 65>& out, std::string_view text) noexcept {
  const std::size_t n = std::min(text.size(), out.size() - 1);
  std::copy_n(text.data(), n, out.data());
  out[n] = '\0';
}
}  // namespace

EventRing::EventRing(std::uint32_t capacity, std::uint32_t max_data_bytes)
    : capacity_(capacity),
      data_bytes_(max_data_bytes + kPrintSlack),
      records_(new Record[capacity]),
      data_(new char[static_cast<std::size_t>(capacity) * data_bytes_]) {
  for (std::uint32_t i = 0; i < capacity_; ++i) records_[i].data = data_.get() + static_cast<std::size_t>(i) * data_bytes_;
}

bool EventRing::push(std::int64_t ts_ms, std::string_view job_id, std::string_view type, const cJSON* data) noexcept {
  std::lock_guard lock(mutex_);
  if (size_ == capacity_) {
    ++dropped_;
    return false;
  }
  Record& r = records_[(head_ + size_) % capacity_];
  if (data == nullptr) {
    std::memcpy(r.data, "{}", 3);
  } else if (!cJSON_PrintPreallocated(const_cast<cJSON*>(data), r.data, static_cast<int>(data_bytes_), false) ||
             std::strlen(r.data) > data_bytes_ - kPrintSlack) {
    ++dropped_;
    return false;
  }
  r.data_length = static_cast<std::uint32_t>(std::strlen(r.data));
  r.ts_ms = ts_ms;
  copy_cut(r.job_id, job_id);
  copy_cut(r.type, type);
  ++size_;
  return true;
}

std::size_t EventRing::drain(EventSink& sink) noexcept {
  std::size_t delivered = 0;
  for (;;) {
    Record* r = nullptr;
    {
      std::lock_guard lock(mutex_);
      if (size_ == 0) break;
      r = &records_[head_];
    }
    // The record stays in the ring while the sink reads it: only this thread
    // removes records, and writers never touch a record that is counted.
    sink.on_event(EventView{r->ts_ms, r->job_id.data(), r->type.data(), std::string_view(r->data, r->data_length)});
    {
      std::lock_guard lock(mutex_);
      head_ = (head_ + 1) % capacity_;
      --size_;
    }
    ++delivered;
  }
  return delivered;
}

std::uint64_t EventRing::dropped_total() const noexcept {
  std::lock_guard lock(mutex_);
  return dropped_;
}

std::size_t EventRing::size() const noexcept {
  std::lock_guard lock(mutex_);
  return size_;
}

}  // namespace edgerun::detail

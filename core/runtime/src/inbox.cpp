#include "inbox.hpp"

#include "edgerun/check.hpp"

namespace edgerun::detail {

Inbox::Inbox(std::size_t capacity) : reports_(capacity) {}

void Inbox::open(uv_loop_t& loop, void* owner, void (*on_reports)(void* owner)) noexcept {
  owner_ = owner;
  on_reports_ = on_reports;
  uv_async_init(&loop, &wake_, &Inbox::on_async);
  wake_.data = this;
  // Runs on every loop iteration before the loop waits for I/O; it does not
  // keep the loop alive.
  uv_prepare_init(&loop, &before_wait_);
  before_wait_.data = this;
  uv_prepare_start(&before_wait_, &Inbox::on_prepare);
  uv_unref(reinterpret_cast<uv_handle_t*>(&before_wait_));
}

void Inbox::close() noexcept {
  {
    // A wake-up from another thread (a shutdown request) may race with the
    // loop closing once it saw that request: uv_async_send on a loop whose
    // eventfd uv_loop_close has closed aborts. Under the mutex, a wake-up
    // either comes before this (the fd is still open) or sends nothing.
    std::lock_guard lock(mutex_);
    closed_ = true;
  }
  for (auto* handle : {reinterpret_cast<uv_handle_t*>(&wake_), reinterpret_cast<uv_handle_t*>(&before_wait_)}) {
    if (handle->loop != nullptr && !uv_is_closing(handle)) uv_close(handle, nullptr);
  }
}

void Inbox::add(const Report& report, bool from_loop) noexcept {
  std::lock_guard lock(mutex_);
  const bool added = reports_.try_push(report);
  check(added, "the loop's inbox overflowed; it is sized for every report of every slot");
  if (!from_loop && !closed_) uv_async_send(&wake_);
}

void Inbox::wake() noexcept {
  std::lock_guard lock(mutex_);
  if (!closed_) uv_async_send(&wake_);
}

std::size_t Inbox::take(std::span<Report> out) noexcept {
  std::lock_guard lock(mutex_);
  std::size_t count = 0;
  while (count < out.size() && reports_.try_pop(out[count])) ++count;
  return count;
}

void Inbox::on_async(uv_async_t* handle) {
  auto* self = static_cast<Inbox*>(handle->data);
  self->on_reports_(self->owner_);
}

void Inbox::on_prepare(uv_prepare_t* handle) {
  auto* self = static_cast<Inbox*>(handle->data);
  self->on_reports_(self->owner_);
}

}  // namespace edgerun::detail

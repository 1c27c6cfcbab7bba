#include "notify_component.hpp"

#include <uv.h>

#include <chrono>

namespace edgerun {

NotifyComponent::NotifyComponent(const port::ServiceNotifier& notifier)
    : notifier_(notifier), timer_(new uv_timer_t{}) {}

NotifyComponent::~NotifyComponent() { delete timer_; }

Status NotifyComponent::on_start(uv_loop_s& loop) noexcept {
  uv_timer_init(&loop, timer_);
  timer_->data = this;
  started_ = true;
  if (!notifier_.enabled()) return {};
  if (const auto interval = notifier_.watchdog_interval()) {
    const auto half_ms = std::chrono::duration_cast<std::chrono::milliseconds>(*interval).count() / 2;
    const auto period = static_cast<std::uint64_t>(half_ms > 0 ? half_ms : 1);
    uv_timer_start(timer_, &NotifyComponent::on_watchdog, period, period);
  }
  (void)notifier_.send("READY=1\nSTATUS=running");
  return {};
}

void NotifyComponent::on_watchdog(uv_timer_s* timer) {
  (void)static_cast<NotifyComponent*>(timer->data)->notifier_.send("WATCHDOG=1");
}

void NotifyComponent::on_drain() noexcept {
  if (notifier_.enabled()) (void)notifier_.send("STOPPING=1\nSTATUS=draining jobs");
}

void NotifyComponent::on_stop() noexcept {
  if (!started_) return;
  auto* handle = reinterpret_cast<uv_handle_t*>(timer_);
  if (!uv_is_closing(handle)) uv_close(handle, nullptr);
}

}  // namespace edgerun

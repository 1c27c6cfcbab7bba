#include "notify_component.hpp"

#include <uv.h>

#include <chrono>
#include <cstdio>
#include <cstring>

namespace edgerun {

namespace {
// How often STATUS= is brought up to date; it is sent only when it changed.
constexpr std::uint64_t kStatusPeriodMs = 2000;
}  // namespace

NotifyComponent::NotifyComponent(const port::ServiceNotifier& notifier, Runtime& runtime,
                                 const MqttTransport& transport)
    : notifier_(notifier),
      runtime_(runtime),
      transport_(transport),
      watchdog_timer_(new uv_timer_t{}),
      status_timer_(new uv_timer_t{}) {}

NotifyComponent::~NotifyComponent() {
  delete watchdog_timer_;
  delete status_timer_;
}

Status NotifyComponent::on_start(uv_loop_s& loop) noexcept {
  uv_timer_init(&loop, watchdog_timer_);
  uv_timer_init(&loop, status_timer_);
  watchdog_timer_->data = this;
  status_timer_->data = this;
  started_ = true;
  if (!notifier_.enabled()) return {};
  Metrics& metrics = runtime_.metrics();
  const char* states[] = {"succeeded", "failed", "timed_out", "canceled"};
  for (std::size_t i = 0; i < jobs_done_.size(); ++i) {
    jobs_done_[i] = metrics.find("edgerun_jobs_total", {{"state", states[i]}});
  }
  if (const auto interval = notifier_.watchdog_interval()) {
    const auto half_ms = std::chrono::duration_cast<std::chrono::milliseconds>(*interval).count() / 2;
    const auto period = static_cast<std::uint64_t>(half_ms > 0 ? half_ms : 1);
    uv_timer_start(watchdog_timer_, &NotifyComponent::on_watchdog, period, period);
  }
  uv_timer_start(status_timer_, &NotifyComponent::on_status, kStatusPeriodMs, kStatusPeriodMs);
  (void)notifier_.send("READY=1");
  send_status_if_changed();
  return {};
}

void NotifyComponent::on_watchdog(uv_timer_s* timer) {
  (void)static_cast<NotifyComponent*>(timer->data)->notifier_.send("WATCHDOG=1");
}

void NotifyComponent::on_status(uv_timer_s* timer) {
  static_cast<NotifyComponent*>(timer->data)->send_status_if_changed();
}

void NotifyComponent::send_status_if_changed() noexcept {
  double done = 0;
  for (MetricId id : jobs_done_) done += runtime_.metrics().value(id);
  std::array<char, 128> status{};
  std::snprintf(status.data(), status.size(), "STATUS=broker %s, %.0f jobs done",
                transport_.connected() ? "connected" : "disconnected", done);
  if (std::strcmp(status.data(), last_status_.data()) == 0) return;
  last_status_ = status;
  (void)notifier_.send(status.data());
}

void NotifyComponent::on_drain() noexcept {
  if (!notifier_.enabled()) return;
  uv_timer_stop(status_timer_);
  (void)notifier_.send("STOPPING=1\nSTATUS=draining jobs");
}

void NotifyComponent::on_stop() noexcept {
  if (!started_) return;
  for (uv_timer_s* timer : {watchdog_timer_, status_timer_}) {
    auto* handle = reinterpret_cast<uv_handle_t*>(timer);
    if (!uv_is_closing(handle)) uv_close(handle, nullptr);
  }
}

}  // namespace edgerun

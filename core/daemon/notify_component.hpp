#pragma once
// Tells the service manager (systemd, Type=notify) how the daemon is doing:
// READY=1 once the loop runs, STATUS= with the broker state and the jobs
// done (when it changes, checked every few seconds), WATCHDOG=1 from the
// loop at half the watchdog interval (so a stuck loop gets the daemon
// restarted), STOPPING=1 when shutdown begins. Does nothing when no service
// manager listens.

#include <array>

#include "edgerun/metrics.hpp"
#include "edgerun/mqtt_transport.hpp"
#include "edgerun/port/notify.hpp"
#include "edgerun/runtime.hpp"

struct uv_timer_s;

namespace edgerun {

class NotifyComponent final : public Component {
 public:
  NotifyComponent(const port::ServiceNotifier& notifier, Runtime& runtime, const MqttTransport& transport);
  ~NotifyComponent() override;

  Status on_start(uv_loop_s& loop) noexcept override;
  void on_drain() noexcept override;
  void on_stop() noexcept override;

 private:
  static void on_watchdog(uv_timer_s* timer);
  static void on_status(uv_timer_s* timer);
  void send_status_if_changed() noexcept;

  const port::ServiceNotifier& notifier_;
  Runtime& runtime_;
  const MqttTransport& transport_;
  uv_timer_s* watchdog_timer_;
  uv_timer_s* status_timer_;
  std::array<MetricId, 4> jobs_done_{};
  std::array<char, 128> last_status_{};
  bool started_ = false;
};

}  // namespace edgerun

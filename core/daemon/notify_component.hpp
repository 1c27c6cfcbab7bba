#pragma once
// Tells the service manager (systemd, Type=notify) how the daemon is doing:
// READY=1 once the loop runs, WATCHDOG=1 from the loop at half the watchdog
// interval (so a stuck loop gets the daemon restarted), STOPPING=1 when
// shutdown begins. Does nothing when no service manager listens.

#include "edgerun/port/notify.hpp"
#include "edgerun/runtime.hpp"

struct uv_timer_s;

namespace edgerun {

class NotifyComponent final : public Component {
 public:
  explicit NotifyComponent(const port::ServiceNotifier& notifier);
  ~NotifyComponent() override;

  Status on_start(uv_loop_s& loop) noexcept override;
  void on_drain() noexcept override;
  void on_stop() noexcept override;

 private:
  static void on_watchdog(uv_timer_s* timer);

  const port::ServiceNotifier& notifier_;
  uv_timer_s* timer_;
  bool started_ = false;
};

}  // namespace edgerun

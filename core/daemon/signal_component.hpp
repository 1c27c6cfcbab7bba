#pragma once
// Signals of edgerund, handled on the loop thread through libuv signal
// handles: SIGTERM and SIGINT drain and stop the runtime; SIGHUP re-reads the
// config file and applies what can change while running (log.level and the
// telemetry periods and forward level). A bad file keeps the old settings.

#include <string>

#include "edgerun/daemon_config.hpp"
#include "edgerun/mqtt_transport.hpp"
#include "edgerun/runtime.hpp"

struct uv_signal_s;

namespace edgerun {

class SignalComponent final : public Component {
 public:
  SignalComponent(Runtime& runtime, MqttTransport& transport, std::string config_path, std::string default_device_id,
                  std::uint32_t grace_ms);
  ~SignalComponent() override;

  Status on_start(uv_loop_s& loop) noexcept override;
  void on_stop() noexcept override;

 private:
  struct Handles;
  static void on_signal(uv_signal_s* handle, int signum);
  void reload() noexcept;

  Runtime& runtime_;
  MqttTransport& transport_;
  std::string config_path_;
  std::string default_device_id_;
  std::uint32_t grace_ms_;
  Handles* handles_;
  bool started_ = false;
};

}  // namespace edgerun

#include "signal_component.hpp"

#include <uv.h>

#include <cstdlib>
#include <new>

#include "edgerun/port/signal.hpp"

namespace edgerun {

struct SignalComponent::Handles {
  uv_signal_t term{};
  uv_signal_t interrupt{};
  uv_signal_t hangup{};
};

SignalComponent::SignalComponent(Runtime& runtime, MqttTransport& transport, std::string config_path,
                                 std::string default_device_id, std::uint32_t grace_ms)
    : runtime_(runtime),
      transport_(transport),
      config_path_(std::move(config_path)),
      default_device_id_(std::move(default_device_id)),
      grace_ms_(grace_ms),
      handles_(new Handles) {}

SignalComponent::~SignalComponent() { delete handles_; }

Status SignalComponent::on_start(uv_loop_s& loop) noexcept {
  struct {
    uv_signal_t* handle;
    int signum;
  } const table[] = {{&handles_->term, port::signal_number(port::ProcessSignal::terminate)},
                     {&handles_->interrupt, port::signal_number(port::ProcessSignal::interrupt)},
                     {&handles_->hangup, port::signal_number(port::ProcessSignal::hangup)}};
  // Every handle is initialized before any can fail, so on_stop closes all.
  for (const auto& entry : table) {
    uv_signal_init(&loop, entry.handle);
    entry.handle->data = this;
  }
  started_ = true;
  for (const auto& entry : table) {
    if (int rc = uv_signal_start(entry.handle, &SignalComponent::on_signal, entry.signum); rc != 0) {
      return Status::error("uv_signal_start(%d): %s", entry.signum, uv_strerror(rc));
    }
  }
  return {};
}

void SignalComponent::on_stop() noexcept {
  if (!started_) return;
  uv_signal_t* handles[] = {&handles_->term, &handles_->interrupt, &handles_->hangup};
  for (uv_signal_t* handle : handles) {
    auto* h = reinterpret_cast<uv_handle_t*>(handle);
    if (!uv_is_closing(h)) uv_close(h, nullptr);
  }
}

void SignalComponent::on_signal(uv_signal_s* handle, int signum) {
  auto* self = static_cast<SignalComponent*>(handle->data);
  if (signum == port::signal_number(port::ProcessSignal::hangup)) {
    self->reload();
    return;
  }
  self->runtime_.log().write(LogLevel::info, signum == port::signal_number(port::ProcessSignal::terminate) ? "received SIGTERM, draining jobs"
                                                               : "received SIGINT, draining jobs");
  self->runtime_.shutdown(true, std::chrono::milliseconds(self->grace_ms_));
}

void SignalComponent::reload() noexcept {
  LogRing& log = runtime_.log();
  // Loading allocates and may throw std::bad_alloc: not across libuv.
  try {
    ConfigLoadResult loaded = load_daemon_config(config_path_, default_device_id_);
    if (loaded.config) {
      const std::string env_error =
          apply_environment(*loaded.config, [](const char* name) { return std::getenv(name); });
      if (!env_error.empty()) loaded.error = env_error, loaded.config.reset();
    }
    if (!loaded.config) {
      log.write(LogLevel::error, "SIGHUP: config reload failed, keeping the old settings",
                {{"error", loaded.error}});
      return;
    }
    const DaemonConfig& config = *loaded.config;
    log.set_level(config.runtime.log_level);
    transport_.set_telemetry(config.telemetry);
    log.write(LogLevel::info, "SIGHUP: config reloaded (log.level, telemetry); other keys need a restart",
              {{"log.level", to_string(config.runtime.log_level)},
               {"telemetry.log_forward_level", to_string(config.telemetry.log_forward_level)}});
  } catch (const std::bad_alloc&) {
    log.write(LogLevel::error, "SIGHUP: out of memory while reloading the config");
  }
}

}  // namespace edgerun

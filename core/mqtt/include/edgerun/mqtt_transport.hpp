#pragma once
// The MQTT transport of edgerund (PROTOCOL.md): takes jobs and cancels from
// the broker into the runtime, publishes job statuses, presence and telemetry.
//
// libmosquitto runs without a thread of its own: the transport drives it from
// the runtime's libuv loop (a uv_poll_t on the client's socket, a uv_timer_t
// for keep-alive housekeeping and one for reconnecting), so every callback of
// libmosquitto and every sink call happens on the loop thread and nothing here
// needs a lock.
//
// Memory: every buffer of the transport (the status outbox, the event, log
// batch and metric snapshot rings, the encode buffers) is allocated once, in
// the constructor, from the config. libmosquitto itself allocates per
// message; that is accepted.
//
// Threads: construct and register with the runtime before Runtime::start().
// Everything else is called by the runtime on the loop thread, except
// set_telemetry(), which must also be called on the loop thread (a signal
// handle's callback, for instance).

#include <array>
#include <cstdint>
#include <memory>
#include <random>
#include <string>
#include <vector>

#include "edgerun/mqtt_options.hpp"
#include "edgerun/json_arena.hpp"
#include "edgerun/message_ring.hpp"
#include "edgerun/runtime.hpp"

struct mosquitto;
struct mosquitto_message;
struct mqtt5__property;
struct uv_poll_s;
struct uv_timer_s;
struct uv_handle_s;
struct uv_connect_s;

namespace edgerun {

class MqttTransport final : public Component, public StatusSink, public LogSink, public EventSink {
 public:
  // `config` is copied; `runtime` must outlive the transport. `version` goes
  // into the presence message.
  MqttTransport(Runtime& runtime, const MqttTransportOptions& config, std::string_view version);
  ~MqttTransport() override;
  MqttTransport(const MqttTransport&) = delete;
  MqttTransport& operator=(const MqttTransport&) = delete;

  // Component.
  Status on_start(uv_loop_s& loop) noexcept override;
  void on_drain() noexcept override;
  void on_stop() noexcept override;

  // Sinks.
  void on_status(const JobStatusView& status) noexcept override;
  // jobs.report_progress: without it only terminal statuses are published.
  bool wants_progress() const noexcept override;
  void on_stored_status(std::string_view id, std::string_view status_json) noexcept override;
  void write(const LogRecord& record) noexcept override;
  void on_event(const EventView& event) noexcept override;

  // Loop thread. Applies new telemetry periods and the log forward level
  // (a SIGHUP reload). Batch sizes and ring sizes keep their start-up values,
  // since their buffers are allocated once.
  void set_telemetry(const TelemetryOptions& telemetry) noexcept;

  bool connected() const noexcept { return connected_; }

 private:
  struct Handles;

  // libmosquitto callbacks (static trampolines; no exception leaves them).
  static void on_connect_cb(mosquitto*, void* self, int rc, int flags, const mqtt5__property* props);
  static void on_disconnect_cb(mosquitto*, void* self, int rc, const mqtt5__property* props);
  static void on_publish_cb(mosquitto*, void* self, int mid, int reason, const mqtt5__property* props);
  static void on_message_cb(mosquitto*, void* self, const mosquitto_message* message, const mqtt5__property* props);
  // libuv callbacks.
  static void on_poll(uv_poll_s* handle, int status, int events);
  static void on_misc_timer(uv_timer_s* handle);
  static void on_reconnect_timer(uv_timer_s* handle);
  static void on_telemetry_timer(uv_timer_s* handle);
  static void on_log_flush_timer(uv_timer_s* handle);
  static void on_presence_timer(uv_timer_s* handle);
  static void on_stop_timer(uv_timer_s* handle);
  static void on_poll_closed(uv_handle_s* handle);
  static void on_probe_connected(uv_connect_s* request, int status);
  static void on_probe_closed(uv_handle_s* handle);
  static void on_handle_closed(uv_handle_s* handle);

  Status start_connection() noexcept;
  void connect_now() noexcept;
  void first_connect() noexcept;
  void close_probe() noexcept;
  void handle_connected(bool session_present) noexcept;
  void handle_disconnected(int rc) noexcept;
  void schedule_reconnect() noexcept;
  void start_poll() noexcept;
  void stop_poll() noexcept;
  void update_poll() noexcept;
  void subscribe_all() noexcept;
  void handle_message(std::string_view topic, std::string_view payload) noexcept;
  void handle_submit(std::string_view payload) noexcept;

  // Publishes now when connected; false when not connected or refused.
  bool publish(std::string_view topic, std::string_view payload, int qos, bool retain, int* mid = nullptr) noexcept;
  // Publishes, or keeps the message in `ring` for later.
  // `tag` kTerminalStatus marks a job's terminal status in the outbox: the
  // broker's acknowledgement of it goes to the runtime's journal.
  void publish_or_keep(MessageRing& ring, std::string_view topic, std::string_view payload, int qos,
                       std::uint32_t tag = 0) noexcept;
  // A terminal status went out as `mid`: its PUBACK is reported to the
  // runtime (with a journal).
  void track_status_ack(std::string_view topic, int mid) noexcept;
  void handle_puback(int mid, bool taken) noexcept;
  void flush_ring(MessageRing& ring) noexcept;
  void flush_all() noexcept;

  void publish_presence(bool online, int* mid = nullptr) noexcept;
  void publish_metrics() noexcept;
  void publish_log_batch() noexcept;
  void update_transport_metrics() noexcept;
  // <p>/<dev>/jobs/<id>/status, in topic_buf_ (valid until the next call).
  std::string_view job_status_topic(std::string_view id) noexcept;
  void close_all_handles() noexcept;

  Runtime& runtime_;
  MqttTransportOptions config_;
  std::string version_;

  // Topics, built once.
  std::string status_topic_, submit_topic_, cancel_topic_, rejected_topic_;
  std::string metrics_topic_, logs_topic_, events_topic_;
  std::vector<std::string> group_filters_;

  mosquitto* mosq_ = nullptr;
  std::unique_ptr<Handles> handles_;
  uv_loop_s* loop_ = nullptr;
  bool connected_ = false;
  bool connect_started_ = false;
  bool poll_active_ = false;
  bool poll_closing_ = false;
  bool probe_active_ = false;
  bool probe_closing_ = false;
  int poll_events_ = 0;
  bool draining_ = false;
  bool stopping_ = false;
  bool closed_ = false;
  bool metrics_overflow_logged_ = false;
  int open_handles_ = 0;
  int offline_mid_ = -1;
  std::uint32_t backoff_ms_ = 0;
  std::minstd_rand rng_;
  std::int64_t started_at_ms_ = 0;

  // Encode buffers and rings, allocated once.
  std::unique_ptr<char[]> scratch_;  // one status, rejection or event
  std::size_t scratch_bytes_ = 0;
  std::vector<std::string_view> handler_names_;  // the runtime's, for the presence
  std::unique_ptr<char[]> presence_;
  std::size_t presence_bytes_ = 0;
  std::unique_ptr<char[]> metrics_buf_;
  std::size_t metrics_bytes_ = 0;
  std::unique_ptr<char[]> log_batch_;
  std::size_t log_batch_bytes_ = 0;
  std::unique_ptr<char[]> log_record_buf_;
  std::size_t log_record_bytes_ = 0;
  std::unique_ptr<LogRecord[]> pending_logs_;
  std::uint32_t pending_log_count_ = 0;
  std::uint64_t log_ring_dropped_seen_ = 0;
  std::uint64_t logs_dropped_ = 0;  // records the transport dropped itself, not yet reported
  std::unique_ptr<char[]> topic_buf_;
  std::unique_ptr<char[]> publish_topic_;
  std::size_t topic_bytes_ = 0;
  std::size_t max_packet_bytes_ = 0;  // the CONNECT's Maximum Packet Size
  std::unique_ptr<std::byte[]> cancel_arena_memory_;
  JsonArena cancel_arena_;
  MessageRing outbox_;
  // Terminal statuses published and not yet acknowledged, by mid modulo
  // the table's size (a mid overwritten before its PUBACK only means the
  // status goes out once more after a restart). Empty without a journal.
  struct PendingAck {
    int mid = -1;
    std::uint8_t id_length = 0;
    std::array<char, 64> id{};
  };
  std::vector<PendingAck> pending_acks_;
  MessageRing events_;
  MessageRing telemetry_;  // log batches
  MessageRing snapshots_;  // metric snapshots taken while the broker is away

  MetricId outbox_dropped_metric_, outbox_depth_metric_, events_dropped_metric_, telemetry_dropped_metric_;
  MetricId snapshots_dropped_metric_, snapshots_depth_metric_;
  MetricId connected_metric_, reconnects_metric_, cancels_refused_metric_;
  std::uint64_t outbox_dropped_reported_ = 0, events_dropped_reported_ = 0, telemetry_dropped_reported_ = 0;
  // Outbox drops are logged too, at most once every 10 s.
  void log_outbox_drops(std::uint64_t dropped) noexcept;
  std::uint64_t outbox_drops_unlogged_ = 0;
  std::int64_t outbox_drops_logged_ms_ = -10'000;
  std::uint64_t snapshots_dropped_reported_ = 0;
};

}  // namespace edgerun

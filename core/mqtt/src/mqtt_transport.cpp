#include "edgerun/mqtt_transport.hpp"

#include <mosquitto.h>
#include <mqtt_protocol.h>
#include <uv.h>

#include <algorithm>
#include <array>
#include <cstdio>
#include <cstring>
#include <mutex>

#include "edgerun/codec.hpp"
#include "edgerun/json_writer.hpp"
#include "edgerun/port/clock.hpp"
#include "edgerun/port/sysinfo.hpp"
#include "edgerun/topics.hpp"

namespace edgerun {

namespace {

// Topics are built from the prefix (at most 128 characters), the device id and
// a job id (64 each) and a short leaf.
constexpr std::size_t kTopicSlack = 64;
// A status or event message: the result (or event data) plus the envelope.
constexpr std::size_t kEnvelopeBytes = 1024;
// Worst case of one encoded log record: every character of its text escaped
// as \u00XX, plus the keys and numbers around it.
constexpr std::size_t kLogRecordJsonBytes = LogRecord::kTextBytes * 6 + 256;
// What a log record usually takes in a batch kept while the broker is away.
constexpr std::size_t kLogRecordTypicalBytes = 400;
// One metric series: name, labels, and up to 13 histogram buckets.
constexpr std::size_t kMetricSeriesBytes = 1100;
// Keep-alive housekeeping period (mosquitto_loop_misc).
constexpr std::uint64_t kMiscPeriodMs = 1000;
// Log batches go out at least this often.
constexpr std::uint64_t kLogFlushMs = 1000;
// The outbox's tag of a job's terminal status (its PUBACK is tracked).
constexpr std::uint32_t kTerminalStatus = 1;
// Terminal statuses whose PUBACK may be awaited at once (with a journal).
constexpr std::size_t kPendingAckSlots = 256;

// On stop: how long the last words (outbox, offline presence) may take.
constexpr std::uint64_t kStopTimeoutMs = 3000;
// The event ring kept while the broker is away is small: events are telemetry.
constexpr std::uint32_t kMaxBufferedEvents = 64;
// A cancel (at most kMaxCancelBytes) is parsed in an arena of its own. A
// plain {"id": ...} takes about 200 bytes of it; one that needs more than
// this is refused as too complex.
constexpr std::size_t kCancelArenaBytes = 16 * 1024;
// Room in a packet for all but the payload: fixed header, topic length,
// packet id and a publisher's properties.
constexpr std::size_t kPacketOverheadBytes = 512;
// Job topics are taken without the broker's retained messages: a retained
// submission would otherwise run again at every subscribe, so after every
// restart. Retain As Published stays off.
constexpr int kJobSubscribeOptions = MQTT_SUB_OPT_SEND_RETAIN_NEVER;

void ensure_mosquitto_lib() noexcept {
  static std::once_flag once;
  std::call_once(once, [] { mosquitto_lib_init(); });
}

}  // namespace

struct MqttTransport::Handles {
  uv_poll_t poll{};
  uv_tcp_t probe{};
  uv_connect_t probe_request{};
  uv_timer_t misc{};
  uv_timer_t reconnect{};
  uv_timer_t telemetry{};
  uv_timer_t log_flush{};
  uv_timer_t presence{};
  uv_timer_t stop{};
};

MqttTransport::MqttTransport(Runtime& runtime, const MqttTransportOptions& config, std::string_view version)
    : runtime_(runtime),
      config_(config),
      version_(version),
      handles_(std::make_unique<Handles>()),
      rng_(static_cast<std::uint32_t>(port::monotonic_ns())),
      scratch_bytes_(std::max(runtime.config().max_result_bytes, runtime.config().event_max_bytes) + kEnvelopeBytes),
      metrics_bytes_(std::size_t{runtime.config().metric_capacity} * kMetricSeriesBytes + 512),
      log_batch_bytes_(std::size_t{config.telemetry.log_batch_records} * kLogRecordJsonBytes + 512),
      log_record_bytes_(kLogRecordJsonBytes),
      topic_bytes_(config.mqtt.topic_prefix.size() + 2 * kMaxIdLength + kTopicSlack),
      // What the broker may send: a submission of up to twice the payload
      // limit still gets its `too_large`, anything larger is not sent at all.
      max_packet_bytes_(2 * std::max<std::size_t>(runtime.config().max_payload_bytes, kMaxCancelBytes) + topic_bytes_ +
                        kPacketOverheadBytes),
      outbox_(config.mqtt.outbox_messages, topic_bytes_, scratch_bytes_),
      events_(std::min(runtime.config().event_records, kMaxBufferedEvents), topic_bytes_,
              runtime.config().event_max_bytes + kEnvelopeBytes),
      telemetry_(config.telemetry.buffered_batches, topic_bytes_,
                 std::size_t{config.telemetry.log_batch_records} * kLogRecordTypicalBytes + 512),
      // A record per snapshot as large as the buffer it is encoded in, so that
      // any snapshot that could be published can also be kept.
      snapshots_(config.telemetry.buffered_snapshots, topic_bytes_, metrics_bytes_) {
  const std::string& prefix = config_.mqtt.topic_prefix;
  const std::string& device = config_.device_id;
  status_topic_ = presence_topic(prefix, device);
  submit_topic_ = submit_topic(prefix, device);
  cancel_topic_ = cancel_topic(prefix, device);
  rejected_topic_ = rejected_topic(prefix, device);
  metrics_topic_ = metrics_topic(prefix, device);
  logs_topic_ = logs_topic(prefix, device);
  events_topic_ = events_topic(prefix, device);
  for (const std::string& group : config_.groups) group_filters_.push_back(group_submit_filter(prefix, group));
  scratch_ = std::make_unique<char[]>(scratch_bytes_);
  metrics_buf_ = std::make_unique<char[]>(metrics_bytes_);
  log_batch_ = std::make_unique<char[]>(log_batch_bytes_);
  log_record_buf_ = std::make_unique<char[]>(log_record_bytes_);
  pending_logs_ = std::make_unique<LogRecord[]>(config_.telemetry.log_batch_records);
  topic_buf_ = std::make_unique<char[]>(topic_bytes_ + 1);
  publish_topic_ = std::make_unique<char[]>(topic_bytes_ + 1);
  cancel_arena_memory_ = std::make_unique<std::byte[]>(kCancelArenaBytes);
  cancel_arena_.assign(std::span<std::byte>(cancel_arena_memory_.get(), kCancelArenaBytes));
}

MqttTransport::~MqttTransport() {
  if (mosq_ != nullptr) mosquitto_destroy(mosq_);
}

// ---------------------------------------------------------------- start/stop

Status MqttTransport::on_start(uv_loop_s& loop) noexcept {
  loop_ = &loop;
  // The journal notes which terminal statuses the broker took, so that a
  // restart publishes again only the others. Sized for a window of jobs
  // whose PUBACKs are on their way.
  if (runtime_.has_journal()) pending_acks_.resize(kPendingAckSlots);
  return start_connection();
}

Status MqttTransport::start_connection() noexcept {
  started_at_ms_ = port::wall_ms();
  // The timers first: on_stop closes them even when start-up fails below.
  {
    Handles& h = *handles_;
    uv_timer_t* timers[] = {&h.misc, &h.reconnect, &h.telemetry, &h.log_flush, &h.presence, &h.stop};
    for (uv_timer_t* timer : timers) {
      uv_timer_init(loop_, timer);
      timer->data = this;
      ++open_handles_;
    }
  }
  ensure_mosquitto_lib();

  // The presence message names every handler, known only now.
  handler_names_.clear();
  for (std::size_t i = 0; i < runtime_.handler_count(); ++i) handler_names_.push_back(runtime_.handler_name(i));
  presence_bytes_ = 2048 + runtime_.handler_count() * (kMaxIdLength * 2 + 8);
  presence_ = std::unique_ptr<char[]>(new (std::nothrow) char[presence_bytes_]);
  if (!presence_) return Status::error("mqtt: out of memory for the presence buffer");

  Metrics& m = runtime_.metrics();
  outbox_dropped_metric_ = m.counter("edgerun_outbox_dropped_total");
  outbox_depth_metric_ = m.gauge("edgerun_outbox_depth");
  events_dropped_metric_ = m.counter("edgerun_mqtt_events_dropped_total");
  telemetry_dropped_metric_ = m.counter("edgerun_telemetry_dropped_total");
  snapshots_dropped_metric_ = m.counter("edgerun_metric_snapshots_dropped_total");
  snapshots_depth_metric_ = m.gauge("edgerun_metric_snapshots_buffered");
  connected_metric_ = m.gauge("edgerun_mqtt_connected");
  reconnects_metric_ = m.counter("edgerun_mqtt_reconnects_total");
  cancels_refused_metric_ = m.counter("edgerun_mqtt_cancels_refused_total");

  const std::string& client_id =
      config_.mqtt.client_id.empty() ? "edgerun-" + config_.device_id : config_.mqtt.client_id;
  // clean_start false: the broker keeps the session and the QoS 1 jobs sent
  // to it while the device is away (up to the session expiry).
  mosq_ = mosquitto_new(client_id.c_str(), false, this);
  if (mosq_ == nullptr) return Status::error("mqtt: mosquitto_new failed");
  mosquitto_int_option(mosq_, MOSQ_OPT_PROTOCOL_VERSION, MQTT_PROTOCOL_V5);
  mosquitto_int_option(mosq_, MOSQ_OPT_TCP_NODELAY, 1);
  if (!config_.mqtt.username.empty()) {
    const char* password = config_.mqtt.password.empty() ? nullptr : config_.mqtt.password.c_str();
    if (int rc = mosquitto_username_pw_set(mosq_, config_.mqtt.username.c_str(), password); rc != MOSQ_ERR_SUCCESS) {
      return Status::error("mqtt: username: %s", mosquitto_strerror(rc));
    }
  }
  if (config_.mqtt.tls) {
    const char* ca_file = config_.mqtt.ca_file.empty() ? nullptr : config_.mqtt.ca_file.c_str();
    const char* ca_path = ca_file == nullptr ? "/etc/ssl/certs" : nullptr;
    if (int rc = mosquitto_tls_set(mosq_, ca_file, ca_path, nullptr, nullptr, nullptr); rc != MOSQ_ERR_SUCCESS) {
      return Status::error("mqtt: TLS set-up: %s", mosquitto_strerror(rc));
    }
  }
  mosquitto_connect_v5_callback_set(mosq_, &MqttTransport::on_connect_cb);
  mosquitto_disconnect_v5_callback_set(mosq_, &MqttTransport::on_disconnect_cb);
  mosquitto_publish_v5_callback_set(mosq_, &MqttTransport::on_publish_cb);
  mosquitto_message_v5_callback_set(mosq_, &MqttTransport::on_message_cb);

  // The will: the broker announces the device offline when it vanishes.
  {
    JsonWriter out(std::span<char>(presence_.get(), presence_bytes_));
    encode_presence(out, {.device = config_.device_id,
                          .online = false,
                          .version = version_,
                          .started_at_ms = started_at_ms_,
                          .ts_ms = started_at_ms_});
    const int rc = mosquitto_will_set_v5(mosq_, status_topic_.c_str(), static_cast<int>(out.size()),
                                         out.view().data(), 1, true, nullptr);
    if (rc != MOSQ_ERR_SUCCESS) return Status::error("mqtt: will: %s", mosquitto_strerror(rc));
  }

  Handles& h = *handles_;
  uv_timer_start(&h.misc, &MqttTransport::on_misc_timer, kMiscPeriodMs, kMiscPeriodMs);
  uv_timer_start(&h.telemetry, &MqttTransport::on_telemetry_timer, config_.telemetry.interval_ms,
                 config_.telemetry.interval_ms);
  uv_timer_start(&h.log_flush, &MqttTransport::on_log_flush_timer, kLogFlushMs, kLogFlushMs);
  const std::uint64_t presence_ms = std::uint64_t{config_.telemetry.presence_interval_s} * 1000;
  uv_timer_start(&h.presence, &MqttTransport::on_presence_timer, presence_ms, presence_ms);
  log_ring_dropped_seen_ = runtime_.log().dropped_total();
  connect_now();
  return {};
}

void MqttTransport::on_drain() noexcept {
  // Stop taking jobs from the groups, so that the broker hands them to the
  // members still running. The device's own submit topic stays subscribed:
  // the subscription lives in the persistent session, and the broker keeps
  // what is published to it while the device is away and delivers it after
  // the restart. A job that arrives during the drain itself is rejected
  // `shutting_down` by the runtime. Cancels are still welcome.
  draining_ = true;
  if (!connected_ || mosq_ == nullptr) return;
  for (const std::string& filter : group_filters_) mosquitto_unsubscribe_v5(mosq_, nullptr, filter.c_str(), nullptr);
  update_poll();
}

void MqttTransport::on_stop() noexcept {
  stopping_ = true;
  // The runtime stops every component, also one whose on_start never ran
  // (an earlier component failed to start).
  if (loop_ == nullptr) return;
  Handles& h = *handles_;
  uv_timer_stop(&h.telemetry);
  uv_timer_stop(&h.presence);
  uv_timer_stop(&h.reconnect);
  uv_timer_stop(&h.log_flush);
  publish_log_batch();
  if (!connected_ || mosq_ == nullptr) {
    close_all_handles();
    return;
  }
  // Last words: what the outbox holds, then the offline presence; once the
  // broker acknowledged that, disconnect (on_publish_cb). A broker that does
  // not answer gets kStopTimeoutMs.
  flush_all();
  publish_presence(false, &offline_mid_);
  if (offline_mid_ < 0) {
    mosquitto_disconnect_v5(mosq_, MQTT_RC_NORMAL_DISCONNECTION, nullptr);
    close_all_handles();
    return;
  }
  uv_timer_start(&h.stop, &MqttTransport::on_stop_timer, kStopTimeoutMs, 0);
  update_poll();
}

void MqttTransport::on_stop_timer(uv_timer_s* handle) {
  auto* self = static_cast<MqttTransport*>(handle->data);
  self->runtime_.log().write(LogLevel::warn, "mqtt: broker did not acknowledge the offline presence in time");
  if (self->connected_) mosquitto_disconnect_v5(self->mosq_, MQTT_RC_NORMAL_DISCONNECTION, nullptr);
  self->close_all_handles();
}

void MqttTransport::close_all_handles() noexcept {
  if (closed_) return;
  closed_ = true;
  connected_ = false;
  stop_poll();
  close_probe();
  Handles& h = *handles_;
  uv_timer_t* timers[] = {&h.misc, &h.reconnect, &h.telemetry, &h.log_flush, &h.presence, &h.stop};
  for (uv_timer_t* timer : timers) {
    auto* handle = reinterpret_cast<uv_handle_t*>(timer);
    if (!uv_is_closing(handle)) uv_close(handle, &MqttTransport::on_handle_closed);
  }
}

void MqttTransport::on_handle_closed(uv_handle_s* handle) {
  --static_cast<MqttTransport*>(handle->data)->open_handles_;
}

// ---------------------------------------------------------------- connection

void MqttTransport::connect_now() noexcept {
  if (closed_ || stopping_) return;
  if (connect_started_) {
    const int rc = mosquitto_reconnect_async(mosq_);
    if (rc != MOSQ_ERR_SUCCESS) {
      // The first failure of a series is a warning; the retries are debug.
      runtime_.log().write(backoff_ms_ == 0 ? LogLevel::warn : LogLevel::debug, "mqtt: connect failed",
                           {{"url", config_.mqtt.url},
                            {"error", rc == MOSQ_ERR_ERRNO ? std::strerror(errno) : mosquitto_strerror(rc)}});
      schedule_reconnect();
      return;
    }
    start_poll();
    return;
  }
  // libmosquitto 2.0 has no asynchronous connect that takes v5 CONNECT
  // properties, so the first connect (the one that hands libmosquitto the
  // session expiry, which it keeps for every reconnect) is blocking. So that
  // it cannot stall the loop on an unreachable broker, an IP address is first
  // tried with a non-blocking libuv TCP connect; only a broker that answered
  // gets the blocking connect. A host name is resolved and connected by
  // libmosquitto directly (a blocking lookup either way).
  sockaddr_storage address{};
  const char* host = config_.mqtt.host.c_str();
  const int port = config_.mqtt.port;
  if (uv_ip4_addr(host, port, reinterpret_cast<sockaddr_in*>(&address)) != 0 &&
      uv_ip6_addr(host, port, reinterpret_cast<sockaddr_in6*>(&address)) != 0) {
    first_connect();
    return;
  }
  if (probe_active_ || probe_closing_) return;
  uv_tcp_init(loop_, &handles_->probe);
  handles_->probe.data = this;
  handles_->probe_request.data = this;
  ++open_handles_;
  probe_active_ = true;
  const int rc = uv_tcp_connect(&handles_->probe_request, &handles_->probe, reinterpret_cast<const sockaddr*>(&address),
                                &MqttTransport::on_probe_connected);
  if (rc != 0) {
    close_probe();
    runtime_.log().write(backoff_ms_ == 0 ? LogLevel::warn : LogLevel::debug, "mqtt: connect failed",
                         {{"url", config_.mqtt.url}, {"error", uv_strerror(rc)}});
    schedule_reconnect();
  }
}

void MqttTransport::on_probe_connected(uv_connect_s* request, int status) {
  auto* self = static_cast<MqttTransport*>(request->data);
  self->close_probe();
  if (self->stopping_ || self->closed_) return;  // canceled by the stop
  if (status != 0) {
    self->runtime_.log().write(self->backoff_ms_ == 0 ? LogLevel::warn : LogLevel::debug, "mqtt: connect failed",
                               {{"url", self->config_.mqtt.url}, {"error", uv_strerror(status)}});
    self->schedule_reconnect();
    return;
  }
  self->first_connect();
}

void MqttTransport::close_probe() noexcept {
  if (!probe_active_) return;
  probe_active_ = false;
  probe_closing_ = true;
  uv_close(reinterpret_cast<uv_handle_t*>(&handles_->probe), &MqttTransport::on_probe_closed);
}

void MqttTransport::on_probe_closed(uv_handle_s* handle) {
  auto* self = static_cast<MqttTransport*>(handle->data);
  self->probe_closing_ = false;
  --self->open_handles_;
}

void MqttTransport::first_connect() noexcept {
  connect_started_ = true;
  // libmosquitto keeps these CONNECT properties (the session expiry) for every
  // later reconnect.
  mosquitto_property* props = nullptr;
  mosquitto_property_add_int32(&props, MQTT_PROP_SESSION_EXPIRY_INTERVAL, config_.mqtt.session_expiry_s);
  // libmosquitto reads any packet whole, mallocing the length it announces,
  // and copies the payload again for the callback. With this property the
  // broker does not send a packet over the bound (mosquitto drops it
  // silently; the broker's own max_packet_size is what tells a publisher).
  mosquitto_property_add_int32(&props, MQTT_PROP_MAXIMUM_PACKET_SIZE, static_cast<std::uint32_t>(max_packet_bytes_));
  const int rc = mosquitto_connect_bind_v5(mosq_, config_.mqtt.host.c_str(), config_.mqtt.port,
                                           static_cast<int>(config_.mqtt.keepalive_s), nullptr, props);
  mosquitto_property_free_all(&props);
  if (rc != MOSQ_ERR_SUCCESS) {
    runtime_.log().write(backoff_ms_ == 0 ? LogLevel::warn : LogLevel::debug, "mqtt: connect failed",
                         {{"url", config_.mqtt.url},
                          {"error", rc == MOSQ_ERR_ERRNO ? std::strerror(errno) : mosquitto_strerror(rc)}});
    schedule_reconnect();
    return;
  }
  start_poll();
}

void MqttTransport::schedule_reconnect() noexcept {
  if (closed_ || stopping_) return;
  const std::uint32_t min_ms = config_.mqtt.reconnect_min_ms;
  const std::uint32_t max_ms = std::max(min_ms, config_.mqtt.reconnect_max_ms);
  backoff_ms_ = backoff_ms_ == 0 ? min_ms : std::min<std::uint64_t>(max_ms, std::uint64_t{backoff_ms_} * 2);
  // "Equal jitter": half the back-off, plus a random part of the other half,
  // so a fleet that lost its broker does not come back in one wave.
  const std::uint32_t half = backoff_ms_ / 2;
  const std::uint32_t delay = half + static_cast<std::uint32_t>(rng_() % (backoff_ms_ - half + 1));
  uv_timer_start(&handles_->reconnect, &MqttTransport::on_reconnect_timer, std::max<std::uint32_t>(delay, 1), 0);
}

void MqttTransport::on_reconnect_timer(uv_timer_s* handle) {
  auto* self = static_cast<MqttTransport*>(handle->data);
  // The previous socket's poll handle must be closed before a new one opens.
  if (self->poll_closing_ || self->probe_closing_) {
    uv_timer_start(handle, &MqttTransport::on_reconnect_timer, 10, 0);
    return;
  }
  self->runtime_.metrics().add(self->reconnects_metric_);
  self->connect_now();
}

void MqttTransport::start_poll() noexcept {
  const int fd = mosquitto_socket(mosq_);
  if (fd < 0 || poll_active_) return;
  if (uv_poll_init_socket(loop_, &handles_->poll, fd) != 0) {
    runtime_.log().write(LogLevel::error, "mqtt: uv_poll_init_socket failed");
    mosquitto_disconnect(mosq_);
    schedule_reconnect();
    return;
  }
  handles_->poll.data = this;
  ++open_handles_;
  poll_active_ = true;
  poll_events_ = 0;
  update_poll();
}

void MqttTransport::stop_poll() noexcept {
  if (!poll_active_) return;
  poll_active_ = false;
  poll_events_ = 0;
  poll_closing_ = true;
  uv_poll_stop(&handles_->poll);
  uv_close(reinterpret_cast<uv_handle_t*>(&handles_->poll), &MqttTransport::on_poll_closed);
}

void MqttTransport::on_poll_closed(uv_handle_s* handle) {
  auto* self = static_cast<MqttTransport*>(handle->data);
  self->poll_closing_ = false;
  --self->open_handles_;
}

void MqttTransport::update_poll() noexcept {
  if (!poll_active_) return;
  const int events = UV_READABLE | (mosquitto_want_write(mosq_) ? UV_WRITABLE : 0);
  if (events == poll_events_) return;
  poll_events_ = events;
  uv_poll_start(&handles_->poll, events, &MqttTransport::on_poll);
}

void MqttTransport::on_poll(uv_poll_s* handle, int status, int events) {
  auto* self = static_cast<MqttTransport*>(handle->data);
  // Read on an error too: libmosquitto then sees the failure and reports the
  // disconnect through on_disconnect_cb.
  if (status < 0 || (events & UV_READABLE) != 0) mosquitto_loop_read(self->mosq_, 1);
  if (self->poll_active_ && (events & UV_WRITABLE) != 0) mosquitto_loop_write(self->mosq_, 1);
  self->update_poll();
}

void MqttTransport::on_misc_timer(uv_timer_s* handle) {
  auto* self = static_cast<MqttTransport*>(handle->data);
  if (!self->poll_active_) return;
  mosquitto_loop_misc(self->mosq_);
  self->update_poll();
}

void MqttTransport::on_connect_cb(mosquitto*, void* obj, int rc, int flags, const mqtt5__property*) {
  auto* self = static_cast<MqttTransport*>(obj);
  if (rc != 0) {
    self->runtime_.log().write(LogLevel::error, "mqtt: broker refused the connection",
                               {{"reason", mosquitto_reason_string(rc)}});
    return;  // libmosquitto closes the connection; on_disconnect_cb reconnects
  }
  self->handle_connected((flags & 0x01) != 0);
}

void MqttTransport::on_disconnect_cb(mosquitto*, void* obj, int rc, const mqtt5__property*) {
  static_cast<MqttTransport*>(obj)->handle_disconnected(rc);
}

void MqttTransport::on_publish_cb(mosquitto*, void* obj, int mid, int reason_code, const mqtt5__property*) {
  auto* self = static_cast<MqttTransport*>(obj);
  // A PUBACK with a failure reason (0x80 and up: not authorized, quota
  // exceeded) means the broker did not take the status: it is not noted,
  // so a restart publishes it again.
  self->handle_puback(mid, reason_code < 0x80);
  if (self->stopping_ && mid == self->offline_mid_) {
    self->offline_mid_ = -1;
    mosquitto_disconnect_v5(self->mosq_, MQTT_RC_NORMAL_DISCONNECTION, nullptr);
  }
}

void MqttTransport::on_message_cb(mosquitto*, void* obj, const mosquitto_message* message, const mqtt5__property*) {
  auto* self = static_cast<MqttTransport*>(obj);
  if (message == nullptr || message->topic == nullptr) return;
  const std::string_view payload(static_cast<const char*>(message->payload),
                                 message->payload == nullptr ? 0 : static_cast<std::size_t>(message->payloadlen));
  self->handle_message(message->topic, payload);
}

void MqttTransport::handle_connected(bool session_present) noexcept {
  connected_ = true;
  backoff_ms_ = 0;
  runtime_.metrics().set(connected_metric_, 1);
  runtime_.log().write(LogLevel::info, "mqtt: connected",
                       {{"url", config_.mqtt.url}, {"session", session_present ? "resumed" : "new"}});
  // Every connect subscribes again. A new session (session present false:
  // the first start, an expired session, a broker that lost its state) has
  // no subscriptions; a resumed one lacks the group filters that the last
  // drain left, and subscribing again to what it has changes nothing (the
  // retained messages are never sent).
  if (!stopping_) subscribe_all();
  publish_presence(true);
  flush_all();
  update_poll();
}

void MqttTransport::handle_disconnected(int rc) noexcept {
  const bool was_connected = connected_;
  connected_ = false;
  runtime_.metrics().set(connected_metric_, 0);
  stop_poll();
  if (stopping_) {
    close_all_handles();
    return;
  }
  if (was_connected) {
    runtime_.log().write(LogLevel::warn, "mqtt: connection lost",
                         {{"error", rc == MOSQ_ERR_ERRNO ? "socket error" : mosquitto_strerror(rc)}});
  }
  schedule_reconnect();
}

void MqttTransport::subscribe_all() noexcept {
  mosquitto_subscribe_v5(mosq_, nullptr, cancel_topic_.c_str(), 1, kJobSubscribeOptions, nullptr);
  // The device topic, also while draining: it belongs to the session.
  mosquitto_subscribe_v5(mosq_, nullptr, submit_topic_.c_str(), 1, kJobSubscribeOptions, nullptr);
  if (draining_) return;
  for (const std::string& filter : group_filters_) {
    mosquitto_subscribe_v5(mosq_, nullptr, filter.c_str(), 1, kJobSubscribeOptions, nullptr);
  }
}

// ---------------------------------------------------------------- jobs in

void MqttTransport::handle_message(std::string_view topic, std::string_view payload) noexcept {
  if (topic == submit_topic_ || is_group_submit_topic(config_.mqtt.topic_prefix, topic)) {
    handle_submit(payload);
  } else if (topic == cancel_topic_) {
    const DecodedCancel cancel = decode_cancel(payload, cancel_arena_);
    if (!cancel.error) {
      runtime_.cancel(cancel.id());
      return;
    }
    runtime_.metrics().add(cancels_refused_metric_);
    runtime_.log().write(LogLevel::warn, "mqtt: cancel refused",
                         {{"code", to_string(*cancel.error)}, {"reason", cancel.message}});
  }
}

void MqttTransport::handle_submit(std::string_view payload) noexcept {
  const SubmitResult result = runtime_.submit_json(payload);
  if (result.accepted || !result.rejection) return;
  JsonWriter out(std::span<char>(scratch_.get(), scratch_bytes_));
  const std::string_view id = result.id_view();
  encode_rejection(out, config_.device_id, id, port::wall_ms(), *result.rejection, result.message_view());
  if (out.overflowed()) return;  // cannot happen: the scratch buffer holds a result plus 1 KiB
  // A duplicate is about a job the device knows: its own status topic
  // carries that job's statuses only, so the answer goes to jobs/rejected.
  if (id.empty() || *result.rejection == ErrorCode::duplicate) {
    publish_or_keep(outbox_, rejected_topic_, out.view(), 1);
  } else {
    publish_or_keep(outbox_, job_status_topic(id), out.view(), 1);
  }
  if (*result.rejection != ErrorCode::duplicate) return;
  // A submitter that heard nothing resubmits: a finished job's terminal
  // status goes out again, as it was first published.
  const std::size_t stored = runtime_.stored_status(id, {scratch_.get(), scratch_bytes_});
  if (stored != 0) publish_or_keep(outbox_, job_status_topic(id), {scratch_.get(), stored}, 1, kTerminalStatus);
}

std::string_view MqttTransport::job_status_topic(std::string_view id) noexcept {
  return write_job_status_topic(std::span<char>(topic_buf_.get(), topic_bytes_), config_.mqtt.topic_prefix,
                                config_.device_id, id);
}

// ---------------------------------------------------------------- publishing

bool MqttTransport::publish(std::string_view topic, std::string_view payload, int qos, bool retain, int* mid) noexcept {
  if (!connected_ || topic.size() > topic_bytes_) return false;
  // libmosquitto wants a NUL-terminated topic; ring records are not.
  std::memcpy(publish_topic_.get(), topic.data(), topic.size());
  publish_topic_[topic.size()] = '\0';
  const int rc = mosquitto_publish_v5(mosq_, mid, publish_topic_.get(), static_cast<int>(payload.size()),
                                      payload.data(), qos, retain, nullptr);
  update_poll();
  return rc == MOSQ_ERR_SUCCESS;
}

void MqttTransport::publish_or_keep(MessageRing& ring, std::string_view topic, std::string_view payload, int qos,
                                    std::uint32_t tag) noexcept {
  // In order: while older messages wait, a new one queues behind them.
  int mid = -1;
  if (ring.empty() && publish(topic, payload, qos, false, &mid)) {
    if (tag == kTerminalStatus) track_status_ack(topic, mid);
    return;
  }
  ring.push({topic, payload, qos, false, tag});
  if (connected_) flush_ring(ring);
  update_transport_metrics();
}

void MqttTransport::flush_ring(MessageRing& ring) noexcept {
  while (!ring.empty() && connected_) {
    const MessageRing::Message message = ring.front();
    int mid = -1;
    if (!publish(message.topic, message.payload, message.qos, message.retain, &mid)) break;
    if (&ring == &outbox_ && message.tag == kTerminalStatus) track_status_ack(message.topic, mid);
    ring.pop();
  }
}

void MqttTransport::track_status_ack(std::string_view topic, int mid) noexcept {
  if (pending_acks_.empty() || mid < 0) return;
  // <p>/<dev>/jobs/<id>/status: the id is the segment before the last.
  const std::size_t last = topic.rfind('/');
  if (last == std::string_view::npos || last == 0) return;
  const std::size_t before = topic.rfind('/', last - 1);
  const std::string_view id = topic.substr(before + 1, last - before - 1);
  PendingAck& pending = pending_acks_[static_cast<std::size_t>(mid) % pending_acks_.size()];
  if (id.size() > pending.id.size()) return;
  pending.mid = mid;
  pending.id_length = static_cast<std::uint8_t>(id.size());
  std::memcpy(pending.id.data(), id.data(), id.size());
}

void MqttTransport::handle_puback(int mid, bool taken) noexcept {
  if (pending_acks_.empty() || mid < 0) return;
  PendingAck& pending = pending_acks_[static_cast<std::size_t>(mid) % pending_acks_.size()];
  if (pending.mid != mid) return;
  pending.mid = -1;
  if (taken) runtime_.status_acknowledged({pending.id.data(), pending.id_length});
}

void MqttTransport::flush_all() noexcept {
  flush_ring(outbox_);
  flush_ring(events_);
  flush_ring(telemetry_);
  flush_ring(snapshots_);
  update_transport_metrics();
}

void MqttTransport::update_transport_metrics() noexcept {
  Metrics& m = runtime_.metrics();
  m.set(outbox_depth_metric_, outbox_.size());
  const std::uint64_t outbox_dropped = outbox_.dropped_total() + outbox_.refused_total();
  m.add(outbox_dropped_metric_, outbox_dropped - outbox_dropped_reported_);
  if (outbox_dropped != outbox_dropped_reported_) log_outbox_drops(outbox_dropped - outbox_dropped_reported_);
  outbox_dropped_reported_ = outbox_dropped;
  const std::uint64_t events_dropped = events_.dropped_total() + events_.refused_total();
  m.add(events_dropped_metric_, events_dropped - events_dropped_reported_);
  events_dropped_reported_ = events_dropped;
  const std::uint64_t telemetry_dropped = telemetry_.dropped_total() + telemetry_.refused_total();
  m.add(telemetry_dropped_metric_, telemetry_dropped - telemetry_dropped_reported_);
  telemetry_dropped_reported_ = telemetry_dropped;
  m.set(snapshots_depth_metric_, snapshots_.size());
  // With telemetry.buffered_snapshots 0 every snapshot taken while the broker
  // is away is refused: those are drops too.
  const std::uint64_t snapshots_dropped = snapshots_.dropped_total() + snapshots_.refused_total();
  m.add(snapshots_dropped_metric_, snapshots_dropped - snapshots_dropped_reported_);
  snapshots_dropped_reported_ = snapshots_dropped;
}

void MqttTransport::log_outbox_drops(std::uint64_t dropped) noexcept {
  // Said at most once every 10 s, with what was dropped since: a long
  // outage under load drops a status a job, and the log ring is bounded too.
  outbox_drops_unlogged_ += dropped;
  const std::int64_t now = port::monotonic_ms();
  if (now - outbox_drops_logged_ms_ < 10'000) return;
  outbox_drops_logged_ms_ = now;
  char count[24];
  char bound[24];
  std::snprintf(count, sizeof count, "%llu", static_cast<unsigned long long>(outbox_drops_unlogged_));
  std::snprintf(bound, sizeof bound, "%u", config_.mqtt.outbox_messages);
  outbox_drops_unlogged_ = 0;
  runtime_.log().write(LogLevel::warn, "mqtt: the outbox is full; the oldest statuses were dropped",
                       {{"dropped", count}, {"outbox_messages", bound}});
}

bool MqttTransport::wants_progress() const noexcept { return config_.report_progress; }

void MqttTransport::on_status(const JobStatusView& status) noexcept {
  JsonWriter out(std::span<char>(scratch_.get(), scratch_bytes_));
  encode_status(out, config_.device_id, status);
  if (out.overflowed()) {
    runtime_.log().write(LogLevel::error, "mqtt: status too large to encode", {{"job", status.id}});
    return;
  }
  publish_or_keep(outbox_, job_status_topic(status.id), out.view(), 1,
                  is_terminal(status.state) ? kTerminalStatus : 0);
}

void MqttTransport::on_stored_status(std::string_view id, std::string_view status_json) noexcept {
  publish_or_keep(outbox_, job_status_topic(id), status_json, 1, kTerminalStatus);
}

void MqttTransport::on_event(const EventView& event) noexcept {
  JsonWriter out(std::span<char>(scratch_.get(), scratch_bytes_));
  encode_event(out, config_.device_id, event);
  if (out.overflowed()) return;
  publish_or_keep(events_, events_topic_, out.view(), 1);
}

void MqttTransport::publish_presence(bool online, int* mid) noexcept {
  if (!presence_) return;
  JsonWriter out(std::span<char>(presence_.get(), presence_bytes_));
  port::SysInfo info;
  // A few small reads under /proc, once per presence period.
  if (online) (void)port::read_sysinfo(info);
  // An auditor who saved a head can later prove the history was not
  // rewritten (edgerunctl journal verify --head).
  const std::optional<JournalHead> head = runtime_.journal_head();
  encode_presence(out, {.device = config_.device_id,
                        .online = online,
                        .version = version_,
                        .started_at_ms = started_at_ms_,
                        .ts_ms = port::wall_ms(),
                        .sysinfo = &info,
                        .handlers = handler_names_,
                        .journal_sequence = head ? head->sequence : 0,
                        .journal_hash = head ? std::string_view(head->hash_hex.data()) : std::string_view()});
  if (out.overflowed()) return;
  if (!publish(status_topic_, out.view(), 1, true, mid) && mid != nullptr) *mid = -1;
}

void MqttTransport::on_presence_timer(uv_timer_s* handle) {
  static_cast<MqttTransport*>(handle->data)->publish_presence(true);
}

// ---------------------------------------------------------------- telemetry

void MqttTransport::on_telemetry_timer(uv_timer_s* handle) {
  static_cast<MqttTransport*>(handle->data)->publish_metrics();
}

void MqttTransport::publish_metrics() noexcept {
  runtime_.refresh_metrics();
  update_transport_metrics();
  JsonWriter out(std::span<char>(metrics_buf_.get(), metrics_bytes_));
  begin_metrics(out, config_.device_id, port::wall_ms(), config_.telemetry.interval_ms);
  runtime_.metrics().for_each([&out](const MetricView& view) { encode_metric(out, view); });
  end_metrics(out);
  if (out.overflowed()) {
    if (!metrics_overflow_logged_) {
      metrics_overflow_logged_ = true;
      runtime_.log().write(LogLevel::error, "mqtt: metrics snapshot does not fit its buffer");
    }
    return;
  }
  // While the broker is away the snapshot waits, with the ts it was taken
  // at, so that a backend can fill the gap after the reconnect; a full ring
  // drops the oldest, since the newest state matters most. QoS 0 either way,
  // as PROTOCOL.md says: a snapshot lost on the wire is superseded by the
  // next one.
  publish_or_keep(snapshots_, metrics_topic_, out.view(), 0);
}

void MqttTransport::write(const LogRecord& record) noexcept {
  if (record.level < config_.telemetry.log_forward_level) return;
  const std::uint32_t capacity = config_.telemetry.log_batch_records;
  if (pending_log_count_ >= capacity) publish_log_batch();
  pending_logs_[pending_log_count_++] = record;
  if (pending_log_count_ >= capacity) publish_log_batch();
}

void MqttTransport::on_log_flush_timer(uv_timer_s* handle) {
  static_cast<MqttTransport*>(handle->data)->publish_log_batch();
}

void MqttTransport::publish_log_batch() noexcept {
  const std::uint64_t ring_dropped = runtime_.log().dropped_total();
  const std::uint64_t dropped = (ring_dropped - log_ring_dropped_seen_) + logs_dropped_;
  if (pending_log_count_ == 0 && dropped == 0) return;
  JsonWriter out(std::span<char>(log_batch_.get(), log_batch_bytes_));
  begin_log_batch(out, config_.device_id, port::wall_ms(), dropped);
  std::array<LogField, LogRecord::kMaxFields> fields;
  for (std::uint32_t i = 0; i < pending_log_count_; ++i) {
    const LogRecord& record = pending_logs_[i];
    for (std::size_t f = 0; f < record.field_count(); ++f) fields[f] = record.field(f);
    encode_log_record(out, {.ts_ms = record.ts_ms,
                            .level = record.level,
                            .message = record.message(),
                            .fields = std::span(fields.data(), record.field_count())});
  }
  end_log_batch(out);
  const std::uint32_t count = pending_log_count_;
  pending_log_count_ = 0;
  log_ring_dropped_seen_ = ring_dropped;
  logs_dropped_ = 0;
  if (out.overflowed()) {  // cannot happen: the buffer is sized for the worst case
    logs_dropped_ += count;
    return;
  }
  if (telemetry_.empty() && publish(logs_topic_, out.view(), 0, false)) return;
  std::uint64_t lost = 0;
  if (!telemetry_.push({logs_topic_, out.view(), 0, false, count}, &lost)) lost += count;
  logs_dropped_ += lost;
  if (connected_) flush_ring(telemetry_);
  update_transport_metrics();
}

void MqttTransport::set_telemetry(const TelemetryOptions& telemetry) noexcept {
  config_.telemetry.interval_ms = telemetry.interval_ms;
  config_.telemetry.log_forward_level = telemetry.log_forward_level;
  config_.telemetry.presence_interval_s = telemetry.presence_interval_s;
  if (loop_ == nullptr || closed_ || stopping_) return;
  uv_timer_start(&handles_->telemetry, &MqttTransport::on_telemetry_timer, telemetry.interval_ms,
                 telemetry.interval_ms);
  const std::uint64_t presence_ms = std::uint64_t{telemetry.presence_interval_s} * 1000;
  uv_timer_start(&handles_->presence, &MqttTransport::on_presence_timer, presence_ms, presence_ms);
}

}  // namespace edgerun

#include "mqtt_probe.hpp"

#include <mqtt_protocol.h>

#include <atomic>
#include <cstdio>
#include <random>

#include "mosquitto_broker.hpp"

namespace edgerun::test {
namespace {

void ensure_mosquitto_lib() {
  // Once per process; never cleaned up, since probes may live until exit.
  static std::once_flag once;
  std::call_once(once, [] { mosquitto_lib_init(); });
}

std::string random_client_id() {
  static std::atomic<unsigned> counter{0};
  std::random_device rd;
  char buf[32];
  std::snprintf(buf, sizeof buf, "probe-%08x-%u", rd(), counter.fetch_add(1));
  return buf;
}

std::string mosq_error(const char* what, int rc) {
  return std::string(what) + ": " + mosquitto_strerror(rc);
}

// MQTT v5 reason codes from 0x80 up are failures; below are successes
// (0x10 "no matching subscribers" on a PUBACK included).
constexpr int kFirstFailureReason = 0x80;

}  // namespace

MqttProbe::MqttProbe() : MqttProbe(Options{}) {}

MqttProbe::MqttProbe(Options options) : options_(std::move(options)) {
  ensure_mosquitto_lib();
  if (options_.client_id.empty()) options_.client_id = random_client_id();
}

MqttProbe::~MqttProbe() {
  disconnect();
  if (mosq_ != nullptr) mosquitto_destroy(mosq_);
}

Status MqttProbe::connect(const MosquittoBroker& broker, std::chrono::milliseconds timeout) {
  return connect(broker.host(), broker.port(), timeout);
}

Status MqttProbe::connect(const std::string& host, int port, std::chrono::milliseconds timeout) {
  if (mosq_ != nullptr) return Status::failure("probe already connected once; make a new probe");
  mosq_ = mosquitto_new(options_.client_id.c_str(), options_.clean_start, this);
  if (mosq_ == nullptr) return Status::failure("mosquitto_new failed");
  mosquitto_int_option(mosq_, MOSQ_OPT_PROTOCOL_VERSION, MQTT_PROTOCOL_V5);
  mosquitto_int_option(mosq_, MOSQ_OPT_TCP_NODELAY, 1);
  mosquitto_connect_v5_callback_set(mosq_, &MqttProbe::on_connect);
  mosquitto_disconnect_v5_callback_set(mosq_, &MqttProbe::on_disconnect);
  mosquitto_subscribe_v5_callback_set(mosq_, &MqttProbe::on_subscribe);
  mosquitto_publish_v5_callback_set(mosq_, &MqttProbe::on_publish);
  mosquitto_message_v5_callback_set(mosq_, &MqttProbe::on_message);
  if (!options_.username.empty()) {
    int rc = mosquitto_username_pw_set(mosq_, options_.username.c_str(),
                                       options_.password.empty() ? nullptr : options_.password.c_str());
    if (rc != MOSQ_ERR_SUCCESS) return Status::failure(mosq_error("mosquitto_username_pw_set", rc));
  }
  mosquitto_property* props = nullptr;
  if (options_.session_expiry_s > 0) {
    mosquitto_property_add_int32(&props, MQTT_PROP_SESSION_EXPIRY_INTERVAL, options_.session_expiry_s);
  }
  int rc = mosquitto_connect_bind_v5(mosq_, host.c_str(), port, 30, nullptr, props);
  mosquitto_property_free_all(&props);
  if (rc != MOSQ_ERR_SUCCESS) {
    return Status::failure(mosq_error(("connect to " + host + ":" + std::to_string(port)).c_str(), rc));
  }
  rc = mosquitto_loop_start(mosq_);
  if (rc != MOSQ_ERR_SUCCESS) return Status::failure(mosq_error("mosquitto_loop_start", rc));
  loop_running_ = true;

  std::unique_lock lock(mutex_);
  if (!cv_.wait_for(lock, timeout, [&] { return connack_rc_ != -1; })) {
    return Status::failure("no CONNACK from " + host + ":" + std::to_string(port) + " within " +
                           std::to_string(timeout.count()) + " ms");
  }
  if (connack_rc_ != 0) {
    return Status::failure(std::string("connection refused: ") + mosquitto_reason_string(connack_rc_));
  }
  return Status::success();
}

void MqttProbe::disconnect() {
  if (mosq_ == nullptr || !loop_running_) return;
  mosquitto_disconnect_v5(mosq_, MQTT_RC_NORMAL_DISCONNECTION, nullptr);
  // After a disconnect request the network thread ends by itself; stopping
  // it without force lets it send the DISCONNECT first.
  mosquitto_loop_stop(mosq_, false);
  loop_running_ = false;
  std::lock_guard lock(mutex_);
  connected_ = false;
}

bool MqttProbe::connected() const {
  std::lock_guard lock(mutex_);
  return connected_;
}

Status MqttProbe::wait_connected(std::chrono::milliseconds timeout) {
  std::unique_lock lock(mutex_);
  if (cv_.wait_for(lock, timeout, [&] { return connected_; })) return Status::success();
  return Status::failure("probe not connected within " + std::to_string(timeout.count()) + " ms");
}

Status MqttProbe::wait_for_mid(const std::map<int, int>& results, int mid, const std::string& what,
                               std::chrono::milliseconds timeout) {
  std::unique_lock lock(mutex_);
  if (!cv_.wait_for(lock, timeout, [&] { return results.count(mid) != 0; })) {
    return Status::failure(what + ": no acknowledgement within " + std::to_string(timeout.count()) +
                           " ms");
  }
  int reason = results.at(mid);
  if (reason >= kFirstFailureReason) {
    return Status::failure(what + ": refused by the broker: " + mosquitto_reason_string(reason));
  }
  return Status::success();
}

Status MqttProbe::subscribe(const std::string& filter, int qos, std::chrono::milliseconds timeout) {
  if (mosq_ == nullptr) return Status::failure("subscribe before connect");
  {
    std::lock_guard lock(mutex_);
    subscriptions_.emplace_back(filter, qos);
  }
  int mid = 0;
  int rc = mosquitto_subscribe_v5(mosq_, &mid, filter.c_str(), qos, 0, nullptr);
  if (rc != MOSQ_ERR_SUCCESS) return Status::failure(mosq_error(("subscribe " + filter).c_str(), rc));
  return wait_for_mid(sub_results_, mid, "subscribe " + filter, timeout);
}

Status MqttProbe::publish(const std::string& topic, std::string_view payload, int qos, bool retain,
                          std::chrono::milliseconds timeout) {
  if (mosq_ == nullptr) return Status::failure("publish before connect");
  int mid = 0;
  int rc = mosquitto_publish_v5(mosq_, &mid, topic.c_str(), static_cast<int>(payload.size()),
                                payload.data(), qos, retain, nullptr);
  if (rc != MOSQ_ERR_SUCCESS) return Status::failure(mosq_error(("publish " + topic).c_str(), rc));
  return wait_for_mid(pub_results_, mid, "publish " + topic, timeout);
}

std::optional<MqttMessage> MqttProbe::wait_for_message(
    const std::function<bool(const MqttMessage&)>& predicate, std::chrono::milliseconds timeout) {
  std::unique_lock lock(mutex_);
  std::optional<MqttMessage> found;
  // Only messages that arrived since the last look need the predicate again;
  // `checked` counts the ones already refused.
  std::size_t checked = 0;
  cv_.wait_for(lock, timeout, [&] {
    for (; checked < inbox_.size(); ++checked) {
      if (predicate(inbox_[checked])) {
        found = std::move(inbox_[checked]);
        inbox_.erase(inbox_.begin() + static_cast<std::ptrdiff_t>(checked));
        return true;
      }
    }
    return false;
  });
  return found;
}

std::optional<MqttMessage> MqttProbe::wait_for_topic(const std::string& topic,
                                                     std::chrono::milliseconds timeout) {
  return wait_for_message([&](const MqttMessage& m) { return m.topic == topic; }, timeout);
}

std::size_t MqttProbe::pending() const {
  std::lock_guard lock(mutex_);
  return inbox_.size();
}

// The callbacks run on libmosquitto's network thread.

void MqttProbe::on_connect(mosquitto* mosq, void* obj, int rc, int flags, const mosquitto_property*) {
  auto* self = static_cast<MqttProbe*>(obj);
  std::vector<std::pair<std::string, int>> resubscribe;
  {
    std::lock_guard lock(self->mutex_);
    self->connack_rc_ = rc;
    self->connected_ = rc == 0;
    // Bit 0 of the CONNACK flags is "session present".
    if (rc == 0 && (flags & 1) == 0) resubscribe = self->subscriptions_;
  }
  for (const auto& [filter, qos] : resubscribe) {
    mosquitto_subscribe_v5(mosq, nullptr, filter.c_str(), qos, 0, nullptr);
  }
  self->cv_.notify_all();
}

void MqttProbe::on_disconnect(mosquitto*, void* obj, int, const mosquitto_property*) {
  auto* self = static_cast<MqttProbe*>(obj);
  {
    std::lock_guard lock(self->mutex_);
    self->connected_ = false;
  }
  self->cv_.notify_all();
}

void MqttProbe::on_subscribe(mosquitto*, void* obj, int mid, int count, const int* granted,
                             const mosquitto_property*) {
  auto* self = static_cast<MqttProbe*>(obj);
  int result = 0;
  for (int i = 0; i < count; ++i) {
    if (granted[i] >= kFirstFailureReason) result = granted[i];
  }
  {
    std::lock_guard lock(self->mutex_);
    self->sub_results_[mid] = result;
  }
  self->cv_.notify_all();
}

void MqttProbe::on_publish(mosquitto*, void* obj, int mid, int reason, const mosquitto_property*) {
  auto* self = static_cast<MqttProbe*>(obj);
  {
    std::lock_guard lock(self->mutex_);
    self->pub_results_[mid] = reason;
  }
  self->cv_.notify_all();
}

void MqttProbe::on_message(mosquitto*, void* obj, const mosquitto_message* msg, const mosquitto_property*) {
  auto* self = static_cast<MqttProbe*>(obj);
  MqttMessage m;
  m.topic = msg->topic;
  if (msg->payloadlen > 0) m.payload.assign(static_cast<const char*>(msg->payload), msg->payloadlen);
  m.qos = msg->qos;
  m.retain = msg->retain;
  {
    std::lock_guard lock(self->mutex_);
    self->inbox_.push_back(std::move(m));
  }
  self->cv_.notify_all();
}

}  // namespace edgerun::test

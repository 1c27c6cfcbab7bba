#include "session.hpp"

#include <mosquitto.h>
#include <mqtt_protocol.h>

#include <algorithm>
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <random>

#include "stop_signal.hpp"

namespace edgerun::ctl {
namespace {

constexpr int kKeepaliveSeconds = 30;
// The longest slice mosquitto_loop() may block: it bounds how late a signal
// that lands just before the select() is noticed.
constexpr std::chrono::milliseconds kLoopSlice{100};
// How long disconnect() lets the DISCONNECT packet go out.
constexpr std::chrono::milliseconds kDisconnectGrace{500};
// The broker must not send us packets larger than this (MQTT v5 Maximum
// Packet Size): protocol payloads are a few KiB, so 1 MiB is generous, and
// a runaway publisher cannot make the tool allocate without bound.
constexpr std::uint32_t kMaxIncomingPacket = 1024 * 1024;

std::string client_id() {
  std::random_device rd;
  char buf[24];
  // At most 23 characters, the limit every broker must accept.
  std::snprintf(buf, sizeof buf, "edgerunctl-%08x", static_cast<unsigned>(rd()));
  return buf;
}

std::string mosq_error_text(int rc) {
  if (rc == MOSQ_ERR_ERRNO) return std::strerror(errno);
  return mosquitto_strerror(rc);
}

SessionStatus failure(SessionError error, std::string message) { return {error, std::move(message)}; }

}  // namespace

Session::Session() {
  mosq_ = mosquitto_new(client_id().c_str(), true, this);
  if (mosq_ == nullptr) return;
  mosquitto_int_option(mosq_, MOSQ_OPT_PROTOCOL_VERSION, MQTT_PROTOCOL_V5);
  mosquitto_int_option(mosq_, MOSQ_OPT_TCP_NODELAY, 1);
  mosquitto_connect_v5_callback_set(mosq_, &Session::on_connect);
  mosquitto_disconnect_v5_callback_set(mosq_, &Session::on_disconnect);
  mosquitto_subscribe_v5_callback_set(mosq_, &Session::on_subscribe);
  mosquitto_publish_v5_callback_set(mosq_, &Session::on_publish);
  mosquitto_message_v5_callback_set(mosq_, &Session::on_message);
}

Session::~Session() {
  if (mosq_ != nullptr) mosquitto_destroy(mosq_);
}

template <typename Done>
SessionStatus Session::run_until(Done done, Deadline deadline, const std::string& what) {
  for (;;) {
    if (done()) return {};
    if (stop_requested()) return failure(SessionError::interrupted, "interrupted while " + what);
    if (lost_) return failure(SessionError::lost, "connection to " + endpoint_ + " lost while " + what + ": " + lost_reason_);
    auto now = std::chrono::steady_clock::now();
    if (now >= deadline) return failure(SessionError::timeout, "timed out " + what);
    auto slice = std::min(std::chrono::duration_cast<std::chrono::milliseconds>(deadline - now), kLoopSlice);
    int rc = mosquitto_loop(mosq_, static_cast<int>(std::max<std::int64_t>(slice.count(), 1)), 1);
    if (rc != MOSQ_ERR_SUCCESS && !(rc == MOSQ_ERR_ERRNO && errno == EINTR)) {
      // The disconnect callback may already have said why.
      if (!lost_) lost_reason_ = mosq_error_text(rc);
      lost_ = true;
      connected_ = false;
    }
  }
}

SessionStatus Session::connect(const ConnectSettings& settings, Deadline deadline) {
  if (mosq_ == nullptr) return failure(SessionError::connect_failed, "cannot create an MQTT client");
  endpoint_ = settings.url.host + ":" + std::to_string(settings.url.port);
  if (settings.url.tls) {
    const bool own_ca = !settings.ca_file.empty();
    int rc = mosquitto_tls_set(mosq_, own_ca ? settings.ca_file.c_str() : nullptr,
                               own_ca ? nullptr : settings.ca_path.c_str(), nullptr, nullptr, nullptr);
    if (rc != MOSQ_ERR_SUCCESS) {
      return failure(SessionError::connect_failed, "cannot set up TLS with the CAs in " +
                                                       (own_ca ? settings.ca_file : settings.ca_path) + ": " +
                                                       mosq_error_text(rc));
    }
  }
  if (!settings.username.empty()) {
    int rc = mosquitto_username_pw_set(mosq_, settings.username.c_str(),
                                       settings.password ? settings.password->c_str() : nullptr);
    if (rc != MOSQ_ERR_SUCCESS) {
      return failure(SessionError::connect_failed, "cannot set credentials: " + mosq_error_text(rc));
    }
  }

  mosquitto_property* props = nullptr;
  mosquitto_property_add_int32(&props, MQTT_PROP_MAXIMUM_PACKET_SIZE, kMaxIncomingPacket);
  errno = 0;
  int rc = mosquitto_connect_bind_v5(mosq_, settings.url.host.c_str(), settings.url.port, kKeepaliveSeconds,
                                     nullptr, props);
  mosquitto_property_free_all(&props);
  if (rc != MOSQ_ERR_SUCCESS) {
    if (stop_requested()) return failure(SessionError::interrupted, "interrupted while connecting to " + endpoint_);
    return failure(SessionError::connect_failed, "cannot connect to " + endpoint_ + ": " + mosq_error_text(rc));
  }

  SessionStatus s = run_until([&] { return connack_rc_ != -1; }, deadline, "waiting for CONNACK from " + endpoint_);
  if (!s) {
    if (s.error == SessionError::lost || s.error == SessionError::timeout) s.error = SessionError::connect_failed;
    return s;
  }
  if (connack_rc_ != 0) {
    return failure(SessionError::connect_failed,
                   "broker " + endpoint_ + " refused the connection: " + mosquitto_reason_string(connack_rc_));
  }
  return {};
}

SessionStatus Session::subscribe(const std::vector<std::string>& filters, int qos, Deadline deadline) {
  std::vector<char*> list;
  for (const auto& f : filters) list.push_back(const_cast<char*>(f.c_str()));
  int mid = 0;
  int rc = mosquitto_subscribe_multiple(mosq_, &mid, static_cast<int>(list.size()), list.data(), qos, 0, nullptr);
  if (rc != MOSQ_ERR_SUCCESS) return failure(SessionError::lost, "cannot subscribe: " + mosq_error_text(rc));
  std::string what = "waiting for SUBACK of " + filters.front() + (filters.size() > 1 ? " and others" : "");
  SessionStatus s = run_until([&] { return sub_results_.count(mid) != 0; }, deadline, what);
  if (!s) return s;
  if (int reason = sub_results_[mid]; reason >= kFirstFailureReason) {
    return failure(SessionError::refused, "broker refused the subscription to " + filters.front() +
                                              (filters.size() > 1 ? " (or another filter)" : "") + ": " +
                                              mosquitto_reason_string(reason));
  }
  return {};
}

SessionStatus Session::publish(const std::string& topic, std::string_view payload, int qos, Deadline deadline,
                               int* reason) {
  int mid = 0;
  int rc = mosquitto_publish_v5(mosq_, &mid, topic.c_str(), static_cast<int>(payload.size()), payload.data(), qos,
                                false, nullptr);
  if (rc != MOSQ_ERR_SUCCESS) return failure(SessionError::lost, "cannot publish to " + topic + ": " + mosq_error_text(rc));
  SessionStatus s = run_until([&] { return pub_results_.count(mid) != 0; }, deadline,
                              "waiting for the broker to acknowledge the message to " + topic);
  if (!s) return s;
  int code = pub_results_[mid];
  if (reason != nullptr) *reason = code;
  if (code >= kFirstFailureReason) {
    return failure(SessionError::refused, "broker refused the message to " + topic + ": " + mosquitto_reason_string(code));
  }
  return {};
}

SessionStatus Session::next_message(ReceivedMessage& out, Deadline deadline) {
  SessionStatus s = run_until([&] { return !inbox_.empty(); }, deadline, "waiting for messages");
  if (!s) return s;
  out = std::move(inbox_.front());
  inbox_.pop_front();
  return {};
}

void Session::disconnect() {
  if (mosq_ == nullptr || !connected_) return;
  if (mosquitto_disconnect_v5(mosq_, MQTT_RC_NORMAL_DISCONNECTION, nullptr) != MOSQ_ERR_SUCCESS) return;
  auto deadline = std::chrono::steady_clock::now() + kDisconnectGrace;
  (void)run_until([&] { return !connected_; }, deadline, "disconnecting");
}

// The callbacks run on the caller's thread, inside mosquitto_loop().

void Session::on_connect(mosquitto*, void* obj, int rc, int, const mosquitto_property*) {
  auto* self = static_cast<Session*>(obj);
  self->connack_rc_ = rc;
  self->connected_ = rc == 0;
}

void Session::on_disconnect(mosquitto*, void* obj, int rc, const mosquitto_property*) {
  auto* self = static_cast<Session*>(obj);
  if (self->connected_ && rc != 0) {
    self->lost_ = true;
    self->lost_reason_ = rc < MQTT_RC_UNSPECIFIED ? mosquitto_strerror(rc) : mosquitto_reason_string(rc);
  }
  self->connected_ = false;
}

void Session::on_subscribe(mosquitto*, void* obj, int mid, int count, const int* granted, const mosquitto_property*) {
  auto* self = static_cast<Session*>(obj);
  int result = 0;
  for (int i = 0; i < count; ++i) {
    if (granted[i] >= kFirstFailureReason && result == 0) result = granted[i];
  }
  self->sub_results_[mid] = result;
}

void Session::on_publish(mosquitto*, void* obj, int mid, int reason, const mosquitto_property*) {
  static_cast<Session*>(obj)->pub_results_[mid] = reason;
}

void Session::on_message(mosquitto*, void* obj, const mosquitto_message* msg, const mosquitto_property*) {
  auto* self = static_cast<Session*>(obj);
  ReceivedMessage m;
  m.topic = msg->topic;
  if (msg->payloadlen > 0) m.payload.assign(static_cast<const char*>(msg->payload), static_cast<std::size_t>(msg->payloadlen));
  m.retain = msg->retain;
  self->inbox_.push_back(std::move(m));
}

}  // namespace edgerun::ctl

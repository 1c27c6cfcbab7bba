#pragma once

// A small synchronous MQTT v5 client for tests: it plays a fake device or a
// fake submitter against a real broker.
//
// libmosquitto runs its network thread (mosquitto_loop_start); every public
// function is called from the test's thread and blocks until the broker has
// answered (CONNACK, SUBACK, PUBACK) or a bounded timeout passes. Received
// messages queue up inside the probe until wait_for_message() takes them, so
// a message that arrives before the test starts waiting is not lost.
//
// The probe reconnects by itself when the broker goes away (for example
// across MosquittoBroker::restart()) and, when the broker did not keep its
// session, subscribes again to everything it had subscribed to.

#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <deque>
#include <functional>
#include <map>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include <mosquitto.h>

#include "status.hpp"

namespace edgerun::test {

class MosquittoBroker;

inline constexpr std::chrono::milliseconds kProbeTimeout{5000};

struct MqttMessage {
  std::string topic;
  std::string payload;
  int qos = 0;
  bool retain = false;
};

class MqttProbe {
 public:
  struct Options {
    // Empty: a random id. A fixed id with clean_start false and a non-zero
    // session_expiry_s gives a persistent session.
    std::string client_id;
    bool clean_start = true;
    std::uint32_t session_expiry_s = 0;
    std::string username;
    std::string password;
  };

  MqttProbe();
  explicit MqttProbe(Options options);
  ~MqttProbe();  // disconnect()
  MqttProbe(const MqttProbe&) = delete;
  MqttProbe& operator=(const MqttProbe&) = delete;

  // Connects and waits for a successful CONNACK.
  Status connect(const std::string& host, int port, std::chrono::milliseconds timeout = kProbeTimeout);
  Status connect(const MosquittoBroker& broker, std::chrono::milliseconds timeout = kProbeTimeout);
  // Sends DISCONNECT (normal, so a persistent session is kept) and stops the
  // network thread. Safe to call twice.
  void disconnect();
  bool connected() const;
  // Waits until the probe is connected again (after a broker restart).
  Status wait_connected(std::chrono::milliseconds timeout = kProbeTimeout);

  // Subscribes and waits for a SUBACK that grants the subscription.
  Status subscribe(const std::string& filter, int qos = 1,
                   std::chrono::milliseconds timeout = kProbeTimeout);
  // Publishes and waits until libmosquitto reports it done: written to the
  // socket for QoS 0, PUBACK for QoS 1, PUBCOMP for QoS 2.
  Status publish(const std::string& topic, std::string_view payload, int qos = 1, bool retain = false,
                 std::chrono::milliseconds timeout = kProbeTimeout);

  // Removes and returns the first received message that matches, waiting up
  // to `timeout` for one. The predicate runs under the probe's lock: keep it
  // short and do not call the probe from it.
  std::optional<MqttMessage> wait_for_message(const std::function<bool(const MqttMessage&)>& predicate,
                                              std::chrono::milliseconds timeout = kProbeTimeout);
  std::optional<MqttMessage> wait_for_topic(const std::string& topic,
                                            std::chrono::milliseconds timeout = kProbeTimeout);
  // Messages received and not yet taken.
  std::size_t pending() const;

 private:
  static void on_connect(mosquitto*, void* self, int rc, int flags, const mosquitto_property*);
  static void on_disconnect(mosquitto*, void* self, int rc, const mosquitto_property*);
  static void on_subscribe(mosquitto*, void* self, int mid, int count, const int* granted,
                           const mosquitto_property*);
  static void on_publish(mosquitto*, void* self, int mid, int reason, const mosquitto_property*);
  static void on_message(mosquitto*, void* self, const mosquitto_message* msg, const mosquitto_property*);

  // Waits until `results` holds `mid`; its value is the reason code (0 ok).
  Status wait_for_mid(const std::map<int, int>& results, int mid, const std::string& what,
                      std::chrono::milliseconds timeout);

  Options options_;
  mosquitto* mosq_ = nullptr;
  bool loop_running_ = false;

  mutable std::mutex mutex_;
  std::condition_variable cv_;
  bool connected_ = false;
  int connack_rc_ = -1;       // -1: no CONNACK yet
  std::map<int, int> sub_results_;  // mid -> 0, or the reason code of a refused filter
  std::map<int, int> pub_results_;  // mid -> the PUBACK/PUBCOMP reason code (0 for QoS 0)
  std::vector<std::pair<std::string, int>> subscriptions_;  // re-made after a clean reconnect
  std::deque<MqttMessage> inbox_;
};

}  // namespace edgerun::test

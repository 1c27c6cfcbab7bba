#pragma once

// One MQTT v5 connection for one command.
//
// Threads: single-threaded. The caller's thread drives libmosquitto through
// mosquitto_loop() inside every blocking call below, and the callbacks run
// there too, so no state needs a lock. Every call is bounded by a deadline
// and returns early when SIGINT/SIGTERM arrive (see stop_signal.hpp).
//
// Limitation: the TCP (and TLS) connect inside connect() is libmosquitto's
// blocking one; against a host that silently drops packets it can outlast
// the deadline (the kernel's SYN retries). A signal still interrupts it.

#include <chrono>
#include <deque>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "broker_url.hpp"

// libmosquitto's types, declared so that this header does not pull it in.
struct mosquitto;
struct mosquitto_message;
struct mqtt5__property;  // mosquitto_property

namespace edgerun::ctl {

using Deadline = std::chrono::steady_clock::time_point;

enum class SessionError {
  none,
  connect_failed,  // TCP/TLS connect failed, or the broker refused the CONNECT
  refused,         // the broker refused a SUBSCRIBE or PUBLISH
  lost,            // the connection dropped
  timeout,         // the deadline passed first
  interrupted,     // SIGINT/SIGTERM
};

struct [[nodiscard]] SessionStatus {
  SessionError error = SessionError::none;
  std::string message;
  explicit operator bool() const { return error == SessionError::none; }
};

struct ConnectSettings {
  BrokerUrl url;
  std::string username;  // empty: anonymous
  std::optional<std::string> password;
  // CA certificates for mqtts://: a file if given, else the system's
  // directory of trusted CAs.
  std::string ca_file;
  std::string ca_path = "/etc/ssl/certs";
};

struct ReceivedMessage {
  std::string topic;
  std::string payload;
  bool retain = false;
};

// MQTT v5 reason codes from 0x80 up are failures.
inline constexpr int kFirstFailureReason = 0x80;
// PUBACK reason "no matching subscribers": delivered to no one.
inline constexpr int kNoMatchingSubscribers = 0x10;

class Session {
 public:
  Session();
  ~Session();
  Session(const Session&) = delete;
  Session& operator=(const Session&) = delete;

  // Connects with a clean start and waits for a successful CONNACK.
  SessionStatus connect(const ConnectSettings& settings, Deadline deadline);
  // One SUBSCRIBE for all filters; fails unless every filter is granted.
  SessionStatus subscribe(const std::vector<std::string>& filters, int qos, Deadline deadline);
  // Publishes and waits for the PUBACK (QoS 1) or until it is written
  // (QoS 0). `reason` receives the PUBACK reason code (0 for QoS 0).
  SessionStatus publish(const std::string& topic, std::string_view payload, int qos, Deadline deadline,
                        int* reason = nullptr);
  // The next message received on any subscription, in arrival order.
  SessionStatus next_message(ReceivedMessage& out, Deadline deadline);
  // Sends DISCONNECT and lets it go out, briefly bounded. Best effort.
  void disconnect();

 private:
  template <typename Done>
  SessionStatus run_until(Done done, Deadline deadline, const std::string& what);

  static void on_connect(mosquitto*, void* self, int rc, int flags, const mqtt5__property*);
  static void on_disconnect(mosquitto*, void* self, int rc, const mqtt5__property*);
  static void on_subscribe(mosquitto*, void* self, int mid, int count, const int* granted,
                           const mqtt5__property*);
  static void on_publish(mosquitto*, void* self, int mid, int reason, const mqtt5__property*);
  static void on_message(mosquitto*, void* self, const mosquitto_message* msg,
                         const mqtt5__property*);

  mosquitto* mosq_ = nullptr;
  std::string endpoint_;        // "host:port", for messages
  int connack_rc_ = -1;         // -1: no CONNACK yet
  bool connected_ = false;
  bool lost_ = false;
  std::string lost_reason_;
  std::map<int, int> sub_results_;  // mid -> 0, or the first refusing reason code
  std::map<int, int> pub_results_;  // mid -> PUBACK reason code
  std::deque<ReceivedMessage> inbox_;
};

}  // namespace edgerun::ctl

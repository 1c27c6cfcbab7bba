// Pieces the end-to-end bench and the ceiling device share: the broker URL,
// flag parsing helpers, wall-clock milliseconds and the libmosquitto options
// both set. Header-only, so each program stays one translation unit.
#pragma once

#include <mosquitto.h>
#include <poll.h>

#include <cerrno>
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <optional>
#include <string>
#include <string_view>

namespace edgerun::bench::e2e {

struct BrokerAddress {
  std::string host;
  int port = 1883;
};

// Accepts mqtt://host[:port][/] and mqtt://[v6-literal][:port][/], as
// PROTOCOL.md's mqtt.url does. TLS (mqtts://) is not supported: the bench
// measures the runtime, and a loopback broker needs no TLS.
inline std::optional<BrokerAddress> parse_mqtt_url(std::string_view url) {
  constexpr std::string_view scheme = "mqtt://";
  if (url.substr(0, scheme.size()) != scheme) return std::nullopt;
  url.remove_prefix(scheme.size());
  if (!url.empty() && url.back() == '/') url.remove_suffix(1);
  BrokerAddress out;
  std::string_view rest;
  if (!url.empty() && url.front() == '[') {
    const std::size_t close = url.find(']');
    if (close == std::string_view::npos || close == 1) return std::nullopt;
    out.host = std::string(url.substr(1, close - 1));
    rest = url.substr(close + 1);
  } else {
    const std::size_t colon = url.find(':');
    out.host = std::string(url.substr(0, colon));
    rest = colon == std::string_view::npos ? std::string_view{} : url.substr(colon);
  }
  if (out.host.empty()) return std::nullopt;
  if (!rest.empty()) {
    if (rest.front() != ':' || rest.size() < 2 || rest.size() > 6) return std::nullopt;
    int port = 0;
    for (char c : rest.substr(1)) {
      if (c < '0' || c > '9') return std::nullopt;
      port = port * 10 + (c - '0');
    }
    if (port < 1 || port > 65535) return std::nullopt;
    out.port = port;
  }
  return out;
}

// Ids as PROTOCOL.md allows them: [A-Za-z0-9._-]{1,64}.
inline bool valid_id(std::string_view id) {
  if (id.empty() || id.size() > 64) return false;
  for (char c : id) {
    const bool ok = (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '.' ||
                    c == '_' || c == '-';
    if (!ok) return false;
  }
  return true;
}

inline std::int64_t unix_ms() {
  using namespace std::chrono;
  return duration_cast<milliseconds>(system_clock::now().time_since_epoch()).count();
}

// Parses a non-negative decimal integer flag value; nullopt on anything else.
inline std::optional<long long> parse_count(const char* text, long long max) {
  if (text == nullptr || *text == '\0') return std::nullopt;
  char* end = nullptr;
  const long long v = std::strtoll(text, &end, 10);
  if (*end != '\0' || v < 0 || v > max) return std::nullopt;
  return v;
}

// MQTT v5, Nagle off (every message here is small and latency-bound), and a
// receive maximum large enough that the broker never has to park statuses in
// its per-client queue (mosquitto drops QoS 1 messages beyond
// max_queued_messages, default 100, which a window above ~120 would reach).
inline bool set_client_options(mosquitto* mosq) {
  return mosquitto_int_option(mosq, MOSQ_OPT_PROTOCOL_VERSION, MQTT_PROTOCOL_V5) == MOSQ_ERR_SUCCESS &&
         mosquitto_int_option(mosq, MOSQ_OPT_TCP_NODELAY, 1) == MOSQ_ERR_SUCCESS &&
         mosquitto_int_option(mosq, MOSQ_OPT_RECEIVE_MAXIMUM, 65535) == MOSQ_ERR_SUCCESS &&
         mosquitto_int_option(mosq, MOSQ_OPT_SEND_MAXIMUM, 65535) == MOSQ_ERR_SUCCESS;
}

// One turn of the network loop, on the calling thread: wait up to timeout_ms
// for the socket, read what arrived (libmosquitto calls the callbacks here),
// then write at once whatever those callbacks queued. mosquitto_loop() would
// write it only on its next turn, after one more select(), which costs a
// round of latency per message batch; edgerund's transport, which drives
// libmosquitto from a libuv poll handle, does not pay it either. Returns a
// MOSQ_ERR_* code; MOSQ_ERR_SUCCESS on a timeout or EINTR.
inline int drive_once(mosquitto* mosq, int timeout_ms) {
  const int fd = mosquitto_socket(mosq);
  if (fd < 0) return MOSQ_ERR_NO_CONN;
  pollfd pfd{fd, static_cast<short>(POLLIN | (mosquitto_want_write(mosq) ? POLLOUT : 0)), 0};
  const int n = poll(&pfd, 1, timeout_ms);
  if (n < 0) return errno == EINTR ? MOSQ_ERR_SUCCESS : MOSQ_ERR_ERRNO;
  int rc = MOSQ_ERR_SUCCESS;
  if ((pfd.revents & (POLLIN | POLLERR | POLLHUP)) != 0) rc = mosquitto_loop_read(mosq, 1);
  if (rc == MOSQ_ERR_SUCCESS && mosquitto_want_write(mosq)) rc = mosquitto_loop_write(mosq, 1);
  if (rc == MOSQ_ERR_SUCCESS) rc = mosquitto_loop_misc(mosq);
  return rc;
}

// libmosquitto's global init/cleanup, tied to main()'s scope.
struct MosquittoLib {
  MosquittoLib() { mosquitto_lib_init(); }
  ~MosquittoLib() { mosquitto_lib_cleanup(); }
  MosquittoLib(const MosquittoLib&) = delete;
  MosquittoLib& operator=(const MosquittoLib&) = delete;
};

}  // namespace edgerun::bench::e2e

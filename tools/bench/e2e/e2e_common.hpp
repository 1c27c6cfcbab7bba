// Pieces the end-to-end bench and the ceiling device share: flag parsing
// helpers, wall-clock milliseconds and the libmosquitto options
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

// The protocol's rules (ids, topics, broker URLs, job states) are
// edgerun_protocol's, as in the daemon.
#include "edgerun/ids.hpp"
#include "edgerun/job_state.hpp"
#include "edgerun/mqtt_url.hpp"
#include "edgerun/topics.hpp"

namespace edgerun::bench::e2e {

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

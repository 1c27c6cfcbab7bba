#pragma once
// What the MQTT transport is configured with: the broker, the device's place
// in the topic tree, and telemetry. The daemon fills these from its config
// file (daemon_config.hpp, whose `mqtt.*` and `telemetry.*` keys they are);
// a firmware that embeds the transport fills them itself.

#include <cstdint>
#include <string>
#include <vector>

#include "edgerun/log_level.hpp"

namespace edgerun {

struct MqttOptions {
  // `mqtt.url`: mqtt://host[:port] or mqtts://host[:port] (TLS). host, port
  // and tls are derived from it (port 1883, or 8883 for mqtts, when omitted).
  std::string url = "mqtt://127.0.0.1:1883";
  std::string host = "127.0.0.1";
  std::uint16_t port = 1883;
  bool tls = false;
  // Empty means: not sent.
  std::string username;
  std::string password;
  // <p> of every topic: one or more ids separated by '/'.
  std::string topic_prefix = "edgerun";
  // Default: "edgerun-<device_id>".
  std::string client_id;
  std::uint32_t keepalive_s = 30;
  // MQTT v5 session expiry: how long the broker keeps the session (and the
  // QoS 1 jobs sent to it) while the device is away.
  std::uint32_t session_expiry_s = 86400;
  // Reconnect back-off, doubling from min to max.
  std::uint32_t reconnect_min_ms = 500;
  std::uint32_t reconnect_max_ms = 30000;
  // CA certificates for mqtts; empty means the system's trust store.
  std::string ca_file;
  // Job statuses kept while the broker is away; beyond it the oldest are
  // dropped and counted.
  std::uint32_t outbox_messages = 1024;
};

struct TelemetryOptions {
  std::uint32_t interval_ms = 10000;            // metrics period
  LogLevel log_forward_level = LogLevel::info;  // lowest level published on telemetry/logs
  std::uint32_t log_batch_records = 100;        // records in one telemetry/logs message at most
  std::uint32_t presence_interval_s = 300;      // presence (<p>/<dev>/status) refresh period
  std::uint32_t buffered_batches = 16;          // log batches kept while the broker is away
  // Metric snapshots kept while the broker is away and published, oldest
  // first, once it is back; a full buffer drops the oldest. Each costs one
  // snapshot record of the transport's metrics buffer size (about
  // RuntimeConfig::metric_capacity x 1.1 KiB, allocated once; pages are
  // touched only by what a snapshot takes). 0 = keep none.
  std::uint32_t buffered_snapshots = 8;
};

struct MqttTransportOptions {
  // The <dev> of every topic; [A-Za-z0-9._-]{1,64}.
  std::string device_id;
  // Fleet groups whose shared job topic this device takes jobs from.
  std::vector<std::string> groups;
  // Publish `queued` and `running` (jobs.report_progress).
  bool report_progress = true;
  MqttOptions mqtt;
  TelemetryOptions telemetry;
};

}  // namespace edgerun

#pragma once
// The daemon's configuration: what `edgerund --config FILE` reads, as one
// struct with every field defaulted. config/README.md documents every key.
//
// Loading happens once, at start-up, on the thread that starts the daemon, so
// it allocates freely and reports errors as text for a person to read. Every
// error names the file, the key as a dotted path (`jobs.queue_capacity`,
// `exec.backup.timeout_ms`, `groups[2]`), the value given and what was
// expected. Unknown keys are errors: a typo must not be silently ignored.
//
// None of these functions throws for a bad file; they may throw
// std::bad_alloc. They are safe to call from any thread but share cJSON's
// process-wide allocation hooks (outside a ScopedJsonArena those use malloc).

#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "edgerun/config.hpp"
#include "edgerun/log_level.hpp"

namespace edgerun {

struct DaemonConfig {
  // The sizes of the core: `workers`, `jobs.*`, `log.*`, `memory.*`.
  RuntimeConfig runtime;

  // `device_id`, the <dev> of every topic; [A-Za-z0-9._-]{1,64}. Default: the
  // host name, handed to the loader as `default_device_id`.
  std::string device_id;

  struct Mqtt {
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
  } mqtt;

  // `groups`: fleet groups whose shared job topic this device takes jobs from.
  std::vector<std::string> groups;

  // `jobs.report_progress`: publish `queued` and `running`.
  bool report_progress = true;

  struct Telemetry {
    std::uint32_t interval_ms = 10000;            // metrics period
    LogLevel log_forward_level = LogLevel::info;  // lowest level published on telemetry/logs
    std::uint32_t log_batch_records = 100;        // records in one telemetry/logs message at most
    std::uint32_t presence_interval_s = 300;      // presence (<p>/<dev>/status) refresh period
    std::uint32_t buffered_batches = 16;          // telemetry messages kept while the broker is away
  } telemetry;

  // Journal and outbox.
  std::string state_dir = "/var/lib/edgerun";

  // `shutdown.grace_ms`: on SIGTERM, how long running jobs may finish before
  // they are canceled.
  std::uint32_t shutdown_grace_ms = 10000;

  // One `exec.<type>` entry: a job type run as a program.
  struct ExecHandler {
    std::string type;     // the key under `exec`; an id
    std::string program;  // absolute path; required
    std::vector<std::string> args;
    std::string working_directory;  // absolute path; empty: the daemon's own
    std::uint32_t timeout_ms = 0;   // 0: the job's timeout_ms, else jobs.default_timeout_ms
    std::uint32_t max_output_bytes = 16384;
    std::uint32_t stop_grace_ms = 2000;  // SIGTERM to SIGKILL on cancel or timeout
    // Job params passed as EDGERUN_PARAM_<NAME> environment variables;
    // names match [A-Za-z0-9_]{1,64}.
    std::vector<std::string> params_env;
    // Names of the daemon's environment variables the program inherits.
    std::vector<std::string> env_passthrough{"PATH"};
  };
  // `exec`: in the file an object keyed by job type; here in file order.
  std::vector<ExecHandler> exec;
};

struct ConfigLoadResult {
  std::optional<DaemonConfig> config;  // set on success
  std::string error;                   // set on failure: "<file>: <key> is <value>; expected ..."
};

// Parses `text` as the contents of the file `path` (used in messages only).
// `default_device_id` (the host name) is used when the file gives no
// device_id; it must then be a valid id itself.
ConfigLoadResult parse_daemon_config(std::string_view text, std::string_view path, std::string_view default_device_id);

// Reads the file `path` and parses it. A missing, unreadable or oversized
// (over 1 MiB) file is an error naming the file and the reason.
ConfigLoadResult load_daemon_config(const std::string& path, std::string_view default_device_id);

// Applies EDGERUN_MQTT_URL, EDGERUN_MQTT_USERNAME and EDGERUN_MQTT_PASSWORD
// as returned by `getenv_fn` (nullptr: not set; set but empty: overrides with
// empty). Returns "" or an error naming the variable; on error `config` is
// unchanged. Pass [](const char* name) { return std::getenv(name); } for the
// real environment.
std::string apply_environment(DaemonConfig& config, const std::function<const char*(const char*)>& getenv_fn);

// The effective config as indented JSON in the file's own layout, every key
// written out, with a non-empty password shown as "***". For
// `edgerund --check-config`. The text parses as a config file again (giving
// the same settings, except that the password would then be "***").
std::string describe(const DaemonConfig& config);

}  // namespace edgerun

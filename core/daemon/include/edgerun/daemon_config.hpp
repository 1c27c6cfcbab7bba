#pragma once
// The daemon's configuration: what `edgerund --config FILE` reads, as one
// struct with every field defaulted. Its keys, their types, ranges and
// meanings are one table, the schema (config_schema.hpp), from which the
// loader, describe() and config/README.md's key tables all come.
//
// Loading happens once, at start-up, on the thread that starts the daemon, so
// it allocates freely and reports errors as text for a person to read. Every
// error names the file, the key as a dotted path (`jobs.queue_capacity`,
// `exec.backup.program`, `groups[2]`), the value given and what was
// expected. Unknown keys are errors: a typo must not be silently ignored.
//
// None of these functions throws for a bad file; they may throw
// std::bad_alloc. They are safe to call from any thread but share cJSON's
// process-wide allocation hooks (outside a ScopedJsonArena those use malloc).

#include <cstdint>
#include <functional>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "edgerun/config.hpp"
#include "edgerun/exec_program.hpp"
#include "edgerun/handler.hpp"
#include "edgerun/log_level.hpp"
#include "edgerun/mqtt_options.hpp"

namespace edgerun {

// `types.<name>`: the settings of one job type, whatever runs it (a
// built-in, an exec program, a handler of an embedding firmware).
struct JobTypeSettings {
  std::string type;        // the key under `types`: a registered job type
  HandlerOptions handler;  // applied with Runtime::set_handler_options()
};

struct DaemonConfig {
  // The sizes of the core: `workers`, `jobs.*`, `log.*`, `memory.*`.
  RuntimeConfig runtime;

  // `device_id`, the <dev> of every topic; [A-Za-z0-9._-]{1,64}. Default: the
  // host name, handed to the loader as `default_device_id`.
  std::string device_id;

  // `mqtt.*`: the broker connection.
  MqttOptions mqtt;

  // `groups`: fleet groups whose shared job topic this device takes jobs from.
  std::vector<std::string> groups;

  // `jobs.report_progress`: publish `queued` and `running`.
  bool report_progress = true;

  // `telemetry.*`.
  TelemetryOptions telemetry;

  // `state_dir`: where the journal lives.
  std::string state_dir = "/var/lib/edgerun";

  // `journal.*`: the crash-safe job journal in state_dir.
  struct Journal {
    bool enabled = true;
    std::string sync = "batch";  // always, batch or none
    std::uint32_t batch_ms = 10;
    std::uint32_t max_bytes = 64u << 20;
    std::uint32_t max_pending = 256;
  };
  Journal journal;

  // `shutdown.grace_ms`: on SIGTERM, how long running jobs may finish before
  // they are canceled.
  std::uint32_t shutdown_grace_ms = 10000;

  // `exec`: in the file an object keyed by job type; here in file order.
  std::vector<ExecProgram> exec;

  // `types`: in the file an object keyed by job type; here in file order.
  std::vector<JobTypeSettings> types;

  // The names the loader's code uses for the options of the libraries.
  using Mqtt = MqttOptions;
  using Telemetry = TelemetryOptions;
  using ExecHandler = ExecProgram;
  using JournalSettings = Journal;
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

// Checks that each `types.<name>` of `config` names one of `known`, the job
// types the daemon has (its registered handlers). Returns "" or the error
// naming the file `path`, the key and the known types. The loader cannot
// check this itself: which types exist is known once handlers are registered.
std::string check_job_types(const DaemonConfig& config, std::string_view path,
                            std::span<const std::string_view> known);

}  // namespace edgerun

namespace edgerun {

// What the MQTT transport takes of the daemon's configuration.
MqttTransportOptions transport_options(const DaemonConfig& config);

}  // namespace edgerun

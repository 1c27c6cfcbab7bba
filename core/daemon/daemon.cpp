#include "daemon.hpp"

#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <memory>
#include <string_view>
#include <vector>

#include "edgerun/exec_handler.hpp"
#include "edgerun/journal.hpp"
#include "edgerun/mqtt_transport.hpp"
#include "edgerun/port/file.hpp"
#include "edgerun/port/notify.hpp"
#include "edgerun/port/signal.hpp"
#include "edgerun/port/sysinfo.hpp"
#include "notify_component.hpp"
#include "signal_component.hpp"

namespace edgerun {

namespace {

constexpr const char* kVersion = EDGERUN_VERSION;
constexpr const char* kDefaultConfigPath = "/etc/edgerun/edgerun.json";

constexpr const char* kHelp = R"(NAME
    edgerund - the edgerun job runtime daemon

SYNOPSIS
    edgerund [--config FILE]
    edgerund --check-config [--config FILE]
    edgerund --version | --help

DESCRIPTION
    edgerund connects to an MQTT broker, takes jobs from
    <p>/<dev>/jobs/submit (and from the shared group topics of the groups
    it is a member of), runs them on a fixed pool of workers and publishes
    their statuses, its presence and telemetry, as described by the edgerun
    wire protocol, version 1.

    Built-in job types: echo (returns its params), sleep ({"ms": N}) and
    sysinfo (returns the device description).

OPTIONS
    --config FILE
        Read the configuration from FILE (default /etc/edgerun/edgerun.json).
        Every key is optional; unknown keys are errors.
    --check-config
        Load and validate the configuration, print the effective settings
        (file, defaults and environment; the password as "***") and exit.
    --version
        Print the version and exit.
    --help
        Print this text and exit.

ENVIRONMENT
    EDGERUN_MQTT_URL, EDGERUN_MQTT_USERNAME, EDGERUN_MQTT_PASSWORD
        Override mqtt.url, mqtt.username and mqtt.password of the file.

SIGNALS
    SIGTERM, SIGINT
        Stop taking jobs and let running jobs finish for up to
        shutdown.grace_ms. With the journal (journal.enabled, the default),
        queued jobs stay in it and run after the restart, and a job still
        running then ends failed/interrupted, or runs again after the
        restart when its type is idempotent. Without it, queued jobs drain
        too and the rest are canceled. Then publish the offline presence and
        exit 0.
    SIGHUP
        Re-read the configuration file and apply log.level and the telemetry
        settings. A bad file is logged and the old settings stay.

FILES
    STATE_DIR/journal
        The crash-safe journal of the jobs edgerund has taken (state_dir,
        default /var/lib/edgerun). Read it with edgerunctl journal verify
        and edgerunctl journal show.

EXIT STATUS
    0   clean stop, or --check-config found the configuration good
    1   start-up or the event loop failed
    2   bad command line or bad configuration
)";

struct Options {
  std::string config_path = kDefaultConfigPath;
  bool check_config = false;
  bool version = false;
  bool help = false;
};

// Returns an empty string or the error.
std::string parse_args(int argc, char** argv, Options& options) {
  for (int i = 1; i < argc; ++i) {
    const std::string_view arg = argv[i];
    if (arg == "--config") {
      if (i + 1 >= argc) return "--config needs a FILE";
      options.config_path = argv[++i];
    } else if (arg.substr(0, 9) == "--config=") {
      options.config_path = std::string(arg.substr(9));
    } else if (arg == "--check-config") {
      options.check_config = true;
    } else if (arg == "--version") {
      options.version = true;
    } else if (arg == "--help" || arg == "-h") {
      options.help = true;
    } else {
      return "unknown argument '" + std::string(arg) + "'";
    }
  }
  if (options.config_path.empty()) return "--config needs a FILE";
  return {};
}

// Applies `types.<name>` to the registered handlers, built-in and exec alike.
// Returns "" or the error naming the file `path`, the key and the job types
// there are.
std::string apply_job_types(Runtime& runtime, const DaemonConfig& config, std::string_view path) {
  std::vector<std::string_view> known;
  for (std::size_t i = 0; i < runtime.handler_count(); ++i) known.push_back(runtime.handler_name(i));
  if (std::string error = check_job_types(config, path, known); !error.empty()) return error;
  for (const JobTypeSettings& type : config.types) {
    // The operator's settings; how the handler runs stays the code's.
    HandlerOptions options = type.handler;
    for (std::size_t i = 0; i < runtime.handler_count(); ++i) {
      if (runtime.handler_name(i) != type.type) continue;
      options.runs_on_loop = runtime.handler_options(i).runs_on_loop;
      // A type the code knows to be idempotent stays so.
      options.idempotent = options.idempotent || runtime.handler_options(i).idempotent;
    }
    if (Status s = runtime.set_handler_options(type.type, options); !s) return s.message();
  }
  return {};
}

// The journal's settings from the daemon's; "" or the error naming the file
// and the key.
std::string journal_options(const DaemonConfig& config, std::string_view path, const Runtime& runtime,
                            journal::JournalOptions& out) {
  const std::uint32_t slots = config.runtime.queue_capacity + 2 * runtime.worker_count();
  if (config.journal.max_pending < slots) {
    return std::string(path) + ": journal.max_pending is " + std::to_string(config.journal.max_pending) +
           "; expected at least the job slots, jobs.queue_capacity + 2 * workers = " + std::to_string(slots);
  }
  out.directory = config.state_dir;
  out.sync = config.journal.sync == "always" ? journal::SyncMode::always
             : config.journal.sync == "none" ? journal::SyncMode::none
                                             : journal::SyncMode::batch;
  out.batch_ms = config.journal.batch_ms;
  out.max_file_bytes = config.journal.max_bytes;
  out.max_pending = config.journal.max_pending;
  out.finished_ids = config.runtime.finished_ids;
  out.max_payload_bytes = config.runtime.max_payload_bytes;
  out.max_result_bytes = config.runtime.max_result_bytes;
  out.device = config.device_id;
  return {};
}

int run(const Options& options) {
  port::ignore_sigpipe();
  port::SysInfo info;
  (void)port::read_sysinfo(info);
  const std::string hostname = info.hostname.data();

  ConfigLoadResult loaded = load_daemon_config(options.config_path, hostname);
  if (!loaded.config) {
    std::fprintf(stderr, "edgerund: %s\n", loaded.error.c_str());
    return 2;
  }
  DaemonConfig config = std::move(*loaded.config);
  if (const std::string error = apply_environment(config, [](const char* name) { return std::getenv(name); });
      !error.empty()) {
    std::fprintf(stderr, "edgerund: %s\n", error.c_str());
    return 2;
  }

  // A submitter may resubmit as long as the broker keeps the session: a
  // finished id is remembered at least that long (up to a week).
  const std::uint64_t session_ms = std::uint64_t{config.mqtt.session_expiry_s} * 1000;
  config.runtime.finished_id_ttl_ms = static_cast<std::uint32_t>(
      std::max<std::uint64_t>(config.runtime.finished_id_ttl_ms, std::min<std::uint64_t>(session_ms, kWeekMs)));

  // Made below; declared before the runtime, which uses it until its end.
  std::unique_ptr<journal::Journal> journal;
  // The handlers are set up for --check-config too, so that it finds what
  // start-up would (a bad exec entry, a `types.<name>` of no handler).
  Runtime runtime(config.runtime);
  // The config's exec types first: a type the operator configured replaces
  // a built-in handler of the same name (edgerun-dev.json has an exec `sleep`).
  if (Status s = register_exec_handlers(runtime, config.exec, [](const char* name) { return std::getenv(name); });
      !s) {
    std::fprintf(stderr, "edgerund: %s\n", s.message());
    return 2;
  }
  if (Status s = register_builtin_handlers(runtime); !s) {
    std::fprintf(stderr, "edgerund: %s\n", s.message());
    return 1;
  }
  if (const std::string error = apply_job_types(runtime, config, options.config_path); !error.empty()) {
    std::fprintf(stderr, "edgerund: %s\n", error.c_str());
    return 2;
  }
  journal::JournalOptions journal_settings;
  if (config.journal.enabled) {
    if (const std::string error = journal_options(config, options.config_path, runtime, journal_settings);
        !error.empty()) {
      std::fprintf(stderr, "edgerund: %s\n", error.c_str());
      return 2;
    }
  }
  if (options.check_config) {
    std::printf("%s\n", describe(config).c_str());
    return 0;
  }

  // Read before any thread starts (it reads the environment).
  const port::ServiceNotifier notifier = port::ServiceNotifier::from_environment();
  MqttTransport transport(runtime, transport_options(config), kVersion);
  SignalComponent signals(runtime, transport, options.config_path, hostname, config.shutdown_grace_ms);
  NotifyComponent notify(notifier, runtime, transport);
  runtime.add_component(signals);
  runtime.add_component(transport);
  runtime.add_component(notify);  // READY=1 once the others started
  runtime.add_status_sink(transport);
  runtime.add_log_sink(transport);
  runtime.add_event_sink(transport);
  if (config.journal.enabled) {
    journal = std::make_unique<journal::Journal>(port::system_file_system(), journal_settings, runtime.log());
    runtime.set_journal(*journal);
  }

  if (Status s = runtime.start(); !s) {
    std::fprintf(stderr, "edgerund: start: %s\n", s.message());
    return 1;
  }
  runtime.log().write(LogLevel::info, "edgerund started",
                      {{"version", kVersion}, {"device", config.device_id}, {"mqtt", config.mqtt.url}});
  const Status ran = runtime.run();
  if (journal) journal->close();
  if (!ran) {
    std::fprintf(stderr, "edgerund: %s\n", ran.message());
    return 1;
  }
  return 0;
}

}  // namespace

int daemon_main(int argc, char** argv) {
  Options options;
  if (const std::string error = parse_args(argc, argv, options); !error.empty()) {
    std::fprintf(stderr, "edgerund: %s\nTry 'edgerund --help'.\n", error.c_str());
    return 2;
  }
  if (options.help) {
    std::fputs(kHelp, stdout);
    return 0;
  }
  if (options.version) {
    std::printf("edgerund %s (edgerun wire protocol 1)\n", kVersion);
    return 0;
  }
  try {
    return run(options);
  } catch (const std::exception& e) {
    std::fprintf(stderr, "edgerund: %s\n", e.what());
    return 1;
  }
}

}  // namespace edgerun

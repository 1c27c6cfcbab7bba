// The config file's schema and the one reader, writer and documenter that
// walk it: see config_schema.hpp.
#include "config_schema.hpp"

#include <cjson/cJSON.h>

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <source_location>

#include "edgerun/check.hpp"
#include "edgerun/ids.hpp"
#include "edgerun/mqtt_url.hpp"

namespace edgerun {

namespace {

constexpr std::size_t kMaxValueShown = 80;
constexpr std::size_t kMaxEnvName = 128;
constexpr std::size_t kMaxParamName = 64;

template <class... F>
struct Overloaded : F... {
  using F::operator()...;
};

// ---- String rules -----------------------------------------------------------

bool is_alnum(char c) { return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9'); }

bool is_name(std::string_view name, std::size_t max) {
  return !name.empty() && name.size() <= max &&
         std::all_of(name.begin(), name.end(), [](char c) { return is_alnum(c) || c == '_'; });
}

constexpr const char* kAbsoluteExpected = "an absolute path (starting with /)";
constexpr const char* kPathOrEmptyExpected = "an absolute path or \"\"";
constexpr const char* kTopicPrefixExpected =
    "ids ([A-Za-z0-9._-]{1,64}) separated by '/', at most 128 characters, e.g. edgerun or site-1/edgerun";
constexpr const char* kClientIdExpected = "a client id matching [A-Za-z0-9._-]{1,128}";
constexpr const char* kUrlExpected = "mqtt://host:port or mqtts://host:port";
constexpr const char* kParamExpected = "a param name matching [A-Za-z0-9_]{1,64}";
constexpr const char* kEnvExpected = "an environment variable name matching [A-Za-z_][A-Za-z0-9_]{0,127}";
constexpr const char* kSyncExpected = "always, batch or none";
constexpr const char* kJobTypesExpected = "job types that are ids matching [A-Za-z0-9._-]{1,64}";

constexpr StringRule kId{kIdExpected, "string (id)", "array of ids",
                         [](std::string_view v) { return is_valid_id(v) ? nullptr : kIdExpected; }};
constexpr StringRule kJobTypeNames{kJobTypesExpected, "", "",
                                   [](std::string_view v) { return is_valid_id(v) ? nullptr : kJobTypesExpected; }};
constexpr StringRule kSyncMode{kSyncExpected, "`always`, `batch` or `none`", "", [](std::string_view v) {
                                return v == "always" || v == "batch" || v == "none" ? nullptr : kSyncExpected;
                              }};
constexpr StringRule kAbsolutePath{kAbsoluteExpected, "absolute path", "array of absolute paths",
                                   [](std::string_view v) { return v.starts_with('/') ? nullptr : kAbsoluteExpected; }};
constexpr StringRule kPathOrEmpty{kPathOrEmptyExpected, "absolute path or `\"\"`", "array of absolute paths",
                                  [](std::string_view v) {
                                    return v.empty() || v.starts_with('/') ? nullptr : kPathOrEmptyExpected;
                                  }};
constexpr StringRule kTopicPrefix{
    kTopicPrefixExpected, "string", "",
    [](std::string_view v) { return is_valid_topic_prefix(v) ? nullptr : kTopicPrefixExpected; }};
constexpr StringRule kClientId{kClientIdExpected, "string", "",
                               [](std::string_view v) { return is_valid_client_id(v) ? nullptr : kClientIdExpected; }};
// parse_mqtt_url() says what is wrong ("a port from 1 to 65535").
constexpr StringRule kUrl{kUrlExpected, "string", "", [](std::string_view v) {
                            MqttUrl endpoint;
                            return parse_mqtt_url(v, endpoint);
                          }};
constexpr StringRule kParamName{kParamExpected, "", "array of names `[A-Za-z0-9_]{1,64}`",
                                [](std::string_view v) { return is_name(v, kMaxParamName) ? nullptr : kParamExpected; }};
constexpr StringRule kEnvName{kEnvExpected, "", "array of names `[A-Za-z_][A-Za-z0-9_]{0,127}`",
                              [](std::string_view v) {
                                const bool digit_first = !v.empty() && v.front() >= '0' && v.front() <= '9';
                                return is_name(v, kMaxEnvName) && !digit_first ? nullptr : kEnvExpected;
                              }};

// ---- The schema -------------------------------------------------------------

// The range of a size of the runtime: validate()'s own (kFieldLimits).
constexpr Range runtime_range(std::uint32_t RuntimeConfig::*field) {
  for (const FieldLimit& limit : kFieldLimits) {
    if (limit.field == field) return {limit.low, limit.high};
  }
  invariant_failed("a RuntimeConfig field in the config schema has no limit in kFieldLimits",
                   std::source_location::current());
}

constexpr Range kReconnectMs{10, 3600 * 1000};
// A job type's limit may be "none" (0) or anything a job's default may be.
constexpr Range kTypeTimeoutMs{0, runtime_range(&RuntimeConfig::default_timeout_ms).high};

using C = DaemonConfig;
using RC = RuntimeConfig;
using Mqtt = MqttOptions;
using Tele = TelemetryOptions;

// clang-format off
constexpr Key kSchema[] = {
    // The top level.
    {.path = "device_id", .at = field<&C::device_id>, .rule = &kId, .default_text = "the host name",
     .meaning = "`<dev>` in every topic. If the host name is not a valid id, the file must set one."},
    {.path = "groups", .at = field<&C::groups>, .rule = &kId, .unique = true,
     .meaning = "fleet groups to take jobs from (`$share/<group>/<p>/groups/<group>/jobs/submit`); each at most once",
     .cost = "one subscription each"},
    {.path = "workers", .runtime = &RC::workers, .meaning = "worker threads; 0 = one per online CPU",
     .cost = "one thread, one JSON arena and 2 job slots each"},
    {.path = "state_dir", .at = field<&C::state_dir>, .rule = &kAbsolutePath,
     .meaning = "where the crash-safe job journal lives (`journal.*`); created 0700 if missing, and must be writable "
                "by the daemon",
     .cost = "the journal file, at most about `journal.max_bytes`"},
    {.path = "journal", .shape = Shape::object, .meaning = "the crash-safe job journal, below",
     .about = "Every job the daemon takes is written to a journal in `state_dir` before anything is heard of it, so "
              "that it survives SIGKILL, a crash, a power cut or a broker outage: a job whose `queued` was "
              "published runs after a restart, ends with one terminal status, and a job that is not idempotent "
              "never runs twice. `edgerunctl journal verify` and `show` read it. What is guaranteed, and from which "
              "moment, is in [PROTOCOL.md](../core/protocol/PROTOCOL.md), *Durability*."},
    {.path = "mqtt", .shape = Shape::object, .meaning = "the broker connection, below"},
    {.path = "jobs", .shape = Shape::object, .meaning = "job limits, below"},
    {.path = "telemetry", .shape = Shape::object, .meaning = "metrics, logs and presence over MQTT, below"},
    {.path = "log", .shape = Shape::object, .meaning = "the daemon's own log, below",
     .about = "The daemon's own log. Records go to a ring the loop drains every 250 ms into stderr and telemetry."},
    {.path = "memory", .shape = Shape::object, .meaning = "buffers of the core, below"},
    {.path = "shutdown", .shape = Shape::object, .meaning = "how the daemon stops, below"},
    {.path = "exec", .shape = Shape::map, .rule = &kJobTypeNames, .entries = &kMapEntries<&C::exec, &ExecProgram::type>,
     .meaning = "job types run as programs, keyed by job type, below",
     .about = "An object keyed by job type; each entry makes that type run a program. The type is an id; a "
              "submission `{\"type\": \"backup\", \"params\": {...}}` runs the `backup` entry. Its run-time limit, "
              "like every setting of a job type that is not about the program, is under `types.<type>`.\n"
              "\n"
              "```json\n"
              "\"exec\": {\n"
              "  \"backup\": {\n"
              "    \"program\": \"/usr/bin/backup\",\n"
              "    \"args\": [\"--fast\"],\n"
              "    \"params_env\": [\"TARGET\"]\n"
              "  }\n"
              "},\n"
              "\"types\": {\n"
              "  \"backup\": {\"timeout_ms\": 900000}\n"
              "}\n"
              "```"},
    {.path = "types", .shape = Shape::map, .rule = &kJobTypeNames,
     .entries = &kMapEntries<&C::types, &JobTypeSettings::type>,
     .meaning = "settings of job types, whatever runs them, keyed by job type, below",
     .about = "An object keyed by job type: the settings of that type, whatever runs it (the built-in `echo`, "
              "`sleep` and `sysinfo`, an `exec` type, or a handler of a firmware that embeds edgerun). A type that "
              "no handler of the daemon has stops start-up and `edgerund --check-config`, naming the types there "
              "are."},

    {.path = "mqtt.url", .at = field<&C::mqtt, &Mqtt::url>, .rule = &kUrl,
     .meaning = "`mqtt://host:port` or `mqtts://host:port` (TLS). The port defaults to 1883 / 8883 when omitted; IPv6 "
                "literals go in brackets (`mqtt://[::1]:1883`); a trailing `/` is allowed; no user, path or query. "
                "Overridden by `EDGERUN_MQTT_URL`."},
    {.path = "mqtt.username", .at = field<&C::mqtt, &Mqtt::username>,
     .meaning = "broker user name; `\"\"` = none sent. Overridden by `EDGERUN_MQTT_USERNAME`."},
    {.path = "mqtt.password", .at = field<&C::mqtt, &Mqtt::password>, .secret = true,
     .meaning = "broker password; `\"\"` = none sent. Overridden by `EDGERUN_MQTT_PASSWORD` (preferred)."},
    {.path = "mqtt.topic_prefix", .at = field<&C::mqtt, &Mqtt::topic_prefix>, .rule = &kTopicPrefix,
     .meaning = "`<p>` in every topic: one or more ids separated by `/` (`edgerun`, `site-1/edgerun`), at most 128 "
                "characters; no wildcards, no leading `$`"},
    {.path = "mqtt.client_id", .at = field<&C::mqtt, &Mqtt::client_id>, .rule = &kClientId,
     .default_text = "`edgerun-<device_id>`",
     .meaning = "MQTT client id, `[A-Za-z0-9._-]{1,128}`; must be unique on the broker"},
    {.path = "mqtt.keepalive_s", .at = field<&C::mqtt, &Mqtt::keepalive_s>,
     .range = {5, 65535},  // MQTT's 16 bits; libmosquitto refuses less than 5
     .meaning = "MQTT keep-alive; the broker drops the device (and publishes its offline will) after 1.5 times this "
                "without traffic"},
    {.path = "mqtt.session_expiry_s", .at = field<&C::mqtt, &Mqtt::session_expiry_s>, .range = {0, 0xFFFFFFFFu},
     .meaning = "MQTT v5 session expiry: how long the broker keeps the session and the QoS 1 jobs sent to it while "
                "the device is away, stopped cleanly or not; 0 = until the disconnect (jobs published while the "
                "device is down are then lost), 4294967295 = never expires",
     .cost = "broker side"},
    {.path = "mqtt.reconnect_min_ms", .at = field<&C::mqtt, &Mqtt::reconnect_min_ms>, .range = kReconnectMs,
     .meaning = "first delay before reconnecting; doubles up to `mqtt.reconnect_max_ms`. Must be at most "
                "`mqtt.reconnect_max_ms`."},
    {.path = "mqtt.reconnect_max_ms", .at = field<&C::mqtt, &Mqtt::reconnect_max_ms>, .range = kReconnectMs,
     .meaning = "longest delay between reconnect attempts"},
    {.path = "mqtt.ca_file", .at = field<&C::mqtt, &Mqtt::ca_file>, .rule = &kPathOrEmpty,
     .meaning = "CA certificates (PEM) to verify the broker with; `\"\"` = the system's trust store. Only with an "
                "`mqtts://` URL: set with `mqtt://` it is an error."},
    {.path = "mqtt.outbox_messages", .at = field<&C::mqtt, &Mqtt::outbox_messages>, .range = {1, 1u << 16},
     .meaning = "job status messages kept while the broker is away ([PROTOCOL.md](../core/protocol/PROTOCOL.md)); "
                "when full the oldest are dropped and counted in metrics",
     .cost = "each kept status up to about `jobs.max_result_bytes` + 1 KiB, in memory (allocated once; pages are "
             "touched only when used)"},

    {.path = "jobs.queue_capacity", .runtime = &RC::queue_capacity,
     .meaning = "jobs that may wait for a worker in memory. Beyond it, with the journal, jobs wait in the journal "
                "alone (up to `journal.max_pending` in all) and move up in order; without the journal, or past that, "
                "a submission is rejected `queue_full`",
     .cost = "`jobs.queue_capacity` + 2 W job slots of `jobs.max_payload_bytes` + `jobs.max_result_bytes` + ~700 B"},
    {.path = "jobs.max_payload_bytes", .runtime = &RC::max_payload_bytes,
     .meaning = "largest accepted submission; beyond it `too_large`. `memory.json_arena_bytes` must be at least 4 "
                "times this. It also sets the MQTT v5 Maximum Packet Size the daemon announces on CONNECT (see *The "
                "largest packet the broker sends* below).",
     .cost = "per job slot"},
    {.path = "jobs.max_result_bytes", .runtime = &RC::max_result_bytes,
     .meaning = "largest handler result (serialized JSON); beyond it the job fails `result_too_large`",
     .cost = "per job slot"},
    {.path = "jobs.default_timeout_ms", .runtime = &RC::default_timeout_ms,
     .meaning = "run-time limit of a job that gives no `timeout_ms` and whose type has none "
                "(`types.<type>.timeout_ms`)"},
    {.path = "jobs.report_progress", .at = field<&C::report_progress>,
     .meaning = "publish the `queued` and `running` states (terminal states are always published)"},
    {.path = "jobs.finished_ids", .runtime = &RC::finished_ids,
     .meaning = "finished job ids remembered so that a resubmitted id is rejected `duplicate`", .cost = "~150 B each (the id and its index cell)"},
    {.path = "jobs.finished_id_ttl_ms", .runtime = &RC::finished_id_ttl_ms,
     .meaning = "how long a finished id is remembered"},

    {.path = "telemetry.interval_ms", .at = field<&C::telemetry, &Tele::interval_ms>, .range = {100, 24 * 3600 * 1000},
     .meaning = "period of `<p>/<dev>/telemetry/metrics`"},
    {.path = "telemetry.log_forward_level", .at = field<&C::telemetry, &Tele::log_forward_level>,
     .meaning = "lowest level of the log records published on `<p>/<dev>/telemetry/logs`"},
    {.path = "telemetry.log_batch_records", .at = field<&C::telemetry, &Tele::log_batch_records>, .range = {1, 4096},
     .meaning = "most log records in one telemetry/logs message. Must be at most `log.records`.",
     .cost = "one batch, about 300 B a record, while it is built"},
    {.path = "telemetry.presence_interval_s", .at = field<&C::telemetry, &Tele::presence_interval_s>,
     .range = {10, 24 * 3600},
     .meaning = "how often the retained presence message (`<p>/<dev>/status`) is refreshed"},
    {.path = "telemetry.buffered_batches", .at = field<&C::telemetry, &Tele::buffered_batches>, .range = {0, 1024},
     .meaning = "log batches kept while the broker is away; 0 = drop them. Drops are counted and reported in the next "
                "batch's `dropped`. Metric snapshots are kept apart, see `telemetry.buffered_snapshots`.",
     .cost = "each one log batch"},
    {.path = "telemetry.buffered_snapshots", .at = field<&C::telemetry, &Tele::buffered_snapshots>, .range = {0, 1024},
     .meaning = "metric snapshots kept while the broker is away, published oldest first after reconnecting with the "
                "`ts` they were taken at; when full the oldest is dropped. 0 = keep none. Drops are counted in "
                "`edgerun_metric_snapshots_dropped_total`.",
     .cost = "each one snapshot of up to `memory.metric_capacity` x ~1.1 KiB, in memory (allocated once; pages are "
             "touched only when used)"},

    {.path = "log.level", .at = field<&C::runtime, &RC::log_level>, .meaning = "lowest level recorded"},
    {.path = "log.records", .runtime = &RC::log_records,
     .meaning = "records the ring holds until drained (every 250 ms); when full the oldest is overwritten and counted "
                "in `edgerun_log_dropped_total`",
     .cost = "280 B each"},
    {.path = "log.stderr", .at = field<&C::runtime, &RC::log_to_stderr>,
     .meaning = "write records to stderr with journald's `<N>` priority prefix"},

    {.path = "memory.json_arena_bytes", .runtime = &RC::json_arena_bytes,
     .meaning = "memory cJSON parses and builds in, per worker plus one for decoding submissions and one for jobs "
                "run on the loop (echo, sysinfo); a submission too complex for it is rejected `too_large`, a result that does not fit fails `result_too_large`. At "
                "least 4 x `jobs.max_payload_bytes`, and at least `memory.event_max_bytes`.",
     .cost = "(W + 2) x this"},
    {.path = "memory.metric_capacity", .runtime = &RC::metric_capacity,
     .meaning = "metric series (name + labels) the metric buffer holds; the runtime's own take about 40",
     .cost = "~500 B each"},
    {.path = "memory.event_records", .runtime = &RC::event_records,
     .meaning = "handler events waiting for the loop; a full ring refuses (and counts) new ones",
     .cost = "`memory.event_max_bytes` + 80 B each"},
    {.path = "memory.event_max_bytes", .runtime = &RC::event_max_bytes,
     .meaning = "largest event a handler may emit; at most `memory.json_arena_bytes`", .cost = "per event record"},

    {.path = "journal.enabled", .at = field<&C::journal, &C::JournalSettings::enabled>,
     .meaning = "keep the journal; false = jobs live in memory only, and a crash or restart loses the queued ones"},
    {.path = "journal.sync", .at = field<&C::journal, &C::JournalSettings::sync>, .rule = &kSyncMode,
     .meaning = "when records reach the disk: `always` (an fsync before each status or run it allows; concurrent "
                "records share one), `batch` (one fsync per `journal.batch_ms` for all records meanwhile; statuses "
                "wait up to that long) or `none` (never: a power cut may lose what the kernel had not written)"},
    {.path = "journal.batch_ms", .at = field<&C::journal, &C::JournalSettings::batch_ms>, .range = {1, 1000},
     .meaning = "with `journal.sync` `batch`: the longest a record waits for its fsync"},
    {.path = "journal.max_bytes", .at = field<&C::journal, &C::JournalSettings::max_bytes>,
     .range = {64u << 10, 0xFFFFFFFFu},
     .meaning = "past this size the live records (jobs not ended, finished ids) are rewritten into a new file",
     .cost = "disk: up to this plus the live records"},
    {.path = "journal.max_pending", .at = field<&C::journal, &C::JournalSettings::max_pending>, .range = {1, 1u << 20},
     .meaning = "jobs accepted and not ended at most, those waiting in the journal beyond `jobs.queue_capacity` "
                "included (and those taken during a drain, for the restart); past it a submission is rejected "
                "`queue_full`. At least the job slots (`jobs.queue_capacity` + 2 W), which start-up checks",
     .cost = "~120 B each in the journal's index, and ~650 B for each one beyond the job slots (a slot without buffers)"},

    {.path = "shutdown.grace_ms", .at = field<&C::shutdown_grace_ms>, .range = {0, 3600 * 1000},
     .meaning = "on SIGTERM, how long running jobs may finish. With the journal, queued jobs are not run or "
                "canceled: they stay in the journal and run after the restart, as do jobs that arrive meanwhile "
                "(`queued` now, up to `journal.max_pending`); a job still running after this ends "
                "`failed`/`interrupted`, or, when its type is idempotent, runs again after the restart. Without it, "
                "queued and running jobs drain for this long, the rest end `canceled`, and jobs that arrive meanwhile "
                "are rejected `shutting_down`. Keep it below systemd's `TimeoutStopSec`."},

    {.path = "exec.<type>.program", .at = entry_field<&C::exec, &ExecProgram::program>, .rule = &kAbsolutePath,
     .required = "the absolute path of the program to run",
     .meaning = "the program to run (no shell, no `PATH` lookup)"},
    {.path = "exec.<type>.args", .at = entry_field<&C::exec, &ExecProgram::args>,
     .meaning = "its arguments, passed as they are"},
    {.path = "exec.<type>.working_directory", .at = entry_field<&C::exec, &ExecProgram::working_directory>,
     .rule = &kPathOrEmpty, .meaning = "its working directory; `\"\"` = the daemon's"},
    {.path = "exec.<type>.max_output_bytes", .at = entry_field<&C::exec, &ExecProgram::max_output_bytes>,
     .range = {0, 16u << 20},
     .meaning = "standard output kept for the result; the rest is discarded. The result must still fit "
                "`jobs.max_result_bytes`.",
     .cost = "a buffer of this size per running job"},
    {.path = "exec.<type>.stop_grace_ms", .at = entry_field<&C::exec, &ExecProgram::stop_grace_ms>,
     .range = {0, 600 * 1000},
     .meaning = "on cancel or timeout the process group gets SIGTERM, then SIGKILL after this"},
    {.path = "exec.<type>.params_env", .at = entry_field<&C::exec, &ExecProgram::params_env>, .rule = &kParamName,
     .unique = true,
     .meaning = "job params passed as `EDGERUN_PARAM_<NAME>` environment variables; each at most once"},
    {.path = "exec.<type>.env_passthrough", .at = entry_field<&C::exec, &ExecProgram::env_passthrough>,
     .rule = &kEnvName, .unique = true,
     .meaning = "the daemon's environment variables the program inherits; nothing else is passed (`[]` = none)"},
    {.path = "exec.<type>.timeout_ms", .shape = Shape::moved, .moved_to = "types.<type>.timeout_ms"},

    {.path = "types.<type>.timeout_ms", .at = entry_field<&C::types, &JobTypeSettings::handler, &HandlerOptions::timeout_ms>,
     .range = kTypeTimeoutMs,
     .meaning = "run-time limit of the type's jobs: the limit of a job that gives no `timeout_ms`, and the most a "
                "job may ask for (a larger `timeout_ms` gets this one); 0 = none: the job's `timeout_ms`, else "
                "`jobs.default_timeout_ms`"},
    {.path = "types.<type>.idempotent",
     .at = entry_field<&C::types, &JobTypeSettings::handler, &HandlerOptions::idempotent>,
     .meaning = "running a job of the type twice does no harm: one running when the daemon stopped or lost power "
                "runs again after the restart (else it ends `failed`/`interrupted`), and it starts without waiting "
                "for the journal's disk. The built-in types are."},
};
// clang-format on

// Relations between keys besides the runtime's (kFieldRelations), each
// message naming both.
struct KeyRelation {
  std::string_view key;
  FieldRelation::Bound bound;
  std::uint32_t factor;
  std::string_view other;
};

constexpr KeyRelation kKeyRelations[] = {
    {"mqtt.reconnect_min_ms", FieldRelation::at_most, 1, "mqtt.reconnect_max_ms"},
    // A batch is built from records still in the ring.
    {"telemetry.log_batch_records", FieldRelation::at_most, 1, "log.records"},
};

// ---- Text helpers -----------------------------------------------------------

std::string join(std::string_view prefix, std::string_view key) {
  if (prefix.empty()) return std::string(key);
  std::string path(prefix);
  path += '.';
  path += key;
  return path;
}

// Cuts `text` to at most `limit` bytes without splitting a UTF-8 sequence.
std::string shorten(std::string text, std::size_t limit = kMaxValueShown) {
  if (text.size() <= limit) return text;
  std::size_t cut = limit - 3;
  while (cut > 0 && (static_cast<unsigned char>(text[cut]) & 0xC0) == 0x80) --cut;
  text.resize(cut);
  text += "...";
  return text;
}

// A JSON value as the user wrote it (near enough: numbers are reprinted).
std::string render(const cJSON* item) {
  if (cJSON_IsString(item)) return quote(item->valuestring);
  char* text = cJSON_PrintUnformatted(item);
  if (text == nullptr) return "(a value too large to show)";
  std::string out(text);
  cJSON_free(text);
  return shorten(std::move(out));
}

const char* kind(const cJSON* item) {
  if (cJSON_IsString(item)) return "a string";
  if (cJSON_IsNumber(item)) return "a number";
  if (cJSON_IsBool(item)) return "a boolean";
  if (cJSON_IsArray(item)) return "an array";
  if (cJSON_IsObject(item)) return "an object";
  return "null";
}

// A value of the wrong type: its text and, unless that says it already, its type.
std::string render_wrong_type(const cJSON* item) {
  if (cJSON_IsNull(item)) return "null";
  return render(item) + " (" + kind(item) + ")";
}

std::size_t edit_distance(std::string_view a, std::string_view b) {
  std::vector<std::size_t> row(b.size() + 1);
  for (std::size_t j = 0; j <= b.size(); ++j) row[j] = j;
  for (std::size_t i = 1; i <= a.size(); ++i) {
    std::size_t diagonal = row[0];
    row[0] = i;
    for (std::size_t j = 1; j <= b.size(); ++j) {
      const std::size_t above = row[j];
      row[j] = std::min({row[j] + 1, row[j - 1] + 1, diagonal + (a[i - 1] == b[j - 1] ? 0 : 1)});
      diagonal = above;
    }
  }
  return row[b.size()];
}

std::string level_expected() {
  std::string text = "a log level: ";
  for (std::size_t i = 0; i < kLogLevelNames.size(); ++i) {
    if (i > 0) text += i + 1 == kLogLevelNames.size() ? " or " : ", ";
    text += kLogLevelNames[i];
  }
  return text;
}

// ---- Walking the table ------------------------------------------------------

// The last part of a key's path: its name in its object.
std::string_view key_name(std::string_view path) {
  const std::size_t dot = path.rfind('.');
  return dot == std::string_view::npos ? path : path.substr(dot + 1);
}

// The pattern of the object holding `path`: "exec.<type>" for
// "exec.<type>.program", "" at the top.
std::string_view parent_of(std::string_view path) {
  const std::size_t dot = path.rfind('.');
  return dot == std::string_view::npos ? std::string_view{} : path.substr(0, dot);
}

std::vector<const Key*> children(std::span<const Key> schema, std::string_view pattern) {
  std::vector<const Key*> keys;
  for (const Key& key : schema) {
    if (parent_of(key.path) == pattern) keys.push_back(&key);
  }
  return keys;
}

// The pattern of one entry of a map or list: "exec.<type>", "hooks[]". A
// map's placeholder is the one its keys use.
std::string entry_pattern(std::span<const Key> schema, const Key& collection) {
  std::string pattern(collection.path);
  if (collection.shape == Shape::list) return pattern + "[]";
  const std::string prefix = pattern + ".<";
  for (const Key& key : schema) {
    if (key.path.starts_with(prefix)) return std::string(key.path.substr(0, key.path.find('.', prefix.size())));
  }
  return pattern + ".<name>";
}

Range range_of(const Key& key) { return key.runtime != nullptr ? runtime_range(key.runtime) : key.range; }

// The accessors only point at the value; describe() and the relations read
// through them and write nothing.
ValuePtr value_of(const Key& key, const DaemonConfig& config, EntryPath entry) {
  auto& target = const_cast<DaemonConfig&>(config);
  if (key.runtime != nullptr) return &(target.runtime.*key.runtime);
  return key.at(target, entry);
}

// `target` with each <placeholder> replaced by what stands in its place in
// `actual`, a path matching `pattern`: moved keys name their new place.
std::string substitute(std::string_view pattern, std::string_view actual, std::string_view target) {
  std::string out(target);
  while (!pattern.empty() && !actual.empty()) {
    const std::size_t p = std::min(pattern.find('.'), pattern.size());
    const std::size_t a = std::min(actual.find('.'), actual.size());
    const std::string_view placeholder = pattern.substr(0, p);
    if (placeholder.starts_with('<')) {
      for (std::size_t at = out.find(placeholder); at != std::string::npos; at = out.find(placeholder, at)) {
        out.replace(at, placeholder.size(), actual.substr(0, a));
      }
    }
    pattern.remove_prefix(std::min(p + 1, pattern.size()));
    actual.remove_prefix(std::min(a + 1, actual.size()));
  }
  return out;
}

// Reads the file into a DaemonConfig by the schema. Each step returns false
// after recording the first error, which ends the read.
class Reader {
 public:
  explicit Reader(std::span<const Key> schema) : schema_(schema) {}

  const std::string& error() const { return error_; }

  // The object `json` at `path`, whose keys are those of `pattern`.
  bool object(const cJSON* json, std::string_view pattern, const std::string& path, std::vector<std::size_t>& entry,
              DaemonConfig& config) {
    if (path.empty() && !cJSON_IsObject(json)) {
      return fail("the top level is " + render_wrong_type(json) + "; expected a JSON object");
    }
    if (!cJSON_IsObject(json)) return fail_value(path, render_wrong_type(json), "an object");
    if (!unique_keys(json, path)) return false;
    const std::vector<const Key*> keys = children(schema_, pattern);
    for (const cJSON* member = json->child; member != nullptr; member = member->next) {
      const auto known = std::find_if(keys.begin(), keys.end(),
                                      [&](const Key* key) { return key_name(key->path) == member->string; });
      if (known == keys.end()) return unknown_key(keys, path, member->string);
      if ((*known)->shape == Shape::moved) {
        const std::string old_path = join(path, member->string);
        return fail(old_path + ": moved to " + substitute((*known)->path, old_path, (*known)->moved_to));
      }
    }
    for (const Key* key : keys) {
      const std::string name(key_name(key->path));
      if (!key->required.empty() && cJSON_GetObjectItemCaseSensitive(json, name.c_str()) == nullptr) {
        return fail(join(path, name) + " is missing; expected " + std::string(key->required));
      }
    }
    for (const Key* key : keys) {
      const std::string name(key_name(key->path));
      const cJSON* item = cJSON_GetObjectItemCaseSensitive(json, name.c_str());
      if (item != nullptr && !read(*key, item, join(path, name), entry, config)) return false;
    }
    return true;
  }

 private:
  bool fail(std::string message) {
    error_ = std::move(message);
    return false;
  }

  bool fail_value(const std::string& path, const std::string& shown, std::string_view expected) {
    return fail(path + " is " + shown + "; expected " + std::string(expected));
  }

  bool unique_keys(const cJSON* json, const std::string& path) {
    for (const cJSON* member = json->child; member != nullptr; member = member->next) {
      for (const cJSON* earlier = json->child; earlier != member; earlier = earlier->next) {
        if (std::string_view(member->string) == earlier->string) {
          return fail(join(path, member->string) + " appears twice; expected each key once");
        }
      }
    }
    return true;
  }

  // Lists the keys the object knows and suggests the nearest; for a typo of
  // a moved key, its new place.
  bool unknown_key(const std::vector<const Key*>& keys, const std::string& path, std::string_view name) {
    std::vector<std::string_view> candidates;
    for (const Key* key : keys) candidates.push_back(key_name(key->path));
    std::string message = join(path, name) + " is not a known key";
    if (const std::string_view* nearest = nearest_name(name, candidates)) {
      const Key& key = *keys[static_cast<std::size_t>(nearest - candidates.data())];
      const std::string suggestion = join(path, *nearest);
      message += " (did you mean " +
                 (key.shape == Shape::moved ? substitute(key.path, suggestion, key.moved_to) : suggestion) + "?)";
    }
    message += "; expected one of: ";
    bool first = true;
    for (const Key* key : keys) {
      if (key->shape == Shape::moved) continue;
      if (!first) message += ", ";
      message += key_name(key->path);
      first = false;
    }
    return fail(message);
  }

  bool read(const Key& key, const cJSON* item, const std::string& path, std::vector<std::size_t>& entry,
            DaemonConfig& config) {
    switch (key.shape) {
      case Shape::value: return value(key, item, path, value_of(key, config, entry));
      case Shape::object: return object(item, key.path, path, entry, config);
      case Shape::map:
      case Shape::list: return entries(key, item, path, entry, config);
      case Shape::moved: break;
    }
    return true;
  }

  bool entries(const Key& key, const cJSON* item, const std::string& path, std::vector<std::size_t>& entry,
               DaemonConfig& config) {
    const bool map = key.shape == Shape::map;
    if (map && !cJSON_IsObject(item)) return fail_value(path, render_wrong_type(item), "an object");
    if (map && !unique_keys(item, path)) return false;
    if (!map && !cJSON_IsArray(item)) return fail_value(path, render_wrong_type(item), "an array of objects");
    const std::string pattern = entry_pattern(schema_, key);
    std::size_t index = 0;
    for (const cJSON* element = item->child; element != nullptr; element = element->next, ++index) {
      std::string element_path = path + "[" + std::to_string(index) + "]";
      std::string_view name;
      if (map) {
        name = element->string;
        if (key.rule != nullptr && key.rule->problem(name) != nullptr) {
          return fail(path + " has the key " + quote(name) + "; expected " + key.rule->expected);
        }
        element_path = join(path, name);
      }
      entry.push_back(key.entries->add(config, entry, name));
      const bool ok = object(element, pattern, element_path, entry, config);
      entry.pop_back();
      if (!ok) return false;
    }
    return true;
  }

  bool value(const Key& key, const cJSON* item, const std::string& path, ValuePtr target) {
    return std::visit(
        Overloaded{
            [&](std::uint32_t* out) { return integer(item, path, range_of(key), *out); },
            [&](bool* out) {
              if (!cJSON_IsBool(item)) return fail_value(path, render_wrong_type(item), "true or false");
              *out = cJSON_IsTrue(item);
              return true;
            },
            [&](std::string* out) { return string(key, item, path, *out); },
            [&](std::vector<std::string>* out) { return strings(key, item, path, *out); },
            [&](LogLevel* out) {
              const std::optional<LogLevel> level =
                  cJSON_IsString(item) ? log_level_from_string(item->valuestring) : std::nullopt;
              if (!level) {
                return fail_value(path, cJSON_IsString(item) ? render(item) : render_wrong_type(item),
                                  level_expected());
              }
              *out = *level;
              return true;
            },
        },
        target);
  }

  bool integer(const cJSON* item, const std::string& path, Range range, std::uint32_t& out) {
    const std::string expected =
        "an integer from " + std::to_string(range.low) + " to " + std::to_string(range.high);
    if (!cJSON_IsNumber(item)) return fail_value(path, render_wrong_type(item), expected);
    const double value = item->valuedouble;
    if (!std::isfinite(value)) return fail_value(path, "a number too large to hold", expected);
    if (value != std::floor(value) || value < range.low || value > range.high) {
      return fail_value(path, render(item), expected);
    }
    out = static_cast<std::uint32_t>(value);
    return true;
  }

  bool string(const Key& key, const cJSON* item, const std::string& path, std::string& out) {
    const char* expected = key.rule != nullptr ? key.rule->expected : "a string";
    if (!cJSON_IsString(item)) {
      // A secret given with the wrong type is still not shown.
      if (key.secret) return fail(path + " is " + kind(item) + ", not shown; expected " + expected);
      return fail_value(path, render_wrong_type(item), expected);
    }
    if (key.rule != nullptr) {
      if (const char* problem = key.rule->problem(item->valuestring)) {
        return fail_value(path, key.secret ? "not shown" : render(item), problem);
      }
    }
    out = item->valuestring;
    return true;
  }

  bool strings(const Key& key, const cJSON* item, const std::string& path, std::vector<std::string>& out) {
    if (!cJSON_IsArray(item)) {
      std::string expected = "an array of strings";
      if (key.rule != nullptr) expected += std::string(", each ") + key.rule->expected;
      return fail_value(path, render_wrong_type(item), expected);
    }
    std::vector<std::string> values;
    for (const cJSON* element = item->child; element != nullptr; element = element->next) {
      const std::string element_path = path + "[" + std::to_string(values.size()) + "]";
      std::string value;
      if (!string(key, element, element_path, value)) return false;
      if (key.unique) {
        const auto earlier = std::find(values.begin(), values.end(), value);
        if (earlier != values.end()) {
          return fail_value(
              element_path, render(element),
              "each entry once (it is also " + path + "[" + std::to_string(earlier - values.begin()) + "])");
        }
      }
      values.push_back(std::move(value));
    }
    out = std::move(values);
    return true;
  }

  std::span<const Key> schema_;
  std::string error_;
};

// ---- Writing ----------------------------------------------------------------

cJSON* json_value(const Key& key, ValuePtr value) {
  return std::visit(Overloaded{
                        [](std::uint32_t* v) { return cJSON_CreateNumber(static_cast<double>(*v)); },
                        [](bool* v) { return cJSON_CreateBool(*v); },
                        [&](std::string* v) {
                          return cJSON_CreateString(key.secret && !v->empty() ? "***" : v->c_str());
                        },
                        [](std::vector<std::string>* v) {
                          cJSON* array = cJSON_CreateArray();
                          for (const std::string& s : *v) cJSON_AddItemToArray(array, cJSON_CreateString(s.c_str()));
                          return array;
                        },
                        [](LogLevel* v) { return cJSON_CreateString(std::string(to_string(*v)).c_str()); },
                    },
                    value);
}

void write_object(std::span<const Key> schema, cJSON* out, std::string_view pattern, std::vector<std::size_t>& entry,
                  const DaemonConfig& config) {
  for (const Key* key : children(schema, pattern)) {
    const std::string name(key_name(key->path));
    switch (key->shape) {
      case Shape::value:
        cJSON_AddItemToObject(out, name.c_str(), json_value(*key, value_of(*key, config, entry)));
        break;
      case Shape::object:
        write_object(schema, cJSON_AddObjectToObject(out, name.c_str()), key->path, entry, config);
        break;
      case Shape::map:
      case Shape::list: {
        const bool map = key->shape == Shape::map;
        cJSON* container =
            map ? cJSON_AddObjectToObject(out, name.c_str()) : cJSON_AddArrayToObject(out, name.c_str());
        const std::string element_pattern = entry_pattern(schema, *key);
        const std::size_t count = key->entries->count(config, entry);
        for (std::size_t i = 0; i < count; ++i) {
          entry.push_back(i);
          cJSON* element = cJSON_CreateObject();
          if (map) {
            cJSON_AddItemToObject(container, std::string(key->entries->name(config, entry)).c_str(), element);
          } else {
            cJSON_AddItemToArray(container, element);
          }
          write_object(schema, element, element_pattern, entry, config);
          entry.pop_back();
        }
        break;
      }
      case Shape::moved: break;
    }
  }
}

// ---- The reference ----------------------------------------------------------

std::string type_text(const Key& key, ValuePtr value) {
  switch (key.shape) {
    case Shape::object:
    case Shape::map: return "object";
    case Shape::list: return "array of objects";
    case Shape::moved: return "";
    case Shape::value: break;
  }
  const StringRule* rule = key.rule;
  return std::visit(Overloaded{
                        [&](std::uint32_t*) {
                          const Range range = range_of(key);
                          return "integer " + std::to_string(range.low) + ".." + std::to_string(range.high);
                        },
                        [](bool*) { return std::string("boolean"); },
                        [&](std::string*) { return std::string(rule != nullptr ? rule->type : "string"); },
                        [&](std::vector<std::string>*) {
                          return std::string(rule != nullptr ? rule->types : "array of strings");
                        },
                        [](LogLevel*) {
                          std::string text;
                          for (std::string_view name : kLogLevelNames) {
                            text += (text.empty() ? "`" : " `") + std::string(name) + "`";
                          }
                          return text;
                        },
                    },
                    value);
}

std::string default_text(const Key& key, ValuePtr value) {
  if (!key.default_text.empty()) return std::string(key.default_text);
  if (!key.required.empty()) return "required";
  switch (key.shape) {
    case Shape::object:
    case Shape::moved: return "";
    case Shape::map: return "`{}`";
    case Shape::list: return "`[]`";
    case Shape::value: break;
  }
  return std::visit(Overloaded{
                        [](std::uint32_t* v) { return std::to_string(*v); },
                        [](bool* v) { return std::string(*v ? "`true`" : "`false`"); },
                        [](std::string* v) { return "`" + (v->empty() ? std::string("\"\"") : *v) + "`"; },
                        [](std::vector<std::string>* v) {
                          std::string text = "`[";
                          for (const std::string& s : *v) text += (text.size() > 2 ? ", " : "") + quote(s);
                          return text + "]`";
                        },
                        [](LogLevel* v) { return "`" + std::string(to_string(*v)) + "`"; },
                    },
                    value);
}

// The value of `key` in a default config, with a default entry made for each
// map or list on the way.
ValuePtr default_value(std::span<const Key> schema, const Key& key, DaemonConfig& defaults) {
  std::vector<std::size_t> entry;
  for (const Key& collection : schema) {
    if (collection.shape != Shape::map && collection.shape != Shape::list) continue;
    if (key.path.starts_with(entry_pattern(schema, collection) + ".")) {
      entry.push_back(collection.entries->add(defaults, entry, "name"));
    }
  }
  return value_of(key, defaults, entry);
}

void table(std::span<const Key> schema, std::string& out, const std::vector<const Key*>& keys) {
  out += "| key | type | default | meaning | memory cost |\n|---|---|---|---|---|\n";
  for (const Key* key : keys) {
    DaemonConfig defaults;
    const ValuePtr value = key->shape == Shape::value ? default_value(schema, *key, defaults) : ValuePtr{};
    const std::string meaning =
        key->shape == Shape::moved ? "moved to `" + std::string(key->moved_to) + "`; here it is an error"
                                   : std::string(key->meaning);
    for (const std::string& cell : {"`" + std::string(key->path) + "`", type_text(*key, value),
                                    default_text(*key, value), meaning, std::string(key->cost)}) {
      out += cell.empty() ? "| " : "| " + cell + " ";
    }
    out += "|\n";
  }
}

}  // namespace

std::span<const Key> config_schema() noexcept { return kSchema; }

std::string quote(std::string_view text) {
  std::string out = "\"";
  for (char c : text) {
    const auto u = static_cast<unsigned char>(c);
    if (c == '"' || c == '\\') {
      out += '\\';
      out += c;
    } else if (u < 0x20) {
      char escaped[8];
      std::snprintf(escaped, sizeof escaped, "\\u%04x", u);
      out += escaped;
    } else {
      out += c;
    }
  }
  out += '"';
  return shorten(std::move(out));
}

const std::string_view* nearest_name(std::string_view name, std::span<const std::string_view> candidates) {
  const std::string_view* nearest = nullptr;
  std::size_t nearest_distance = 3;
  for (const std::string_view& candidate : candidates) {
    const std::size_t distance = edit_distance(name, candidate);
    const bool prefix =
        std::min(name.size(), candidate.size()) >= 4 && (candidate.starts_with(name) || name.starts_with(candidate));
    if ((distance < nearest_distance && distance < candidate.size() / 2 + 1) || (nearest == nullptr && prefix)) {
      nearest = &candidate;
      nearest_distance = distance;
    }
  }
  return nearest;
}

std::string read_config(const cJSON* root, std::span<const Key> schema, DaemonConfig& config) {
  Reader reader(schema);
  std::vector<std::size_t> entry;
  if (reader.object(root, "", "", entry, config)) return {};
  return reader.error();
}

std::string check_relations(const DaemonConfig& config) {
  // A key's integer value; the runtime's sizes by the field.
  const auto find = [](auto matches) -> const Key& {
    const auto key = std::find_if(std::begin(kSchema), std::end(kSchema), matches);
    check(key != std::end(kSchema), "a relation names a key the schema does not have");
    return *key;
  };
  const auto number = [&](const Key& key) { return *std::get<std::uint32_t*>(value_of(key, config, {})); };
  const auto relation = [&](const Key& key, FieldRelation::Bound bound, std::uint32_t factor, const Key& other) {
    const Status status = check_relation(bound, factor, key.path, number(key), other.path, number(other));
    return status ? std::string() : std::string(status.message());
  };
  for (const KeyRelation& r : kKeyRelations) {
    const Key& key = find([&](const Key& k) { return k.path == r.key; });
    const Key& other = find([&](const Key& k) { return k.path == r.other; });
    if (std::string error = relation(key, r.bound, r.factor, other); !error.empty()) return error;
  }
  for (const FieldRelation& r : kFieldRelations) {
    const Key& key = find([&](const Key& k) { return k.runtime == r.field; });
    const Key& other = find([&](const Key& k) { return k.runtime == r.other; });
    if (std::string error = relation(key, r.bound, r.factor, other); !error.empty()) return error;
  }
  if (!config.mqtt.ca_file.empty() && !config.mqtt.tls) {
    return "mqtt.ca_file is " + quote(config.mqtt.ca_file) + " but mqtt.url is " + quote(config.mqtt.url) +
           "; expected an mqtts:// mqtt.url with a CA file (or no mqtt.ca_file)";
  }
  return {};
}

cJSON* write_config(std::span<const Key> schema, const DaemonConfig& config) {
  cJSON* root = cJSON_CreateObject();
  std::vector<std::size_t> entry;
  write_object(schema, root, "", entry, config);
  return root;
}

std::string config_reference(std::span<const Key> schema) {
  std::string out = "### Top level\n\n";
  const std::vector<const Key*> top = children(schema, "");
  table(schema, out, top);
  for (const Key* section : top) {
    if (section->shape == Shape::value || section->shape == Shape::moved) continue;
    out += "\n### `" + std::string(section->path) + "`\n\n";
    if (!section->about.empty()) out += std::string(section->about) + "\n\n";
    std::vector<const Key*> keys;
    for (const Key& key : schema) {
      const std::string_view rest = key.path.substr(std::min(key.path.size(), section->path.size()));
      if (key.path.starts_with(section->path) && (rest.starts_with('.') || rest.starts_with('['))) {
        keys.push_back(&key);
      }
    }
    table(schema, out, keys);
  }
  return out;
}

std::string with_reference(std::string_view readme, std::string_view reference) {
  const std::size_t begin = readme.find(kReferenceBegin);
  if (begin == std::string_view::npos) return {};
  const std::size_t body = begin + kReferenceBegin.size();
  const std::size_t end = readme.find(kReferenceEnd, body);
  if (end == std::string_view::npos) return {};
  return std::string(readme.substr(0, body)) + "\n\n" + std::string(reference) + "\n" + std::string(readme.substr(end));
}

}  // namespace edgerun

#include "edgerun/daemon_config.hpp"

#include <cjson/cJSON.h>

#include <algorithm>
#include <cerrno>
#include <charconv>
#include <cmath>
#include <cstdio>
#include <cstring>
#include <memory>
#include <new>
#include <span>
#include <utility>

#include "edgerun/codec.hpp"
#include "edgerun/json_parse.hpp"
#include "edgerun/mqtt_url.hpp"

namespace edgerun {

namespace {

struct Range {
  std::uint64_t low, high;
};

constexpr std::uint64_t kWeekMs = 7ull * 24 * 3600 * 1000;

// The ranges edgerun::validate() enforces (core/runtime/src/config.cpp), repeated here
// so that a bad value is named by its key in the file rather than by its
// RuntimeConfig field. test_daemon_config.cpp checks that both agree.
constexpr Range kWorkers{0, 256};
constexpr Range kQueueCapacity{1, 1u << 16};
constexpr Range kMaxPayloadBytes{256, 16u << 20};
constexpr Range kMaxResultBytes{64, 16u << 20};
constexpr Range kDefaultTimeoutMs{1, kWeekMs};
constexpr Range kFinishedIds{1, 1u << 20};
constexpr Range kFinishedIdTtlMs{1, kWeekMs};
constexpr Range kJsonArenaBytes{4096, 256u << 20};
constexpr Range kLogRecords{2, 1u << 20};
constexpr Range kMetricCapacity{64, 1u << 16};
constexpr Range kEventRecords{1, 1u << 16};
constexpr Range kEventMaxBytes{16, 1u << 20};

// The daemon's own ranges (config/README.md).
constexpr Range kKeepaliveS{5, 65535};  // MQTT's 16 bits; libmosquitto refuses less than 5
constexpr Range kSessionExpiryS{0, 0xFFFFFFFFu};
constexpr Range kReconnectMs{10, 3600 * 1000};
constexpr Range kOutboxMessages{1, 1u << 16};
constexpr Range kTelemetryIntervalMs{100, 24 * 3600 * 1000};
constexpr Range kLogBatchRecords{1, 4096};
constexpr Range kPresenceIntervalS{10, 24 * 3600};
constexpr Range kBufferedBatches{0, 1024};
constexpr Range kShutdownGraceMs{0, 3600 * 1000};
constexpr Range kExecTimeoutMs{0, kWeekMs};
constexpr Range kMaxOutputBytes{0, 16u << 20};
constexpr Range kStopGraceMs{0, 600 * 1000};

constexpr std::size_t kMaxFileBytes = 1u << 20;
constexpr std::size_t kMaxEnvName = 128;
constexpr std::size_t kMaxParamName = 64;
constexpr std::size_t kMaxValueShown = 80;

constexpr const char* kIdExpected = "an id matching [A-Za-z0-9._-]{1,64}";
constexpr const char* kUrlExpected = "mqtt://host:port or mqtts://host:port";

using Keys = std::span<const std::string_view>;

constexpr std::string_view kTopKeys[] = {"device_id", "groups", "workers", "state_dir", "mqtt", "jobs",
                                         "telemetry", "log",    "memory",  "shutdown",  "exec"};
constexpr std::string_view kMqttKeys[] = {"url",
                                          "username",
                                          "password",
                                          "topic_prefix",
                                          "client_id",
                                          "keepalive_s",
                                          "session_expiry_s",
                                          "reconnect_min_ms",
                                          "reconnect_max_ms",
                                          "ca_file",
                                          "outbox_messages"};
constexpr std::string_view kJobsKeys[] = {"queue_capacity",     "max_payload_bytes", "max_result_bytes",
                                          "default_timeout_ms", "report_progress",   "finished_ids",
                                          "finished_id_ttl_ms"};
constexpr std::string_view kTelemetryKeys[] = {"interval_ms", "log_forward_level", "log_batch_records",
                                               "presence_interval_s", "buffered_batches"};
constexpr std::string_view kLogKeys[] = {"level", "records", "stderr"};
constexpr std::string_view kMemoryKeys[] = {"json_arena_bytes", "metric_capacity", "event_records", "event_max_bytes"};
constexpr std::string_view kShutdownKeys[] = {"grace_ms"};
constexpr std::string_view kExecKeys[] = {"program",          "args",          "working_directory", "timeout_ms",
                                          "max_output_bytes", "stop_grace_ms", "params_env",        "env_passthrough"};

// RuntimeConfig field names as validate() writes them, and their keys in the
// file, so that its messages name what the user wrote.
constexpr std::pair<std::string_view, std::string_view> kRuntimeKeys[] = {
    {"workers", "workers"},
    {"queue_capacity", "jobs.queue_capacity"},
    {"max_payload_bytes", "jobs.max_payload_bytes"},
    {"max_result_bytes", "jobs.max_result_bytes"},
    {"default_timeout_ms", "jobs.default_timeout_ms"},
    {"finished_ids", "jobs.finished_ids"},
    {"finished_id_ttl_ms", "jobs.finished_id_ttl_ms"},
    {"json_arena_bytes", "memory.json_arena_bytes"},
    {"log_records", "log.records"},
    {"log_level", "log.level"},
    {"log_to_stderr", "log.stderr"},
    {"metric_capacity", "memory.metric_capacity"},
    {"event_records", "memory.event_records"},
    {"event_max_bytes", "memory.event_max_bytes"},
};

struct JsonDeleter {
  void operator()(cJSON* json) const noexcept { cJSON_Delete(json); }
};
using JsonPtr = std::unique_ptr<cJSON, JsonDeleter>;

// ---- Text helpers ---------------------------------------------------------

bool is_alnum(char c) { return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9'); }

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

// `text` as a JSON string literal, for messages.
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

// ---- Value checks ---------------------------------------------------------

bool is_absolute_path(std::string_view path) { return !path.empty() && path.front() == '/'; }

bool is_empty_or_absolute_path(std::string_view path) { return path.empty() || is_absolute_path(path); }

bool is_param_name(std::string_view name) {
  if (name.empty() || name.size() > kMaxParamName) return false;
  return std::all_of(name.begin(), name.end(), [](char c) { return is_alnum(c) || c == '_'; });
}

bool is_env_name(std::string_view name) {
  if (name.empty() || name.size() > kMaxEnvName || (name.front() >= '0' && name.front() <= '9')) return false;
  return std::all_of(name.begin(), name.end(), [](char c) { return is_alnum(c) || c == '_'; });
}

bool is_log_level(std::string_view name) { return log_level_from_string(name).has_value(); }

// validate() names RuntimeConfig fields; this rewrites each, as a whole word,
// to its key in the file.
std::string to_file_keys(std::string_view message) {
  std::string out;
  std::size_t i = 0;
  while (i < message.size()) {
    const auto word_char = [&](std::size_t k) { return is_alnum(message[k]) || message[k] == '_'; };
    if (!word_char(i)) {
      out += message[i++];
      continue;
    }
    std::size_t end = i;
    while (end < message.size() && word_char(end)) ++end;
    const std::string_view word = message.substr(i, end - i);
    std::string_view replacement = word;
    for (const auto& [field, key] : kRuntimeKeys) {
      if (field == word) replacement = key;
    }
    out += replacement;
    i = end;
  }
  return out;
}

// cJSON reports an error where an object key was expected (`{a: 1}`, a
// trailing comma) one character late; every other error it reports where it
// is. This moves the first case back onto the offending character.
std::size_t error_offset(std::string_view text, std::size_t reported) {
  if (reported == 0 || reported > text.size()) return reported;
  const std::size_t candidate = reported - 1;
  if (text[candidate] == '"') return reported;
  std::vector<char> open;  // the containers enclosing `candidate`
  char last = '\0';        // the last character before it outside strings and whitespace
  bool in_string = false;
  bool escaped = false;
  for (std::size_t i = 0; i < candidate; ++i) {
    const char c = text[i];
    if (in_string) {
      if (escaped) {
        escaped = false;
      } else if (c == '\\') {
        escaped = true;
      } else if (c == '"') {
        in_string = false;
        last = c;
      }
      continue;
    }
    if (c == ' ' || c == '\t' || c == '\r' || c == '\n') continue;
    if (c == '"') in_string = true;
    if (c == '{' || c == '[') open.push_back(c);
    if ((c == '}' || c == ']') && !open.empty()) open.pop_back();
    last = c;
  }
  const bool key_expected = !in_string && !open.empty() && open.back() == '{' && (last == '{' || last == ',');
  return key_expected ? candidate : reported;
}

// Line and column (both from 1; the column counts UTF-8 characters) of byte
// `offset` in `text`.
std::pair<std::size_t, std::size_t> line_and_column(std::string_view text, std::size_t offset) {
  std::size_t line = 1;
  std::size_t column = 1;
  for (std::size_t i = 0; i < offset && i < text.size(); ++i) {
    const auto c = static_cast<unsigned char>(text[i]);
    if (c == '\n') {
      ++line;
      column = 1;
    } else if ((c & 0xC0) != 0x80) {
      ++column;
    }
  }
  return {line, column};
}

// ---- The reader -----------------------------------------------------------

// Reads values out of the parsed file. Each read returns false after
// recording the first error, which stops the parse; a key that is absent
// leaves the default in place.
class Reader {
 public:
  explicit Reader(std::string_view file) : file_(file) {}

  const std::string& error() const { return error_; }

  bool fail(const std::string& message) {
    error_ = std::string(file_) + ": " + message;
    return false;
  }

  bool fail_value(const std::string& path, const std::string& shown, std::string_view expected) {
    return fail(path + " is " + shown + "; expected " + std::string(expected));
  }

  // `item` (at `path`) must be an object whose keys are unique and, unless
  // `known` is empty, among `known`.
  bool object(const cJSON* item, const std::string& path, Keys known) {
    if (!cJSON_IsObject(item)) return fail_value(path, render_wrong_type(item), "an object");
    for (const cJSON* member = item->child; member != nullptr; member = member->next) {
      const std::string_view key = member->string;
      for (const cJSON* earlier = item->child; earlier != member; earlier = earlier->next) {
        if (key == earlier->string) {
          return fail(join(path, key) + " appears twice; expected each key once");
        }
      }
      if (known.size() == 0 || std::find(known.begin(), known.end(), key) != known.end()) continue;
      std::string message = join(path, key) + " is not a known key";
      const std::string_view* nearest = nullptr;
      std::size_t nearest_distance = 3;
      for (const std::string_view& candidate : known) {
        const std::size_t distance = edit_distance(key, candidate);
        const bool prefix =
            std::min(key.size(), candidate.size()) >= 4 && (candidate.starts_with(key) || key.starts_with(candidate));
        if ((distance < nearest_distance && distance < candidate.size() / 2 + 1) || (nearest == nullptr && prefix)) {
          nearest = &candidate;
          nearest_distance = distance;
        }
      }
      if (nearest != nullptr) message += " (did you mean " + join(path, *nearest) + "?)";
      message += "; expected one of: ";
      bool first = true;
      for (const std::string_view& candidate : known) {
        if (!first) message += ", ";
        message += candidate;
        first = false;
      }
      return fail(message);
    }
    return true;
  }

  bool u32(const cJSON* object, std::string_view prefix, const char* key, Range range, std::uint32_t& out) {
    const cJSON* item = cJSON_GetObjectItemCaseSensitive(object, key);
    if (item == nullptr) return true;
    char expected[80];
    std::snprintf(expected, sizeof expected, "an integer from %llu to %llu", static_cast<unsigned long long>(range.low),
                  static_cast<unsigned long long>(range.high));
    if (!cJSON_IsNumber(item)) return fail_value(join(prefix, key), render_wrong_type(item), expected);
    const double value = item->valuedouble;
    if (!std::isfinite(value)) return fail_value(join(prefix, key), "a number too large to hold", expected);
    if (value != std::floor(value) || value < static_cast<double>(range.low) ||
        value > static_cast<double>(range.high)) {
      return fail_value(join(prefix, key), render(item), expected);
    }
    out = static_cast<std::uint32_t>(value);
    return true;
  }

  bool boolean(const cJSON* object, std::string_view prefix, const char* key, bool& out) {
    const cJSON* item = cJSON_GetObjectItemCaseSensitive(object, key);
    if (item == nullptr) return true;
    if (!cJSON_IsBool(item)) return fail_value(join(prefix, key), render_wrong_type(item), "true or false");
    out = cJSON_IsTrue(item);
    return true;
  }

  // A string; when `valid` is given it must pass it, else `expected` says why.
  bool string(const cJSON* object, std::string_view prefix, const char* key, std::string& out,
              bool (*valid)(std::string_view) = nullptr, const char* expected = "a string") {
    const cJSON* item = cJSON_GetObjectItemCaseSensitive(object, key);
    if (item == nullptr) return true;
    return string_item(item, join(prefix, key), out, valid, expected);
  }

  bool string_item(const cJSON* item, const std::string& path, std::string& out, bool (*valid)(std::string_view),
                   const char* expected) {
    if (!cJSON_IsString(item)) return fail_value(path, render_wrong_type(item), expected);
    if (valid != nullptr && !valid(item->valuestring)) return fail_value(path, render(item), expected);
    out = item->valuestring;
    return true;
  }

  // An array of strings, each passing `valid` (when given) and, when
  // `unique`, each given once.
  bool strings(const cJSON* object, std::string_view prefix, const char* key, std::vector<std::string>& out,
               bool (*valid)(std::string_view), const char* element_expected, bool unique) {
    const cJSON* item = cJSON_GetObjectItemCaseSensitive(object, key);
    if (item == nullptr) return true;
    const std::string path = join(prefix, key);
    if (!cJSON_IsArray(item)) {
      std::string expected = "an array of strings";
      if (valid != nullptr) expected += std::string(", each ") + element_expected;
      return fail_value(path, render_wrong_type(item), expected);
    }
    std::vector<std::string> values;
    for (const cJSON* element = item->child; element != nullptr; element = element->next) {
      const std::string element_path = path + "[" + std::to_string(values.size()) + "]";
      std::string value;
      if (!string_item(element, element_path, value, valid, element_expected)) return false;
      if (unique) {
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

  // The object under `key`, checked against `known`; nullptr (with no error)
  // when absent.
  bool section(const cJSON* root, const char* key, Keys known, const cJSON*& out) {
    out = cJSON_GetObjectItemCaseSensitive(root, key);
    return out == nullptr || object(out, key, known);
  }

 private:
  std::string_view file_;
  std::string error_;
};

bool read_mqtt(Reader& r, const cJSON* root, DaemonConfig::Mqtt& m) {
  const cJSON* s = nullptr;
  if (!r.section(root, "mqtt", kMqttKeys, s)) return false;
  if (s == nullptr) return true;
  if (const cJSON* url = cJSON_GetObjectItemCaseSensitive(s, "url"); url != nullptr) {
    if (!cJSON_IsString(url)) return r.fail_value("mqtt.url", render_wrong_type(url), kUrlExpected);
    MqttUrl endpoint;
    if (const char* expected = parse_mqtt_url(url->valuestring, endpoint)) {
      return r.fail_value("mqtt.url", render(url), expected);
    }
    m.url = url->valuestring;
    m.host = std::move(endpoint.host);
    m.port = endpoint.port;
    m.tls = endpoint.tls;
  }
  // A password given with the wrong type is still not shown.
  if (const cJSON* password = cJSON_GetObjectItemCaseSensitive(s, "password");
      password != nullptr && !cJSON_IsString(password)) {
    return r.fail(std::string("mqtt.password is ") + kind(password) + ", not shown; expected a string");
  }
  return r.string(s, "mqtt", "username", m.username) && r.string(s, "mqtt", "password", m.password) &&
         r.string(s, "mqtt", "topic_prefix", m.topic_prefix, is_valid_topic_prefix,
                  "ids ([A-Za-z0-9._-]{1,64}) separated by '/', at most 128 characters, e.g. edgerun or "
                  "site-1/edgerun") &&
         r.string(s, "mqtt", "client_id", m.client_id, is_valid_client_id, "a client id matching [A-Za-z0-9._-]{1,128}") &&
         r.u32(s, "mqtt", "keepalive_s", kKeepaliveS, m.keepalive_s) &&
         r.u32(s, "mqtt", "session_expiry_s", kSessionExpiryS, m.session_expiry_s) &&
         r.u32(s, "mqtt", "reconnect_min_ms", kReconnectMs, m.reconnect_min_ms) &&
         r.u32(s, "mqtt", "reconnect_max_ms", kReconnectMs, m.reconnect_max_ms) &&
         r.string(s, "mqtt", "ca_file", m.ca_file, is_empty_or_absolute_path, "an absolute path or \"\"") &&
         r.u32(s, "mqtt", "outbox_messages", kOutboxMessages, m.outbox_messages);
}

bool read_jobs(Reader& r, const cJSON* root, DaemonConfig& c) {
  const cJSON* s = nullptr;
  if (!r.section(root, "jobs", kJobsKeys, s)) return false;
  if (s == nullptr) return true;
  RuntimeConfig& rt = c.runtime;
  return r.u32(s, "jobs", "queue_capacity", kQueueCapacity, rt.queue_capacity) &&
         r.u32(s, "jobs", "max_payload_bytes", kMaxPayloadBytes, rt.max_payload_bytes) &&
         r.u32(s, "jobs", "max_result_bytes", kMaxResultBytes, rt.max_result_bytes) &&
         r.u32(s, "jobs", "default_timeout_ms", kDefaultTimeoutMs, rt.default_timeout_ms) &&
         r.boolean(s, "jobs", "report_progress", c.report_progress) &&
         r.u32(s, "jobs", "finished_ids", kFinishedIds, rt.finished_ids) &&
         r.u32(s, "jobs", "finished_id_ttl_ms", kFinishedIdTtlMs, rt.finished_id_ttl_ms);
}

bool read_telemetry(Reader& r, const cJSON* root, DaemonConfig::Telemetry& t) {
  const cJSON* s = nullptr;
  if (!r.section(root, "telemetry", kTelemetryKeys, s)) return false;
  if (s == nullptr) return true;
  std::string level;
  if (!r.string(s, "telemetry", "log_forward_level", level, is_log_level,
                "a log level: trace, debug, info, warn or error")) {
    return false;
  }
  if (!level.empty()) t.log_forward_level = *log_level_from_string(level);
  return r.u32(s, "telemetry", "interval_ms", kTelemetryIntervalMs, t.interval_ms) &&
         r.u32(s, "telemetry", "log_batch_records", kLogBatchRecords, t.log_batch_records) &&
         r.u32(s, "telemetry", "presence_interval_s", kPresenceIntervalS, t.presence_interval_s) &&
         r.u32(s, "telemetry", "buffered_batches", kBufferedBatches, t.buffered_batches);
}

bool read_log(Reader& r, const cJSON* root, RuntimeConfig& rt) {
  const cJSON* s = nullptr;
  if (!r.section(root, "log", kLogKeys, s)) return false;
  if (s == nullptr) return true;
  std::string level;
  if (!r.string(s, "log", "level", level, is_log_level, "a log level: trace, debug, info, warn or error")) {
    return false;
  }
  if (!level.empty()) rt.log_level = *log_level_from_string(level);
  return r.u32(s, "log", "records", kLogRecords, rt.log_records) && r.boolean(s, "log", "stderr", rt.log_to_stderr);
}

bool read_memory(Reader& r, const cJSON* root, RuntimeConfig& rt) {
  const cJSON* s = nullptr;
  if (!r.section(root, "memory", kMemoryKeys, s)) return false;
  if (s == nullptr) return true;
  return r.u32(s, "memory", "json_arena_bytes", kJsonArenaBytes, rt.json_arena_bytes) &&
         r.u32(s, "memory", "metric_capacity", kMetricCapacity, rt.metric_capacity) &&
         r.u32(s, "memory", "event_records", kEventRecords, rt.event_records) &&
         r.u32(s, "memory", "event_max_bytes", kEventMaxBytes, rt.event_max_bytes);
}

bool read_exec(Reader& r, const cJSON* root, std::vector<DaemonConfig::ExecHandler>& out) {
  const cJSON* s = nullptr;
  if (!r.section(root, "exec", Keys{}, s)) return false;
  if (s == nullptr) return true;
  for (const cJSON* entry = s->child; entry != nullptr; entry = entry->next) {
    if (!is_valid_id(entry->string)) {
      return r.fail("exec has the key " + quote(entry->string) + "; expected job types that are ids matching " +
                    "[A-Za-z0-9._-]{1,64}");
    }
    const std::string path = join("exec", entry->string);
    if (!r.object(entry, path, kExecKeys)) return false;
    DaemonConfig::ExecHandler h;
    h.type = entry->string;
    if (cJSON_GetObjectItemCaseSensitive(entry, "program") == nullptr) {
      return r.fail(path + ".program is missing; expected the absolute path of the program to run");
    }
    const bool ok =
        r.string(entry, path, "program", h.program, is_absolute_path, "an absolute path (starting with /)") &&
        r.strings(entry, path, "args", h.args, nullptr, "a string", false) &&
        r.string(entry, path, "working_directory", h.working_directory, is_empty_or_absolute_path,
                 "an absolute path or \"\"") &&
        r.u32(entry, path, "timeout_ms", kExecTimeoutMs, h.timeout_ms) &&
        r.u32(entry, path, "max_output_bytes", kMaxOutputBytes, h.max_output_bytes) &&
        r.u32(entry, path, "stop_grace_ms", kStopGraceMs, h.stop_grace_ms) &&
        r.strings(entry, path, "params_env", h.params_env, is_param_name, "a param name matching [A-Za-z0-9_]{1,64}",
                  true) &&
        r.strings(entry, path, "env_passthrough", h.env_passthrough, is_env_name,
                  "an environment variable name matching [A-Za-z_][A-Za-z0-9_]{0,127}", true);
    if (!ok) return false;
    out.push_back(std::move(h));
  }
  return true;
}

// Relations between keys, each message naming both.
bool check_relations(Reader& r, const DaemonConfig& c) {
  if (c.mqtt.reconnect_min_ms > c.mqtt.reconnect_max_ms) {
    return r.fail("mqtt.reconnect_min_ms is " + std::to_string(c.mqtt.reconnect_min_ms) +
                  "; expected at most mqtt.reconnect_max_ms (" + std::to_string(c.mqtt.reconnect_max_ms) + ")");
  }
  if (c.telemetry.log_batch_records > c.runtime.log_records) {
    return r.fail("telemetry.log_batch_records is " + std::to_string(c.telemetry.log_batch_records) +
                  "; expected at most log.records (" + std::to_string(c.runtime.log_records) + ")");
  }
  if (!c.mqtt.ca_file.empty() && !c.mqtt.tls) {
    return r.fail("mqtt.ca_file is " + quote(c.mqtt.ca_file) + " but mqtt.url is " + quote(c.mqtt.url) +
                  "; expected an mqtts:// mqtt.url with a CA file (or no mqtt.ca_file)");
  }
  if (const Status status = validate(c.runtime); !status.ok()) return r.fail(to_file_keys(status.message()));
  return true;
}

// ---- describe() helpers ---------------------------------------------------

cJSON* string_array(const std::vector<std::string>& values) {
  cJSON* array = cJSON_CreateArray();
  for (const std::string& value : values) cJSON_AddItemToArray(array, cJSON_CreateString(value.c_str()));
  return array;
}

cJSON* add_object(cJSON* parent, const char* key) { return cJSON_AddObjectToObject(parent, key); }

void add_number(cJSON* object, const char* key, std::uint32_t value) {
  cJSON_AddNumberToObject(object, key, static_cast<double>(value));
}

void add_string(cJSON* object, const char* key, std::string_view value) {
  cJSON_AddStringToObject(object, key, std::string(value).c_str());
}

}  // namespace

ConfigLoadResult parse_daemon_config(std::string_view text, std::string_view path, std::string_view default_device_id) {
  Reader r(path);
  const auto failed = [&r] { return ConfigLoadResult{std::nullopt, r.error()}; };

  // An editor's UTF-8 byte order mark is not JSON, but harmless.
  std::size_t start = 0;
  if (text.starts_with("\xEF\xBB\xBF")) start = 3;
  if (const std::size_t nul = text.find('\0'); nul != std::string_view::npos) {
    const auto [line, column] = line_and_column(text, nul);
    r.fail("line " + std::to_string(line) + ", column " + std::to_string(column) + ": a NUL byte; expected JSON text");
    return failed();
  }
  if (text.find_first_not_of(" \t\r\n", start) == std::string_view::npos) {
    r.fail("the file is empty; expected a JSON object (\"{}\" for all defaults)");
    return failed();
  }

  // cJSON wants a terminated string to check that nothing follows the value.
  const std::string terminated(text.substr(start));
  const char* error_at = nullptr;
  const JsonPtr root(parse_json({terminated.c_str(), terminated.size() + 1}, &error_at, true));
  if (root == nullptr) {
    const std::size_t reported = error_at != nullptr ? static_cast<std::size_t>(error_at - terminated.c_str()) : 0;
    const std::size_t offset = start + error_offset(terminated, reported);
    const auto [line, column] = line_and_column(text, offset);
    const bool at_end = text.find_first_not_of(" \t\r\n", offset) == std::string_view::npos;
    r.fail("line " + std::to_string(line) + ", column " + std::to_string(column) + ": not valid JSON" +
           (at_end ? " (the text ends too early)" : ""));
    return failed();
  }
  if (!cJSON_IsObject(root.get())) {
    r.fail("the top level is " + render_wrong_type(root.get()) + "; expected a JSON object");
    return failed();
  }

  DaemonConfig c;
  if (!r.object(root.get(), "", kTopKeys)) return failed();

  if (cJSON_GetObjectItemCaseSensitive(root.get(), "device_id") != nullptr) {
    if (!r.string(root.get(), "", "device_id", c.device_id, is_valid_id, kIdExpected)) return failed();
  } else if (is_valid_id(default_device_id)) {
    c.device_id = std::string(default_device_id);
  } else {
    r.fail("device_id is not set and the host name " + quote(default_device_id) +
           " is not a valid id; expected a device_id in the file, " + kIdExpected);
    return failed();
  }

  const cJSON* shutdown = nullptr;
  const bool ok =
      r.strings(root.get(), "", "groups", c.groups, is_valid_id, kIdExpected, true) &&
      r.u32(root.get(), "", "workers", kWorkers, c.runtime.workers) &&
      r.string(root.get(), "", "state_dir", c.state_dir, is_absolute_path, "an absolute path (starting with /)") &&
      read_mqtt(r, root.get(), c.mqtt) && read_jobs(r, root.get(), c) && read_telemetry(r, root.get(), c.telemetry) &&
      read_log(r, root.get(), c.runtime) && read_memory(r, root.get(), c.runtime) &&
      r.section(root.get(), "shutdown", kShutdownKeys, shutdown) &&
      (shutdown == nullptr || r.u32(shutdown, "shutdown", "grace_ms", kShutdownGraceMs, c.shutdown_grace_ms)) &&
      read_exec(r, root.get(), c.exec);
  if (!ok) return failed();

  if (c.mqtt.client_id.empty()) c.mqtt.client_id = "edgerun-" + c.device_id;
  if (!check_relations(r, c)) return failed();
  return ConfigLoadResult{std::move(c), {}};
}

ConfigLoadResult load_daemon_config(const std::string& path, std::string_view default_device_id) {
  const auto failed = [&path](const char* what, int error) {
    return ConfigLoadResult{std::nullopt, path + ": " + what + ": " + std::strerror(error)};
  };
  // "e" (glibc): close-on-exec, as SIGHUP re-reads the file on the loop
  // while workers may be spawning exec programs.
  const std::unique_ptr<std::FILE, int (*)(std::FILE*)> file(std::fopen(path.c_str(), "rbe"), &std::fclose);
  if (file == nullptr) return failed("cannot open", errno);

  std::string text;
  char buffer[4096];
  while (true) {
    const std::size_t n = std::fread(buffer, 1, sizeof buffer, file.get());
    if (n == 0) break;
    text.append(buffer, n);
    if (text.size() > kMaxFileBytes) {
      return ConfigLoadResult{std::nullopt, path + ": is larger than " + std::to_string(kMaxFileBytes) +
                                                " bytes; expected a config file of at most 1 MiB"};
    }
  }
  if (std::ferror(file.get())) return failed("cannot read", errno);
  return parse_daemon_config(text, path, default_device_id);
}

std::string apply_environment(DaemonConfig& config, const std::function<const char*(const char*)>& getenv_fn) {
  if (!getenv_fn) return {};
  DaemonConfig::Mqtt mqtt = config.mqtt;
  if (const char* url = getenv_fn("EDGERUN_MQTT_URL"); url != nullptr) {
    MqttUrl endpoint;
    if (const char* expected = parse_mqtt_url(url, endpoint)) {
      return "EDGERUN_MQTT_URL is " + quote(url) + "; expected " + expected;
    }
    if (!mqtt.ca_file.empty() && !endpoint.tls) {
      return "EDGERUN_MQTT_URL is " + quote(url) + " but mqtt.ca_file is " + quote(mqtt.ca_file) +
             "; expected an mqtts:// url";
    }
    mqtt.url = url;
    mqtt.host = std::move(endpoint.host);
    mqtt.port = endpoint.port;
    mqtt.tls = endpoint.tls;
  }
  if (const char* username = getenv_fn("EDGERUN_MQTT_USERNAME"); username != nullptr) mqtt.username = username;
  if (const char* password = getenv_fn("EDGERUN_MQTT_PASSWORD"); password != nullptr) mqtt.password = password;
  config.mqtt = std::move(mqtt);
  return {};
}

std::string describe(const DaemonConfig& c) {
  const JsonPtr root(cJSON_CreateObject());
  cJSON* top = root.get();
  add_string(top, "device_id", c.device_id);
  cJSON_AddItemToObject(top, "groups", string_array(c.groups));
  add_number(top, "workers", c.runtime.workers);
  add_string(top, "state_dir", c.state_dir);

  cJSON* mqtt = add_object(top, "mqtt");
  add_string(mqtt, "url", c.mqtt.url);
  add_string(mqtt, "username", c.mqtt.username);
  add_string(mqtt, "password", c.mqtt.password.empty() ? "" : "***");
  add_string(mqtt, "topic_prefix", c.mqtt.topic_prefix);
  add_string(mqtt, "client_id", c.mqtt.client_id);
  add_number(mqtt, "keepalive_s", c.mqtt.keepalive_s);
  add_number(mqtt, "session_expiry_s", c.mqtt.session_expiry_s);
  add_number(mqtt, "reconnect_min_ms", c.mqtt.reconnect_min_ms);
  add_number(mqtt, "reconnect_max_ms", c.mqtt.reconnect_max_ms);
  add_string(mqtt, "ca_file", c.mqtt.ca_file);
  add_number(mqtt, "outbox_messages", c.mqtt.outbox_messages);

  cJSON* jobs = add_object(top, "jobs");
  add_number(jobs, "queue_capacity", c.runtime.queue_capacity);
  add_number(jobs, "max_payload_bytes", c.runtime.max_payload_bytes);
  add_number(jobs, "max_result_bytes", c.runtime.max_result_bytes);
  add_number(jobs, "default_timeout_ms", c.runtime.default_timeout_ms);
  cJSON_AddBoolToObject(jobs, "report_progress", c.report_progress);
  add_number(jobs, "finished_ids", c.runtime.finished_ids);
  add_number(jobs, "finished_id_ttl_ms", c.runtime.finished_id_ttl_ms);

  cJSON* telemetry = add_object(top, "telemetry");
  add_number(telemetry, "interval_ms", c.telemetry.interval_ms);
  add_string(telemetry, "log_forward_level", to_string(c.telemetry.log_forward_level));
  add_number(telemetry, "log_batch_records", c.telemetry.log_batch_records);
  add_number(telemetry, "presence_interval_s", c.telemetry.presence_interval_s);
  add_number(telemetry, "buffered_batches", c.telemetry.buffered_batches);

  cJSON* log = add_object(top, "log");
  add_string(log, "level", to_string(c.runtime.log_level));
  add_number(log, "records", c.runtime.log_records);
  cJSON_AddBoolToObject(log, "stderr", c.runtime.log_to_stderr);

  cJSON* memory = add_object(top, "memory");
  add_number(memory, "json_arena_bytes", c.runtime.json_arena_bytes);
  add_number(memory, "metric_capacity", c.runtime.metric_capacity);
  add_number(memory, "event_records", c.runtime.event_records);
  add_number(memory, "event_max_bytes", c.runtime.event_max_bytes);

  cJSON* shutdown = add_object(top, "shutdown");
  add_number(shutdown, "grace_ms", c.shutdown_grace_ms);

  cJSON* exec = add_object(top, "exec");
  for (const DaemonConfig::ExecHandler& h : c.exec) {
    cJSON* entry = add_object(exec, h.type.c_str());
    add_string(entry, "program", h.program);
    cJSON_AddItemToObject(entry, "args", string_array(h.args));
    add_string(entry, "working_directory", h.working_directory);
    add_number(entry, "timeout_ms", h.timeout_ms);
    add_number(entry, "max_output_bytes", h.max_output_bytes);
    add_number(entry, "stop_grace_ms", h.stop_grace_ms);
    cJSON_AddItemToObject(entry, "params_env", string_array(h.params_env));
    cJSON_AddItemToObject(entry, "env_passthrough", string_array(h.env_passthrough));
  }

  char* printed = cJSON_Print(root.get());
  if (printed == nullptr) throw std::bad_alloc();
  // cJSON indents with tabs and puts one after each ':'. Strings hold none
  // (they are escaped), so every tab is one of those.
  std::string out;
  for (const char* p = printed; *p != '\0'; ++p) {
    if (*p != '\t') {
      out += *p;
    } else if (p != printed && p[-1] == ':') {
      out += ' ';
    } else {
      out += "  ";
    }
  }
  cJSON_free(printed);
  out += '\n';
  return out;
}

}  // namespace edgerun

namespace edgerun {

MqttTransportOptions transport_options(const DaemonConfig& config) {
  MqttTransportOptions options;
  options.device_id = config.device_id;
  options.groups = config.groups;
  options.report_progress = config.report_progress;
  options.mqtt = config.mqtt;
  options.telemetry = config.telemetry;
  return options;
}

}  // namespace edgerun

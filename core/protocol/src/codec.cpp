#include "edgerun/codec.hpp"

#include <cjson/cJSON.h>

#include <array>
#include <cmath>
#include <cstdint>

#include "edgerun/json_arena.hpp"
#include "edgerun/json_parse.hpp"

namespace edgerun {

namespace {

DecodedSubmission reject(DecodedSubmission decoded, ErrorCode code, const char* message) noexcept {
  decoded.error = code;
  decoded.message = message;
  return decoded;
}

constexpr double kMaxTimeoutMs = 2147483647.0;

// Finds the escape \u0000 (any hex case) in raw JSON text.
bool has_escaped_nul(std::string_view text) noexcept {
  for (std::size_t at = text.find("\\u"); at != std::string_view::npos; at = text.find("\\u", at + 1)) {
    // An even run of backslashes before this one means it is escaped itself.
    std::size_t slashes = 0;
    while (at > slashes && text[at - slashes - 1] == '\\') ++slashes;
    if (slashes % 2 == 0 && text.substr(at + 2, 4) == "0000") return true;
  }
  return false;
}

}  // namespace

DecodedSubmission decode_submission_object(const cJSON* root, std::size_t payload_bytes,
                                           std::size_t max_payload_bytes) noexcept {
  DecodedSubmission decoded;
  if (!cJSON_IsObject(root)) return reject(decoded, ErrorCode::bad_json, "payload is not a JSON object");

  const cJSON* id = cJSON_GetObjectItemCaseSensitive(root, "id");
  if (id == nullptr) return reject(decoded, ErrorCode::bad_request, "field 'id' is missing");
  if (!cJSON_IsString(id)) return reject(decoded, ErrorCode::bad_request, "field 'id' must be a string");
  if (!is_valid_id(id->valuestring)) {
    return reject(decoded, ErrorCode::bad_request, "field 'id' must match [A-Za-z0-9._-]{1,64}");
  }
  decoded.id = id->valuestring;

  if (const cJSON* v = cJSON_GetObjectItemCaseSensitive(root, "v"); v != nullptr) {
    if (!cJSON_IsNumber(v) || v->valuedouble != kProtocolVersion) {
      return reject(decoded, ErrorCode::bad_version, "field 'v' must be 1, the protocol version this runtime speaks");
    }
  }
  if (payload_bytes > max_payload_bytes) {
    return reject(decoded, ErrorCode::too_large, "payload is larger than jobs.max_payload_bytes");
  }

  const cJSON* type = cJSON_GetObjectItemCaseSensitive(root, "type");
  if (type == nullptr) return reject(decoded, ErrorCode::bad_request, "field 'type' is missing");
  if (!cJSON_IsString(type) || type->valuestring[0] == '\0') {
    return reject(decoded, ErrorCode::bad_request, "field 'type' must be a non-empty string");
  }
  decoded.type = type->valuestring;

  if (const cJSON* params = cJSON_GetObjectItemCaseSensitive(root, "params"); params != nullptr) {
    if (!cJSON_IsObject(params)) return reject(decoded, ErrorCode::bad_request, "field 'params' must be an object");
    decoded.params = params;
  }

  if (const cJSON* timeout = cJSON_GetObjectItemCaseSensitive(root, "timeout_ms"); timeout != nullptr) {
    const double value = cJSON_IsNumber(timeout) ? timeout->valuedouble : -1;
    if (value < 1 || value > kMaxTimeoutMs || std::floor(value) != value) {
      return reject(decoded, ErrorCode::bad_request, "field 'timeout_ms' must be an integer from 1 to 2147483647");
    }
    decoded.timeout_ms = static_cast<std::uint32_t>(value);
  }

  if (const cJSON* expires = cJSON_GetObjectItemCaseSensitive(root, "expires_at"); expires != nullptr) {
    const double value = cJSON_IsNumber(expires) ? expires->valuedouble : -1;
    if (value < 0 || value > static_cast<double>(kMaxExpiresAtMs) || std::floor(value) != value) {
      return reject(decoded, ErrorCode::bad_request,
                    "field 'expires_at' must be an integer from 0 to 9007199254740991 (UTC ms)");
    }
    decoded.expires_at_ms = static_cast<std::int64_t>(value);
  }
  return decoded;
}

DecodedSubmission decode_submission(std::string_view payload, std::size_t max_payload_bytes) noexcept {
  const cJSON* root = parse_json(payload);
  if (root == nullptr) {
    // A parse that ran out of arena memory failed for size, not syntax.
    if (payload.size() > max_payload_bytes) {
      return reject(DecodedSubmission{}, ErrorCode::too_large, "payload is larger than jobs.max_payload_bytes");
    }
    if (current_json_arena_exhausted()) {
      return reject(DecodedSubmission{}, ErrorCode::too_large, "payload is too complex for json_arena_bytes");
    }
    return reject(DecodedSubmission{}, ErrorCode::bad_json, "payload is not valid JSON");
  }
  // cJSON strings are C strings: a \u0000 inside one would silently cut it
  // (an id "a\u0000/b" would read as "a"). Refuse them outright.
  if (has_escaped_nul(payload)) {
    return reject(DecodedSubmission{}, ErrorCode::bad_request, "strings must not contain \\u0000");
  }
  return decode_submission_object(root, payload.size(), max_payload_bytes);
}

DecodedCancel decode_cancel(std::string_view payload, JsonArena& arena) noexcept {
  DecodedCancel decoded;
  const auto refuse = [&decoded](ErrorCode code, const char* message) {
    decoded.error = code;
    decoded.message = message;
    return decoded;
  };
  // Checked before parsing: what the wire announces is never parsed unbounded.
  if (payload.size() > kMaxCancelBytes) return refuse(ErrorCode::too_large, "cancel is larger than 1024 bytes");
  if (has_escaped_nul(payload)) return refuse(ErrorCode::bad_request, "strings must not contain \\u0000");
  ScopedJsonArena scope(arena);
  const cJSON* root = parse_json(payload);
  if (root == nullptr) {
    if (current_json_arena_exhausted()) return refuse(ErrorCode::too_large, "cancel is too complex to parse");
    return refuse(ErrorCode::bad_json, "cancel is not valid JSON");
  }
  const cJSON* id = cJSON_GetObjectItemCaseSensitive(root, "id");
  if (!cJSON_IsString(id) || !is_valid_id(id->valuestring)) {
    return refuse(ErrorCode::bad_request, "field 'id' must match [A-Za-z0-9._-]{1,64}");
  }
  // The arena is reset when the scope ends: the id is copied out first.
  const std::string_view valid(id->valuestring);
  valid.copy(decoded.id_storage.data(), valid.size());
  decoded.id_length = valid.size();
  return decoded;
}

void encode_status(JsonWriter& out, std::string_view device, const JobStatusView& status) noexcept {
  out.begin_object();
  out.key("v").integer(kProtocolVersion);
  out.key("id").string(status.id);
  out.key("device").string(device);
  out.key("state").string(to_string(status.state));
  out.key("ts").integer(status.ts_ms);
  if (!status.type.empty()) out.key("type").string(status.type);
  if (status.state == JobState::succeeded) {
    out.key("result").raw(status.result_json.empty() ? std::string_view("{}") : status.result_json);
  }
  if (status.error_code.has_value()) {
    out.key("error").begin_object();
    out.key("code").string(to_string(*status.error_code));
    out.key("message").string(status.error_message);
    if (status.exit_code.has_value()) out.key("exit_code").integer(*status.exit_code);
    out.end_object();
  }
  out.end_object();
}

void encode_rejection(JsonWriter& out, std::string_view device, std::string_view id, std::int64_t ts_ms,
                      ErrorCode code, std::string_view message) noexcept {
  out.begin_object();
  out.key("v").integer(kProtocolVersion);
  if (!id.empty()) out.key("id").string(id);
  out.key("device").string(device);
  if (!id.empty()) out.key("state").string(to_string(JobState::rejected));
  out.key("ts").integer(ts_ms);
  out.key("error").begin_object();
  out.key("code").string(to_string(code));
  out.key("message").string(message);
  out.end_object();
  out.end_object();
}

void encode_event(JsonWriter& out, std::string_view device, const EventView& event) noexcept {
  out.begin_object();
  out.key("v").integer(kProtocolVersion);
  out.key("device").string(device);
  out.key("ts").integer(event.ts_ms);
  out.key("type").string(event.type);
  if (!event.job_id.empty()) out.key("job").string(event.job_id);
  out.key("data").raw(event.data_json.empty() ? std::string_view("{}") : event.data_json);
  out.end_object();
}

void encode_presence(JsonWriter& out, const PresenceView& presence) noexcept {
  out.begin_object();
  out.key("v").integer(kProtocolVersion);
  out.key("device").string(presence.device);
  out.key("state").string(presence.online ? "online" : "offline");
  out.key("version").string(presence.version);
  out.key("started_at").integer(presence.started_at_ms);
  out.key("ts").integer(presence.ts_ms);
  if (presence.online) {
    if (const port::SysInfo* info = presence.sysinfo; info != nullptr) {
      out.key("sysinfo").begin_object();
      out.key("hostname").string(info->hostname.data());
      out.key("os").string(info->os.data());
      out.key("release").string(info->release.data());
      out.key("arch").string(info->arch.data());
      out.key("cpu_count").unsigned_integer(info->cpu_count);
      out.key("mem_total").unsigned_integer(info->mem_total);
      out.key("mem_available").unsigned_integer(info->mem_available);
      out.key("uptime_s").unsigned_integer(info->uptime_s);
      out.end_object();
    }
    out.key("handlers").begin_array();
    for (std::string_view name : presence.handlers) out.string(name);
    out.end_array();
    if (!presence.journal_hash.empty()) {
      out.key("journal").begin_object();
      out.key("sequence").unsigned_integer(presence.journal_sequence);
      out.key("hash").string(presence.journal_hash);
      out.end_object();
    }
  }
  out.end_object();
}

void begin_metrics(JsonWriter& out, std::string_view device, std::int64_t ts_ms, std::uint32_t interval_ms) noexcept {
  out.begin_object();
  out.key("v").integer(kProtocolVersion);
  out.key("device").string(device);
  out.key("ts").integer(ts_ms);
  out.key("interval_ms").unsigned_integer(interval_ms);
  out.key("metrics").begin_array();
}

void encode_metric(JsonWriter& out, const MetricView& metric) noexcept {
  out.begin_object();
  out.key("name").string(metric.name);
  out.key("kind").string(to_string(metric.kind));
  if (metric.kind == MetricKind::histogram) {
    out.key("buckets").begin_array();
    for (std::size_t i = 0; i < metric.bucket_counts.size(); ++i) {
      out.begin_object();
      if (i < metric.bucket_bounds.size()) {
        out.key("le").number(metric.bucket_bounds[i]);
      } else {
        out.key("le").string("+Inf");
      }
      out.key("count").unsigned_integer(metric.bucket_counts[i]);
      out.end_object();
    }
    out.end_array();
    out.key("sum").number(metric.sum);
    out.key("count").unsigned_integer(metric.count);
  } else {
    out.key("value").number(metric.value);
  }
  out.key("labels").begin_object();
  for (const MetricLabel& label : metric.labels) out.key(label.key).string(label.value);
  out.end_object();
  out.end_object();
}

void end_metrics(JsonWriter& out) noexcept {
  out.end_array();
  out.end_object();
}

void begin_log_batch(JsonWriter& out, std::string_view device, std::int64_t ts_ms, std::uint64_t dropped) noexcept {
  out.begin_object();
  out.key("v").integer(kProtocolVersion);
  out.key("device").string(device);
  out.key("ts").integer(ts_ms);
  out.key("dropped").unsigned_integer(dropped);
  out.key("records").begin_array();
}

void encode_log_record(JsonWriter& out, const LogRecordView& record) noexcept {
  out.begin_object();
  out.key("ts").integer(record.ts_ms);
  out.key("level").string(to_string(record.level));
  out.key("msg").string(record.message);
  out.key("fields").begin_object();
  for (const LogField& field : record.fields) out.key(field.key).string(field.value);
  out.end_object();
  out.end_object();
}

void end_log_batch(JsonWriter& out) noexcept {
  out.end_array();
  out.end_object();
}

}  // namespace edgerun

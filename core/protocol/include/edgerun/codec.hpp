#pragma once
// The protocol codec: decoding what arrives and encoding what is published, as
// pure functions over bytes, testable without a broker or a loop. Decoding
// parses with cJSON, so the caller decides where cJSON allocates (a
// ScopedJsonArena on the job path); encoding writes into a fixed buffer.

#include <array>
#include <cstdint>
#include <optional>
#include <span>
#include <string_view>

#include "edgerun/error_code.hpp"
#include "edgerun/ids.hpp"
#include "edgerun/json_arena.hpp"
#include "edgerun/json_writer.hpp"
#include "edgerun/port/sysinfo.hpp"
#include "edgerun/status_view.hpp"
#include "edgerun/telemetry_view.hpp"

struct cJSON;

namespace edgerun {

inline constexpr int kProtocolVersion = 1;

struct DecodedSubmission {
  // Set when the submission is rejected; the fields below are then partial.
  std::optional<ErrorCode> error;
  const char* message = "";  // static text naming the field and what was expected
  // Views into the parsed JSON: valid while the cJSON memory lives.
  std::string_view id;  // empty unless the id could be read and is valid
  std::string_view type;
  const cJSON* params = nullptr;  // an object, or nullptr for {}
  std::optional<std::uint32_t> timeout_ms;
  // UTC ms since the epoch: a job not started by then ends failed/expired.
  std::optional<std::int64_t> expires_at_ms;
};

// The largest `expires_at` taken: the largest integer a double (and so every
// JSON parser) holds exactly.
inline constexpr std::int64_t kMaxExpiresAtMs = (std::int64_t{1} << 53) - 1;

// Decodes `payload` as a job submission. Checks, in order: JSON, id, version,
// size (max_payload_bytes), the type, params, timeout_ms and expires_at
// fields.
DecodedSubmission decode_submission(std::string_view payload, std::size_t max_payload_bytes) noexcept;

// Validates the fields of an already parsed submission object (the part of
// decode_submission after parsing), for callers that hold a cJSON object.
DecodedSubmission decode_submission_object(const cJSON* root, std::size_t payload_bytes,
                                           std::size_t max_payload_bytes) noexcept;

// A cancel request is a few dozen bytes ({"id": "..."}); anything over this
// bound is refused before it is parsed.
inline constexpr std::size_t kMaxCancelBytes = 1024;

struct DecodedCancel {
  // Set when the cancel is refused; `message` then says why.
  std::optional<ErrorCode> error;
  const char* message = "";
  std::array<char, kMaxIdLength> id_storage{};
  std::size_t id_length = 0;

  std::string_view id() const noexcept { return {id_storage.data(), id_length}; }
};

// Decodes a cancel request {"id": "..."}. A payload over kMaxCancelBytes is
// refused `too_large` unparsed; the rest is parsed inside `arena` (reset on
// entry and exit, so nothing of the parse outlives the call) and refused
// `too_large` when it does not fit there, `bad_json` or `bad_request`.
DecodedCancel decode_cancel(std::string_view payload, JsonArena& arena) noexcept;

// {"v":1,"id","device","state","ts", and "result" or "error"}.
void encode_status(JsonWriter& out, std::string_view device, const JobStatusView& status) noexcept;

// A rejection: on the job's status topic when the id is known, or on
// <p>/<dev>/jobs/rejected without an id.
void encode_rejection(JsonWriter& out, std::string_view device, std::string_view id, std::int64_t ts_ms,
                      ErrorCode code, std::string_view message) noexcept;

// {"v":1,"device","ts","type","data"}.
void encode_event(JsonWriter& out, std::string_view device, const EventView& event) noexcept;

// The retained presence on <p>/<dev>/status: online, with the device's
// sysinfo and its job types, or offline (the MQTT will and a clean stop).
struct PresenceView {
  std::string_view device;
  bool online = false;
  std::string_view version;
  std::int64_t started_at_ms = 0;
  std::int64_t ts_ms = 0;
  const port::SysInfo* sysinfo = nullptr;       // online only
  std::span<const std::string_view> handlers;  // online only
  // The journal's chain head (online, with a journal): sequence and hash.
  std::uint64_t journal_sequence = 0;
  std::string_view journal_hash;
};
void encode_presence(JsonWriter& out, const PresenceView& presence) noexcept;

// A metrics snapshot on <p>/<dev>/telemetry/metrics, written in three steps
// so that the series go straight from the metric buffer into `out`:
// begin_metrics, encode_metric for each series, end_metrics.
void begin_metrics(JsonWriter& out, std::string_view device, std::int64_t ts_ms, std::uint32_t interval_ms) noexcept;
void encode_metric(JsonWriter& out, const MetricView& metric) noexcept;
void end_metrics(JsonWriter& out) noexcept;

// A log batch on <p>/<dev>/telemetry/logs, in the same three steps.
// `dropped` counts the records lost since the last batch.
void begin_log_batch(JsonWriter& out, std::string_view device, std::int64_t ts_ms, std::uint64_t dropped) noexcept;
void encode_log_record(JsonWriter& out, const LogRecordView& record) noexcept;
void end_log_batch(JsonWriter& out) noexcept;

}  // namespace edgerun

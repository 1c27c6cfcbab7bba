#pragma once
// The one place for sizes. Every buffer, pool and queue of the runtime is sized
// from this struct when Runtime::start() runs, allocated once, and never grows.
// Each field says what it costs in memory so a firmware can budget.

#include <cstdint>
#include <string_view>

#include "edgerun/log_level.hpp"
#include "edgerun/status.hpp"

namespace edgerun {

struct RuntimeConfig {
  // Worker threads; 0 means one per online CPU. Cost: one thread (its stack) and
  // one JSON arena (json_arena_bytes) each.
  std::uint32_t workers = 0;

  // Jobs that may wait for a worker; beyond it a submission is rejected
  // `queue_full`. Cost: queue_capacity + 2 * workers job slots, each holding
  // max_payload_bytes + max_result_bytes + ~700 bytes (with the loop's
  // reports about it and its id's place in the id index).
  std::uint32_t queue_capacity = 64;

  // Largest accepted submission; beyond it `too_large`. Sizes each slot's
  // params buffer.
  std::uint32_t max_payload_bytes = 16384;

  // Largest result a handler may return, as serialized JSON; beyond it the job
  // ends `failed` / `result_too_large`. Sizes each slot's result buffer.
  std::uint32_t max_result_bytes = 16384;

  // Run-time limit of a job that gives no timeout_ms.
  std::uint32_t default_timeout_ms = 60000;

  // How many finished job ids are remembered, and for how long, so that a
  // resubmitted id is rejected `duplicate`. Cost: ~150 bytes an id (its
  // record and its cell in the id index).
  std::uint32_t finished_ids = 1024;
  std::uint32_t finished_id_ttl_ms = 10 * 60 * 1000;

  // Bytes of the preallocated memory cJSON parses and builds in, one arena per
  // worker plus one for decoding submissions and one for the jobs of
  // handlers that run on the loop. A submission too complex for it
  // is rejected `too_large`; a result that does not fit fails
  // `result_too_large`. Must be at least 4 * max_payload_bytes.
  std::uint32_t json_arena_bytes = 256 * 1024;

  // Log ring: records kept until a sink drains them (every
  // log_flush_interval_ms); the oldest is overwritten (and counted) when
  // full. Cost: 280 bytes a record, all written at start. 256 hold over a
  // thousand lines a second between two drains; 1,024 cost a gateway
  // 210 KiB more of its ~1.7 MiB of private memory
  // (tools/bench/e2e/run.sh --memory).
  std::uint32_t log_records = 256;
  LogLevel log_level = LogLevel::info;
  // How often the loop drains the log and event rings into their sinks.
  std::uint32_t log_flush_interval_ms = 250;
  // Write drained log records to stderr with journald's "<N>" priority prefix.
  bool log_to_stderr = true;

  // Metric series (name + labels) the metric buffer can hold; the runtime's
  // own take about 40. Cost: ~500 bytes a series.
  std::uint32_t metric_capacity = 128;

  // Events emitted by handlers waiting for the loop; a full ring refuses (and
  // counts) new ones. Cost: event_max_bytes + 80 bytes a record.
  std::uint32_t event_records = 64;
  std::uint32_t event_max_bytes = 2048;
};

// The sizes validate() accepts, as data: a program that reads RuntimeConfig
// from a file of its own (edgerund) checks each value against these same
// limits and names it by its own key, so the limits exist once.
struct FieldLimit {
  const char* name;  // the field's name in validate()'s messages
  std::uint32_t RuntimeConfig::*field;
  std::uint32_t low, high;
};

inline constexpr std::uint32_t kWeekMs = 7u * 24 * 3600 * 1000;

inline constexpr FieldLimit kFieldLimits[] = {
    {"workers", &RuntimeConfig::workers, 0, 256},
    {"queue_capacity", &RuntimeConfig::queue_capacity, 1, 1u << 16},
    {"max_payload_bytes", &RuntimeConfig::max_payload_bytes, 256, 16u << 20},
    {"max_result_bytes", &RuntimeConfig::max_result_bytes, 64, 16u << 20},
    {"default_timeout_ms", &RuntimeConfig::default_timeout_ms, 1, kWeekMs},
    {"finished_ids", &RuntimeConfig::finished_ids, 1, 1u << 20},
    {"finished_id_ttl_ms", &RuntimeConfig::finished_id_ttl_ms, 1, kWeekMs},
    {"json_arena_bytes", &RuntimeConfig::json_arena_bytes, 4096, 256u << 20},
    {"log_records", &RuntimeConfig::log_records, 2, 1u << 20},
    {"log_flush_interval_ms", &RuntimeConfig::log_flush_interval_ms, 1, 60000},
    {"metric_capacity", &RuntimeConfig::metric_capacity, 64, 1u << 16},
    {"event_records", &RuntimeConfig::event_records, 1, 1u << 16},
    {"event_max_bytes", &RuntimeConfig::event_max_bytes, 16, 1u << 20},
};

// One relation between two sizes: field >= factor * other (at_least) or
// field <= factor * other (at_most).
struct FieldRelation {
  enum Bound : std::uint8_t { at_least, at_most };
  std::uint32_t RuntimeConfig::*field;
  Bound bound;
  std::uint32_t factor;
  std::uint32_t RuntimeConfig::*other;
};

inline constexpr FieldRelation kFieldRelations[] = {
    // A payload must parse inside one arena: cJSON needs about four times the
    // text for its nodes in ordinary JSON.
    {&RuntimeConfig::json_arena_bytes, FieldRelation::at_least, 4, &RuntimeConfig::max_payload_bytes},
    // A handler builds an event's data in its arena, so a larger event could
    // never be emitted.
    {&RuntimeConfig::event_max_bytes, FieldRelation::at_most, 1, &RuntimeConfig::json_arena_bytes},
};

// Checks `value` against `factor` * `other_value`; the message names both as
// given: "json_arena_bytes is 4096; expected at least 4 * max_payload_bytes
// (16384) = 65536", or without the factor when it is 1. validate() and
// edgerund's config file (with its own keys) word relations through this.
Status check_relation(FieldRelation::Bound bound, std::uint32_t factor, std::string_view name, std::uint64_t value,
                      std::string_view other_name, std::uint64_t other_value) noexcept;

// Checks one config: every size in range (kFieldLimits) and the relations
// between sizes (kFieldRelations). The message names the field, the value and
// what was expected.
Status validate(const RuntimeConfig& config) noexcept;

// The worker count start() will use (resolves workers == 0).
std::uint32_t effective_workers(const RuntimeConfig& config) noexcept;

}  // namespace edgerun

#pragma once
// The one place for sizes. Every buffer, pool and queue of the runtime is sized
// from this struct when Runtime::start() runs, allocated once, and never grows.
// Each field says what it costs in memory so a firmware can budget.

#include <cstdint>

#include "edgerun/log_level.hpp"
#include "edgerun/status.hpp"

namespace edgerun {

struct RuntimeConfig {
  // Worker threads; 0 means one per online CPU. Cost: one thread (its stack) and
  // one JSON arena (json_arena_bytes) each.
  std::uint32_t workers = 0;

  // Jobs that may wait for a worker; beyond it a submission is rejected
  // `queue_full`. Cost: queue_capacity + 2 * workers job slots, each holding
  // max_payload_bytes + max_result_bytes + ~500 bytes, and 16 bytes per job
  // of capacity in the work queue's ring.
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
  // resubmitted id is rejected `duplicate`. Cost: ~96 bytes a record.
  std::uint32_t finished_ids = 1024;
  std::uint32_t finished_id_ttl_ms = 10 * 60 * 1000;

  // Bytes of the preallocated memory cJSON parses and builds in, one arena per
  // worker plus one for decoding submissions. A submission too complex for it
  // is rejected `too_large`; a result that does not fit fails
  // `result_too_large`. Must be at least 4 * max_payload_bytes.
  std::uint32_t json_arena_bytes = 256 * 1024;

  // Log ring: records kept until a sink drains them; the oldest is
  // overwritten (and counted) when full. Cost: 256 bytes a record.
  std::uint32_t log_records = 1024;
  LogLevel log_level = LogLevel::info;
  // How often the loop drains the log and event rings into their sinks.
  std::uint32_t log_flush_interval_ms = 250;
  // Write drained log records to stderr with journald's "<N>" priority prefix.
  bool log_to_stderr = true;

  // Metric series (name + labels) the metric buffer can hold; the runtime's
  // own take about 40. Cost: ~400 bytes a series.
  std::uint32_t metric_capacity = 128;

  // Events emitted by handlers waiting for the loop; a full ring refuses (and
  // counts) new ones. Cost: event_max_bytes + 80 bytes a record.
  std::uint32_t event_records = 64;
  std::uint32_t event_max_bytes = 2048;
};

// Checks one config: every size in range and the relations between sizes.
// The message names the field, the value and what was expected.
Status validate(const RuntimeConfig& config) noexcept;

// The worker count start() will use (resolves workers == 0).
std::uint32_t effective_workers(const RuntimeConfig& config) noexcept;

}  // namespace edgerun

#include "edgerun/config.hpp"

#include "edgerun/port/sysinfo.hpp"

namespace edgerun {

namespace {

constexpr std::uint32_t kMaxWorkers = 256;
constexpr std::uint32_t kMaxQueue = 1u << 16;

Status out_of_range(const char* field, std::uint64_t value, std::uint64_t low, std::uint64_t high) {
  return Status::error("%s is %llu; expected an integer from %llu to %llu", field,
                       static_cast<unsigned long long>(value), static_cast<unsigned long long>(low),
                       static_cast<unsigned long long>(high));
}

}  // namespace

std::uint32_t effective_workers(const RuntimeConfig& config) noexcept {
  return config.workers != 0 ? config.workers : port::online_cpu_count();
}

Status validate(const RuntimeConfig& c) noexcept {
  struct Range {
    const char* field;
    std::uint64_t value, low, high;
  };
  const Range ranges[] = {
      {"workers", c.workers, 0, kMaxWorkers},
      {"queue_capacity", c.queue_capacity, 1, kMaxQueue},
      {"max_payload_bytes", c.max_payload_bytes, 256, 16u << 20},
      {"max_result_bytes", c.max_result_bytes, 64, 16u << 20},
      {"default_timeout_ms", c.default_timeout_ms, 1, 7u * 24 * 3600 * 1000},
      {"finished_ids", c.finished_ids, 1, 1u << 20},
      {"finished_id_ttl_ms", c.finished_id_ttl_ms, 1, 7u * 24 * 3600 * 1000},
      {"json_arena_bytes", c.json_arena_bytes, 4096, 256u << 20},
      {"log_records", c.log_records, 2, 1u << 20},
      {"log_flush_interval_ms", c.log_flush_interval_ms, 1, 60000},
      {"metric_capacity", c.metric_capacity, 64, 1u << 16},
      {"event_records", c.event_records, 1, 1u << 16},
      {"event_max_bytes", c.event_max_bytes, 16, 1u << 20},
  };
  for (const Range& r : ranges) {
    if (r.value < r.low || r.value > r.high) return out_of_range(r.field, r.value, r.low, r.high);
  }
  // A payload must parse inside one arena: cJSON needs about four times the
  // text for its nodes in ordinary JSON.
  if (c.json_arena_bytes < 4ull * c.max_payload_bytes) {
    return Status::error("json_arena_bytes is %u; expected at least 4 * max_payload_bytes (%u) = %llu",
                         c.json_arena_bytes, c.max_payload_bytes, 4ull * c.max_payload_bytes);
  }
  if (c.event_max_bytes > c.json_arena_bytes) {
    return Status::error("event_max_bytes is %u; expected at most json_arena_bytes (%u)", c.event_max_bytes,
                         c.json_arena_bytes);
  }
  return {};
}

}  // namespace edgerun

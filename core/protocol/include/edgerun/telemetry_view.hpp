#pragma once
// What the runtime's metric buffer and log ring report, as views the codec
// encodes for the telemetry topics (PROTOCOL.md, "Telemetry"). Views are valid
// during the call that hands them over only.

#include <cstdint>
#include <span>
#include <string_view>

#include "edgerun/log_level.hpp"

namespace edgerun {

enum class MetricKind : std::uint8_t { counter, gauge, histogram };

constexpr std::string_view to_string(MetricKind kind) noexcept {
  switch (kind) {
    case MetricKind::counter: return "counter";
    case MetricKind::gauge: return "gauge";
    case MetricKind::histogram: return "histogram";
  }
  return "gauge";
}

struct MetricLabel {
  std::string_view key;
  std::string_view value;
};

// One metric series.
struct MetricView {
  std::string_view name;
  MetricKind kind;
  std::span<const MetricLabel> labels;
  double value;                              // counter or gauge
  std::span<const double> bucket_bounds;     // histogram: upper bounds; +Inf is implicit
  std::span<const std::uint64_t> bucket_counts;  // histogram: cumulative, bounds.size() + 1 entries
  double sum;
  std::uint64_t count;
};

struct LogField {
  std::string_view key;
  std::string_view value;
};

// One log record.
struct LogRecordView {
  std::int64_t ts_ms = 0;
  LogLevel level = LogLevel::info;
  std::string_view message;
  std::span<const LogField> fields;
};

}  // namespace edgerun

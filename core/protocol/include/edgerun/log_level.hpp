#pragma once

#include <array>
#include <cstdint>
#include <optional>
#include <string_view>

namespace edgerun {

enum class LogLevel : std::uint8_t { trace, debug, info, warn, error };

inline constexpr std::array<std::string_view, 5> kLogLevelNames{"trace", "debug", "info", "warn", "error"};

constexpr std::string_view to_string(LogLevel level) noexcept {
  return kLogLevelNames[static_cast<std::size_t>(level)];
}

constexpr std::optional<LogLevel> log_level_from_string(std::string_view name) noexcept {
  for (std::size_t i = 0; i < kLogLevelNames.size(); ++i) {
    if (kLogLevelNames[i] == name) return static_cast<LogLevel>(i);
  }
  return std::nullopt;
}

// The syslog priority journald reads from a "<N>" line prefix.
constexpr int syslog_priority(LogLevel level) noexcept {
  switch (level) {
    case LogLevel::error: return 3;
    case LogLevel::warn: return 4;
    case LogLevel::info: return 6;
    case LogLevel::debug:
    case LogLevel::trace: return 7;
  }
  return 6;
}

}  // namespace edgerun

#pragma once
// Job error codes and their wire names, from one table, so the protocol strings
// (core/protocol/PROTOCOL.md) cannot drift from the code.

#include <array>
#include <cstdint>
#include <optional>
#include <string_view>

namespace edgerun {

enum class ErrorCode : std::uint8_t {
  // Rejections: the job was never queued.
  bad_json,
  bad_request,
  unknown_type,
  queue_full,
  too_large,
  duplicate,
  bad_version,
  shutting_down,
  // The journal cannot take the job (a full or failing disk): nothing was
  // promised, the submitter may try again later.
  unavailable,
  // Failures: the job ran and did not succeed.
  handler_error,
  exit_status,
  result_too_large,
  interrupted,
  // Not started before the submission's expires_at.
  expired,
};

inline constexpr std::array<std::string_view, 14> kErrorCodeNames{
    "bad_json",      "bad_request", "unknown_type",  "queue_full",  "too_large",        "duplicate",   "bad_version",
    "shutting_down", "unavailable", "handler_error", "exit_status", "result_too_large", "interrupted", "expired",
};
static_assert(kErrorCodeNames.size() == static_cast<std::size_t>(ErrorCode::expired) + 1,
              "every ErrorCode needs its wire name");

inline constexpr std::size_t kRejectionCodeCount = static_cast<std::size_t>(ErrorCode::unavailable) + 1;

constexpr std::string_view to_string(ErrorCode code) noexcept {
  return kErrorCodeNames[static_cast<std::size_t>(code)];
}

constexpr bool is_rejection(ErrorCode code) noexcept {
  return static_cast<std::size_t>(code) < kRejectionCodeCount;
}

constexpr std::optional<ErrorCode> error_code_from_string(std::string_view name) noexcept {
  for (std::size_t i = 0; i < kErrorCodeNames.size(); ++i) {
    if (kErrorCodeNames[i] == name) return static_cast<ErrorCode>(i);
  }
  return std::nullopt;
}

}  // namespace edgerun

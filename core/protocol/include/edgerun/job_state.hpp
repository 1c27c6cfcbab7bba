#pragma once
// The job states of the wire protocol, in the order a job passes through them.

#include <array>
#include <cstdint>
#include <optional>
#include <string_view>

namespace edgerun {

enum class JobState : std::uint8_t {
  queued,
  running,
  succeeded,
  failed,
  rejected,
  timed_out,
  canceled,
};

inline constexpr std::array<std::string_view, 7> kJobStateNames{
    "queued", "running", "succeeded", "failed", "rejected", "timed_out", "canceled",
};
static_assert(kJobStateNames.size() == static_cast<std::size_t>(JobState::canceled) + 1,
              "every JobState needs its wire name");

inline constexpr std::size_t kJobStateCount = kJobStateNames.size();

constexpr std::string_view to_string(JobState state) noexcept {
  return kJobStateNames[static_cast<std::size_t>(state)];
}

constexpr bool is_terminal(JobState state) noexcept {
  return state != JobState::queued && state != JobState::running;
}

constexpr std::optional<JobState> job_state_from_string(std::string_view name) noexcept {
  for (std::size_t i = 0; i < kJobStateNames.size(); ++i) {
    if (kJobStateNames[i] == name) return static_cast<JobState>(i);
  }
  return std::nullopt;
}

}  // namespace edgerun

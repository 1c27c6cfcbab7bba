#pragma once

// The job states of the wire protocol (PROTOCOL.md, "Status") and what each
// means for edgerunctl's exit code, in one table.

#include <string_view>

#include "exit_codes.hpp"

namespace edgerun::ctl {

struct JobState {
  std::string_view name;
  bool terminal;
  ExitCode exit_code;  // meaningful for terminal states
};

inline constexpr JobState kJobStates[] = {
    {"queued", false, ExitCode::ok},
    {"running", false, ExitCode::ok},
    {"succeeded", true, ExitCode::ok},
    {"failed", true, ExitCode::job_failed},
    {"rejected", true, ExitCode::rejected},
    {"timed_out", true, ExitCode::job_failed},
    {"canceled", true, ExitCode::job_failed},
};

// Null for a state this version does not know (newer runtimes may add some;
// they are printed and waited past, never treated as the end).
constexpr const JobState* find_job_state(std::string_view name) {
  for (const JobState& state : kJobStates) {
    if (state.name == name) return &state;
  }
  return nullptr;
}

}  // namespace edgerun::ctl

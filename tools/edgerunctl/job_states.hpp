#pragma once

// What each job state of the wire protocol (edgerun/job_state.hpp) means for
// edgerunctl's exit code.

#include "edgerun/job_state.hpp"
#include "exit_codes.hpp"

namespace edgerun::ctl {

// Meaningful for terminal states; a state this version does not know is
// printed and waited past, never treated as the end.
constexpr ExitCode exit_code_for(JobState state) noexcept {
  switch (state) {
    case JobState::failed:
    case JobState::timed_out:
    case JobState::canceled:
      return ExitCode::job_failed;
    case JobState::rejected:
      return ExitCode::rejected;
    case JobState::queued:
    case JobState::running:
    case JobState::succeeded:
      break;
  }
  return ExitCode::ok;
}

}  // namespace edgerun::ctl

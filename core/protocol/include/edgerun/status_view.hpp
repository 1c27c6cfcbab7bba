#pragma once
// What a job's status and a handler's event say, as views: the runtime hands
// them to its sinks, and the codec encodes them for the wire. The views are
// valid during the call that hands them over only.

#include <cstdint>
#include <optional>
#include <string_view>

#include "edgerun/error_code.hpp"
#include "edgerun/job_state.hpp"

namespace edgerun {

struct JobStatusView {
  std::string_view id;
  std::string_view type;
  JobState state;
  std::int64_t ts_ms;
  // succeeded: the handler's result as JSON text.
  std::string_view result_json;
  // failed: the error. Unset for every other state.
  std::optional<ErrorCode> error_code;
  std::string_view error_message;
  std::optional<int> exit_code;
};

struct EventView {
  std::int64_t ts_ms;
  std::string_view job_id;
  std::string_view type;
  std::string_view data_json;  // a JSON object (empty object when none)
};

}  // namespace edgerun

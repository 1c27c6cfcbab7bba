#pragma once
// What the loop hands to the components that publish: job statuses and
// handler events. Everything here is called on the loop thread, and the views
// are valid during the call only.

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

class StatusSink {
 public:
  virtual ~StatusSink() = default;
  // States of one job arrive in order, and exactly one terminal state per job.
  virtual void on_status(const JobStatusView& status) noexcept = 0;
  // Whether on_status() takes `queued` and `running` too; asked once, by
  // start(). A sink that says no gets terminal states only, and when no sink
  // wants them the runtime does not build progress statuses at all (two of
  // the three statuses a job would cost the loop thread).
  virtual bool wants_progress() const noexcept { return true; }
};

struct EventView {
  std::int64_t ts_ms;
  std::string_view job_id;
  std::string_view type;
  std::string_view data_json;  // a JSON object (empty object when none)
};

class EventSink {
 public:
  virtual ~EventSink() = default;
  virtual void on_event(const EventView& event) noexcept = 0;
};

}  // namespace edgerun

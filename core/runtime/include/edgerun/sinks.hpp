#pragma once
// The components that publish what the loop hands them: job statuses and
// handler events (their views are in status_view.hpp, which the codec
// encodes). Everything here is called on the loop thread, and the views are
// valid during the call only.

#include "edgerun/status_view.hpp"

namespace edgerun {

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
  // A terminal status published before, kept by the journal as it was
  // published (`status_json`), to go out again: after a restart, for a job
  // whose status the broker had not acknowledged. A sink that publishes
  // reports the broker's acknowledgement with
  // Runtime::status_acknowledged().
  virtual void on_stored_status(std::string_view /*id*/, std::string_view /*status_json*/) noexcept {}
};

class EventSink {
 public:
  virtual ~EventSink() = default;
  virtual void on_event(const EventView& event) noexcept = 0;
};

}  // namespace edgerun

#pragma once
// What a job handler sees and returns. Handlers run on worker threads; the
// cJSON objects they get and build live in the worker's preallocated arena and
// are valid until the handler returns.

#include <array>
#include <chrono>
#include <cstdint>
#include <functional>
#include <initializer_list>
#include <optional>
#include <string_view>

#include "edgerun/error_code.hpp"
#include "edgerun/log_ring.hpp"

struct cJSON;

namespace edgerun {

class Metrics;
class JobContext;

// The error of a failed job: a code from the protocol's list, a message (cut
// to fit), and for exec handlers the process's exit code.
struct JobError {
  ErrorCode code = ErrorCode::handler_error;
  std::array<char, 192> message{};
  std::optional<int> exit_code;

  std::string_view message_view() const noexcept;
  static JobError make(ErrorCode code, std::string_view message, std::optional<int> exit_code = {}) noexcept;
};

class HandlerResult {
 public:
  // The job succeeded with `result`, a cJSON value built in the job's arena
  // (nullptr means an empty object).
  static HandlerResult success(cJSON* result = nullptr) noexcept { return HandlerResult(result); }
  static HandlerResult failure(std::string_view message, ErrorCode code = ErrorCode::handler_error,
                               std::optional<int> exit_code = {}) noexcept {
    return HandlerResult(JobError::make(code, message, exit_code));
  }

  bool succeeded() const noexcept { return !error_.has_value(); }
  cJSON* result() const noexcept { return result_; }
  const JobError& error() const noexcept { return *error_; }

 private:
  explicit HandlerResult(cJSON* result) noexcept : result_(result) {}
  explicit HandlerResult(const JobError& error) noexcept : error_(error) {}

  cJSON* result_ = nullptr;
  std::optional<JobError> error_;
};

// Per-type settings a handler is registered with.
struct HandlerOptions {
  // Run-time limit for jobs of this type, in ms; 0 means none. A job that
  // gives no timeout_ms gets this one, and no job of the type may ask for
  // more (the operator's limit wins over the submitter's).
  std::uint32_t timeout_ms = 0;
  // The handler returns at once and never waits (no sleep, no network, no
  // child process; echo, sysinfo, a computation on the params): its jobs run
  // on the loop thread, each as a call queued for the loop, instead of being
  // handed to a worker and back. That saves two thread switches a job, most
  // of what the pool costs. While such a handler runs the loop does nothing
  // else, and a timeout cannot stop it. Its JobContext::worker_index() is
  // the worker count (one past the workers').
  bool runs_on_loop = false;
  // Running a job of this type twice does no harm (echo, a reading, a
  // sleep). With a journal, a job that was running when the runtime stopped
  // or lost power runs again after the restart instead of ending
  // failed/interrupted, and its handler starts without waiting for a
  // started record to reach the disk. A handler that runs on the loop is
  // taken as idempotent: the loop never waits for the disk.
  bool idempotent = false;
};

// A handler may throw; the job then fails `handler_error` with the
// exception's what() and the worker goes on.
using Handler = std::function<HandlerResult(JobContext&)>;

// Handed to a handler for the duration of one job, on its worker thread.
class JobContext {
 public:
  virtual ~JobContext() = default;

  virtual std::string_view id() const noexcept = 0;
  virtual std::string_view type() const noexcept = 0;
  // Which worker runs the job, 0 to workers - 1, or the worker count for a
  // job run on the loop (HandlerOptions::runs_on_loop): handlers that need
  // scratch memory preallocate one buffer per worker (plus one if they run
  // on the loop) and index it with this.
  virtual std::uint32_t worker_index() const noexcept = 0;
  // The job's params object (an empty object when the submission had none).
  virtual const cJSON* params() const noexcept = 0;

  // True once the job was canceled, timed out or the runtime shuts down. A
  // handler that runs for long polls it and returns soon after.
  virtual bool cancel_requested() const noexcept = 0;
  // Waits until a cancel request or `timeout`, whichever is first; returns
  // cancel_requested(). For handlers that wait on something.
  virtual bool wait_for_cancel(std::chrono::milliseconds timeout) const noexcept = 0;

  // Logs with a `job` field holding the job id.
  virtual void log(LogLevel level, std::string_view message,
                   std::initializer_list<LogField> fields = {}) const noexcept = 0;
  virtual Metrics& metrics() const noexcept = 0;
  // Emits a custom event (telemetry/events). `data` may be nullptr. Returns
  // false when the event ring is full or the data is larger than
  // event_max_bytes; both are counted.
  virtual bool emit_event(std::string_view type, const cJSON* data) noexcept = 0;
};

}  // namespace edgerun

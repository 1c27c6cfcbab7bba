#pragma once
// The Runtime owns everything the core is: the libuv loop, the worker pool,
// the job slots and queue, the log ring, the metric buffer and the event ring.
// All of it is allocated in start(); after that, running jobs allocates
// nothing on the heap.
//
// Threads: run() makes its caller the loop thread. submit(), cancel(),
// job_state(), shutdown() and wait_until_all_jobs_finished() may be called
// from any thread once start() succeeded. Sinks and components are called on
// the loop thread only.

#include <array>
#include <chrono>
#include <cstdint>
#include <memory>
#include <optional>
#include <string_view>

#include "edgerun/config.hpp"
#include "edgerun/error_code.hpp"
#include "edgerun/handler.hpp"
#include "edgerun/job_journal.hpp"
#include "edgerun/job_state.hpp"
#include "edgerun/log_ring.hpp"
#include "edgerun/metrics.hpp"
#include "edgerun/sinks.hpp"
#include "edgerun/status.hpp"

struct uv_loop_s;

namespace edgerun {

// A part of a program that lives on the loop (a transport, a telemetry
// publisher). Called on the loop thread.
class Component {
 public:
  virtual ~Component() = default;
  // The loop is about to run: open handles on it.
  virtual Status on_start(uv_loop_s& loop) noexcept = 0;
  // Shutdown began: stop taking new work. Jobs may still finish.
  virtual void on_drain() noexcept {}
  // Every job has ended: close every handle (uv_close); run() returns once all
  // handles of the loop are closed.
  virtual void on_stop() noexcept = 0;
};

struct JobRequest {
  std::string_view id;
  std::string_view type;
  std::string_view params_json;  // a JSON object; empty means {}
  std::optional<std::uint32_t> timeout_ms;
  // UTC ms since the epoch: a job not started by then ends failed/expired.
  std::optional<std::int64_t> expires_at_ms;
};

struct SubmitResult {
  bool accepted = false;
  std::optional<ErrorCode> rejection;
  std::array<char, 160> message{};
  // The job id when the submission's id could be read (and is valid), so the
  // rejection can go to the job's status topic.
  std::array<char, 65> id{};

  std::string_view id_view() const noexcept;
  std::string_view message_view() const noexcept;
};

class Runtime {
 public:
  explicit Runtime(const RuntimeConfig& config);
  ~Runtime();
  Runtime(const Runtime&) = delete;
  Runtime& operator=(const Runtime&) = delete;

  // Before start(). Fails for an invalid or duplicate name, or after start.
  Status register_handler(std::string_view type, Handler handler, HandlerOptions options = {});
  // Before start(). Replaces the options of the registered type `type`, for
  // settings kept apart from the code that registers it (edgerund's
  // `types.<name>` applies to built-in and exec types alike). Fails for a type
  // that is not registered, or after start.
  Status set_handler_options(std::string_view type, HandlerOptions options);
  // The worker count start() used (or will use).
  std::uint32_t worker_count() const noexcept;
  // Before start(); the objects must outlive the runtime.
  void add_status_sink(StatusSink& sink);
  void add_log_sink(LogSink& sink);
  void add_event_sink(EventSink& sink);
  void add_component(Component& component);
  // Before start(); the journal must outlive the runtime. With a journal,
  // start() recovers the jobs it holds before any component starts, every
  // job is recorded ahead of what it does (job_journal.hpp), jobs beyond
  // the queue's capacity wait in the journal alone (up to its
  // max_pending()) and move into the queue in order as room frees, and a
  // shutdown leaves queued jobs in it for the next start instead of
  // canceling them.
  void set_journal(JobJournal& journal);
  bool has_journal() const noexcept;
  // Any thread: the journal's chain head, for the presence message.
  std::optional<JournalHead> journal_head() const noexcept;

  // Validates the config, allocates every buffer, starts the workers.
  Status start();
  // Runs the loop on the calling thread until shutdown has finished. If a
  // component's on_start fails, the runtime stops at once (every job is
  // canceled, every component stopped) and run() returns that error.
  Status run();

  // Any thread. Decodes a submission per the protocol and admits it: the
  // job is queued for the workers before submit returns. Its statuses are
  // delivered later, from the loop (never from inside this call, so a sink
  // may submit). A job holds its slot until the loop has delivered its
  // terminal status; a submitter that refills the whole queue the moment
  // it hears the last statuses may be refused `queue_full` for that moment,
  // and wait_until_all_jobs_finished() returns once the slots are free.
  SubmitResult submit_json(std::string_view payload) noexcept;
  SubmitResult submit(const JobRequest& request) noexcept;
  // Any thread. Cancels a queued or running job; false for an unknown or
  // finished id. `canceled` is delivered from the loop, after this returns.
  bool cancel(std::string_view id) noexcept;
  // Any thread. The job's state, while in flight or remembered as finished.
  std::optional<JobState> job_state(std::string_view id) const noexcept;
  // Any thread but the loop's. True when no job is in flight (every submitted
  // job has its terminal status delivered and its worker is free) before
  // `timeout`.
  bool wait_until_all_jobs_finished(std::chrono::milliseconds timeout) const noexcept;

  // Loop thread: the terminal status the journal keeps for the finished job
  // `id`, as it was published, copied into `out`; its length, or 0 (no
  // journal, unknown id, or `out` too small).
  std::size_t stored_status(std::string_view id, std::span<char> out) noexcept;
  // Loop thread: the broker took the job's terminal status; the journal
  // notes it, so a restart does not publish it again.
  void status_acknowledged(std::string_view id) noexcept;

  // Any thread, once. Stops admission (`shutting_down`); with drain, lets
  // queued and running jobs finish until `timeout`, then cancels the rest;
  // without, cancels them now. run() returns when it is done.
  //
  // With a journal, queued jobs are not run or canceled: they stay in the
  // journal and run after the next start, as do jobs submitted until run()
  // returns (their `queued` is delivered). Running jobs get `timeout` (or
  // none, without drain); one still running then is asked to stop and ends
  // failed/interrupted, unless its type is idempotent: it then ends without
  // a status and runs again after the next start.
  void shutdown(bool drain, std::chrono::milliseconds timeout) noexcept;

  LogRing& log() noexcept;
  Metrics& metrics() noexcept;
  const RuntimeConfig& config() const noexcept;
  // The registered handler names, in order of registration.
  std::size_t handler_count() const noexcept;
  std::string_view handler_name(std::size_t index) const noexcept;
  const HandlerOptions& handler_options(std::size_t index) const noexcept;
  // Refreshes the derived gauges (queue depth, running, utilization, ring
  // counters), so a snapshot of metrics() is current. Loop thread (or after run() has
  // returned), never two threads at once.
  void refresh_metrics() noexcept;
  // The loop, for components (valid after start()).
  uv_loop_s& loop() noexcept;

  class Impl;

 private:
  std::unique_ptr<Impl> impl_;
};

}  // namespace edgerun

#pragma once
// Runtime::Impl: the state behind the public Runtime. Its parts, by
// responsibility:
//
// - admission (admission.cpp): decodes a submission, takes a slot in the
//   job table and queues the job for the workers; cancel and lookup.
// - the job table (job_table.hpp): slots, ids, the queue of waiting jobs,
//   under one lock.
// - the workers (worker.cpp): take a job, run its handler, report to the loop.
// - completion (completion.cpp): on the loop, reads the reports in the inbox
//   (inbox.hpp), delivers each job's statuses in protocol order, runs job
//   timeouts and retires ended jobs.
// - the lifecycle (runtime.cpp, loop.cpp): set-up, run, shutdown, log and
//   event flushing, metrics.
//
// Locks: the job table's mutex, then the inbox's or the cancel mutex
// (wait_for_cancel), never the other way round; the hot paths take one at a
// time. Nothing calls a
// sink or a handler while holding a lock. Statuses are delivered only from
// the loop's own callbacks (the inbox's, a job's timer), never from inside a
// call into the runtime, so a sink may submit or cancel freely.

#include <uv.h>

#include <array>
#include <atomic>
#include <condition_variable>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "edgerun/json_arena.hpp"
#include "edgerun/runtime.hpp"
#include "edgerun/stderr_log_sink.hpp"
#include "event_ring.hpp"
#include "inbox.hpp"
#include "job_slot.hpp"
#include "job_table.hpp"

namespace edgerun {

// Job duration buckets, seconds: from a trivial handler to a long exec job.
inline constexpr std::array<double, 12> kJobDurationBounds{0.0001, 0.0005, 0.001, 0.005, 0.01, 0.05,
                                                           0.1,    0.5,    1,     5,     30,   300};

class Runtime::Impl {
 public:
  explicit Impl(const RuntimeConfig& config);
  ~Impl();

  // --- set-up (before start) ---
  Status register_handler(std::string_view type, Handler handler, HandlerOptions options);
  Status set_handler_options(std::string_view type, HandlerOptions options);
  Status start();
  Status run();

  // --- any thread ---
  SubmitResult submit_json(std::string_view payload) noexcept;
  SubmitResult submit(const JobRequest& request) noexcept;
  bool cancel(std::string_view id) noexcept;
  std::optional<JobState> job_state(std::string_view id) const noexcept;
  bool wait_until_all_jobs_finished(std::chrono::milliseconds timeout) const noexcept;
  void shutdown(bool drain, std::chrono::milliseconds timeout) noexcept;

  // --- loop thread ---
  void refresh_metrics() noexcept;

  struct BuiltinMetrics {
    std::array<MetricId, kJobStateCount> jobs_by_state;
    std::array<MetricId, kRejectionCodeCount> rejected_by_reason;
    MetricId queue_depth, queue_capacity, queue_high_water, jobs_running, workers, worker_utilization;
    MetricId job_duration, log_dropped, log_written, events_dropped, metrics_refused, json_arena_high_water;
    MetricId results_too_large, finished_ids_evicted;
    // With a journal.
    MetricId journal_bytes, journal_sequence, journal_syncs, journal_append_failures, journal_rewrites,
        journal_pending, journal_failed, backlog_depth, backlog_high_water;
  };

  RuntimeConfig config_;
  uv_loop_t loop_{};
  std::uint32_t workers_count_ = 0;
  LogRing log_;
  Metrics metrics_;
  BuiltinMetrics builtin_{};
  StderrLogSink stderr_sink_;

  std::vector<std::string> handler_names_;
  std::vector<Handler> handlers_;
  std::vector<HandlerOptions> handler_options_;
  std::vector<StatusSink*> status_sinks_;
  // Set by start(): the sinks that take queued and running as well.
  std::vector<StatusSink*> progress_sinks_;
  std::vector<LogSink*> log_sinks_;
  std::vector<EventSink*> event_sinks_;
  std::vector<Component*> components_;
  JobJournal* journal_ = nullptr;

 private:
  friend class WorkerJobContext;

  // Recovery from the journal (recovery.cpp), in start().
  class Recovery;
  Status recover_from_journal();
  // Loop: hands the stored statuses of to_republish_ to the status sinks.
  void republish_stored_statuses() noexcept;
  SubmitResult admit_recovered(std::string_view submission, std::uint64_t ticket, detail::StopReason stop,
                               bool interrupted) noexcept;

  // Admission (admission.cpp).
  SubmitResult reject(std::string_view id, ErrorCode code, std::string_view message) noexcept;
  struct Admitted {
    std::uint32_t slot = 0;
    std::uint32_t generation = 0;
    bool on_loop = false;  // HandlerOptions::runs_on_loop, run now
    bool in_backlog = false;
    bool for_restart = false;  // taken in a drain
  };
  // A job to admit, decoded from a submission or given as a JobRequest.
  struct Admission {
    std::string_view id;
    std::string_view type;
    std::optional<std::uint32_t> timeout_ms;
    std::optional<std::int64_t> expires_at_ms;  // UTC
    detail::PayloadKind kind = detail::PayloadKind::none;
    std::string_view payload;  // copied into the slot as it is
    // The bytes to journal; `journaled`: the job's accepted record
    // (recovery), or 0 to write one.
    std::string_view submission;
    std::uint64_t journaled = 0;
  };
  // Table lock held.
  SubmitResult admit_locked(const Admission& job, Admitted& admitted) noexcept;
  // Table lock: a JobRequest as a submission, in submission_scratch_.
  std::string_view encode_request_submission(const JobRequest& request) noexcept;
  // Under the table lock: reports `queued` (or queues a loop job's run).
  void report_admission_locked(const Admitted& admitted) noexcept;
  // After the table lock is released, for a job that waits for a worker.
  void wake_a_worker() noexcept;
  void cancel_locked(detail::JobSlot& slot) noexcept;
  void report(const detail::JobSlot& slot, detail::ReportKind kind) noexcept;
  void add_report(std::uint32_t slot, std::uint32_t generation, detail::ReportKind kind) noexcept;

  // Workers (worker.cpp).
  void worker_main(std::uint32_t worker) noexcept;
  // With a journal and a type that is not idempotent: writes the job's
  // started record and waits until it is durable. False when it cannot.
  bool journal_started(detail::JobSlot& slot) noexcept;
  void run_job(detail::JobSlot& slot, JsonArena& arena, std::uint32_t worker) noexcept;

  // The backlog (backlog.cpp), on the loop: its oldest jobs move into the
  // queue while there is room, their submissions read back from the
  // journal. True when it handed a job to the loop itself (a report to read).
  bool promote_backlog() noexcept;

  // Completion, on the loop (completion.cpp).
  static void on_reports(void* self);
  void read_reports() noexcept;
  void handle(const detail::Report& report) noexcept;
  void end_job(detail::JobSlot& slot) noexcept;
  void run_on_loop(detail::JobSlot& slot) noexcept;
  void retire(detail::JobSlot& slot) noexcept;
  void deliver_through(detail::JobSlot& slot, JobState state) noexcept;
  // With a journal: writes the ended record of the terminal state decided
  // for the job; false when the journal could not take it (tried again).
  bool decide_terminal(detail::JobSlot& slot, JobState state) noexcept;
  // The record a status of the job in `state` waits for.
  std::uint64_t ticket_for(const detail::JobSlot& slot, JobState state) const noexcept;
  // Keeps the job's statuses through `state` until its record is durable.
  void hold(detail::JobSlot& slot, JobState state) noexcept;
  // Delivers the statuses that waited for the journal and are durable now.
  void release_held() noexcept;
  // The journal failed: drops what waits for it and stops the runtime.
  void abandon_held() noexcept;
  static void on_durable(void* self);
  JobStatusView status_view(const detail::JobSlot& slot) const noexcept;
  JobStatusView terminal_view(const detail::JobSlot& slot, JobState state) const noexcept;
  static void on_job_timer(uv_timer_t* handle);
  // Whether the job has an expires_at that passed before it started.
  static bool expired(const detail::JobSlot& slot, std::int64_t now_ms) noexcept {
    return slot.expires_ms != 0 && now_ms >= slot.expires_ms;
  }
  void wake_waiting_handlers() noexcept;

  // Lifecycle (loop.cpp).
  static void on_flush_timer(uv_timer_t* handle);
  static void on_drain_timer(uv_timer_t* handle);
  void begin_shutdown() noexcept;
  void cancel_all() noexcept;
  // With a journal: the jobs waiting for a worker are left to it, for after
  // the restart.
  void park_waiting_jobs() noexcept;
  // With a journal, at the end of the drain: every running job is asked to
  // stop (StopReason::shutdown).
  void stop_running_jobs() noexcept;
  void finish_if_done() noexcept;
  void flush_logs_and_events() noexcept;
  void close_loop_handles() noexcept;
  void stop_workers() noexcept;
  bool on_loop_thread() const noexcept { return t_running_loop_of == this; }
  // The runtime whose loop this thread is running (run() sets and clears it).
  static thread_local const Impl* t_running_loop_of;

  // Allocated once by start().
  std::unique_ptr<detail::JobTable> table_;
  std::unique_ptr<detail::Inbox> inbox_;
  std::unique_ptr<std::byte[]> arena_memory_;
  // [0] admission (table lock), [1..workers] workers, [workers + 1] jobs
  // run on the loop.
  std::unique_ptr<JsonArena[]> arenas_;
  std::unique_ptr<detail::EventRing> events_;
  // With a journal: a JobRequest written as a submission (table lock).
  std::unique_ptr<char[]> submission_scratch_;
  // Recovery: finished jobs whose terminal status the broker may not have
  // had, published again once the loop runs; and a buffer for a stored
  // status.
  std::vector<std::string> to_republish_;
  std::unique_ptr<char[]> stored_status_;
  std::size_t stored_status_bytes_ = 0;
  std::vector<std::thread> workers_;
  std::size_t result_buffer_bytes_ = 0;

  // Table lock: workers wait for jobs, and wait_until_all_jobs_finished for
  // the table to empty.
  mutable std::condition_variable work_ready_;
  mutable std::condition_variable all_finished_;
  bool accepting_ = false;     // table lock
  bool closed_ = false;        // table lock: the loop is closing, nothing more is taken
  bool workers_stop_ = false;  // table lock

  // Cancellation wakes handlers that wait in wait_for_cancel().
  std::mutex cancel_mutex_;
  std::condition_variable cancel_requested_;

  std::atomic<std::uint64_t> busy_ns_{0};  // workers: time spent in handlers
  std::uint64_t busy_ns_folded_ = 0;       // refresh_metrics
  std::int64_t last_refresh_ns_ = 0;
  std::atomic<std::uint64_t> results_too_large_{0};

  uv_timer_t flush_timer_{};
  uv_timer_t drain_timer_{};
  bool started_ = false;
  bool loop_open_ = false;
  bool ran_ = false;

  // Shutdown request (any thread) and its progress (loop).
  std::atomic<bool> shutdown_requested_{false};
  bool shutdown_drain_ = true;  // table lock
  std::chrono::milliseconds shutdown_timeout_{0};  // table lock
  bool shutdown_begun_ = false;
  bool stopped_ = false;
  std::uint32_t held_count_ = 0;  // loop: slots whose status waits for the journal
  bool journal_failed_ = false;   // loop
  bool drain_over_ = false;       // loop: stop_running_jobs ran
  std::int64_t unrecorded_end_warned_ms_ = -10'000;  // loop: decide_terminal's warning
};

}  // namespace edgerun

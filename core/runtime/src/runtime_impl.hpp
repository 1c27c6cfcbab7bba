#pragma once
// Runtime::Impl: the state behind the public Runtime and the split of work
// between threads.
//
// Locks: table_mutex_ (admission, cancel, lookup, retire; a TableLock) is
// the only lock on a job's path. Workers take jobs from the lock-free work
// queue and report to the loop through a lock-free ring each. The two other
// mutexes, the work queue's (for sleeping workers) and cancel_mutex_, may be
// taken while holding table_mutex_, never the other way round. The inbox,
// another lock-free ring, whose producers hold table_mutex_, carries what
// other threads report (a job queued by a foreign submitter, a cancel). The
// loop is the only thread that delivers statuses, runs timers and retires
// slots; it delivers a job's states in order whatever order the reports
// arrive in.

#include <uv.h>

#include <atomic>
#include <condition_variable>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "edgerun/json_arena.hpp"
#include "edgerun/ring_queue.hpp"
#include "edgerun/runtime.hpp"
#include "edgerun/stderr_log_sink.hpp"
#include "event_ring.hpp"
#include "free_list.hpp"
#include "job_ids.hpp"
#include "job_slot.hpp"
#include "loop_wake.hpp"
#include "spsc_ring.hpp"
#include "table_lock.hpp"
#include "work_queue.hpp"
#include "worker_tally.hpp"

namespace edgerun {

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
    // The loop alone ends jobs (rejections are counted by the submitter).
    std::array<Metrics::SoleWriterCounter, kJobStateCount> ended_by_state;
    std::array<MetricId, kRejectionCodeCount> rejected_by_reason;
    MetricId queue_depth, queue_capacity, queue_high_water, jobs_running, workers, worker_utilization;
    MetricId job_duration, log_dropped, log_written, events_dropped, metrics_refused, json_arena_high_water;
    MetricId results_too_large;
  };

  RuntimeConfig config_;
  uv_loop_t loop_{};
  std::uint32_t workers_count_ = 0;
  std::uint32_t slot_count_ = 0;
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

 private:
  friend class WorkerJobContext;
  struct ArenaSlab;

  // Admission (table lock held).
  SubmitResult reject(std::string_view id, ErrorCode code, std::string_view message) noexcept;
  SubmitResult admit_locked(std::string_view id, std::uint64_t hash, std::string_view type, const cJSON* params,
                            std::optional<std::uint32_t> timeout_ms, std::uint32_t& admitted) noexcept;
  SubmitResult admit_request(const JobRequest& request, std::uint32_t& admitted) noexcept;
  SubmitResult admit_json(std::string_view payload, std::uint32_t& admitted) noexcept;
  // id: at most kMaxIdLength characters (checked by admission).
  static SubmitResult accepted(std::string_view id) noexcept;
  void deliver_queued_now(std::uint32_t index) noexcept;
  // Before admission: on the loop thread with no slot free, retires the jobs
  // that have ended. Otherwise nothing.
  void make_room() noexcept;
  detail::JobIds::Found find_locked(std::string_view id, std::uint64_t hash) const noexcept;
  detail::JobSlot* find_in_flight_locked(std::string_view id, std::uint64_t hash) const noexcept;
  void cancel_slot_locked(std::uint32_t index) noexcept;
  void push_inbox(std::uint32_t slot, std::uint32_t generation, detail::InboxKind kind) noexcept;

  // Workers.
  void worker_main(std::uint32_t worker) noexcept;
  void report(std::uint32_t worker, const detail::InboxEvent& event) noexcept;
  void run_job(detail::JobSlot& slot, JsonArena& arena, std::uint32_t worker) noexcept;

  // Loop.
  static void on_wake(uv_async_t* handle);
  static void on_job_timer(uv_timer_t* handle);
  static void on_flush_timer(uv_timer_t* handle);
  static void on_drain_timer(uv_timer_t* handle);
  static void on_publish_prepare(uv_prepare_t* handle);
  void process_inbox() noexcept;
  static constexpr std::size_t kInboxBatch = 64;
  void handle_event(const detail::InboxEvent& event) noexcept;
  // A job's started and finished events, side by side in one batch.
  void handle_ran(const detail::InboxEvent& started) noexcept;
  // The worker is done with the job: its terminal status, then retirement.
  void end_job(detail::JobSlot& slot, std::uint32_t index) noexcept;
  std::int64_t status_ts_ms() noexcept;
  // A job's status without its state and outcome, stamped now.
  JobStatusView status_view(const detail::JobSlot& slot) noexcept;
  // Under an InboxHold, which debug builds check.
  void fan_out(const std::vector<StatusSink*>& sinks, JobStatusView& status, JobState state) noexcept;
  void deliver_through(detail::JobSlot& slot, JobState state) noexcept;
  void stop_timer(detail::JobSlot& slot) noexcept;
  // Gives the slots of the jobs in ended_ back, under one table lock.
  void retire_ended() noexcept;
  void begin_shutdown() noexcept;
  void cancel_all() noexcept;
  void finish_if_done() noexcept;
  void flush_logs_and_events() noexcept;
  void close_loop_handles() noexcept;
  void stop_workers() noexcept;
  // Asked two or three times per submission: a thread-local compare, not a
  // call for the thread's id.
  bool on_loop_thread() const noexcept { return t_running_loop_of == this; }
  // The runtime whose loop this thread is running (run() sets and clears it).
  static thread_local const Impl* t_running_loop_of;

  // Memory allocated once by start().
  std::unique_ptr<detail::JobSlot[]> slots_;
  std::unique_ptr<char[]> slot_buffers_;
  std::unique_ptr<std::byte[]> arena_memory_;
  std::unique_ptr<JsonArena[]> arenas_;  // [0] admission, [1..workers] workers
  std::unique_ptr<detail::WorkQueue> work_;
  std::unique_ptr<detail::FreeList> free_slots_;
  // Producers hold table_mutex_ (so one pushes at a time); the loop pops.
  std::unique_ptr<detail::SpscRing<detail::InboxEvent>> inbox_;
  std::vector<std::unique_ptr<detail::SpscRing<detail::InboxEvent>>> worker_rings_;
  std::unique_ptr<detail::JobIds> job_ids_;  // in flight and finished; table lock
  std::unique_ptr<detail::EventRing> events_;
  std::vector<std::thread> workers_;
  std::size_t result_buffer_bytes_ = 0;

  mutable detail::TableLock table_mutex_;
  mutable std::condition_variable_any all_finished_;
  std::uint32_t in_flight_ = 0;  // table lock
  // Free slots, mirrored outside the lock so the loop can tell cheaply when
  // it must retire ended jobs before admitting more. Written only under the
  // table lock, so a load and a store do (no locked instruction per job).
  std::atomic<std::uint32_t> free_count_{0};
  bool accepting_ = false;       // table lock

  // Cancellation wakes handlers that wait in wait_for_cancel().
  std::mutex cancel_mutex_;
  std::condition_variable cancel_requested_;

  // One per worker; refresh_metrics folds them into the metric buffer.
  std::unique_ptr<detail::WorkerTally[]> tallies_;
  detail::TallyTotals folded_;  // refresh_metrics: what it has folded so far
  std::int64_t last_refresh_ns_ = 0;
  std::atomic<std::uint64_t> results_too_large_{0};

  // Workers write the wake-up's pending flag on every report: the loop's
  // own fields after it start on a line of their own.
  uv_async_t wake_{};
  alignas(64) uv_timer_t flush_timer_{};
  uv_prepare_t publish_prepare_{};
  // Loop thread only: jobs it submitted wait in the work queue to be
  // published.
  bool publish_pending_ = false;
  uv_timer_t drain_timer_{};
  // Loop: jobs whose terminal status went out and whose worker is done, to
  // be retired (slot_count_ entries).
  std::unique_ptr<std::uint32_t[]> ended_;
  std::uint32_t ended_count_ = 0;
  // Loop: the wall clock for status timestamps, read once per loop
  // iteration (publish_prepare_ marks it stale before the loop waits) and
  // per kStampsPerClockRead statuses.
  static constexpr std::uint32_t kStampsPerClockRead = 32;
  std::int64_t now_wall_ms_ = 0;
  bool wall_clock_stale_ = true;
  std::uint32_t stamps_since_clock_ = 0;
  bool started_ = false;
  bool loop_open_ = false;
  bool ran_ = false;
  // process_inbox() does nothing while set: while it runs, and while sinks
  // hold a status view that points into a slot from anywhere else (see
  // process_inbox). Every status fan-out happens under a hold.
  bool inbox_held_ = false;
  class InboxHold {
   public:
    explicit InboxHold(Impl& impl) noexcept : impl_(impl), was_(impl.inbox_held_) { impl.inbox_held_ = true; }
    ~InboxHold() { impl_.inbox_held_ = was_; }
    InboxHold(const InboxHold&) = delete;
    InboxHold& operator=(const InboxHold&) = delete;

   private:
    Impl& impl_;
    bool was_;
  };

  // Shutdown request (any thread) and its progress (loop).
  std::atomic<bool> shutdown_requested_{false};
  bool shutdown_drain_ = true;
  std::chrono::milliseconds shutdown_timeout_{0};
  bool shutdown_begun_ = false;
  bool stopped_ = false;
};

}  // namespace edgerun

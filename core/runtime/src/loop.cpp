// The loop side: the only thread that delivers statuses, runs job timers,
// retires slots, drains the log and event rings, and carries out shutdown.
#include <uv.h>

#include <algorithm>
#include <source_location>

#include "edgerun/check.hpp"
#include "edgerun/port/clock.hpp"
#include "runtime_impl.hpp"

namespace edgerun {

using detail::InboxKind;
using detail::JobSlot;
using detail::StopReason;

thread_local const Runtime::Impl* Runtime::Impl::t_running_loop_of = nullptr;

Status Runtime::Impl::run() {
  if (!started_) return Status::error("run() before a successful start()");
  if (ran_) return Status::error("run() was called twice");
  ran_ = true;
  t_running_loop_of = this;
  Status start_failure;
  for (Component* component : components_) {
    if (Status started = component->on_start(loop_); !started) {
      log_.write(LogLevel::error, "component failed to start", {{"error", started.message()}});
      start_failure = Status::error("a component failed to start: %s", started.message());
      shutdown(false, std::chrono::milliseconds(0));
      break;
    }
  }
  uv_timer_start(&flush_timer_, &Impl::on_flush_timer, config_.log_flush_interval_ms, config_.log_flush_interval_ms);
  // A shutdown requested before run() woke nothing yet.
  if (shutdown_requested_.load()) begin_shutdown();
  uv_run(&loop_, UV_RUN_DEFAULT);
  t_running_loop_of = nullptr;
  const int rc = uv_loop_close(&loop_);
  loop_open_ = false;
  if (rc != 0) return Status::error("uv_loop_close: %s (a component left a handle open)", uv_strerror(rc));
  return start_failure;
}

void Runtime::Impl::on_wake(uv_async_t* handle) {
  auto* self = static_cast<Impl*>(handle->data);
  // The other half of wake_loop_after_publishing: libuv clears the pending
  // flag with a compare-and-swap before this callback, a full barrier on
  // x86 and ARMv7, but on aarch64 only as strong as libuv's build of it.
  // One fence per wake-up orders that clearing before the rings are read.
  detail::full_fence();
  self->process_inbox();
  if (self->shutdown_requested_.load() && !self->shutdown_begun_) self->begin_shutdown();
  self->finish_if_done();
}

void Runtime::Impl::process_inbox() noexcept {
  // Delivering a status may lead a sink to submit a job on this thread, which
  // would come back here (make_room). Inside process_inbox the outer call
  // finishes the work; inside another fan-out (a timer's `timed_out`, a
  // `queued` from submit()) the wake-up the reports came with does. Either
  // way not now: this could deliver a later status of the job the sinks are
  // hearing about, or retire it and give its slot, which the view they hold
  // points into, to a new job.
  if (inbox_held_) return;
  const InboxHold hold(*this);
  std::array<detail::InboxEvent, kInboxBatch> batch;
  for (bool more = true; more;) {
    more = false;
    // Workers' rings first, at most one batch each: a cancel decision in the
    // inbox then finds the job's `running` already delivered when the worker
    // had started it.
    for (auto& ring : worker_rings_) {
      std::size_t count = 0;
      while (count < kInboxBatch && ring->try_pop(batch[count])) ++count;
      // The batch's slots load together, not one miss after another.
      for (std::size_t i = 0; i < count; ++i) slots_[batch[i].slot].prefetch();
      for (std::size_t i = 0; i < count; ++i) {
        // Most jobs end in the batch they start in, their two events side
        // by side: handled as one, with no timer.
        if (batch[i].kind == InboxKind::started && i + 1 < count && batch[i + 1].kind == InboxKind::finished &&
            batch[i + 1].slot == batch[i].slot && batch[i + 1].generation == batch[i].generation) {
          handle_ran(batch[i]);
          ++i;
        } else {
          handle_event(batch[i]);
        }
      }
      more = more || count == kInboxBatch;
      retire_ended();
    }
    // Then the inbox, to the end: between two inbox drains at most one ring
    // batch per worker of jobs can retire and be replaced, which is what the
    // inbox's size allows for.
    for (std::size_t count = kInboxBatch; count == kInboxBatch;) {
      count = 0;
      while (count < kInboxBatch && inbox_->try_pop(batch[count])) ++count;
      for (std::size_t i = 0; i < count; ++i) handle_event(batch[i]);
      retire_ended();
    }
  }
}

void Runtime::Impl::make_room() noexcept {
  // On the loop thread, jobs that ended but are not retired yet may hold the
  // last free slots; retire them first so a burst is not refused
  // `queue_full` while the queue has room. Other threads leave it to the loop.
  if (free_count_.load(std::memory_order_relaxed) != 0 || !on_loop_thread()) return;
  process_inbox();
  // Inside a fan-out (a sink submitting), retire what has ended so far. The
  // job whose status the sinks are hearing is not among them: end_job lists a
  // job only after its terminal status went out.
  retire_ended();
}

void Runtime::Impl::on_publish_prepare(uv_prepare_t* handle) {
  auto* self = static_cast<Impl*>(handle->data);
  // The loop may now wait: the next status reads the clock afresh.
  self->wall_clock_stale_ = true;
  if (!self->publish_pending_) return;
  self->publish_pending_ = false;
  // The work queue has one producer at a time: the table lock's holder.
  std::lock_guard lock(self->table_mutex_);
  self->work_->publish();
}

void Runtime::Impl::deliver_queued_now(std::uint32_t index) noexcept {
  // Only just admitted on this thread, so nothing of the job was delivered
  // yet (its worker's reports wait in a ring for this thread). The view is
  // built from fields admission has just written, which the CPU forwards
  // from its store buffer: deliver_through would first read the slot's
  // delivery flags, a load that waits for the slot's line (perf charged it
  // most of this function at a queue of thousands).
  JobSlot& slot = slots_[index];
  slot.queued_sent = true;
  if (progress_sinks_.empty()) return;
  const InboxHold hold(*this);
  JobStatusView status = status_view(slot);
  fan_out(progress_sinks_, status, JobState::queued);
}

JobStatusView Runtime::Impl::status_view(const JobSlot& slot) noexcept {
  JobStatusView status{};
  status.id = slot.id_view();
  status.type = handler_names_[slot.handler];
  status.ts_ms = status_ts_ms();
  return status;
}

namespace {

// Debug builds only (the sanitizer builds of the tests): a check on the
// per-status path that guards ordering, not memory. Kept out of the public
// check.hpp, where its value would differ between code built with and
// without NDEBUG.
#ifdef NDEBUG
constexpr bool kDebugBuild = false;
#else
constexpr bool kDebugBuild = true;
#endif

void debug_check(bool condition, const char* what,
                 const std::source_location& where = std::source_location::current()) noexcept {
  if constexpr (kDebugBuild) check(condition, what, where);
}

}  // namespace

void Runtime::Impl::fan_out(const std::vector<StatusSink*>& sinks, JobStatusView& status, JobState state) noexcept {
  debug_check(inbox_held_, "a status fan-out outside an InboxHold");
  status.state = state;
  for (StatusSink* sink : sinks) sink->on_status(status);
}

std::int64_t Runtime::Impl::status_ts_ms() noexcept {
  // A burst of thousands of statuses would spend more time reading the clock
  // than delivering them; the cached value is at most kStampsPerClockRead
  // statuses old, and is read again after each time the loop may have waited.
  if (wall_clock_stale_ || ++stamps_since_clock_ >= kStampsPerClockRead) {
    now_wall_ms_ = port::wall_ms();
    wall_clock_stale_ = false;
    stamps_since_clock_ = 0;
  }
  return now_wall_ms_;
}

void Runtime::Impl::handle_event(const detail::InboxEvent& event) noexcept {
  JobSlot& slot = slots_[event.slot];
  // A late report for a job already retired: nothing to do.
  if (slot.generation != event.generation) return;
  switch (event.kind) {
    case InboxKind::queued:
      deliver_through(slot, JobState::queued);
      break;
    case InboxKind::started: {
      slot.ran = true;
      if (slot.terminal_delivered) break;
      deliver_through(slot, JobState::running);
      // The loop's cached clock is the same monotonic clock the worker read.
      const std::int64_t elapsed_ms = static_cast<std::int64_t>(uv_now(&loop_)) - slot.started_ns / 1'000'000;
      const std::int64_t remaining = std::max<std::int64_t>(0, std::int64_t{slot.timeout_ms} - elapsed_ms);
      uv_timer_start(&slot.timer, &Impl::on_job_timer, static_cast<std::uint64_t>(remaining), 0);
      slot.timer_armed = true;
      break;
    }
    case InboxKind::cancel_decided:
      if (!slot.terminal_delivered) {
        stop_timer(slot);
        deliver_through(slot, JobState::canceled);
      }
      break;
    case InboxKind::finished:
      // A job canceled while queued never reached a worker.
      if (slot.started_ns != 0) slot.ran = true;
      end_job(slot, event.slot);
      break;
  }
}

void Runtime::Impl::handle_ran(const detail::InboxEvent& started) noexcept {
  JobSlot& slot = slots_[started.slot];
  if (slot.generation != started.generation) return;
  slot.ran = true;
  end_job(slot, started.slot);
}

void Runtime::Impl::end_job(JobSlot& slot, std::uint32_t index) noexcept {
  stop_timer(slot);
  if (!slot.terminal_delivered) {
    switch (slot.stop.load(std::memory_order_acquire)) {
      case StopReason::canceled: deliver_through(slot, JobState::canceled); break;
      case StopReason::timed_out: deliver_through(slot, JobState::timed_out); break;
      case StopReason::none: deliver_through(slot, slot.handler_succeeded ? JobState::succeeded : JobState::failed); break;
    }
  }
  // Retired with the rest of its batch, under one table lock. A sink that
  // submits at once and finds no free slot makes submit() retire them first.
  // Its id's index line loads meanwhile (a read outside the lock is only a
  // hint to the CPU).
  job_ids_->prefetch(slot.id_hash);
  ended_[ended_count_++] = index;
}

void Runtime::Impl::stop_timer(JobSlot& slot) noexcept {
  // Most jobs end in the batch they start in and never arm a timer; the
  // timer is on a cache line of its own that they need not touch.
  if (!slot.timer_armed) return;
  uv_timer_stop(&slot.timer);
  slot.timer_armed = false;
}

void Runtime::Impl::on_job_timer(uv_timer_t* handle) {
  JobSlot& slot = *static_cast<JobSlot*>(handle->data);
  auto* self = static_cast<Impl*>(slot.runtime);
  slot.timer_armed = false;  // a one-shot timer stops itself
  if (slot.terminal_delivered) return;
  auto expected = StopReason::none;
  if (!slot.stop.compare_exchange_strong(expected, StopReason::timed_out, std::memory_order_acq_rel)) return;
  self->log_.write(LogLevel::warn, "job timed out", {{"job", slot.id_view()}});
  {
    const InboxHold hold(*self);
    self->deliver_through(slot, JobState::timed_out);
  }
  std::lock_guard lock(self->cancel_mutex_);
  self->cancel_requested_.notify_all();
}

void Runtime::Impl::deliver_through(JobSlot& slot, JobState state) noexcept {
  // States reach the loop from several queues; whatever arrives first, a
  // job's statuses go out in protocol order, each once.
  if (slot.terminal_delivered) return;
  // Progress statuses are built only when a sink takes them.
  const bool progress = !progress_sinks_.empty();
  const bool queued = !slot.queued_sent;
  slot.queued_sent = true;
  const bool running = state != JobState::queued && slot.ran && !slot.running_sent;
  slot.running_sent = slot.running_sent || running;
  const bool terminal = is_terminal(state);
  if (!terminal && !(progress && (queued || running))) return;

  // One view for every status this call delivers (a job that ran within
  // one batch gets running and its end together).
  JobStatusView status = status_view(slot);
  if (progress && queued) fan_out(progress_sinks_, status, JobState::queued);
  if (progress && running) fan_out(progress_sinks_, status, JobState::running);
  if (!terminal) return;

  if (state == JobState::succeeded) {
    status.result_json = slot.result_length == 0 ? std::string_view("{}") : std::string_view(slot.result, slot.result_length);
  }
  if (state == JobState::failed) {
    status.error_code = slot.error.code;
    status.error_message = slot.error.message_view();
    status.exit_code = slot.error.exit_code;
  }
  slot.terminal_delivered = true;
  slot.terminal_state = state;
  slot.state.store(state, std::memory_order_release);
  // Counted before the sinks hear of it: a sink may read the counter.
  builtin_.ended_by_state[static_cast<std::size_t>(state)].add();
  if (log_.enabled(LogLevel::debug)) log_.write(LogLevel::debug, "job ended", {{"job", status.id}, {"state", to_string(state)}});
  fan_out(status_sinks_, status, state);
}

// JobIds::finish copies the slot's id buffer whole.
static_assert(sizeof(JobSlot::id) >= detail::JobIds::kIdBytes);

void Runtime::Impl::retire_ended() noexcept {
  if (ended_count_ == 0) return;
  const std::int64_t now_ms = static_cast<std::int64_t>(uv_now(&loop_));
  // Plain pointers: the compiler cannot tell that the writes to slots leave
  // the members alone, and would load each again for every job.
  JobSlot* const slots = slots_.get();
  detail::JobIds& ids = *job_ids_;
  detail::FreeList& free_slots = *free_slots_;
  const std::uint32_t* const ended = ended_.get();
  const std::uint32_t count = ended_count_;
  std::lock_guard lock(table_mutex_);
  for (std::uint32_t i = 0; i < count; ++i) {
    const std::uint32_t index = ended[i];
    JobSlot& slot = slots[index];
    ids.finish(slot.id.data(), slot.id_length, slot.id_hash, index, slot.terminal_state, now_ms);
    slot.in_use = false;
    slot.queued_sent = slot.running_sent = slot.terminal_delivered = false;
    slot.ran = false;
    ++slot.generation;
    (void)free_slots.try_push(index);
  }
  free_count_.store(free_count_.load(std::memory_order_relaxed) + count, std::memory_order_relaxed);
  in_flight_ -= count;
  ended_count_ = 0;
  if (in_flight_ == 0) all_finished_.notify_all();
}

void Runtime::Impl::shutdown(bool drain, std::chrono::milliseconds timeout) noexcept {
  if (!started_) return;
  {
    // The request is published with its drain settings under the lock: the
    // loop may see it at once and read them (begin_shutdown), and must not
    // read the defaults and cancel every job instead of draining.
    std::lock_guard lock(table_mutex_);
    if (shutdown_requested_.load()) return;
    accepting_ = false;
    shutdown_drain_ = drain;
    shutdown_timeout_ = timeout;
    shutdown_requested_.store(true);
  }
  log_.write(LogLevel::info, drain ? "shutdown: draining jobs" : "shutdown: canceling jobs");
  detail::wake_loop_after_publishing(wake_);
}

void Runtime::Impl::begin_shutdown() noexcept {
  shutdown_begun_ = true;
  for (Component* component : components_) component->on_drain();
  bool drain = false;
  std::chrono::milliseconds timeout{0};
  {
    std::lock_guard lock(table_mutex_);
    drain = shutdown_drain_;
    timeout = shutdown_timeout_;
  }
  if (drain && timeout.count() > 0) {
    uv_timer_start(&drain_timer_, &Impl::on_drain_timer, static_cast<std::uint64_t>(timeout.count()), 0);
  } else {
    cancel_all();
  }
  finish_if_done();
}

void Runtime::Impl::on_drain_timer(uv_timer_t* handle) {
  auto* self = static_cast<Impl*>(handle->data);
  self->log_.write(LogLevel::warn, "shutdown: drain timeout, canceling the remaining jobs");
  self->cancel_all();
}

void Runtime::Impl::cancel_all() noexcept {
  std::lock_guard lock(table_mutex_);
  for (std::uint32_t i = 0; i < slot_count_; ++i) {
    if (slots_[i].in_use) cancel_slot_locked(i);
  }
}

void Runtime::Impl::finish_if_done() noexcept {
  if (!shutdown_begun_ || stopped_) return;
  {
    std::lock_guard lock(table_mutex_);
    if (in_flight_ != 0) return;
  }
  stopped_ = true;
  uv_timer_stop(&drain_timer_);
  stop_workers();
  log_.write(LogLevel::info, "runtime stopped");
  flush_logs_and_events();
  // Components publish their last words (offline presence) and close their
  // handles; the loop ends when every handle is closed.
  for (Component* component : components_) component->on_stop();
  close_loop_handles();
}

void Runtime::Impl::close_loop_handles() noexcept {
  auto close = [](auto* handle) {
    auto* h = reinterpret_cast<uv_handle_t*>(handle);
    if (!uv_is_closing(h)) uv_close(h, nullptr);
  };
  close(&wake_);
  close(&flush_timer_);
  close(&publish_prepare_);
  close(&drain_timer_);
  for (std::uint32_t i = 0; i < slot_count_; ++i) close(&slots_[i].timer);
}

void Runtime::Impl::on_flush_timer(uv_timer_t* handle) { static_cast<Impl*>(handle->data)->flush_logs_and_events(); }

namespace {
class LogFanout final : public LogSink {
 public:
  explicit LogFanout(const std::vector<LogSink*>& sinks) : sinks_(sinks) {}
  void write(const LogRecord& record) noexcept override {
    for (LogSink* sink : sinks_) sink->write(record);
  }

 private:
  const std::vector<LogSink*>& sinks_;
};

class EventFanout final : public EventSink {
 public:
  explicit EventFanout(const std::vector<EventSink*>& sinks) : sinks_(sinks) {}
  void on_event(const EventView& event) noexcept override {
    for (EventSink* sink : sinks_) sink->on_event(event);
  }

 private:
  const std::vector<EventSink*>& sinks_;
};
}  // namespace

void Runtime::Impl::flush_logs_and_events() noexcept {
  LogFanout logs(log_sinks_);
  log_.drain(logs);
  EventFanout events(event_sinks_);
  events_->drain(events);
}

void Runtime::Impl::refresh_metrics() noexcept {
  std::uint32_t running = 0;
  {
    std::lock_guard lock(table_mutex_);
    for (std::uint32_t i = 0; i < slot_count_; ++i) {
      if (slots_[i].in_use && slots_[i].state.load(std::memory_order_relaxed) == JobState::running) ++running;
    }
  }
  metrics_.set(builtin_.jobs_running, running);
  metrics_.set(builtin_.queue_depth, static_cast<double>(work_->size()));
  metrics_.set(builtin_.queue_high_water, static_cast<double>(work_->high_water()));
  metrics_.set(builtin_.log_dropped, static_cast<double>(log_.dropped_total()));
  metrics_.set(builtin_.log_written, static_cast<double>(log_.written_total()));
  metrics_.set(builtin_.events_dropped, static_cast<double>(events_->dropped_total()));
  metrics_.set(builtin_.metrics_refused, static_cast<double>(metrics_.refused_total()));
  metrics_.set(builtin_.results_too_large, static_cast<double>(results_too_large_.load()));
  std::size_t arena_high = 0;
  for (std::size_t i = 0; i <= workers_count_; ++i) arena_high = std::max(arena_high, arenas_[i].high_water());
  metrics_.set(builtin_.json_arena_high_water, static_cast<double>(arena_high));

  const std::int64_t now = port::monotonic_ns();
  const detail::TallyTotals totals = detail::WorkerTally::sum({tallies_.get(), workers_count_});
  const detail::TallyTotals added = totals.since(folded_);
  folded_ = totals;
  (void)metrics_.add_observations(builtin_.job_duration, added.duration_buckets,
                                  static_cast<double>(added.busy_ns) / 1e9);
  const double wall = static_cast<double>(now - last_refresh_ns_) * workers_count_;
  if (wall > 0) metrics_.set(builtin_.worker_utilization, std::min(1.0, static_cast<double>(added.busy_ns) / wall));
  last_refresh_ns_ = now;
}

}  // namespace edgerun

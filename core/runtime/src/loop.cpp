// The loop's lifecycle: run, shutdown (drain, then cancel what is left),
// flushing the log and event rings into their sinks, and the derived metrics.
#include <uv.h>

#include <algorithm>
#include <cstdio>

#include "edgerun/port/clock.hpp"
#include "runtime_impl.hpp"

namespace edgerun {

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
  // After the components started: the transport keeps what it cannot
  // publish yet in its outbox.
  if (!to_republish_.empty()) republish_stored_statuses();
  // Recovery may have left jobs in the backlog, and no report may come to
  // move them.
  if (journal_ != nullptr) (void)promote_backlog();
  // A shutdown requested before run() woke nothing yet.
  if (shutdown_requested_.load()) begin_shutdown();
  uv_run(&loop_, UV_RUN_DEFAULT);
  t_running_loop_of = nullptr;
  const int rc = uv_loop_close(&loop_);
  loop_open_ = false;
  if (rc != 0) return Status::error("uv_loop_close: %s (a component left a handle open)", uv_strerror(rc));
  if (start_failure.ok() && journal_failed_) {
    return Status::error("the journal failed (a write or fsync error): stopped so that a restart recovers it");
  }
  return start_failure;
}

void Runtime::Impl::shutdown(bool drain, std::chrono::milliseconds timeout) noexcept {
  if (!started_) return;
  {
    // The request is published with its drain settings under the lock: the
    // loop may see it at once and read them (begin_shutdown), and must not
    // read the defaults and cancel every job instead of draining.
    std::lock_guard lock(table_->mutex());
    if (shutdown_requested_.load()) return;
    accepting_ = false;
    shutdown_drain_ = drain;
    shutdown_timeout_ = timeout;
    shutdown_requested_.store(true);
  }
  log_.write(LogLevel::info, drain ? "shutdown: draining jobs" : "shutdown: canceling jobs");
  inbox_->wake();
}

void Runtime::Impl::begin_shutdown() noexcept {
  shutdown_begun_ = true;
  for (Component* component : components_) component->on_drain();
  bool drain = false;
  std::chrono::milliseconds timeout{0};
  {
    std::lock_guard lock(table_->mutex());
    drain = shutdown_drain_;
    timeout = shutdown_timeout_;
  }
  if (journal_ != nullptr) park_waiting_jobs();
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
  if (journal_ != nullptr) {
    stop_running_jobs();
    return;
  }
  std::lock_guard lock(table_->mutex());
  for (std::uint32_t i = 0; i < table_->slot_count(); ++i) {
    if (table_->slot(i).in_use) cancel_locked(table_->slot(i));
  }
}

// The jobs waiting in the queue and in the backlog.
void Runtime::Impl::park_waiting_jobs() noexcept {
  std::uint32_t parked = 0;
  {
    std::lock_guard lock(table_->mutex());
    for (std::uint32_t i = 0; i < table_->slot_count(); ++i) {
      detail::JobSlot& slot = table_->slot(i);
      if (!slot.in_use || !table_->remove_waiting(slot)) continue;
      // Loop thread: end_job reads it when the report below arrives.
      slot.parked = true;
      report(slot, detail::ReportKind::finished);
      ++parked;
    }
  }
  if (parked != 0) {
    char count[16];
    std::snprintf(count, sizeof count, "%u", parked);
    log_.write(LogLevel::info, "shutdown: queued jobs stay in the journal for the restart", {{"jobs", count}});
  }
}

void Runtime::Impl::stop_running_jobs() noexcept {
  drain_over_ = true;
  park_waiting_jobs();
  {
    std::lock_guard lock(table_->mutex());
    for (std::uint32_t i = 0; i < table_->slot_count(); ++i) {
      detail::JobSlot& slot = table_->slot(i);
      if (!slot.in_use || slot.parked) continue;
      auto expected = detail::StopReason::none;
      if (!slot.stop.compare_exchange_strong(expected, detail::StopReason::shutdown, std::memory_order_acq_rel)) {
        continue;
      }
      // An idempotent job runs again after the restart; any other ends
      // failed/interrupted (end_job) once its handler has returned.
      if (handler_options_[slot.handler].idempotent && !slot.terminal_decided) slot.parked = true;
    }
    wake_waiting_handlers();
  }
  // A job whose end the disk had no room to record (a full disk) ends here
  // without a status, or the stop would wait for space: its accepted (and
  // started) records make the restart run it again or end it interrupted.
  for (std::uint32_t i = 0; i < table_->slot_count(); ++i) {
    detail::JobSlot& slot = table_->slot(i);
    if (!slot.held || slot.terminal_decided || !is_terminal(slot.held_state)) continue;
    slot.held = false;
    --held_count_;
    slot.parked = true;
    if (slot.retire_pending) retire(slot);
  }
}

void Runtime::Impl::finish_if_done() noexcept {
  if (!shutdown_begun_ || stopped_) return;
  {
    std::lock_guard lock(table_->mutex());
    if (table_->in_flight() != 0) return;
    // A drain with a journal takes jobs for the restart until here: the
    // loop that would record their `queued` is closing.
    closed_ = true;
  }
  stopped_ = true;
  uv_timer_stop(&drain_timer_);
  // Its wake-ups would reach an inbox about to close.
  if (journal_ != nullptr) journal_->set_on_durable(nullptr, nullptr);
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
  inbox_->close();
  close(&flush_timer_);
  close(&drain_timer_);
  for (std::uint32_t i = 0; i < table_->slot_count(); ++i) close(&table_->slot(i).timer);
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
  std::uint32_t waiting = 0;
  std::uint32_t high_water = 0;
  std::uint32_t backlog = 0;
  std::uint32_t backlog_high_water = 0;
  {
    std::lock_guard lock(table_->mutex());
    for (std::uint32_t i = 0; i < table_->slot_count(); ++i) {
      const detail::JobSlot& slot = table_->slot(i);
      if (slot.in_use && slot.state.load(std::memory_order_relaxed) == JobState::running) ++running;
    }
    waiting = table_->waiting();
    high_water = table_->waiting_high_water();
    backlog = table_->backlog();
    backlog_high_water = table_->backlog_high_water();
  }
  metrics_.set(builtin_.jobs_running, running);
  metrics_.set(builtin_.queue_depth, waiting);
  metrics_.set(builtin_.queue_high_water, high_water);
  metrics_.set(builtin_.log_dropped, static_cast<double>(log_.dropped_total()));
  metrics_.set(builtin_.log_written, static_cast<double>(log_.written_total()));
  metrics_.set(builtin_.events_dropped, static_cast<double>(events_->dropped_total()));
  metrics_.set(builtin_.metrics_refused, static_cast<double>(metrics_.refused_total()));
  metrics_.set(builtin_.results_too_large, static_cast<double>(results_too_large_.load()));
  {
    std::lock_guard lock(table_->mutex());
    metrics_.set(builtin_.finished_ids_evicted, static_cast<double>(table_->finished_ids_evicted_early()));
  }
  if (journal_ != nullptr) {
    const JournalStats journal = journal_->stats();
    metrics_.set(builtin_.journal_bytes, static_cast<double>(journal.file_bytes));
    metrics_.set(builtin_.journal_sequence, static_cast<double>(journal_->head().sequence));
    metrics_.set(builtin_.journal_syncs, static_cast<double>(journal.syncs));
    metrics_.set(builtin_.journal_append_failures, static_cast<double>(journal.append_failures));
    metrics_.set(builtin_.journal_rewrites, static_cast<double>(journal.rewrites));
    metrics_.set(builtin_.journal_pending, static_cast<double>(journal.pending));
    metrics_.set(builtin_.journal_failed, journal.failed ? 1 : 0);
    metrics_.set(builtin_.backlog_depth, backlog);
    metrics_.set(builtin_.backlog_high_water, backlog_high_water);
  }
  std::size_t arena_high = 0;
  for (std::size_t i = 0; i <= workers_count_ + 1; ++i) arena_high = std::max(arena_high, arenas_[i].high_water());
  metrics_.set(builtin_.json_arena_high_water, static_cast<double>(arena_high));

  const std::int64_t now = port::monotonic_ns();
  const std::uint64_t busy = busy_ns_.load(std::memory_order_relaxed);
  const double wall = static_cast<double>(now - last_refresh_ns_) * workers_count_;
  if (wall > 0) {
    metrics_.set(builtin_.worker_utilization, std::min(1.0, static_cast<double>(busy - busy_ns_folded_) / wall));
  }
  busy_ns_folded_ = busy;
  last_refresh_ns_ = now;
}

}  // namespace edgerun

// The loop's side of a job: it reads the reports in the inbox, delivers each
// job's statuses in protocol order (queued, running, one terminal status),
// runs job timeouts, and retires a job once its terminal status went out and
// its worker is done.
#include <uv.h>

#include <algorithm>

#include "edgerun/port/clock.hpp"
#include "runtime_impl.hpp"

namespace edgerun {

using detail::JobSlot;
using detail::Report;
using detail::ReportKind;
using detail::StopReason;

void Runtime::Impl::on_reports(void* self_pointer) {
  auto* self = static_cast<Impl*>(self_pointer);
  self->read_reports();
  if (self->held_count_ != 0) {
    self->release_held();
  } else if (self->journal_ != nullptr && !self->journal_failed_ && self->journal_->failed()) {
    // Nothing waits, but nothing more can be promised: stop all the same.
    self->abandon_held();
  }
  // Room the jobs that ended freed: the backlog moves up. What it hands to
  // the loop itself is read at once.
  if (self->journal_ != nullptr && self->promote_backlog()) self->read_reports();
  if (self->shutdown_requested_.load() && !self->shutdown_begun_) self->begin_shutdown();
  self->finish_if_done();
}

void Runtime::Impl::read_reports() noexcept {
  // Until the inbox is empty: a sink that submits or cancels adds reports as
  // it goes, and those made on the loop thread send no wake-up, so a report
  // left behind here would wait for the next timer.
  std::array<Report, 64> batch;
  for (;;) {
    const std::size_t count = inbox_->take(batch);
    if (count == 0) return;
    for (std::size_t i = 0; i < count; ++i) handle(batch[i]);
  }
}

void Runtime::Impl::handle(const Report& report) noexcept {
  JobSlot& slot = table_->slot(report.slot);
  // A late report about a job already retired: nothing to do.
  if (slot.generation != report.generation) return;
  switch (report.kind) {
    case ReportKind::queued:
      if (!progress_sinks_.empty()) deliver_through(slot, JobState::queued);
      if (slot.expires_ms != 0 && !slot.ran && !slot.terminal_delivered) {
        // Until a worker reports the start (which arms the timeout in its
        // place), the job's timer is its expiry.
        const std::int64_t left = std::max<std::int64_t>(0, slot.expires_ms - static_cast<std::int64_t>(uv_now(&loop_)));
        uv_timer_start(&slot.timer, &Impl::on_job_timer, static_cast<std::uint64_t>(left), 0);
      }
      break;
    case ReportKind::started: {
      slot.ran = true;
      if (slot.terminal_delivered) break;
      deliver_through(slot, JobState::running);
      // The timeout counts from the start the worker read, on the same
      // monotonic clock as the loop's.
      const std::int64_t elapsed_ms = static_cast<std::int64_t>(uv_now(&loop_)) - slot.started_ns / 1'000'000;
      const std::int64_t remaining = std::max<std::int64_t>(0, std::int64_t{slot.timeout_ms} - elapsed_ms);
      uv_timer_start(&slot.timer, &Impl::on_job_timer, static_cast<std::uint64_t>(remaining), 0);
      break;
    }
    case ReportKind::cancel_decided:
      if (!slot.terminal_delivered) {
        uv_timer_stop(&slot.timer);
        deliver_through(slot, JobState::canceled);
      }
      break;
    case ReportKind::finished:
      // A job canceled while queued never reached a worker.
      if (slot.started_ns != 0) slot.ran = true;
      end_job(slot);
      break;
    case ReportKind::run_on_loop:
      run_on_loop(slot);
      break;
    case ReportKind::left_for_restart: {
      // Unless a cancel took it first, it ends without a status but
      // `queued`, and runs after the restart.
      bool left = false;
      {
        std::lock_guard lock(table_->mutex());
        left = table_->remove_waiting(slot);
      }
      if (!left) break;
      slot.parked = true;
      end_job(slot);
      break;
    }
  }
}

void Runtime::Impl::run_on_loop(JobSlot& slot) noexcept {
  // Canceled or expired before its turn: it ends without running.
  auto queued = JobState::queued;
  if (expired(slot, port::monotonic_ms())) {
    slot.error = JobError::make(ErrorCode::expired, "the job was not started before its expires_at");
  } else if (slot.stop.load(std::memory_order_acquire) == StopReason::none &&
      slot.state.compare_exchange_strong(queued, JobState::running, std::memory_order_acq_rel)) {
    slot.started_ns = port::monotonic_ns();
    slot.ran = true;
    run_job(slot, arenas_[workers_count_ + 1], workers_count_);
    const std::int64_t ran_ns = port::monotonic_ns() - slot.started_ns;
    metrics_.observe(builtin_.job_duration, static_cast<double>(ran_ns) / 1e9);
  }
  end_job(slot);
}

void Runtime::Impl::end_job(JobSlot& slot) noexcept {
  uv_timer_stop(&slot.timer);
  if (slot.parked) {
    // A shutdown leaves it to the journal: no status, it runs after the
    // restart. A `queued` that waits for its record goes out first.
    if (slot.held && !is_terminal(slot.held_state)) {
      slot.retire_pending = true;
      return;
    }
    retire(slot);
    return;
  }
  if (!slot.terminal_delivered) {
    switch (slot.stop.load(std::memory_order_acquire)) {
      case StopReason::canceled: deliver_through(slot, JobState::canceled); break;
      case StopReason::timed_out: deliver_through(slot, JobState::timed_out); break;
      case StopReason::shutdown:
        slot.error = JobError::make(ErrorCode::interrupted, "the runtime stopped while the job ran");
        slot.handler_succeeded = false;
        deliver_through(slot, JobState::failed);
        break;
      case StopReason::none: deliver_through(slot, slot.handler_succeeded ? JobState::succeeded : JobState::failed); break;
    }
  }
  // Past the drain, a job whose end the disk has no room to record ends
  // without a status (stop_running_jobs says why).
  if (drain_over_ && slot.held && !slot.terminal_decided) {
    slot.held = false;
    --held_count_;
    slot.parked = true;
  }
  // Its terminal status waits for the journal: the slot retires after;
  // unless the journal failed meanwhile (abandon_held), which parks it.
  if (!slot.terminal_delivered && !slot.parked) {
    slot.retire_pending = true;
    return;
  }
  retire(slot);
}

void Runtime::Impl::retire(JobSlot& slot) noexcept {
  if (slot.held) --held_count_;
  // A job left in the journal for the restart is remembered as queued: a
  // resubmission is a duplicate, and a cancel is recorded for the restart.
  const JobState remembered = slot.parked ? JobState::queued : slot.terminal_state;
  slot.queued_sent = slot.running_sent = slot.terminal_delivered = slot.ran = false;
  slot.terminal_decided = slot.held = slot.retire_pending = slot.parked = false;
  std::lock_guard lock(table_->mutex());
  table_->retire(slot, remembered, port::monotonic_ms());
  if (table_->in_flight() == 0) all_finished_.notify_all();
}

JobStatusView Runtime::Impl::status_view(const JobSlot& slot) const noexcept {
  JobStatusView status{};
  status.id = slot.id_view();
  status.type = handler_names_[slot.handler];
  status.ts_ms = port::wall_ms();
  return status;
}

JobStatusView Runtime::Impl::terminal_view(const JobSlot& slot, JobState state) const noexcept {
  JobStatusView status = status_view(slot);
  status.state = state;
  // Published as the journal stored it, so that publishing it again after
  // a restart or for a duplicate says exactly the same.
  if (slot.terminal_decided) status.ts_ms = slot.terminal_ts_ms;
  if (state == JobState::succeeded) {
    status.result_json = slot.result_length == 0 ? std::string_view("{}") : std::string_view(slot.result, slot.result_length);
  }
  if (state == JobState::failed) {
    status.error_code = slot.error.code;
    status.error_message = slot.error.message_view();
    status.exit_code = slot.error.exit_code;
  }
  return status;
}

bool Runtime::Impl::decide_terminal(JobSlot& slot, JobState state) noexcept {
  int error = 0;
  const JobStatusView status = terminal_view(slot, state);
  const std::uint64_t ticket = journal_->ended(status, error);
  if (ticket == 0) {
    // A full or failing disk: the status waits, and the record is tried
    // again on the next release (every loop iteration). Said once in a
    // while, not at every try.
    const std::int64_t now = port::monotonic_ms();
    if (now - unrecorded_end_warned_ms_ >= 10'000) {
      unrecorded_end_warned_ms_ = now;
      log_.write(LogLevel::warn, "journal: cannot record a job's end (disk full?); its status waits",
                 {{"job", slot.id_view()}});
    }
    return false;
  }
  slot.terminal_decided = true;
  slot.terminal_state = state;
  slot.terminal_ts_ms = status.ts_ms;
  slot.ended_ticket = ticket;
  return true;
}

void Runtime::Impl::deliver_through(JobSlot& slot, JobState state) noexcept {
  // Reports arrive in order, but a cancel or a timeout may end a job before
  // its worker reports: whatever comes first, a job's statuses go out in
  // protocol order, each once.
  if (slot.terminal_delivered) return;
  if (journal_ != nullptr) {
    // The first terminal state decided is the job's: the one its ended
    // record holds.
    if (slot.terminal_decided) {
      if (is_terminal(state)) state = slot.terminal_state;
    } else if (is_terminal(state) && !decide_terminal(slot, state)) {
      hold(slot, state);
      if (journal_->failed()) abandon_held();
      return;
    }
    if (!journal_->is_durable(ticket_for(slot, state))) {
      // Nothing is heard of before its record is on disk.
      hold(slot, state);
      if (journal_->failed()) abandon_held();
      return;
    }
  }
  const bool progress = !progress_sinks_.empty();
  const bool queued = !slot.queued_sent;
  slot.queued_sent = true;
  const bool running = state != JobState::queued && slot.ran && !slot.running_sent;
  slot.running_sent = slot.running_sent || running;
  const bool terminal = is_terminal(state);
  if (!terminal && !(progress && (queued || running))) return;

  JobStatusView status = status_view(slot);
  const auto fan_out = [&status](const std::vector<StatusSink*>& sinks, JobState to) {
    status.state = to;
    for (StatusSink* sink : sinks) sink->on_status(status);
  };
  if (progress && queued) fan_out(progress_sinks_, JobState::queued);
  if (progress && running) fan_out(progress_sinks_, JobState::running);
  if (!terminal) return;

  status = terminal_view(slot, state);
  slot.terminal_delivered = true;
  slot.terminal_state = state;
  slot.state.store(state, std::memory_order_release);
  // Counted before the sinks hear of it: a sink may read the counter.
  metrics_.add(builtin_.jobs_by_state[static_cast<std::size_t>(state)]);
  if (log_.enabled(LogLevel::debug)) log_.write(LogLevel::debug, "job ended", {{"job", status.id}, {"state", to_string(state)}});
  fan_out(status_sinks_, state);
}

std::uint64_t Runtime::Impl::ticket_for(const JobSlot& slot, JobState state) const noexcept {
  // Loop thread: started_ticket is read only once the worker's `started`
  // report was (slot.ran), which it wrote before making that report.
  if (slot.terminal_decided) return slot.ended_ticket;
  if (state != JobState::queued && slot.ran && slot.started_ticket != 0) return slot.started_ticket;
  return slot.accepted_ticket;
}

void Runtime::Impl::hold(JobSlot& slot, JobState state) noexcept {
  if (!slot.held) {
    ++held_count_;
    slot.held = true;
    slot.held_state = state;
  } else if (!is_terminal(slot.held_state) || is_terminal(state)) {
    slot.held_state = state;
  }
}

void Runtime::Impl::release_held() noexcept {
  if (journal_->failed()) {
    abandon_held();
    return;
  }
  for (std::uint32_t i = 0; i < table_->slot_count() && held_count_ != 0; ++i) {
    JobSlot& slot = table_->slot(i);
    if (!slot.held) continue;
    if (slot.terminal_decided || !is_terminal(slot.held_state)) {
      if (!journal_->is_durable(ticket_for(slot, slot.held_state))) continue;
    }
    slot.held = false;
    --held_count_;
    deliver_through(slot, slot.held_state);
    if (slot.retire_pending && (slot.terminal_delivered || slot.parked)) retire(slot);
  }
}

void Runtime::Impl::abandon_held() noexcept {
  if (!journal_failed_) {
    journal_failed_ = true;
    log_.write(LogLevel::error, "journal failed: stopping; a restart recovers what the disk holds");
    shutdown(false, std::chrono::milliseconds(0));
  }
  // What waits for the journal can never be promised by this process: it
  // is not published. The restart finds each job as the disk has it.
  for (std::uint32_t i = 0; i < table_->slot_count() && held_count_ != 0; ++i) {
    JobSlot& slot = table_->slot(i);
    if (!slot.held) continue;
    slot.held = false;
    --held_count_;
    slot.parked = true;
    if (slot.retire_pending) retire(slot);
  }
}

void Runtime::Impl::on_durable(void* self) { static_cast<Impl*>(self)->inbox_->wake(); }

void Runtime::Impl::on_job_timer(uv_timer_t* handle) {
  JobSlot& slot = *static_cast<JobSlot*>(handle->data);
  auto* self = static_cast<Impl*>(slot.runtime);
  // libuv runs timers before it reads the inbox again: a job that finished
  // in time while the loop was busy must end with its result, not
  // timed_out. Reading may retire the job (the generation moves on; the
  // slot may then already hold another job, admitted on another thread).
  const std::uint32_t generation = slot.generation;
  on_reports(self);
  if (slot.generation != generation || slot.terminal_delivered || slot.terminal_decided) return;
  // libuv stops a one-shot timer before its callback: active again, it was
  // armed anew by a report just read (the worker's start turns an expiry
  // into the timeout), and this firing is stale.
  if (uv_is_active(reinterpret_cast<uv_handle_t*>(&slot.timer))) return;
  if (!slot.ran) {
    // Its expiry: a job still waiting for a worker ends without running.
    // One a worker has just taken is left to it (the worker sees the expiry
    // too), and its start report arms the timeout.
    bool taken_out = false;
    {
      std::lock_guard lock(self->table_->mutex());
      taken_out = self->table_->remove_waiting(slot);
    }
    if (!taken_out) return;
    slot.error = JobError::make(ErrorCode::expired, "the job was not started before its expires_at");
    self->end_job(slot);
    return;
  }
  auto expected = StopReason::none;
  if (!slot.stop.compare_exchange_strong(expected, StopReason::timed_out, std::memory_order_acq_rel)) return;
  self->log_.write(LogLevel::warn, "job timed out", {{"job", slot.id_view()}});
  self->deliver_through(slot, JobState::timed_out);
  self->wake_waiting_handlers();
}

}  // namespace edgerun

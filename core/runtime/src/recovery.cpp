// Recovery from the journal, in start(): every job the journal holds is put
// back where it was, before any worker or component starts.
//   - Accepted, not started (or of an idempotent type): queued again, in
//     the journal's order.
//   - Started and not idempotent: ends failed/interrupted.
//   - A cancel had arrived: ends canceled.
//   - Ended: its id stays known, so a resubmission is a duplicate.
#include <cjson/cJSON.h>

#include <cstdio>

#include "copy_cut.hpp"
#include "edgerun/codec.hpp"
#include "edgerun/port/clock.hpp"
#include "runtime_impl.hpp"

namespace edgerun {

using detail::JobSlot;
using detail::PayloadKind;
using detail::ReportKind;
using detail::StopReason;

class Runtime::Impl::Recovery final : public JournalRecovery {
 public:
  explicit Recovery(Impl& runtime) : runtime_(runtime) {}

  void pending(std::string_view id, std::string_view submission, bool started, bool cancel_requested,
               std::uint64_t ticket) noexcept override {
    StopReason stop = StopReason::none;
    bool interrupted = false;
    if (cancel_requested) {
      stop = StopReason::canceled;
    } else if (started) {
      interrupted = true;  // unless its type is idempotent (admit_recovered)
    }
    const SubmitResult result = runtime_.admit_recovered(submission, ticket, stop, interrupted);
    if (result.accepted) {
      ++requeued_;
      return;
    }
    ++left_;
    runtime_.log_.write(LogLevel::error, "journal: a job could not be recovered; it stays in the journal",
                        {{"job", id}, {"reason", result.message_view()}});
  }

  void finished(std::string_view id, JobState state, bool status_acked) noexcept override {
    {
      std::lock_guard lock(runtime_.table_->mutex());
      runtime_.table_->remember_finished(id, state, port::monotonic_ms());
    }
    ++finished_;
    // Published from the loop once it runs (republish_stored_statuses).
    if (!status_acked) runtime_.to_republish_.emplace_back(id);
  }

  void log_summary() const noexcept {
    char requeued[16], finished[16], left[16];
    std::snprintf(requeued, sizeof requeued, "%u", requeued_);
    std::snprintf(finished, sizeof finished, "%u", finished_);
    std::snprintf(left, sizeof left, "%u", left_);
    runtime_.log_.write(LogLevel::info, "journal recovered",
                        {{"jobs", requeued}, {"finished_ids", finished}, {"not_recovered", left}});
  }

 private:
  Impl& runtime_;
  std::uint32_t requeued_ = 0;
  std::uint32_t finished_ = 0;
  std::uint32_t left_ = 0;
};

void Runtime::Impl::republish_stored_statuses() noexcept {
  // The statuses the broker may never have had, oldest first, as they were
  // published.
  for (const std::string& id : to_republish_) {
    const std::size_t length = journal_->stored_status(id, {stored_status_.get(), stored_status_bytes_});
    if (length == 0) continue;
    for (StatusSink* sink : status_sinks_) sink->on_stored_status(id, {stored_status_.get(), length});
  }
  to_republish_.clear();
  to_republish_.shrink_to_fit();
}

Status Runtime::Impl::recover_from_journal() {
  journal_->set_on_durable(&Impl::on_durable, this);
  Recovery recovery(*this);
  stored_status_bytes_ = config_.max_result_bytes + 2048;
  stored_status_.reset(new char[stored_status_bytes_]);
  if (Status recovered = journal_->recover(recovery); !recovered) return recovered;
  recovery.log_summary();
  return {};
}

SubmitResult Runtime::Impl::admit_recovered(std::string_view submission, std::uint64_t ticket, StopReason stop,
                                            bool interrupted) noexcept {
  SubmitResult result;
  Admitted admitted;
  {
    std::lock_guard lock(table_->mutex());
    const ScopedJsonArena scope(arenas_[0]);
    // A journal written with a larger jobs.max_payload_bytes may hold a
    // larger submission than a slot takes now: decode_submission says so.
    const DecodedSubmission decoded = decode_submission(submission, config_.max_payload_bytes);
    if (decoded.error) {
      detail::copy_cut(result.message, decoded.message);
      return result;
    }
    const bool has_params = decoded.params != nullptr && decoded.params->child != nullptr;
    result = admit_locked({.id = decoded.id,
                           .type = decoded.type,
                           .timeout_ms = decoded.timeout_ms,
                           .expires_at_ms = decoded.expires_at_ms,
                           .kind = has_params ? PayloadKind::submission : PayloadKind::none,
                           .payload = submission,
                           .submission = submission,
                           .journaled = ticket},
                          admitted);
    if (!result.accepted) return result;
    JobSlot& slot = table_->slot(admitted.slot);
    const HandlerOptions& options = handler_options_[slot.handler];
    if (interrupted && (options.idempotent || options.runs_on_loop)) interrupted = false;
    // admit_locked queued it (and reported so); one that ends without
    // running is taken out of the queue again and its end reported. A job
    // for the loop sees the stop when its turn comes.
    if (stop == StopReason::none && !interrupted) return result;
    (void)table_->remove_waiting(slot);
    if (interrupted) {
      slot.error = JobError::make(ErrorCode::interrupted, "the runtime restarted while the job ran");
    } else {
      slot.stop.store(stop, std::memory_order_release);
    }
    add_report(admitted.slot, admitted.generation, ReportKind::finished);
  }
  return result;
}

}  // namespace edgerun

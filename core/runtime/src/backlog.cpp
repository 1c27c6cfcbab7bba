// The backlog: with a journal, jobs accepted beyond the queue's capacity
// wait in the journal alone (a slot without buffers holds their id and
// state), up to journal.max_pending jobs. As room frees, the oldest move
// into the queue, their submissions read back from the journal.
#include "edgerun/port/clock.hpp"
#include "runtime_impl.hpp"

namespace edgerun {

using detail::JobSlot;
using detail::PayloadKind;
using detail::ReportKind;

bool Runtime::Impl::promote_backlog() noexcept {
  bool for_loop = false;  // a report the loop made itself, to read
  std::uint32_t for_workers = 0;
  {
    std::lock_guard lock(table_->mutex());
    // In a drain the backlog stays in the journal, for the restart.
    if (!accepting_ || table_->backlog() == 0) return false;
    const auto runs_on_loop = [this](const JobSlot& slot) { return handler_options_[slot.handler].runs_on_loop; };
    const std::int64_t now_ms = port::monotonic_ms();
    while (JobSlot* slot = table_->take_from_backlog(runs_on_loop)) {
      if (expired(*slot, now_ms)) {
        // Its expiry timer has not run yet: it ends without being read back.
        slot->error = JobError::make(ErrorCode::expired, "the job was not started before its expires_at");
        report(*slot, ReportKind::finished);
        for_loop = true;
        continue;
      }
      if (slot->payload_kind != PayloadKind::none) {
        // A read of a record written moments ago, from the page cache; the
        // table lock keeps a cancel from seeing the job half moved.
        const std::size_t length = journal_->submission(slot->id_view(), {slot->payload, config_.max_payload_bytes});
        if (length == 0) {
          slot->error = JobError::make(ErrorCode::interrupted, "the journal could not read the job back");
          report(*slot, ReportKind::finished);
          for_loop = true;
          continue;
        }
        slot->payload_length = static_cast<std::uint32_t>(length);
      }
      if (runs_on_loop(*slot)) {
        report(*slot, ReportKind::run_on_loop);
        for_loop = true;
        continue;
      }
      table_->enqueue(*slot);
      ++for_workers;
    }
  }
  if (for_workers == 1) {
    wake_a_worker();
  } else if (for_workers > 1) {
    work_ready_.notify_all();
  }
  return for_loop;
}

}  // namespace edgerun

#pragma once
// What the runtime writes ahead of what a job does, so that a job it has
// taken survives SIGKILL, a crash, a power cut or a restart. The runtime
// calls it; edgerun_journal (core/journal) implements it over a file in
// state_dir, and a firmware may bring its own.
//
// The rule the runtime keeps with it: nothing becomes visible or
// irreversible before the record that allows it is durable.
//   - A job's accepted record comes before its `queued` status.
//   - Its started record comes before a handler that is not idempotent
//     (HandlerOptions::idempotent) runs; the worker waits for it.
//   - Its ended record comes before its terminal status.
// A status waits on the loop, never blocking it, until is_durable() says so.

#include <array>
#include <cstdint>
#include <span>
#include <string_view>

#include "edgerun/job_state.hpp"
#include "edgerun/status.hpp"
#include "edgerun/status_view.hpp"

namespace edgerun {

// Handed the journal's jobs at start-up, oldest first (the runtime
// implements it).
class JournalRecovery {
 public:
  virtual ~JournalRecovery() = default;
  // A job accepted and not ended: `submission` as received. `started`: a
  // handler had begun to run it; `cancel_requested`: a cancel had arrived.
  // `ticket` is its accepted record.
  virtual void pending(std::string_view id, std::string_view submission, bool started, bool cancel_requested,
                       std::uint64_t ticket) noexcept = 0;
  // A job that ended, remembered so that its id stays a duplicate.
  // `status_acked`: the broker took its terminal status; when it did not
  // (or it is not known), the stored status is published again.
  virtual void finished(std::string_view id, JobState state, bool status_acked) noexcept = 0;
};

// The chain head (the last record's sequence and SHA-256, in hex) and what
// the journal counts, for metrics and the presence message.
struct JournalHead {
  std::uint64_t sequence = 0;
  std::array<char, 65> hash_hex{};
};
struct JournalStats {
  std::uint64_t file_bytes = 0;
  std::uint64_t syncs = 0;
  std::uint64_t append_failures = 0;  // a full or failing disk
  std::uint64_t rewrites = 0;
  std::uint64_t pending = 0;           // jobs accepted and not ended
  std::uint64_t finished_evicted = 0;  // finished ids forgotten for room
  bool failed = false;
};

class JobJournal {
 public:
  // A record, for is_durable() and wait_durable(); 0 means none was written.
  using Ticket = std::uint64_t;

  virtual ~JobJournal() = default;

  // Start-up, on the thread that calls Runtime::start(), before any
  // component starts (so before the transport connects). Reads the journal,
  // repairs it (a torn last record, a damaged file moved aside), hands its
  // jobs to `recovery` and opens it for appending. An error stops start-up.
  virtual Status recover(JournalRecovery& recovery) = 0;
  // Called (on any thread) each time records become durable, or the journal
  // fails; the runtime wakes its loop with it. Before recover().
  virtual void set_on_durable(void (*callback)(void* context), void* context) noexcept = 0;

  // Any thread. Each returns the record's ticket, or 0 with `error` set
  // (ENOSPC: the disk is full; EIO: the journal failed; ENOBUFS, from
  // accepted(): max_pending jobs are pending) when it could not be written:
  // the runtime then refuses the job (`unavailable`, or `queue_full` for
  // ENOBUFS) or holds what the record would allow.
  virtual Ticket accepted(std::string_view id, std::string_view submission, int& error) noexcept = 0;
  virtual Ticket started(std::string_view id, int& error) noexcept = 0;
  virtual Ticket cancel_requested(std::string_view id, int& error) noexcept = 0;
  virtual Ticket ended(const JobStatusView& status, int& error) noexcept = 0;
  // The broker acknowledged the job's terminal status. Not waited for: a
  // record lost to a crash only means the status is published once more.
  virtual void status_acked(std::string_view id) noexcept = 0;

  // Any thread: whether the record and every one before it is on disk.
  virtual bool is_durable(Ticket ticket) const noexcept = 0;
  // A worker: waits until `ticket` is durable; false when the journal
  // failed or closed first.
  virtual bool wait_durable(Ticket ticket) noexcept = 0;

  // Any thread: the journal cannot write or sync any more (a failed fsync):
  // nothing more can be promised, so the runtime stops, and a restart
  // recovers what the disk holds.
  virtual bool failed() const noexcept = 0;

  // Jobs accepted and not ended it follows at most: accepted() refuses one
  // more with ENOBUFS. The runtime keeps those beyond its queue in the
  // journal alone (its backlog), and reads them back with submission().
  virtual std::uint32_t max_pending() const noexcept = 0;
  // Loop thread: copies the submission of the pending job `id`, as
  // accepted() took it, into `out`; its length, or 0 when the job is not
  // pending, cannot be read or does not fit.
  virtual std::size_t submission(std::string_view id, std::span<char> out) noexcept = 0;

  // Loop thread: copies the terminal status stored for the finished job
  // `id` (as it was published) into `out`; its length, or 0 when none is
  // kept or it does not fit.
  virtual std::size_t stored_status(std::string_view id, std::span<char> out) noexcept = 0;

  // Any thread.
  virtual JournalHead head() const noexcept = 0;
  virtual JournalStats stats() const noexcept = 0;

  // After the loop ended: syncs what was appended and closes.
  virtual void close() noexcept = 0;
};

}  // namespace edgerun

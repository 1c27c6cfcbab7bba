// Recovery at start-up: the journal is read into the index, repaired (a torn
// last record cut, a damaged file copied aside and cut before its first bad
// record, an unreadable one moved aside), rewritten with its live records
// only, and its jobs handed to the runtime.
#include <algorithm>
#include <cerrno>
#include <cinttypes>
#include <cstdio>
#include <cstring>
#include <string>
#include <vector>

#include "edgerun/journal.hpp"
#include "edgerun/port/clock.hpp"
#include "journal_index.hpp"

namespace edgerun::journal {

namespace {

std::string number(std::uint64_t value) { return std::to_string(value); }

}  // namespace

Status Journal::read_into_index(ScanResult& scan) {
  std::uint32_t largest = 0;
  scan = scan_journal(files_, path_.c_str(), [&](const RecordView& record) {
    index_->note(record.kind, record.flags, record.id, record.sequence, record.offset, record.length, log_);
    largest = std::max(largest, record.length);
    return true;
  });
  // Written with larger jobs.max_payload_bytes or max_result_bytes than
  // now: the records are still read back and copied by rewrites.
  if (largest > read_buffer_bytes_) {
    read_buffer_bytes_ = largest;
    read_buffer_.reset(new std::byte[largest]);
    writer_.reserve_record_bytes(largest);
  }

  switch (scan.outcome) {
    case ScanOutcome::clean:
    case ScanOutcome::empty:
      return {};
    case ScanOutcome::read_error:
      return Status::error("%s: cannot read the journal: %s", path_.c_str(), std::strerror(scan.error));
    case ScanOutcome::torn_tail:
      log_.write(LogLevel::warn, "journal: a torn last record is cut off (a crash during an append)",
                 {{"file", path_}, {"offset", number(scan.bad_offset)}});
      return {};
    case ScanOutcome::unreadable: {
      // Not a journal, or one of a newer edgerund: kept for a person to
      // look at, and this one starts empty.
      const std::string aside = path_ + ".unreadable-" + number(static_cast<std::uint64_t>(port::wall_ms()));
      if (const int error = files_.rename(path_.c_str(), aside.c_str()); error != 0) {
        return Status::error("%s: unreadable (%s), and cannot be moved aside: %s", path_.c_str(), scan.reason.data(),
                             std::strerror(error));
      }
      log_.write(LogLevel::error, "journal: unreadable; moved aside, starting empty",
                 {{"file", aside}, {"reason", scan.reason.data()}, {"version", number(scan.version)}});
      scan = ScanResult{};
      return {};
    }
    case ScanOutcome::corrupt: {
      // What precedes the damage is good: the daemon goes on with it, and
      // the whole damaged file is kept aside for a person to look at.
      const std::string aside = path_ + ".damaged-" + number(scan.bad_sequence);
      if (const int error = copy_file(path_, aside); error != 0) {
        return Status::error("%s: damaged at offset %" PRIu64 ", and cannot be copied aside: %s", path_.c_str(),
                             scan.bad_offset, std::strerror(error));
      }
      log_.write(LogLevel::error, "journal: damaged record; going on with the records before it",
                 {{"file", path_},
                  {"offset", number(scan.bad_offset)},
                  {"sequence", number(scan.bad_sequence)},
                  {"reason", scan.reason.data()},
                  {"copy", aside}});
      // Opened as if torn there: cut at the last good record.
      scan.outcome = ScanOutcome::torn_tail;
      return {};
    }
  }
  return {};
}

int Journal::copy_file(const std::string& from, const std::string& to) noexcept {
  int source = -1;
  int target = -1;
  if (const int error = files_.open(from.c_str(), false, source); error != 0) return error;
  (void)files_.remove(to.c_str());
  int error = files_.open(to.c_str(), true, target);
  std::uint64_t offset = 0;
  while (error == 0) {
    std::size_t read = 0;
    error = files_.read_at(source, offset, {read_buffer_.get(), read_buffer_bytes_}, read);
    if (error != 0 || read == 0) break;
    error = files_.append(target, {read_buffer_.get(), read});
    offset += read;
  }
  if (error == 0 && options_.sync != SyncMode::none) error = files_.sync(target);
  if (target >= 0) (void)files_.close(target);
  (void)files_.close(source);
  return error;
}

Status Journal::recover(JournalRecovery& recovery) {
  if (const int error = files_.make_directory(options_.directory.c_str()); error != 0) {
    return Status::error("state_dir %s: cannot create it: %s", options_.directory.c_str(), std::strerror(error));
  }
  // A rewrite that never got in place.
  (void)files_.remove((path_ + ".new").c_str());

  struct Finished {
    std::string id;
    JobState state;
    bool acked;
  };
  struct Pending {
    std::string id;
    std::string submission;
    bool started;
    bool cancel_requested;
    Ticket ticket;
  };
  std::vector<Finished> finished;
  std::vector<Pending> pending;
  {
    std::lock_guard lock(mutex_);
    ScanResult scan;
    if (Status read = read_into_index(scan); !read) return read;
    if (Status opened = writer_.open(scan); !opened) return opened;
    // Every start begins with a file of live records only.
    if (Status rewritten = rewrite_locked(); !rewritten) return rewritten;
    if (!writer_.wait_durable(writer_.head().sequence)) {
      return Status::error("%s: cannot make the journal durable", path_.c_str());
    }
    // The jobs, as the runtime takes them: read here, handed over below
    // without the journal's lock (the runtime takes its own).
    Status failure;
    index_->for_each_live([&](Entry& entry) {
      if (entry.ended) {
        finished.push_back({std::string(entry.id_view()), entry.state, entry.acked});
        return;
      }
      std::size_t read = 0;
      RecordView record;
      if (entry.length > read_buffer_bytes_ ||
          writer_.read_at(entry.offset, {read_buffer_.get(), entry.length}, read) != 0 || read != entry.length ||
          !decode_record({read_buffer_.get(), entry.length}, record)) {
        failure = Status::error("%s: cannot read back a pending job", path_.c_str());
        return;
      }
      pending.push_back({std::string(entry.id_view()),
                         std::string(reinterpret_cast<const char*>(record.data.data()), record.data.size()),
                         entry.started, entry.cancel_requested, entry.order});
    });
    if (!failure) return failure;
  }
  for (const Finished& job : finished) recovery.finished(job.id, job.state, job.acked);
  for (const Pending& job : pending) recovery.pending(job.id, job.submission, job.started, job.cancel_requested, job.ticket);
  return {};
}

}  // namespace edgerun::journal

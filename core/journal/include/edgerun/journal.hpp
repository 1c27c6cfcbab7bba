#pragma once
// The journal of the jobs a runtime has taken, in a file of state_dir: the
// JobJournal the runtime writes ahead of what a job does (job_journal.hpp),
// over the record format of journal_record.hpp and the JournalWriter.
//
// It keeps an index of the records still needed, the live ones:
//   - a job accepted and not ended: its accepted record, and whether it
//     started or a cancel arrived;
//   - a finished job, so that its id stays a duplicate and its terminal
//     status can be published again: its ended record (the state in its
//     flags), up to `finished_ids` of them, the oldest forgotten first.
// At start-up and whenever the file passes `max_file_bytes`, the live
// records are rewritten into a new file that follows the chain, which
// replaces the old one atomically (JournalWriter::rewrite). Everything is
// allocated by the constructor.

#include <cstdint>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "edgerun/id_index.hpp"
#include "edgerun/job_journal.hpp"
#include "edgerun/journal_writer.hpp"
#include "edgerun/log_ring.hpp"
#include "edgerun/port/file.hpp"

namespace edgerun::journal {

struct JournalOptions {
  std::string directory;  // state_dir; created 0700 if missing
  SyncMode sync = SyncMode::batch;
  std::uint32_t batch_ms = 10;
  // Past this size the live records are rewritten into a new file.
  std::uint64_t max_file_bytes = 64ull << 20;
  // Jobs accepted and not ended at most: those the runtime's queue and
  // workers hold, and its backlog beyond them.
  std::uint32_t max_pending = 256;
  std::uint32_t finished_ids = 1024;
  // The largest submission and result: size the records.
  std::uint32_t max_payload_bytes = 16384;
  std::uint32_t max_result_bytes = 16384;
  // For the statuses it stores, encoded as published.
  std::string device;
};

class Journal final : public JobJournal {
 public:
  // `log` takes what recovery found (a torn record cut, a damaged file moved
  // aside); it must outlive the journal.
  Journal(port::FileSystem& files, JournalOptions options, LogRing& log);
  ~Journal() override;

  Status recover(JournalRecovery& recovery) override;
  void set_on_durable(void (*callback)(void*), void* context) noexcept override;
  Ticket accepted(std::string_view id, std::string_view submission, int& error) noexcept override;
  Ticket started(std::string_view id, int& error) noexcept override;
  Ticket cancel_requested(std::string_view id, int& error) noexcept override;
  Ticket ended(const JobStatusView& status, int& error) noexcept override;
  void status_acked(std::string_view id) noexcept override;
  bool is_durable(Ticket ticket) const noexcept override;
  bool wait_durable(Ticket ticket) noexcept override;
  bool failed() const noexcept override { return writer_.failed(); }
  std::size_t stored_status(std::string_view id, std::span<char> out) noexcept override;
  std::uint32_t max_pending() const noexcept override { return options_.max_pending; }
  std::size_t submission(std::string_view id, std::span<char> out) noexcept override;
  void close() noexcept override;

  JournalHead head() const noexcept override;
  JournalStats stats() const noexcept override;
  const std::string& path() const noexcept { return path_; }

 private:
  struct Entry;
  class Index;
  Ticket append(RecordKind kind, std::uint8_t flags, std::string_view id, std::span<const std::byte> data,
                int& error) noexcept;
  Status rewrite_locked();
  // Recovery's steps (journal_recovery.cpp).
  Status read_into_index(ScanResult& scan);
  int copy_file(const std::string& from, const std::string& to) noexcept;
  void compact_if_due() noexcept;

  port::FileSystem& files_;
  const JournalOptions options_;
  const std::string path_;
  LogRing& log_;
  JournalWriter writer_;
  std::unique_ptr<Index> index_;
  std::unique_ptr<char[]> status_buffer_;  // ended(): the encoded status
  std::size_t read_buffer_bytes_ = 0;
  std::unique_ptr<std::byte[]> read_buffer_;  // stored_status(), rewrites
  mutable std::mutex mutex_;  // the index, the buffers, appends in order
  // A rewrite's new places of the live records, applied once it succeeded
  // (a failed one leaves the old file, and the index must keep pointing
  // into it). Reserved for every entry.
  struct Relocation {
    Entry* entry;
    std::uint64_t offset;
    std::uint64_t order;
  };
  std::vector<Relocation> relocations_;
  std::uint64_t rewrites_ = 0;
  bool rewriting_ = false;
};

}  // namespace edgerun::journal

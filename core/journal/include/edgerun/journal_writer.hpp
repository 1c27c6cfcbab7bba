#pragma once
// Appending to the journal, and making it durable. Records are written with
// one write(2) each by whichever thread appends (the loop, a worker), under
// one mutex; fsync runs on a thread of its own, so the loop never waits for
// the disk. What the runtime does after a record (publish a status, run a
// handler) waits until durable_sequence() reaches that record.
//
// journal.sync picks when the sync thread runs:
//   always  as soon as a record is appended (concurrent appends share one
//           fsync);
//   batch   at most once per batch_ms, covering everything appended since the
//           last one (group commit);
//   none    never: a record counts as durable once written, and a power cut
//           may lose what the kernel had not written back.

#include <atomic>
#include <condition_variable>
#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <thread>

#include "edgerun/journal_reader.hpp"
#include "edgerun/journal_record.hpp"
#include "edgerun/port/file.hpp"
#include "edgerun/status.hpp"

namespace edgerun::journal {

enum class SyncMode : std::uint8_t { always, batch, none };
std::string_view to_string(SyncMode mode) noexcept;

struct WriterOptions {
  SyncMode sync = SyncMode::batch;
  std::uint32_t batch_ms = 10;
  // The largest record append() takes: sizes the one encode buffer.
  std::uint32_t max_record_bytes = 64 * 1024;
};

class JournalWriter {
 public:
  JournalWriter(port::FileSystem& files, std::string path, const WriterOptions& options);
  ~JournalWriter();
  JournalWriter(const JournalWriter&) = delete;
  JournalWriter& operator=(const JournalWriter&) = delete;

  // Opens the file `scanned` describes (scan_journal of the same path):
  // cuts it after its last good record, or, when there is none (no file, an
  // empty or unreadable one, which the caller has moved aside), creates it
  // with a header and a checkpoint that follows `scanned`'s chain. Starts the
  // sync thread. Before any append.
  Status open(const ScanResult& scanned);
  // Before open(): takes records of up to `bytes` (a journal written with
  // larger limits than the writer's own, which its rewrites must copy).
  void reserve_record_bytes(std::uint32_t bytes);
  // Starts a new file at `path` whose checkpoint follows the given chain
  // head: the first step of a compaction, or a journal whose file was
  // damaged and moved aside.
  Status open_new(std::uint64_t previous_sequence, const Hash& previous_hash);

  struct Head {
    std::uint64_t sequence = 0;
    Hash hash{};
  };

  // Appends records to a new file, for rewrite(): copies of live records.
  class Rewriter {
   public:
    // As append(); `offset` is where the record starts in the new file.
    std::uint64_t append(RecordKind kind, std::uint8_t flags, std::string_view id, std::span<const std::byte> data,
                         std::uint64_t& offset, int& error) noexcept;

    // Reads the file being replaced, at `offset` (the live records' place).
    int read_current(std::uint64_t offset, std::span<std::byte> out, std::size_t& read) noexcept;

   private:
    friend class JournalWriter;
    Rewriter(JournalWriter& writer, int handle) : writer_(writer), handle_(handle) {}
    JournalWriter& writer_;
    int handle_;
    std::uint64_t size_ = 0;
    Head head_{};
  };
  // Any thread. Writes a new file that follows the chain: its checkpoint,
  // then what `write_live` appends (it returns 0 or an errno), and makes it
  // the file appends go to. The sync thread then syncs it, renames it over
  // path() and syncs the directory; only then does durable_sequence() move
  // past the rewrite, so a crash before leaves the old file, whole, and
  // promises nothing the new one held. Appends wait while it writes (the
  // live records only); none waits for its syncs. Fails, changing nothing,
  // while the last rewrite is not yet renamed.
  Status rewrite(const std::function<int(Rewriter&)>& write_live);

  // Any thread. Appends one record and returns its sequence number, or 0
  // with `error` set (ENOSPC when the disk is full) after cutting the file
  // back, so a failed append leaves no half record behind.
  std::uint64_t append(RecordKind kind, std::uint8_t flags, std::string_view id, std::span<const std::byte> data,
                       int& error) noexcept;

  // Any thread. The last record the disk is known to hold.
  std::uint64_t durable_sequence() const noexcept { return durable_.load(std::memory_order_acquire); }
  bool is_durable(std::uint64_t sequence) const noexcept { return sequence <= durable_sequence(); }
  // Any thread but the loop's: waits until `sequence` is durable (or the
  // writer stops or fails). False when it stopped or failed first.
  bool wait_durable(std::uint64_t sequence) noexcept;
  // Any thread. An fsync or a write failed (not for lack of space):
  // nothing after the last good fsync is known to be on disk, appends fail
  // with EIO and nothing becomes durable again until the journal is opened
  // anew (a restart).
  bool failed() const noexcept { return failed_.load(std::memory_order_acquire); }
  // Called on the sync thread each time durable_sequence() moves, and once
  // when the writer fails. Any thread; nullptr stops the calls.
  void set_on_durable(void (*callback)(void* context), void* context) noexcept;

  // Any thread: reads the current file at `offset` (a record a caller
  // appended and noted the place of).
  int read_at(std::uint64_t offset, std::span<std::byte> out, std::size_t& read) noexcept;
  // The offset the next record appended will start at.
  std::uint64_t end_offset() const noexcept { return file_bytes(); }

  // The chain head: the last record appended.
  Head head() const noexcept;
  std::uint64_t file_bytes() const noexcept;
  std::uint64_t syncs() const noexcept { return syncs_.load(std::memory_order_relaxed); }
  std::uint64_t sync_failures() const noexcept { return sync_failures_.load(std::memory_order_relaxed); }
  std::uint64_t append_failures() const noexcept { return append_failures_.load(std::memory_order_relaxed); }
  const std::string& path() const noexcept { return path_; }

  // Syncs what was appended and stops the sync thread; appends fail after.
  void close() noexcept;

 private:
  Status start(std::uint64_t size);
  void sync_main() noexcept;
  void notify_durable() noexcept;
  // The disk failed: nothing more becomes durable (see failed()).
  void fail() noexcept;
  // Encodes a record following `head` into buffer_ and appends it to
  // `handle` (append mutex held). 0 or the errno.
  int write_record(int handle, RecordKind kind, std::uint8_t flags, std::string_view id,
                   std::span<const std::byte> data, Head& head, std::uint64_t& size) noexcept;
  // After a rewrite: the new file replaces the old one (rename, directory
  // sync) and the old handle is closed. 0 or the errno.
  int replace_file(int old_handle) noexcept;

  static std::string directory_of(const std::string& path);

  port::FileSystem& files_;
  const std::string path_;
  // path_ + ".new" and path_'s directory, made once: a rewrite allocates
  // nothing.
  const std::string temporary_path_;
  const std::string directory_;

  const WriterOptions options_;
  std::uint32_t max_record_bytes_;  // buffer_'s size
  std::unique_ptr<std::byte[]> buffer_;

  mutable std::mutex append_mutex_;  // the file's end, the head, the buffer
  int handle_ = -1;
  std::uint64_t size_ = 0;
  Head head_{};

  // The sync thread's state.
  std::mutex sync_mutex_;
  std::condition_variable sync_wanted_;
  std::condition_variable durable_moved_;
  std::uint64_t written_ = 0;  // sync_mutex_: last sequence written
  bool stopping_ = false;      // sync_mutex_
  bool sync_idle_ = false;     // sync_mutex_: the sync thread waits for a record
  int sync_handle_ = -1;       // sync_mutex_: the file the sync thread syncs
  int replaced_handle_ = -1;   // sync_mutex_: the old file of a rewrite not yet renamed
  std::atomic<std::uint64_t> durable_{0};
  std::atomic<bool> failed_{false};
  std::thread sync_thread_;
  std::mutex callback_mutex_;  // the callback, while it is set or runs
  void (*on_durable_)(void*) = nullptr;
  void* on_durable_context_ = nullptr;

  std::atomic<std::uint64_t> syncs_{0};
  std::atomic<std::uint64_t> sync_failures_{0};
  std::atomic<std::uint64_t> append_failures_{0};
};

}  // namespace edgerun::journal

#include "edgerun/journal_writer.hpp"

#include <cerrno>
#include <chrono>
#include <cstring>
#include <functional>
#include <exception>

#include "edgerun/port/clock.hpp"
#include "edgerun/port/thread.hpp"

namespace edgerun::journal {

std::string_view to_string(SyncMode mode) noexcept {
  switch (mode) {
    case SyncMode::always: return "always";
    case SyncMode::batch: return "batch";
    case SyncMode::none: return "none";
  }
  return "unknown";
}

JournalWriter::JournalWriter(port::FileSystem& files, std::string path, const WriterOptions& options)
    : files_(files),
      path_(std::move(path)),
      temporary_path_(path_ + ".new"),
      directory_(directory_of(path_)),
      options_(options),
      max_record_bytes_(options.max_record_bytes),
      // Not zeroed: its pages are touched by the records written through it.
      buffer_(new std::byte[options.max_record_bytes]) {}

void JournalWriter::reserve_record_bytes(std::uint32_t bytes) {
  if (bytes <= max_record_bytes_) return;
  buffer_.reset(new std::byte[bytes]);
  max_record_bytes_ = bytes;
}

JournalWriter::~JournalWriter() { close(); }

Status JournalWriter::open(const ScanResult& scanned) {
  // A file without a good record starts the chain afresh; a damaged one
  // (moved aside by the caller) is followed from its last good record.
  if (scanned.records == 0) return open_new(0, Hash{});
  if (scanned.outcome != ScanOutcome::clean && scanned.outcome != ScanOutcome::torn_tail) {
    return open_new(scanned.last_sequence, scanned.last_hash);
  }
  if (const int error = files_.open(path_.c_str(), false, handle_); error != 0) {
    return Status::error("%s: cannot open: %s", path_.c_str(), std::strerror(error));
  }
  if (scanned.good_end != scanned.file_bytes) {
    // A torn last record: cut it off, durably, before anything follows it.
    if (const int error = files_.truncate(handle_, scanned.good_end); error != 0) {
      return Status::error("%s: cannot cut the torn last record: %s", path_.c_str(), std::strerror(error));
    }
    if (const int error = files_.sync(handle_); error != 0) {
      return Status::error("%s: cannot sync: %s", path_.c_str(), std::strerror(error));
    }
  }
  head_ = {scanned.last_sequence, scanned.last_hash};
  return start(scanned.good_end);
}

Status JournalWriter::open_new(std::uint64_t previous_sequence, const Hash& previous_hash) {
  // Written to a temporary file and renamed over `path`, so a crash here
  // leaves the old file or the new one, never a file without a checkpoint.
  const std::string temporary = path_ + ".new";
  (void)files_.remove(temporary.c_str());
  int handle = -1;
  if (const int error = files_.open(temporary.c_str(), true, handle); error != 0) {
    return Status::error("%s: cannot create: %s", temporary.c_str(), std::strerror(error));
  }
  const auto header = file_header();
  RecordView checkpoint;
  checkpoint.kind = RecordKind::checkpoint;
  checkpoint.sequence = previous_sequence + 1;
  checkpoint.wall_ms = port::wall_ms();
  const auto data = checkpoint_data(previous_sequence, previous_hash);
  checkpoint.data = data;
  std::array<std::byte, record_bytes(0, kCheckpointDataBytes)> record{};
  const std::size_t length = encode_record(checkpoint, previous_hash, record);
  int error = files_.append(handle, header);
  if (error == 0) error = files_.append(handle, {record.data(), length});
  if (error == 0) error = files_.sync(handle);
  (void)files_.close(handle);
  if (error == 0) error = files_.rename(temporary.c_str(), path_.c_str());
  if (error == 0) error = files_.sync_directory(directory_.c_str());
  if (error == 0) error = files_.open(path_.c_str(), false, handle_);
  if (error != 0) return Status::error("%s: cannot start a new journal file: %s", path_.c_str(), std::strerror(error));
  head_ = {checkpoint.sequence, checkpoint.hash};
  return start(kFileHeaderBytes + length);
}

Status JournalWriter::start(std::uint64_t size) {
  size_ = size;
  // Everything in the file now was synced by open(): it is durable.
  durable_.store(head_.sequence, std::memory_order_release);
  written_ = head_.sequence;
  sync_handle_ = handle_;
  stopping_ = false;
  if (options_.sync == SyncMode::none) return {};
  try {
    sync_thread_ = port::spawn_named_thread("edgerun-journal", [this] { sync_main(); });
  } catch (const std::exception& e) {
    return Status::error("cannot start the journal's sync thread: %s", e.what());
  }
  return {};
}

std::uint64_t JournalWriter::append(RecordKind kind, std::uint8_t flags, std::string_view id,
                                    std::span<const std::byte> data, int& error) noexcept {
  error = 0;
  std::lock_guard lock(append_mutex_);
  if (handle_ < 0 || failed()) {
    error = handle_ < 0 ? EBADF : EIO;
    append_failures_.fetch_add(1, std::memory_order_relaxed);
    return 0;
  }
  error = write_record(handle_, kind, flags, id, data, head_, size_);
  if (error != 0) {
    append_failures_.fetch_add(1, std::memory_order_relaxed);
    // A full disk passes and a record may be too large; any other error is
    // a disk that fails, like a failed fsync.
    if (error != ENOSPC && error != EMSGSIZE) fail();
    return 0;
  }
  if (options_.sync == SyncMode::none) {
    durable_.store(head_.sequence, std::memory_order_release);
    return head_.sequence;
  }
  bool wake = false;
  {
    std::lock_guard sync_lock(sync_mutex_);
    written_ = head_.sequence;
    wake = sync_idle_;
  }
  // Only an idle sync thread needs waking: one that syncs or waits out its
  // batch sees written_ when it next looks. Waking it for every record cost
  // two futex calls and a thread switch a record (7.6 futex calls a job
  // with sync batch; tools/bench/e2e/profile.sh --strace).
  if (wake) sync_wanted_.notify_one();
  return head_.sequence;
}

int JournalWriter::write_record(int handle, RecordKind kind, std::uint8_t flags, std::string_view id,
                                std::span<const std::byte> data, Head& head, std::uint64_t& size) noexcept {
  const std::size_t length = record_bytes(id.size(), data.size());
  if (length > max_record_bytes_ || id.size() > 0xFFFF) return EMSGSIZE;
  RecordView record;
  record.kind = kind;
  record.flags = flags;
  record.sequence = head.sequence + 1;
  record.wall_ms = port::wall_ms();
  record.id = id;
  record.data = data;
  encode_record(record, head.hash, {buffer_.get(), length});
  if (const int error = files_.append(handle, {buffer_.get(), length}); error != 0) {
    // Part of it may be on disk: cut it off, so the next record follows the
    // last whole one. If even that fails, a record appended after the half
    // one would read as damage in the middle: nothing more is appended.
    if (files_.truncate(handle, size) != 0) return EIO;
    return error;
  }
  size += length;
  head = {record.sequence, record.hash};
  return 0;
}

std::uint64_t JournalWriter::Rewriter::append(RecordKind kind, std::uint8_t flags, std::string_view id,
                                              std::span<const std::byte> data, std::uint64_t& offset,
                                              int& error) noexcept {
  offset = size_;
  error = writer_.write_record(handle_, kind, flags, id, data, head_, size_);
  return error == 0 ? head_.sequence : 0;
}

int JournalWriter::Rewriter::read_current(std::uint64_t offset, std::span<std::byte> out, std::size_t& read) noexcept {
  return writer_.files_.read_at(writer_.handle_, offset, out, read);
}

int JournalWriter::read_at(std::uint64_t offset, std::span<std::byte> out, std::size_t& read) noexcept {
  std::lock_guard lock(append_mutex_);
  if (handle_ < 0) return EBADF;
  return files_.read_at(handle_, offset, out, read);
}

std::string JournalWriter::directory_of(const std::string& path) {
  const std::size_t slash = path.find_last_of('/');
  if (slash == std::string::npos) return ".";
  return path.substr(0, slash == 0 ? 1 : slash);
}

Status JournalWriter::rewrite(const std::function<int(Rewriter&)>& write_live) {
  std::lock_guard lock(append_mutex_);
  if (handle_ < 0 || failed()) return Status::error("%s: the journal is not open", path_.c_str());
  {
    std::lock_guard sync_lock(sync_mutex_);
    if (replaced_handle_ >= 0) return Status::error("%s: the last rewrite is not in place yet", path_.c_str());
  }
  const std::string& temporary = temporary_path_;
  (void)files_.remove(temporary.c_str());
  int handle = -1;
  if (const int error = files_.open(temporary.c_str(), true, handle); error != 0) {
    return Status::error("%s: cannot create: %s", temporary.c_str(), std::strerror(error));
  }
  Rewriter rewriter(*this, handle);
  const auto header = file_header();
  int error = files_.append(handle, header);
  rewriter.size_ = header.size();
  rewriter.head_ = head_;
  if (error == 0) {
    const auto data = checkpoint_data(head_.sequence, head_.hash);
    error = write_record(handle, RecordKind::checkpoint, 0, {}, data, rewriter.head_, rewriter.size_);
  }
  if (error == 0) error = write_live(rewriter);
  if (error != 0) {
    (void)files_.close(handle);
    (void)files_.remove(temporary.c_str());
    return Status::error("%s: cannot rewrite the journal: %s", path_.c_str(), std::strerror(error));
  }
  const int old_handle = handle_;
  handle_ = handle;
  size_ = rewriter.size_;
  head_ = rewriter.head_;
  if (options_.sync == SyncMode::none) {
    if (const int replaced = replace_file(old_handle); replaced != 0) {
      return Status::error("%s: cannot put the rewritten journal in place: %s", path_.c_str(), std::strerror(replaced));
    }
    durable_.store(head_.sequence, std::memory_order_release);
    return {};
  }
  {
    std::lock_guard sync_lock(sync_mutex_);
    sync_handle_ = handle;
    replaced_handle_ = old_handle;
    written_ = head_.sequence;
  }
  sync_wanted_.notify_one();
  return {};
}

int JournalWriter::replace_file(int old_handle) noexcept {
  int error = files_.rename(temporary_path_.c_str(), path_.c_str());
  if (error == 0 && options_.sync != SyncMode::none) error = files_.sync_directory(directory_.c_str());
  (void)files_.close(old_handle);
  return error;
}

void JournalWriter::sync_main() noexcept {
  using Clock = std::chrono::steady_clock;
  const auto batch = std::chrono::milliseconds(options_.batch_ms);
  auto last_sync = Clock::now() - batch;
  std::unique_lock lock(sync_mutex_);
  for (;;) {
    sync_idle_ = true;
    sync_wanted_.wait(lock, [this] { return stopping_ || written_ > durable_.load(std::memory_order_relaxed); });
    sync_idle_ = false;
    if (written_ <= durable_.load(std::memory_order_relaxed)) return;  // stopping, all synced
    if (options_.sync == SyncMode::batch && !stopping_) {
      // Group commit: one fsync a batch, covering all appended meanwhile.
      sync_wanted_.wait_until(lock, last_sync + batch, [this] { return stopping_; });
    }
    const std::uint64_t target = written_;
    const int handle = sync_handle_;
    const int replaced = replaced_handle_;
    lock.unlock();
    last_sync = Clock::now();
    int error = files_.sync(handle);
    // A rewrite counts once its file is synced and in the old one's place.
    if (error == 0 && replaced >= 0) error = replace_file(replaced);
    lock.lock();
    if (replaced >= 0 && error == 0) replaced_handle_ = -1;
    if (error == 0) {
      durable_.store(target, std::memory_order_release);
      syncs_.fetch_add(1, std::memory_order_relaxed);
      durable_moved_.notify_all();
      lock.unlock();
      notify_durable();
      lock.lock();
    } else {
      // After a failed fsync the kernel may have dropped the dirty pages and
      // a later fsync can succeed without them, so nothing written since the
      // last good one can be trusted to be on disk: the writer fails for
      // good, and what waits on it learns so. A restart scans what the disk
      // really holds.
      sync_failures_.fetch_add(1, std::memory_order_relaxed);
      lock.unlock();
      fail();
      return;
    }
  }
}

void JournalWriter::fail() noexcept {
  {
    std::lock_guard lock(sync_mutex_);
    failed_.store(true, std::memory_order_release);
  }
  durable_moved_.notify_all();
  notify_durable();
}

bool JournalWriter::wait_durable(std::uint64_t sequence) noexcept {
  std::unique_lock lock(sync_mutex_);
  durable_moved_.wait(lock, [&] { return stopping_ || failed() || is_durable(sequence); });
  return is_durable(sequence);
}

void JournalWriter::set_on_durable(void (*callback)(void*), void* context) noexcept {
  // Once this returns, the old callback is not running and never runs
  // again: its owner may close what it wakes.
  std::lock_guard lock(callback_mutex_);
  on_durable_ = callback;
  on_durable_context_ = context;
}

void JournalWriter::notify_durable() noexcept {
  std::lock_guard lock(callback_mutex_);
  if (on_durable_ != nullptr) on_durable_(on_durable_context_);
}

JournalWriter::Head JournalWriter::head() const noexcept {
  std::lock_guard lock(append_mutex_);
  return head_;
}

std::uint64_t JournalWriter::file_bytes() const noexcept {
  std::lock_guard lock(append_mutex_);
  return size_;
}

void JournalWriter::close() noexcept {
  {
    std::lock_guard lock(sync_mutex_);
    stopping_ = true;
  }
  sync_wanted_.notify_all();
  if (sync_thread_.joinable()) sync_thread_.join();
  durable_moved_.notify_all();
  std::lock_guard lock(append_mutex_);
  if (handle_ >= 0) {
    (void)files_.close(handle_);
    handle_ = -1;
  }
  if (replaced_handle_ >= 0) {
    // A rewrite whose file never got in place: the old file stays.
    (void)files_.close(replaced_handle_);
    replaced_handle_ = -1;
  }
}

}  // namespace edgerun::journal

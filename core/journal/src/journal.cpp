#include "edgerun/journal.hpp"

#include <algorithm>
#include <cerrno>
#include <cstdio>
#include <cstring>

#include "edgerun/codec.hpp"
#include "edgerun/ids.hpp"
#include "edgerun/json_writer.hpp"
#include "edgerun/port/clock.hpp"
#include "journal_index.hpp"

namespace edgerun::journal {

namespace {

std::span<const std::byte> bytes_of(std::string_view text) noexcept {
  return {reinterpret_cast<const std::byte*>(text.data()), text.size()};
}

// Bytes of a status beyond its result and error message: the envelope,
// the id, the type, the device.
constexpr std::size_t kStatusEnvelopeBytes = 1024;

}  // namespace

namespace {

WriterOptions writer_options(const JournalOptions& options) {
  // The largest record: a submission, or a status with its result and
  // error message.
  const std::size_t largest = std::max<std::size_t>(options.max_payload_bytes, options.max_result_bytes + kStatusEnvelopeBytes);
  return {.sync = options.sync,
          .batch_ms = options.batch_ms,
          .max_record_bytes = static_cast<std::uint32_t>(record_bytes(kMaxIdLength, largest))};
}

std::string journal_path(const std::string& directory) {
  return directory + "/" + std::string(kJournalFileName);
}

}  // namespace

Journal::Journal(port::FileSystem& files, JournalOptions options, LogRing& log)
    : files_(files),
      options_(std::move(options)),
      path_(journal_path(options_.directory)),
      log_(log),
      writer_(files, path_, writer_options(options_)),
      index_(std::make_unique<Index>(options_.max_pending, options_.finished_ids)),
      status_buffer_(new char[options_.max_result_bytes + kStatusEnvelopeBytes]),
      read_buffer_bytes_(writer_options(options_).max_record_bytes),
      read_buffer_(new std::byte[read_buffer_bytes_]) {
  relocations_.reserve(std::size_t{options_.max_pending} + options_.finished_ids + 1);
}

Journal::~Journal() { close(); }

void Journal::set_on_durable(void (*callback)(void*), void* context) noexcept {
  writer_.set_on_durable(callback, context);
}

JobJournal::Ticket Journal::append(RecordKind kind, std::uint8_t flags, std::string_view id,
                                   std::span<const std::byte> data, int& error) noexcept {
  // mutex_ held: the index follows the file's order.
  const std::uint64_t offset = writer_.end_offset();
  const Ticket ticket = writer_.append(kind, flags, id, data, error);
  if (ticket == 0) return 0;
  index_->note(kind, flags, id, ticket, offset, static_cast<std::uint32_t>(record_bytes(id.size(), data.size())), log_);
  compact_if_due();
  return ticket;
}

JobJournal::Ticket Journal::accepted(std::string_view id, std::string_view submission, int& error) noexcept {
  std::lock_guard lock(mutex_);
  // Refused before it is written: a record the index cannot follow would be
  // left out of the next rewrite.
  if (index_->pending() >= options_.max_pending) {
    error = ENOBUFS;
    return 0;
  }
  return append(RecordKind::accepted, 0, id, bytes_of(submission), error);
}

JobJournal::Ticket Journal::started(std::string_view id, int& error) noexcept {
  std::lock_guard lock(mutex_);
  return append(RecordKind::started, 0, id, {}, error);
}

JobJournal::Ticket Journal::cancel_requested(std::string_view id, int& error) noexcept {
  std::lock_guard lock(mutex_);
  return append(RecordKind::cancel_requested, 0, id, {}, error);
}

JobJournal::Ticket Journal::ended(const JobStatusView& status, int& error) noexcept {
  std::lock_guard lock(mutex_);
  // Stored as it is published, so that publishing it again says the same.
  JsonWriter json({status_buffer_.get(), options_.max_result_bytes + kStatusEnvelopeBytes});
  encode_status(json, options_.device, status);
  if (json.overflowed()) {
    error = EMSGSIZE;
    return 0;
  }
  const auto flags = static_cast<std::uint8_t>(static_cast<std::uint8_t>(status.state) & kStateMask);
  return append(RecordKind::ended, flags, status.id, bytes_of(json.view()), error);
}

void Journal::status_acked(std::string_view id) noexcept {
  std::lock_guard lock(mutex_);
  const Entry* entry = index_->find(id);
  if (entry == nullptr || !entry->ended || entry->acked) return;
  int error = 0;
  (void)append(RecordKind::status_acked, 0, id, {}, error);
}

bool Journal::is_durable(Ticket ticket) const noexcept { return writer_.is_durable(ticket); }

bool Journal::wait_durable(Ticket ticket) noexcept { return writer_.wait_durable(ticket); }

std::size_t Journal::stored_status(std::string_view id, std::span<char> out) noexcept {
  std::lock_guard lock(mutex_);
  const Entry* entry = index_->find(id);
  // Only a status the runtime may have published: its ended record durable.
  if (entry == nullptr || !entry->ended || entry->length > read_buffer_bytes_ || writer_.failed() ||
      !writer_.is_durable(entry->order)) {
    return 0;
  }
  std::size_t read = 0;
  if (writer_.read_at(entry->offset, {read_buffer_.get(), entry->length}, read) != 0 || read != entry->length) return 0;
  RecordView record;
  if (!decode_record({read_buffer_.get(), entry->length}, record) || record.id != id || record.data.size() > out.size()) {
    return 0;
  }
  if (!record.data.empty()) std::memcpy(out.data(), record.data.data(), record.data.size());
  return record.data.size();
}

std::size_t Journal::submission(std::string_view id, std::span<char> out) noexcept {
  std::lock_guard lock(mutex_);
  const Entry* entry = index_->find(id);
  if (entry == nullptr || entry->ended || entry->length > read_buffer_bytes_) return 0;
  std::size_t read = 0;
  if (writer_.read_at(entry->offset, {read_buffer_.get(), entry->length}, read) != 0 || read != entry->length) return 0;
  RecordView record;
  if (!decode_record({read_buffer_.get(), entry->length}, record) || record.kind != RecordKind::accepted ||
      record.id != id || record.data.size() > out.size()) {
    return 0;
  }
  std::memcpy(out.data(), record.data.data(), record.data.size());
  return record.data.size();
}

Status Journal::rewrite_locked() {
  // Copies every live record into the new file, the finished jobs' ended
  // records first, then each pending job's accepted record with its started
  // and cancel records, in the order they were accepted.
  relocations_.clear();
  Status rewritten = writer_.rewrite([this](JournalWriter::Rewriter& rewriter) {
    int error = 0;
    index_->for_each_live([&](Entry& entry) {
      if (error != 0) return;
      std::size_t read = 0;
      if (entry.length > read_buffer_bytes_) {
        error = EMSGSIZE;
        return;
      }
      error = rewriter.read_current(entry.offset, {read_buffer_.get(), entry.length}, read);
      RecordView record;
      if (error == 0 && (read != entry.length || !decode_record({read_buffer_.get(), entry.length}, record))) error = EIO;
      if (error != 0) return;
      const std::uint8_t flags =
          entry.ended ? static_cast<std::uint8_t>((record.flags & kStateMask) | (entry.acked ? kAckedFlag : 0)) : record.flags;
      std::uint64_t offset = 0;
      const std::uint64_t sequence = rewriter.append(record.kind, flags, record.id, record.data, offset, error);
      if (sequence == 0) return;
      relocations_.push_back({&entry, offset, sequence});
      if (entry.ended) return;
      std::uint64_t unused = 0;
      if (entry.started) (void)rewriter.append(RecordKind::started, 0, entry.id_view(), {}, unused, error);
      if (error == 0 && entry.cancel_requested) {
        (void)rewriter.append(RecordKind::cancel_requested, 0, entry.id_view(), {}, unused, error);
      }
    });
    return error;
  });
  if (!rewritten) return rewritten;
  for (const Relocation& moved : relocations_) {
    moved.entry->offset = moved.offset;
    moved.entry->order = moved.order;
  }
  return {};
}

void Journal::compact_if_due() noexcept {
  if (rewriting_ || writer_.file_bytes() <= options_.max_file_bytes) return;
  rewriting_ = true;
  if (Status rewritten = rewrite_locked(); rewritten) {
    ++rewrites_;
  } else if (log_.enabled(LogLevel::debug)) {
    // The last rewrite is not in place yet, or the disk is full: the next
    // append tries again.
    log_.write(LogLevel::debug, "journal: rewrite deferred", {{"reason", rewritten.message()}});
  }
  rewriting_ = false;
}

JournalHead Journal::head() const noexcept {
  const JournalWriter::Head head = writer_.head();
  JournalHead out;
  out.sequence = head.sequence;
  out.hash_hex = to_hex(head.hash);
  return out;
}

JournalStats Journal::stats() const noexcept {
  std::lock_guard lock(mutex_);
  JournalStats stats;
  stats.file_bytes = writer_.file_bytes();
  stats.syncs = writer_.syncs();
  stats.append_failures = writer_.append_failures();
  stats.rewrites = rewrites_;
  stats.pending = index_->pending();
  stats.finished_evicted = index_->evicted();
  stats.failed = writer_.failed();
  return stats;
}

void Journal::close() noexcept { writer_.close(); }

}  // namespace edgerun::journal

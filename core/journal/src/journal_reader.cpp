#include "edgerun/journal_reader.hpp"

#include <algorithm>
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <vector>

#include "chain_hash.hpp"

namespace edgerun::journal {

std::string_view to_string(ScanOutcome outcome) noexcept {
  switch (outcome) {
    case ScanOutcome::clean: return "clean";
    case ScanOutcome::torn_tail: return "torn_tail";
    case ScanOutcome::corrupt: return "corrupt";
    case ScanOutcome::empty: return "empty";
    case ScanOutcome::unreadable: return "unreadable";
    case ScanOutcome::read_error: return "read_error";
  }
  return "unknown";
}

namespace {

class FileReader {
 public:
  FileReader(port::FileSystem& files, int handle) : files_(files), handle_(handle) {}
  // Reads exactly `bytes` at `offset` into the buffer; false at the end of
  // the file (or an error, in error()).
  bool read(std::uint64_t offset, std::size_t bytes) {
    if (buffer_.size() < bytes) buffer_.resize(bytes);
    std::size_t got = 0;
    error_ = files_.read_at(handle_, offset, {buffer_.data(), bytes}, got);
    return error_ == 0 && got == bytes;
  }
  const std::byte* data() const noexcept { return buffer_.data(); }
  int error() const noexcept { return error_; }

 private:
  port::FileSystem& files_;
  int handle_;
  int error_ = 0;
  std::vector<std::byte> buffer_;
};

// Whether everything from `offset` to the end is zero: a file system that
// extended the file at a crash before the data reached the disk.
bool only_zeros_from(FileReader& reader, std::uint64_t offset, std::uint64_t end) {
  constexpr std::size_t kChunk = 4096;
  while (offset < end) {
    const auto bytes = static_cast<std::size_t>(std::min<std::uint64_t>(kChunk, end - offset));
    if (!reader.read(offset, bytes)) return false;
    if (std::any_of(reader.data(), reader.data() + bytes, [](std::byte b) { return b != std::byte{0}; })) return false;
    offset += bytes;
  }
  return true;
}

void set_reason(ScanResult& result, const char* reason) {
  std::snprintf(result.reason.data(), result.reason.size(), "%s", reason);
}

}  // namespace

ScanResult scan_journal(port::FileSystem& files, const char* path, const RecordVisitor& visit,
                        std::uint32_t max_record_bytes) {
  ScanResult result;
  int handle = -1;
  if (const int error = files.open(path, false, handle); error != 0) {
    if (error != ENOENT) {
      result.outcome = ScanOutcome::read_error;
      result.error = error;
    }
    return result;
  }
  struct Closer {
    port::FileSystem& files;
    int handle;
    ~Closer() { (void)files.close(handle); }
  } closer{files, handle};

  if (const int error = files.size(handle, result.file_bytes); error != 0) {
    result.outcome = ScanOutcome::read_error;
    result.error = error;
    return result;
  }
  FileReader reader(files, handle);
  if (!reader.read(0, kFileHeaderBytes)) {
    result.outcome = reader.error() != 0 ? ScanOutcome::read_error : ScanOutcome::empty;
    result.error = reader.error();
    return result;
  }
  result.version = header_version({reader.data(), kFileHeaderBytes});
  if (result.version != kFormatVersion) {
    result.outcome = ScanOutcome::unreadable;
    set_reason(result, result.version == 0 ? "not an edgerun journal" : "a format version this program does not read");
    return result;
  }

  Hash previous{};
  std::uint64_t offset = kFileHeaderBytes;
  result.good_end = offset;
  const auto bad = [&](ScanOutcome outcome, const char* reason) {
    result.outcome = outcome;
    result.bad_offset = offset;
    result.bad_sequence = result.records == 0 ? 0 : result.last_sequence + 1;
    set_reason(result, reason);
    return result;
  };
  // A damaged record with only zeros or nothing after it was being written
  // when the power went: torn. With records after it, it is corruption.
  const auto damaged = [&](std::uint64_t end, const char* reason) {
    if (end >= result.file_bytes || only_zeros_from(reader, end, result.file_bytes)) {
      return bad(ScanOutcome::torn_tail, reason);
    }
    return bad(ScanOutcome::corrupt, reason);
  };

  while (offset < result.file_bytes) {
    if (result.file_bytes - offset < kRecordHeaderBytes || !reader.read(offset, kRecordHeaderBytes)) {
      if (reader.error() != 0) {
        result.error = reader.error();
        return bad(ScanOutcome::read_error, "the file could not be read");
      }
      return bad(ScanOutcome::torn_tail, "the last record is cut short");
    }
    const std::uint32_t length = get_u32(reader.data());
    const std::uint16_t id_length = get_u16(reader.data() + 6);
    if (length < kRecordOverhead + id_length || length > max_record_bytes || id_length > kMaxJobIdBytes) {
      if (only_zeros_from(reader, offset, result.file_bytes)) return bad(ScanOutcome::torn_tail, "zeros where a record should be");
      return bad(ScanOutcome::corrupt, "a record length out of range");
    }
    if (result.file_bytes - offset < length) return bad(ScanOutcome::torn_tail, "the last record is cut short");
    if (!reader.read(offset, length)) {
      result.error = reader.error();
      return bad(ScanOutcome::read_error, "the file could not be read");
    }

    RecordView record;
    (void)decode_record({reader.data(), length}, record);  // the length was checked above
    record.offset = offset;

    const bool first = result.records == 0;
    if (first) {
      // A file starts with its checkpoint, which names what it follows.
      std::uint64_t before = 0;
      if (record.kind != RecordKind::checkpoint || !read_checkpoint_data(record.data, before, previous)) {
        return damaged(offset + length, "the file does not start with a checkpoint");
      }
      if (record.sequence != before + 1) return damaged(offset + length, "the checkpoint's sequence does not follow");
      result.first_sequence = record.sequence;
      result.first_previous = previous;
    }
    if (ChainHash::of(previous, {reader.data(), length - kHashBytes}) != record.hash) {
      return damaged(offset + length, "the record does not match its hash");
    }
    const auto kind = std::to_integer<std::uint8_t>(reader.data()[4]);
    if (kind == 0 || kind > kLastRecordKind) return bad(ScanOutcome::corrupt, "an unknown record kind");
    if (!first && record.sequence != result.last_sequence + 1) return bad(ScanOutcome::corrupt, "a sequence number out of order");
    if (!first && record.kind == RecordKind::checkpoint) return bad(ScanOutcome::corrupt, "a checkpoint in the middle of a file");

    ++result.records;
    result.last_sequence = record.sequence;
    result.last_hash = record.hash;
    previous = record.hash;
    offset += length;
    result.good_end = offset;
    if (visit && !visit(record)) break;
  }
  result.outcome = ScanOutcome::clean;
  return result;
}

}  // namespace edgerun::journal

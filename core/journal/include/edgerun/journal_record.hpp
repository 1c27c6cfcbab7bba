#pragma once
// The journal's records, as they lie in a file of state_dir. The format is
// versioned (kFormatVersion in the file's header) and documented in
// core/protocol/PROTOCOL.md, "The journal".
//
// A file: a 16-byte header ("EDGERUNJ", the format version, zero), then
// records, each:
//
//   u32 length    the whole record, these 4 bytes and the hash included
//   u8  kind      RecordKind
//   u8  flags     kind-specific
//   u16 id_length
//   u64 sequence  one more than the record before, across files
//   i64 wall_ms   the wall clock when it was written (for people; nothing
//                 relies on it)
//   id, then data (length - kRecordOverhead - id_length bytes)
//   32 bytes      SHA-256 of the previous record's hash and of this record
//                 up to the hash
//
// All integers little-endian. The hash is both the record's checksum (a torn
// or damaged record does not match it) and a link of the chain: a record
// altered, removed or moved changes every hash after it. The first record of
// every file is a checkpoint whose data is the sequence and hash of the
// record before it (zero for a new journal), so a file stands on its own.

#include <array>
#include <cstddef>
#include <cstdint>
#include <span>
#include <string_view>

namespace edgerun::journal {

// The journal's file in state_dir. A damaged one is moved aside to
// "journal.damaged-<sequence of its first bad record>".
inline constexpr std::string_view kJournalFileName = "journal";

inline constexpr std::array<char, 8> kMagic{'E', 'D', 'G', 'E', 'R', 'U', 'N', 'J'};
inline constexpr std::uint32_t kFormatVersion = 1;
inline constexpr std::size_t kFileHeaderBytes = 16;
inline constexpr std::size_t kHashBytes = 32;
inline constexpr std::size_t kRecordHeaderBytes = 24;
inline constexpr std::size_t kRecordOverhead = kRecordHeaderBytes + kHashBytes;
// A job id is at most 64 bytes (the protocol's ids); a longer one is damage.
inline constexpr std::size_t kMaxJobIdBytes = 64;

using Hash = std::array<std::byte, kHashBytes>;

enum class RecordKind : std::uint8_t {
  checkpoint = 1,        // data: u64 sequence + hash of the record before
  accepted = 2,          // data: the submission as received
  started = 3,           // a handler began to run the job
  ended = 4,             // data: the terminal status as published
  cancel_requested = 5,  // a cancel arrived for the job
  status_acked = 6,      // the broker took the job's terminal status
};
inline constexpr std::uint8_t kLastRecordKind = 6;

std::string_view to_string(RecordKind kind) noexcept;

struct RecordView {
  RecordKind kind = RecordKind::checkpoint;
  std::uint8_t flags = 0;
  std::uint64_t sequence = 0;
  std::int64_t wall_ms = 0;
  std::string_view id;
  std::span<const std::byte> data;
  Hash hash{};
  std::uint64_t offset = 0;  // where it starts in its file (reader only)
  std::uint32_t length = 0;  // its length in the file (reader only)
};

// The file header for `version`.
std::array<std::byte, kFileHeaderBytes> file_header(std::uint32_t version = kFormatVersion) noexcept;
// The version of a file header, or 0 when it is not one.
std::uint32_t header_version(std::span<const std::byte> header) noexcept;

// The bytes a record takes: overhead, id and data.
inline constexpr std::size_t record_bytes(std::size_t id_length, std::size_t data_length) noexcept {
  return kRecordOverhead + id_length + data_length;
}

// Encodes `record` (kind, flags, sequence, wall_ms, id, data) into `out`,
// which must hold record_bytes(); computes its hash over `previous` and
// stores it in `record.hash` too. Returns the bytes written.
std::size_t encode_record(RecordView& record, const Hash& previous, std::span<std::byte> out) noexcept;

// Reads the record that `bytes` holds whole (its length field first), without
// checking its hash (the reader does, against the chain). False when the
// bytes cannot be one.
bool decode_record(std::span<const std::byte> bytes, RecordView& record) noexcept;

// A checkpoint's data: the sequence and hash it follows.
inline constexpr std::size_t kCheckpointDataBytes = 8 + kHashBytes;
std::array<std::byte, kCheckpointDataBytes> checkpoint_data(std::uint64_t sequence, const Hash& hash) noexcept;
bool read_checkpoint_data(std::span<const std::byte> data, std::uint64_t& sequence, Hash& hash) noexcept;

// Little-endian integers in and out of byte buffers.
void put_u16(std::byte* at, std::uint16_t value) noexcept;
void put_u32(std::byte* at, std::uint32_t value) noexcept;
void put_u64(std::byte* at, std::uint64_t value) noexcept;
std::uint16_t get_u16(const std::byte* at) noexcept;
std::uint32_t get_u32(const std::byte* at) noexcept;
std::uint64_t get_u64(const std::byte* at) noexcept;

// Hex of a hash, 64 characters, for logs, presence and edgerunctl.
std::array<char, 2 * kHashBytes + 1> to_hex(const Hash& hash) noexcept;

}  // namespace edgerun::journal

#include "edgerun/journal_record.hpp"

#include <cstring>

#include "chain_hash.hpp"
#include "edgerun/check.hpp"

namespace edgerun::journal {

std::string_view to_string(RecordKind kind) noexcept {
  switch (kind) {
    case RecordKind::checkpoint: return "checkpoint";
    case RecordKind::accepted: return "accepted";
    case RecordKind::started: return "started";
    case RecordKind::ended: return "ended";
    case RecordKind::cancel_requested: return "cancel_requested";
    case RecordKind::status_acked: return "status_acked";
  }
  return "unknown";
}

void put_u16(std::byte* at, std::uint16_t value) noexcept {
  for (int i = 0; i < 2; ++i) at[i] = static_cast<std::byte>(value >> (8 * i));
}
void put_u32(std::byte* at, std::uint32_t value) noexcept {
  for (int i = 0; i < 4; ++i) at[i] = static_cast<std::byte>(value >> (8 * i));
}
void put_u64(std::byte* at, std::uint64_t value) noexcept {
  for (int i = 0; i < 8; ++i) at[i] = static_cast<std::byte>(value >> (8 * i));
}
std::uint16_t get_u16(const std::byte* at) noexcept {
  return static_cast<std::uint16_t>(std::to_integer<unsigned>(at[0]) | std::to_integer<unsigned>(at[1]) << 8);
}
std::uint32_t get_u32(const std::byte* at) noexcept {
  std::uint32_t value = 0;
  for (int i = 3; i >= 0; --i) value = value << 8 | std::to_integer<std::uint32_t>(at[i]);
  return value;
}
std::uint64_t get_u64(const std::byte* at) noexcept {
  std::uint64_t value = 0;
  for (int i = 7; i >= 0; --i) value = value << 8 | std::to_integer<std::uint64_t>(at[i]);
  return value;
}

std::array<std::byte, kFileHeaderBytes> file_header(std::uint32_t version) noexcept {
  std::array<std::byte, kFileHeaderBytes> header{};
  std::memcpy(header.data(), kMagic.data(), kMagic.size());
  put_u32(header.data() + 8, version);
  return header;
}

std::uint32_t header_version(std::span<const std::byte> header) noexcept {
  if (header.size() < kFileHeaderBytes || std::memcmp(header.data(), kMagic.data(), kMagic.size()) != 0) return 0;
  return get_u32(header.data() + 8);
}

std::size_t encode_record(RecordView& record, const Hash& previous, std::span<std::byte> out) noexcept {
  const std::size_t length = record_bytes(record.id.size(), record.data.size());
  check(out.size() >= length && record.id.size() <= 0xFFFF && length <= 0xFFFFFFFFu, "journal record too large");
  std::byte* at = out.data();
  put_u32(at, static_cast<std::uint32_t>(length));
  at[4] = static_cast<std::byte>(record.kind);
  at[5] = static_cast<std::byte>(record.flags);
  put_u16(at + 6, static_cast<std::uint16_t>(record.id.size()));
  put_u64(at + 8, record.sequence);
  put_u64(at + 16, static_cast<std::uint64_t>(record.wall_ms));
  // memcpy of nothing from a null pointer (an empty view's) is undefined.
  if (!record.id.empty()) std::memcpy(at + kRecordHeaderBytes, record.id.data(), record.id.size());
  if (!record.data.empty()) {
    std::memcpy(at + kRecordHeaderBytes + record.id.size(), record.data.data(), record.data.size());
  }
  const std::size_t hashed = length - kHashBytes;
  record.hash = ChainHash::of(previous, {at, hashed});
  std::memcpy(at + hashed, record.hash.data(), kHashBytes);
  record.length = static_cast<std::uint32_t>(length);
  return length;
}

bool decode_record(std::span<const std::byte> bytes, RecordView& record) noexcept {
  if (bytes.size() < kRecordOverhead) return false;
  const std::uint32_t length = get_u32(bytes.data());
  const std::uint16_t id_length = get_u16(bytes.data() + 6);
  if (length != bytes.size() || length < kRecordOverhead + id_length) return false;
  record.kind = static_cast<RecordKind>(bytes[4]);
  record.flags = std::to_integer<std::uint8_t>(bytes[5]);
  record.sequence = get_u64(bytes.data() + 8);
  record.wall_ms = static_cast<std::int64_t>(get_u64(bytes.data() + 16));
  record.id = {reinterpret_cast<const char*>(bytes.data() + kRecordHeaderBytes), id_length};
  record.data = {bytes.data() + kRecordHeaderBytes + id_length, length - kRecordOverhead - id_length};
  std::memcpy(record.hash.data(), bytes.data() + length - kHashBytes, kHashBytes);
  record.length = length;
  return true;
}

std::array<std::byte, kCheckpointDataBytes> checkpoint_data(std::uint64_t sequence, const Hash& hash) noexcept {
  std::array<std::byte, kCheckpointDataBytes> data{};
  put_u64(data.data(), sequence);
  std::memcpy(data.data() + 8, hash.data(), kHashBytes);
  return data;
}

bool read_checkpoint_data(std::span<const std::byte> data, std::uint64_t& sequence, Hash& hash) noexcept {
  if (data.size() != kCheckpointDataBytes) return false;
  sequence = get_u64(data.data());
  std::memcpy(hash.data(), data.data() + 8, kHashBytes);
  return true;
}

std::array<char, 2 * kHashBytes + 1> to_hex(const Hash& hash) noexcept {
  constexpr char kDigits[] = "0123456789abcdef";
  std::array<char, 2 * kHashBytes + 1> hex{};
  for (std::size_t i = 0; i < kHashBytes; ++i) {
    const auto byte = std::to_integer<unsigned>(hash[i]);
    hex[2 * i] = kDigits[byte >> 4];
    hex[2 * i + 1] = kDigits[byte & 0xF];
  }
  return hex;
}

}  // namespace edgerun::journal

#include "journal_format.hpp"

#include <cstdint>
#include <cstdio>
#include <cstring>

#include "format.hpp"
#include "json.hpp"

namespace edgerun::ctl {
namespace {

using journal::RecordKind;
using journal::RecordView;
using journal::ScanOutcome;
using journal::ScanResult;

// The hash prefix a checkpoint's line shows: enough to tell two apart by eye.
constexpr std::size_t kShortHashDigits = 16;

std::string_view text_of(std::span<const std::byte> data) {
  return {reinterpret_cast<const char*>(data.data()), data.size()};
}

// A job id as a column: ids are [A-Za-z0-9._-], so any other byte (one a
// hash-valid but foreign record might hold) becomes '?' rather than a space
// that shifts the columns, a control character that moves the cursor, or a
// byte that makes the JSON output invalid UTF-8.
std::string printable_id(std::string_view id) {
  if (id.empty()) return "-";
  std::string out(id);
  for (char& c : out) {
    const auto byte = static_cast<unsigned char>(c);
    if (byte <= ' ' || byte >= 0x7f) c = '?';
  }
  return out;
}

// A string from a record's JSON on one line: control characters (a newline
// in a job type) would break it.
std::string one_line_text(std::string text) {
  for (char& c : text) {
    if (static_cast<unsigned char>(c) < 0x20 || c == 0x7f) c = '?';
  }
  return text;
}

std::string bytes_note(std::string_view what, std::size_t bytes) {
  return "(" + std::string(what) + ": " + std::to_string(bytes) + " bytes)";
}

std::string accepted_detail(std::span<const std::byte> data) {
  JsonPtr submission = parse_json(text_of(data));
  if (!submission || !cJSON_IsObject(submission.get())) return bytes_note("not a JSON object", data.size());
  return one_line_text(json_string(submission.get(), "type").value_or("?"));
}

std::string ended_detail(std::span<const std::byte> data) {
  JsonPtr status = parse_json(text_of(data));
  if (!status || !cJSON_IsObject(status.get())) return bytes_note("not a JSON object", data.size());
  const std::string state = json_string(status.get(), "state").value_or("?");
  std::string out = one_line_text(state);
  if (state == "failed") {
    if (auto code = json_string(json_object(status.get(), "error"), "code")) out.append(" ").append(one_line_text(*code));
  }
  return out;
}

std::string checkpoint_detail(std::span<const std::byte> data) {
  std::uint64_t sequence = 0;
  journal::Hash hash{};
  if (!journal::read_checkpoint_data(data, sequence, hash)) return bytes_note("a malformed checkpoint", data.size());
  return "follows " + std::to_string(sequence) + " " + std::string(journal::to_hex(hash).data(), kShortHashDigits);
}

// "data" as the kind holds it, or "data_hex" when it holds something else.
void add_data(cJSON* object, const RecordView& record) {
  switch (record.kind) {
    case RecordKind::accepted:
    case RecordKind::ended:
      if (JsonPtr data = parse_json(text_of(record.data))) {
        cJSON_AddItemToObject(object, "data", data.release());
        return;
      }
      break;
    case RecordKind::checkpoint: {
      std::uint64_t sequence = 0;
      journal::Hash hash{};
      if (journal::read_checkpoint_data(record.data, sequence, hash)) {
        cJSON* data = cJSON_AddObjectToObject(object, "data");
        cJSON_AddNumberToObject(data, "seq", static_cast<double>(sequence));
        cJSON_AddStringToObject(data, "hash", journal::to_hex(hash).data());
        return;
      }
      break;
    }
    case RecordKind::started:
    case RecordKind::cancel_requested:
    case RecordKind::status_acked:
      if (record.data.empty()) return;
      break;
  }
  cJSON_AddStringToObject(object, "data_hex", hex_of(record.data).c_str());
}

std::string count_of(std::uint64_t n, std::string_view noun) {
  return std::to_string(n) + " " + std::string(noun) + (n == 1 ? "" : "s");
}

// "record at offset 143 (sequence 2)": the reader names the sequence the
// bad record should have had, which it knows only after a good record.
std::string bad_record(const ScanResult& scan) {
  std::string out = "record at offset " + std::to_string(scan.bad_offset);
  if (scan.records == 0) return out + " (the file's first)";
  return out + " (sequence " + std::to_string(scan.bad_sequence) + ")";
}

std::string intact_before(const ScanResult& scan) {
  if (scan.records == 0) return "there is no record before it";
  if (scan.records == 1) return "the 1 record before it is intact";
  return "the " + std::to_string(scan.records) + " records before it are intact";
}

std::string read_error_text(const ScanResult& scan) {
  std::string out = "cannot be read";
  if (scan.bad_offset != 0) out.append(": ").append(bad_record(scan));
  if (scan.error != 0) out.append(": ").append(std::strerror(scan.error));
  if (scan.bad_offset != 0) out.append("; ").append(intact_before(scan));
  return out;
}

}  // namespace

std::string record_detail(const RecordView& record) {
  switch (record.kind) {
    case RecordKind::checkpoint: return checkpoint_detail(record.data);
    case RecordKind::accepted: return accepted_detail(record.data);
    case RecordKind::ended: return ended_detail(record.data);
    case RecordKind::started:
    case RecordKind::cancel_requested:
    case RecordKind::status_acked:
      break;
  }
  return record.data.empty() ? "" : bytes_note("unexpected data", record.data.size());
}

std::string format_record_line(const RecordView& record) {
  // Padded to the longest kind, cancel_requested, so the ids line up.
  char kind[24];
  const std::string_view kind_name = journal::to_string(record.kind);
  std::snprintf(kind, sizeof kind, "%-16.*s", static_cast<int>(kind_name.size()), kind_name.data());
  std::string out = std::to_string(record.sequence);
  out.append(" ").append(format_timestamp(static_cast<double>(record.wall_ms)));
  out.append(" ").append(kind).append(" ").append(printable_id(record.id));
  if (std::string detail = record_detail(record); !detail.empty()) out.append(" ").append(detail);
  return out;
}

std::string format_record_json(const RecordView& record) {
  JsonPtr object(cJSON_CreateObject());
  cJSON* o = object.get();
  // Sequences and times stay far below 2^53, where a double is exact.
  cJSON_AddNumberToObject(o, "seq", static_cast<double>(record.sequence));
  cJSON_AddNumberToObject(o, "ts", static_cast<double>(record.wall_ms));
  cJSON_AddStringToObject(o, "kind", std::string(journal::to_string(record.kind)).c_str());
  cJSON_AddStringToObject(o, "id", record.id.empty() ? "" : printable_id(record.id).c_str());
  cJSON_AddNumberToObject(o, "flags", record.flags);
  cJSON_AddStringToObject(o, "hash", journal::to_hex(record.hash).data());
  add_data(o, record);
  return print_compact(o);
}

std::string hex_of(std::span<const std::byte> bytes) {
  constexpr char kDigits[] = "0123456789abcdef";
  std::string out;
  out.reserve(2 * bytes.size());
  for (std::byte b : bytes) {
    const auto value = std::to_integer<unsigned>(b);
    out.push_back(kDigits[value >> 4]);
    out.push_back(kDigits[value & 0xF]);
  }
  return out;
}

std::string format_scan_summary(std::string_view path, const ScanResult& scan) {
  std::string out = std::string(path) + ": intact: " + count_of(scan.records, "record");
  if (scan.records == 0) return out;
  out.append(", sequence ").append(std::to_string(scan.first_sequence)).append("..");
  out.append(std::to_string(scan.last_sequence));
  out.append(", head ").append(std::to_string(scan.last_sequence)).append(":");
  out.append(journal::to_hex(scan.last_hash).data());
  return out;
}

std::string format_scan_damage(std::string_view path, const ScanResult& scan) {
  const std::string head = std::string(path) + ": ";
  switch (scan.outcome) {
    case ScanOutcome::clean:
    case ScanOutcome::torn_tail:
      return "";
    case ScanOutcome::empty:
      return head + "damaged: " + count_of(scan.file_bytes, "byte") + ", not even a whole file header";
    case ScanOutcome::unreadable: {
      std::string out = head + "damaged: " + scan.reason.data();
      if (scan.version != 0) out.append(" (format version ").append(std::to_string(scan.version)).append(")");
      return out;
    }
    case ScanOutcome::corrupt:
      return head + "damaged: " + bad_record(scan) + ": " + scan.reason.data() + "; " + intact_before(scan);
    case ScanOutcome::read_error:
      return head + read_error_text(scan);
  }
  return head + "damaged: " + std::string(journal::to_string(scan.outcome));
}

std::string format_torn_note(const ScanResult& scan) {
  if (scan.outcome != ScanOutcome::torn_tail) return "";
  return "note: a torn last record at offset " + std::to_string(scan.bad_offset) +
         " (a crash during an append; edgerund cuts it off at start)";
}

bool scan_found_damage(const ScanResult& scan) {
  return scan.outcome != ScanOutcome::clean && scan.outcome != ScanOutcome::torn_tail;
}

}  // namespace edgerun::ctl

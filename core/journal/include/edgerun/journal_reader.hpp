#pragma once
// Reading a journal file back: at start-up (recovery), and for
// `edgerunctl journal verify` and `show`. Each record is checked against its
// hash, chained over the record before, so what the reader hands out is
// exactly what was written, in the order it was written.

#include <array>
#include <cstdint>
#include <functional>

#include "edgerun/journal_record.hpp"
#include "edgerun/port/file.hpp"

namespace edgerun::journal {

enum class ScanOutcome : std::uint8_t {
  clean,        // every byte of the file is a good record
  torn_tail,    // the last record was cut or half-written (a crash in the
                // middle of an append): what precedes it is good
  corrupt,      // a damaged, altered or misplaced record with more after it
  empty,        // no file, or a file without a whole header
  unreadable,   // not a journal, or a format version this program does not read
  read_error,   // the file system failed (the errno is in `error`)
};

std::string_view to_string(ScanOutcome outcome) noexcept;

struct ScanResult {
  ScanOutcome outcome = ScanOutcome::empty;
  std::uint32_t version = 0;
  int error = 0;
  std::uint64_t file_bytes = 0;
  std::uint64_t records = 0;  // good records handed out
  // Where the good records end: the file may be cut here (torn tail).
  std::uint64_t good_end = 0;
  // The first bad record: its offset and sequence number (the one it should
  // have had), and why it is bad.
  std::uint64_t bad_offset = 0;
  std::uint64_t bad_sequence = 0;
  std::array<char, 96> reason{};
  // The chain: where this file starts (its checkpoint) and its last good
  // record.
  std::uint64_t first_sequence = 0;
  Hash first_previous{};
  std::uint64_t last_sequence = 0;
  Hash last_hash{};
};

// Returns false to stop the scan (the outcome is then `clean` up to there).
using RecordVisitor = std::function<bool(const RecordView&)>;

// Reads the journal file `path`, hands each good record to `visit` in order
// (its views are valid during the call only) and stops at the first bad one.
// Records longer than `max_record_bytes` are bad. Never fails on bad bytes:
// every outcome is a value.
ScanResult scan_journal(port::FileSystem& files, const char* path, const RecordVisitor& visit,
                        std::uint32_t max_record_bytes = 64u << 20);

}  // namespace edgerun::journal

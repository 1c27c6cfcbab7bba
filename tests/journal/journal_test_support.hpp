#pragma once
#include <gtest/gtest.h>

// What the journal tests share: a journal in a PowerCutFileSystem, and its
// records read back.

#include <cstring>
#include <memory>
#include <string>
#include <vector>

#include "edgerun/journal_reader.hpp"
#include "edgerun/journal_writer.hpp"
#include "power_cut_file_system.hpp"

namespace edgerun::journal::test {

inline constexpr const char* kDirectory = "/state";
inline constexpr const char* kPath = "/state/journal";

struct ReadRecord {
  RecordKind kind;
  std::uint64_t sequence;
  std::string id;
  std::string data;
  std::uint64_t offset;
};

struct ReadBack {
  ScanResult scan;
  std::vector<ReadRecord> records;
};

inline ReadBack read_back(port::FileSystem& files) {
  ReadBack read;
  read.scan = scan_journal(files, kPath, [&](const RecordView& record) {
    read.records.push_back({record.kind, record.sequence, std::string(record.id),
                            std::string(reinterpret_cast<const char*>(record.data.data()), record.data.size()),
                            record.offset});
    return true;
  });
  return read;
}

inline std::span<const std::byte> bytes_of(std::string_view text) {
  return {reinterpret_cast<const std::byte*>(text.data()), text.size()};
}

// Makes the journal file hold exactly `bytes` (an image cut, forged or not
// a journal at all). True when it could.
inline bool write_journal_file(port::FileSystem& files, std::span<const std::byte> bytes) {
  (void)files.make_directory(kDirectory);
  int handle = -1;
  return files.open(kPath, true, handle) == 0 && files.append(handle, bytes) == 0;
}

// A writer over `files`, opened on what the file holds now.
inline std::unique_ptr<JournalWriter> open_writer(port::FileSystem& files, WriterOptions options = {}) {
  (void)files.make_directory(kDirectory);
  auto writer = std::make_unique<JournalWriter>(files, kPath, options);
  const ScanResult scanned = scan_journal(files, kPath, {});
  const Status opened = writer->open(scanned);
  if (!opened) ADD_FAILURE() << opened.message();
  return writer;
}

inline std::uint64_t append(JournalWriter& writer, RecordKind kind, std::string_view id, std::string_view data = {}) {
  int error = 0;
  const std::uint64_t sequence = writer.append(kind, 0, id, bytes_of(data), error);
  EXPECT_EQ(error, 0) << std::strerror(error);
  return sequence;
}

}  // namespace edgerun::journal::test

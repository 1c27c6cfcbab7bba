// The format and its chain: what is written is read back as written, and a
// torn, damaged, altered or reordered record is found and told apart.
#include <gtest/gtest.h>

#include <cstring>

#include "journal_test_support.hpp"

namespace edgerun::journal::test {
namespace {

using edgerun::test::PowerCutFileSystem;

// Three jobs' worth of records, the journal then closed.
std::vector<std::uint64_t> write_three_jobs(PowerCutFileSystem& files) {
  auto writer = open_writer(files, {.sync = SyncMode::always});
  std::vector<std::uint64_t> sequences;
  for (const char* id : {"job-a", "job-b", "job-c"}) {
    const std::string submission = std::string(R"({"v":1,"id":")") + id + R"(","type":"echo"})";
    sequences.push_back(append(*writer, RecordKind::accepted, id, submission));
    sequences.push_back(append(*writer, RecordKind::started, id));
    sequences.push_back(append(*writer, RecordKind::ended, id, R"({"state":"succeeded"})"));
  }
  EXPECT_TRUE(writer->wait_durable(sequences.back()));
  writer->close();
  return sequences;
}

TEST(JournalChain, RecordsAreReadBackAsWrittenInOrder) {
  PowerCutFileSystem files;
  const auto sequences = write_three_jobs(files);
  const ReadBack read = read_back(files);
  EXPECT_EQ(read.scan.outcome, ScanOutcome::clean);
  ASSERT_EQ(read.records.size(), 10u);  // the checkpoint and 9
  EXPECT_EQ(read.records[0].kind, RecordKind::checkpoint);
  EXPECT_EQ(read.records[0].sequence, 1u);
  EXPECT_EQ(read.records[1].kind, RecordKind::accepted);
  EXPECT_EQ(read.records[1].id, "job-a");
  EXPECT_EQ(read.records[1].data, R"({"v":1,"id":"job-a","type":"echo"})");
  EXPECT_EQ(read.records[9].kind, RecordKind::ended);
  EXPECT_EQ(read.records[9].id, "job-c");
  for (std::size_t i = 1; i < read.records.size(); ++i) EXPECT_EQ(read.records[i].sequence, sequences[i - 1]);
  EXPECT_EQ(read.scan.last_sequence, sequences.back());
  EXPECT_EQ(read.scan.good_end, read.scan.file_bytes);
}

TEST(JournalChain, AReopenedJournalContinuesTheChain) {
  PowerCutFileSystem files;
  const auto first = write_three_jobs(files);
  auto writer = open_writer(files, {.sync = SyncMode::always});
  EXPECT_EQ(writer->head().sequence, first.back());
  const std::uint64_t next = append(*writer, RecordKind::accepted, "job-d", "{}");
  EXPECT_EQ(next, first.back() + 1);
  ASSERT_TRUE(writer->wait_durable(next));
  writer->close();
  const ReadBack read = read_back(files);
  EXPECT_EQ(read.scan.outcome, ScanOutcome::clean);
  EXPECT_EQ(read.records.back().id, "job-d");
}

TEST(JournalChain, ACutLastRecordIsATornTail) {
  PowerCutFileSystem files;
  write_three_jobs(files);
  const ReadBack whole = read_back(files);
  // The power went in the middle of the last append.
  auto image = files.contents(kPath);
  image.resize(image.size() - 7);
  PowerCutFileSystem cut;
  ASSERT_TRUE(write_journal_file(cut, image));
  const ReadBack read = read_back(cut);
  EXPECT_EQ(read.scan.outcome, ScanOutcome::torn_tail);
  EXPECT_EQ(read.records.size(), whole.records.size() - 1);
  EXPECT_EQ(read.scan.bad_offset, whole.records.back().offset);
  EXPECT_EQ(read.scan.good_end, whole.records.back().offset);
}

TEST(JournalChain, ZerosAfterTheLastRecordAreATornTail) {
  PowerCutFileSystem files;
  write_three_jobs(files);
  // ext4 may extend a file at a crash before its data reached the disk.
  int handle = -1;
  ASSERT_EQ(files.open(kPath, false, handle), 0);
  ASSERT_EQ(files.append(handle, std::vector<std::byte>(300)), 0);
  const ReadBack read = read_back(files);
  EXPECT_EQ(read.scan.outcome, ScanOutcome::torn_tail);
  EXPECT_EQ(read.records.size(), 10u);
}

TEST(JournalChain, ADamagedRecordInTheMiddleIsCorruptionAtItsOffset) {
  PowerCutFileSystem files;
  write_three_jobs(files);
  const ReadBack whole = read_back(files);
  const ReadRecord& victim = whole.records[4];  // job-b accepted
  files.corrupt_byte(kPath, victim.offset + kRecordHeaderBytes + 2);
  const ReadBack read = read_back(files);
  EXPECT_EQ(read.scan.outcome, ScanOutcome::corrupt);
  EXPECT_EQ(read.scan.bad_offset, victim.offset);
  EXPECT_EQ(read.scan.bad_sequence, victim.sequence);
  EXPECT_EQ(read.records.size(), 4u) << "the records before it are handed out";
  EXPECT_STREQ(read.scan.reason.data(), "the record does not match its hash");
}

TEST(JournalChain, ARecordRewrittenWithAFreshHashBreaksTheNextLink) {
  PowerCutFileSystem files;
  write_three_jobs(files);
  const ReadBack whole = read_back(files);
  // Someone rewrites job-a's result and recomputes that record's hash over
  // the true previous hash: the record itself checks out, the next does not.
  const ReadRecord& target = whole.records[3];
  auto image = files.contents(kPath);
  Hash previous{};
  std::memcpy(previous.data(), image.data() + target.offset - kHashBytes, kHashBytes);
  const std::string forged = R"({"state":"failed!!!"})";
  ASSERT_EQ(forged.size(), target.data.size());
  RecordView record;
  record.kind = target.kind;
  record.sequence = target.sequence;
  record.id = target.id;
  record.data = bytes_of(forged);
  std::vector<std::byte> encoded(record_bytes(record.id.size(), record.data.size()));
  encode_record(record, previous, encoded);
  std::memcpy(image.data() + target.offset, encoded.data(), encoded.size());
  PowerCutFileSystem forged_files;
  ASSERT_TRUE(write_journal_file(forged_files, image));

  const ReadBack read = read_back(forged_files);
  EXPECT_EQ(read.scan.outcome, ScanOutcome::corrupt);
  EXPECT_EQ(read.scan.bad_offset, whole.records[4].offset) << "the first record whose link is broken";
}

TEST(JournalChain, SwappedRecordsAreFound) {
  PowerCutFileSystem files;
  write_three_jobs(files);
  const ReadBack whole = read_back(files);
  // Two records of equal length change places: job-b's and job-c's started.
  const ReadRecord& b = whole.records[5];
  const ReadRecord& c = whole.records[8];
  ASSERT_EQ(b.kind, RecordKind::started);
  ASSERT_EQ(c.kind, RecordKind::started);
  auto image = files.contents(kPath);
  const std::size_t length = record_bytes(b.id.size(), 0);
  std::vector<std::byte> saved(image.begin() + static_cast<std::ptrdiff_t>(b.offset),
                               image.begin() + static_cast<std::ptrdiff_t>(b.offset + length));
  std::memcpy(image.data() + b.offset, image.data() + c.offset, length);
  std::memcpy(image.data() + c.offset, saved.data(), length);
  PowerCutFileSystem swapped;
  ASSERT_TRUE(write_journal_file(swapped, image));
  const ReadBack read = read_back(swapped);
  EXPECT_EQ(read.scan.outcome, ScanOutcome::corrupt);
  EXPECT_EQ(read.scan.bad_offset, b.offset);
}

TEST(JournalChain, AFileThatIsNotAJournalIsUnreadable) {
  PowerCutFileSystem files;
  ASSERT_TRUE(write_journal_file(files, bytes_of("{\"this is\": \"not a journal\"}")));
  EXPECT_EQ(read_back(files).scan.outcome, ScanOutcome::unreadable);
}

TEST(JournalChain, ANewerFormatVersionIsUnreadable) {
  PowerCutFileSystem files;
  ASSERT_TRUE(write_journal_file(files, file_header(kFormatVersion + 1)));
  const ScanResult scan = read_back(files).scan;
  EXPECT_EQ(scan.outcome, ScanOutcome::unreadable);
  EXPECT_EQ(scan.version, kFormatVersion + 1);
}

TEST(JournalChain, NoFileIsAnEmptyJournal) {
  PowerCutFileSystem files;
  EXPECT_EQ(read_back(files).scan.outcome, ScanOutcome::empty);
}

TEST(JournalChain, ANewFileAfterADamagedOneFollowsItsLastGoodRecord) {
  PowerCutFileSystem files;
  write_three_jobs(files);
  const ReadBack whole = read_back(files);
  files.corrupt_byte(kPath, whole.records[6].offset + 30);
  const ScanResult damaged = read_back(files).scan;
  ASSERT_EQ(damaged.outcome, ScanOutcome::corrupt);
  ASSERT_EQ(files.rename(kPath, "/state/journal.damaged-7"), 0);
  JournalWriter writer(files, kPath, {.sync = SyncMode::none});
  ASSERT_TRUE(writer.open(damaged));
  writer.close();
  const ReadBack fresh = read_back(files);
  EXPECT_EQ(fresh.scan.outcome, ScanOutcome::clean);
  ASSERT_EQ(fresh.records.size(), 1u);
  EXPECT_EQ(fresh.scan.first_sequence, damaged.last_sequence + 1);
  EXPECT_EQ(fresh.scan.first_previous, damaged.last_hash);
}

}  // namespace
}  // namespace edgerun::journal::test

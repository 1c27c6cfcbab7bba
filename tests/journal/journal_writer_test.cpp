// The writer: when records become durable in each sync mode, a full disk, a
// failing fsync.
#include <gtest/gtest.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <cstring>

#include "journal_test_support.hpp"

namespace edgerun::journal::test {
namespace {

using edgerun::test::PowerCutFileSystem;

TEST(JournalWriter, AlwaysMakesEachRecordDurable) {
  PowerCutFileSystem files;
  auto writer = open_writer(files, {.sync = SyncMode::always});
  for (int i = 0; i < 20; ++i) {
    const std::uint64_t sequence = append(*writer, RecordKind::accepted, "job-" + std::to_string(i), "{}");
    ASSERT_TRUE(writer->wait_durable(sequence));
    // What wait_durable promised is what a power cut keeps.
    const auto image = files.after_power_cut();
    EXPECT_EQ(read_back(*image).scan.last_sequence, sequence);
  }
  EXPECT_GE(writer->syncs(), 1u);
}

TEST(JournalWriter, BatchSyncsAtMostOnceABatchForManyRecords) {
  PowerCutFileSystem files;
  // A batch far longer than the appends take: they all fall into the first
  // batch or the second, whatever the machine's speed.
  auto writer = open_writer(files, {.sync = SyncMode::batch, .batch_ms = 2000});
  const std::uint64_t syncs_before = files.sync_count();
  std::uint64_t last = 0;
  for (int i = 0; i < 200; ++i) last = append(*writer, RecordKind::accepted, "job-" + std::to_string(i), "{}");
  ASSERT_TRUE(writer->wait_durable(last));
  EXPECT_LE(files.sync_count() - syncs_before, 2u);
  EXPECT_EQ(writer->durable_sequence(), last);
}

TEST(JournalWriter, NoneCountsAWrittenRecordDurableAndNeverSyncs) {
  PowerCutFileSystem files;
  auto writer = open_writer(files, {.sync = SyncMode::none});
  const std::uint64_t syncs_before = files.sync_count();
  const std::uint64_t sequence = append(*writer, RecordKind::accepted, "job-1", "{}");
  EXPECT_TRUE(writer->is_durable(sequence));
  writer->close();
  EXPECT_EQ(files.sync_count(), syncs_before);
  EXPECT_EQ(read_back(files).records.back().id, "job-1");
}

TEST(JournalWriter, AFullDiskRefusesTheRecordAndLeavesNoHalfRecord) {
  PowerCutFileSystem files;
  auto writer = open_writer(files, {.sync = SyncMode::always});
  const std::uint64_t kept = append(*writer, RecordKind::accepted, "job-kept", "{}");
  files.set_capacity(writer->file_bytes() + 40);  // less than a record
  int error = 0;
  EXPECT_EQ(writer->append(RecordKind::accepted, 0, "job-refused", bytes_of("{}"), error), 0u);
  EXPECT_EQ(error, ENOSPC);
  EXPECT_EQ(writer->append_failures(), 1u);
  EXPECT_EQ(read_back(files).scan.outcome, ScanOutcome::clean) << "cut back to the last whole record";

  // Space returns: the chain goes on from the last record written.
  files.set_capacity(UINT64_MAX);
  const std::uint64_t next = append(*writer, RecordKind::accepted, "job-after", "{}");
  EXPECT_EQ(next, kept + 1);
  ASSERT_TRUE(writer->wait_durable(next));
  const ReadBack read = read_back(files);
  EXPECT_EQ(read.scan.outcome, ScanOutcome::clean);
  EXPECT_EQ(read.records.back().id, "job-after");
}

TEST(JournalWriter, ARecordOverTheLimitIsRefused) {
  PowerCutFileSystem files;
  auto writer = open_writer(files, {.sync = SyncMode::none, .max_record_bytes = 256});
  int error = 0;
  EXPECT_EQ(writer->append(RecordKind::accepted, 0, "job", bytes_of(std::string(300, 'x')), error), 0u);
  EXPECT_EQ(error, EMSGSIZE);
}

TEST(JournalWriter, AFailedSyncFailsTheWriterInsteadOfPretending) {
  PowerCutFileSystem files;
  auto writer = open_writer(files, {.sync = SyncMode::always});
  // The append succeeds, its fsync is the first operation to fail.
  files.cut_power_after(files.operations() + 1);
  int error = 0;
  const std::uint64_t sequence = writer->append(RecordKind::accepted, 0, "job", bytes_of("{}"), error);
  ASSERT_NE(sequence, 0u);
  EXPECT_FALSE(writer->wait_durable(sequence));
  EXPECT_TRUE(writer->failed());
  EXPECT_EQ(writer->append(RecordKind::accepted, 0, "job-2", bytes_of("{}"), error), 0u);
  EXPECT_EQ(error, EIO);
}

TEST(JournalWriter, ATornTailIsCutOffAtOpen) {
  PowerCutFileSystem files;
  std::uint64_t durable = 0;
  {
    auto writer = open_writer(files, {.sync = SyncMode::always});
    durable = append(*writer, RecordKind::accepted, "job-1", "{}");
    ASSERT_TRUE(writer->wait_durable(durable));
    files.cut_power_after(files.operations() + 1);  // the next append only
    (void)append(*writer, RecordKind::accepted, "job-2", R"({"params":{"n":1}})");
  }
  const auto rebooted = files.after_power_cut(20);  // 20 bytes of it made it
  ASSERT_EQ(read_back(*rebooted).scan.outcome, ScanOutcome::torn_tail);
  auto writer = open_writer(*rebooted, {.sync = SyncMode::always});
  EXPECT_EQ(writer->head().sequence, durable);
  const std::uint64_t next = append(*writer, RecordKind::accepted, "job-3", "{}");
  EXPECT_EQ(next, durable + 1);
  ASSERT_TRUE(writer->wait_durable(next));
  const ReadBack read = read_back(*rebooted);
  EXPECT_EQ(read.scan.outcome, ScanOutcome::clean);
  EXPECT_EQ(read.records.back().id, "job-3");
}

TEST(JournalWriter, ANewJournalFileIsCreatedPrivate) {
  // The real file system: a journal holds job parameters.
  char directory[] = "/tmp/edgerun-journal-XXXXXX";
  ASSERT_NE(mkdtemp(directory), nullptr);
  const std::string path = std::string(directory) + "/journal";
  {
    JournalWriter writer(port::system_file_system(), path, {.sync = SyncMode::always});
    ASSERT_TRUE(writer.open(scan_journal(port::system_file_system(), path.c_str(), {})));
    int error = 0;
    ASSERT_NE(writer.append(RecordKind::accepted, 0, "job", bytes_of("{}"), error), 0u);
  }
  struct stat info {};
  ASSERT_EQ(stat(path.c_str(), &info), 0);
  EXPECT_EQ(info.st_mode & 0777, 0600u);
  std::remove(path.c_str());
  rmdir(directory);
}

}  // namespace
}  // namespace edgerun::journal::test

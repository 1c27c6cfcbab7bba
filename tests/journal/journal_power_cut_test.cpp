// The power goes at every write and fsync of a scripted run, with and
// without a torn last write. Whatever the moment, what the writer said was
// durable is there after the reboot, the file reads as whole records up to a
// torn tail at most, and the journal opens and goes on from it.
#include <gtest/gtest.h>

#include <set>

#include "journal_test_support.hpp"

namespace edgerun::journal::test {
namespace {

using edgerun::test::PowerCutFileSystem;


struct ScriptRun {
  // The sequences a caller was told were durable: what it made visible.
  std::set<std::uint64_t> promised;
  bool finished = false;
};

// The runtime's rule in miniature: each job's accepted and ended records are
// waited for (as `queued` and the terminal status would be), its started
// record is not (as for an idempotent type).
ScriptRun run_script(PowerCutFileSystem& files, SyncMode mode, int jobs) {
  ScriptRun run;
  (void)files.make_directory(kDirectory);
  auto writer = std::make_unique<JournalWriter>(files, kPath, WriterOptions{.sync = mode, .batch_ms = 1});
  // The power may go while the journal is made.
  if (!writer->open(scan_journal(files, kPath, {}))) return run;
  for (int job = 0; job < jobs; ++job) {
    const std::string id = "job-" + std::to_string(job);
    int error = 0;
    const std::uint64_t accepted = writer->append(RecordKind::accepted, 0, id, bytes_of(R"({"v":1})"), error);
    if (accepted == 0 || !writer->wait_durable(accepted)) return run;
    run.promised.insert(accepted);
    if (writer->append(RecordKind::started, 0, id, {}, error) == 0) return run;
    const std::uint64_t ended = writer->append(RecordKind::ended, 0, id, bytes_of(R"({"state":"succeeded"})"), error);
    if (ended == 0 || !writer->wait_durable(ended)) return run;
    run.promised.insert(ended);
  }
  run.finished = true;
  return run;
}

void check_every_cut(SyncMode mode, int jobs) {
  PowerCutFileSystem dry;
  ASSERT_TRUE(run_script(dry, mode, jobs).finished);
  const std::uint64_t operations = dry.operations();
  ASSERT_GT(operations, 3u * static_cast<unsigned>(jobs));

  for (std::uint64_t cut = 0; cut <= operations; ++cut) {
    for (const std::size_t torn : {std::size_t{0}, std::size_t{29}}) {
      SCOPED_TRACE("power cut after operation " + std::to_string(cut) + ", torn bytes " + std::to_string(torn));
      PowerCutFileSystem files;
      files.cut_power_after(cut);
      const ScriptRun run = run_script(files, mode, jobs);
      const auto rebooted = files.after_power_cut(torn);

      const ReadBack read = read_back(*rebooted);
      ASSERT_TRUE(read.scan.outcome == ScanOutcome::clean || read.scan.outcome == ScanOutcome::torn_tail ||
                  (read.scan.outcome == ScanOutcome::empty && run.promised.empty()))
          << to_string(read.scan.outcome) << ": " << read.scan.reason.data();
      std::set<std::uint64_t> found;
      for (const ReadRecord& record : read.records) found.insert(record.sequence);
      for (const std::uint64_t sequence : run.promised) ASSERT_TRUE(found.count(sequence)) << "lost " << sequence;

      // It opens, cuts what was torn and goes on.
      auto writer = open_writer(*rebooted, {.sync = SyncMode::always});
      const std::uint64_t next = append(*writer, RecordKind::accepted, "after-reboot", "{}");
      ASSERT_TRUE(writer->wait_durable(next));
      writer->close();
      const ReadBack after = read_back(*rebooted);
      ASSERT_EQ(after.scan.outcome, ScanOutcome::clean) << after.scan.reason.data();
      ASSERT_EQ(after.records.back().id, "after-reboot");
    }
  }
}

TEST(JournalPowerCut, EveryCutWithSyncAlwaysKeepsWhatWasPromised) { check_every_cut(SyncMode::always, 60); }

TEST(JournalPowerCut, EveryCutWithSyncBatchKeepsWhatWasPromised) {
  // Each wait lasts up to a batch (1 ms): fewer jobs keep it quick.
  check_every_cut(SyncMode::batch, 12);
}

}  // namespace
}  // namespace edgerun::journal::test

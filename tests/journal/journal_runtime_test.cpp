// The runtime with its journal: nothing is heard of before its record is
// on disk, and a restart puts every job back where it was. A power cut at
// every write and fsync of a run of jobs: journal_runtime_power_cut_test.cpp.
#include <gtest/gtest.h>

#include <atomic>
#include <set>

#include "edgerun/journal.hpp"
#include "journal_test_support.hpp"
#include "journaled_runtime.hpp"
#include "runtime_harness.hpp"

namespace edgerun::journal::test {
namespace {

using edgerun::test::PowerCutFileSystem;
using namespace std::chrono_literals;

JournalOptions journal_options(SyncMode sync = SyncMode::batch) {
  JournalOptions options;
  options.directory = kDirectory;
  options.sync = sync;
  options.batch_ms = 2;
  options.max_pending = 64;
  options.finished_ids = 256;
  options.device = "dev";
  return options;
}

RuntimeConfig runtime_config() {
  RuntimeConfig config = edgerun::test::small_config();
  config.queue_capacity = 16;
  return config;
}

// The kinds of the records of `id` that a power cut now would keep.
std::multiset<RecordKind> durable_records(const PowerCutFileSystem& files, std::string_view id) {
  std::multiset<RecordKind> kinds;
  const auto image = files.after_power_cut();
  (void)scan_journal(*image, kPath, [&](const RecordView& record) {
    if (record.id == id) kinds.insert(record.kind);
    return true;
  });
  return kinds;
}

// Checks, as each status goes out, that the record allowing it is on disk.
class DurabilityCheck final : public StatusSink {
 public:
  explicit DurabilityCheck(const PowerCutFileSystem& files) : files_(files) {}
  void on_status(const JobStatusView& status) noexcept override {
    const auto kinds = durable_records(files_, status.id);
    const RecordKind needed = is_terminal(status.state) ? RecordKind::ended : RecordKind::accepted;
    if (kinds.count(needed) == 0) {
      std::lock_guard lock(mutex_);
      violations_.push_back(std::string(status.id) + " " + std::string(to_string(status.state)));
    }
  }
  std::vector<std::string> violations() {
    std::lock_guard lock(mutex_);
    return violations_;
  }

 private:
  const PowerCutFileSystem& files_;
  std::mutex mutex_;
  std::vector<std::string> violations_;
};

HandlerResult ok(JobContext&) { return HandlerResult::success(nullptr); }

// Runs until its job is asked to stop (a cancel, a shutdown).
HandlerResult until_stopped(JobContext& job) {
  job.wait_for_cancel(30s);
  return HandlerResult::success(nullptr);
}

TEST(JournalRuntime, NothingIsHeardOfBeforeItsRecordIsOnDisk) {
  PowerCutFileSystem files;
  DurabilityCheck check(files);
  std::atomic<int> started_before_durable{0};
  JournaledRuntime running(files, journal_options(), runtime_config());
  running.runtime.add_status_sink(check);
  // Not idempotent: it runs only once its started record is on disk.
  ASSERT_TRUE(running.runtime.register_handler("work", [&](JobContext& job) {
    if (durable_records(files, job.id()).count(RecordKind::started) == 0) ++started_before_durable;
    return HandlerResult::success(nullptr);
  }));
  ASSERT_TRUE(running.runtime.register_handler("calc", ok, {.idempotent = true}));
  ASSERT_TRUE(running.runtime.register_handler("quick", ok, {.runs_on_loop = true}));
  ASSERT_TRUE(running.start());

  const char* types[] = {"work", "calc", "quick"};
  for (int i = 0; i < 60; ++i) {
    const std::string id = edgerun::test::numbered_id("job-", i);
    ASSERT_TRUE(running.submit(id, types[i % 3]).accepted);
    if (i % 8 == 7) {
      ASSERT_TRUE(running.recorder.wait_terminal(id));
    }
  }
  for (int i = 0; i < 60; ++i) {
    const auto done = running.recorder.wait_terminal(edgerun::test::numbered_id("job-", i));
    ASSERT_TRUE(done);
    EXPECT_EQ(done->state, JobState::succeeded);
  }
  running.stop();
  EXPECT_EQ(check.violations(), std::vector<std::string>{});
  EXPECT_EQ(started_before_durable.load(), 0);
}

TEST(JournalRuntime, ARestartRunsQueuedJobsEndsInterruptedOnesAndKnowsFinishedIds) {
  PowerCutFileSystem files;
  std::unique_ptr<PowerCutFileSystem> rebooted;
  {
    RuntimeConfig config = runtime_config();
    config.workers = 1;
    JournaledRuntime first(files, journal_options(SyncMode::always), config);
    ASSERT_TRUE(first.runtime.register_handler("work", [](JobContext& job) {
      if (job.id() == "blocker") job.wait_for_cancel(30s);
      return HandlerResult::success(nullptr);
    }));
    ASSERT_TRUE(first.start());
    ASSERT_TRUE(first.submit("done-1", "work").accepted);
    ASSERT_TRUE(first.recorder.wait_terminal("done-1"));
    ASSERT_TRUE(first.submit("blocker", "work").accepted);
    ASSERT_TRUE(first.recorder.wait_state("blocker", JobState::running));
    for (const char* id : {"queued-1", "queued-2", "queued-3"}) {
      ASSERT_TRUE(first.submit(id, "work").accepted);
      ASSERT_TRUE(first.recorder.wait_state(id, JobState::queued));
    }
    // The power goes now: what the disk holds is all the next start has.
    rebooted = files.after_power_cut();
    first.stop();
  }

  std::vector<std::string> ran;
  std::mutex ran_mutex;
  RuntimeConfig one_worker = runtime_config();
  one_worker.workers = 1;  // so the order they run in is the order they start in
  JournaledRuntime second(*rebooted, journal_options(), one_worker);
  ASSERT_TRUE(second.runtime.register_handler("work", [&](JobContext& job) {
    std::lock_guard lock(ran_mutex);
    ran.emplace_back(job.id());
    return HandlerResult::success(nullptr);
  }));
  ASSERT_TRUE(second.start());

  const auto blocker = second.recorder.wait_terminal("blocker");
  ASSERT_TRUE(blocker);
  EXPECT_EQ(blocker->state, JobState::failed);
  EXPECT_EQ(blocker->error, ErrorCode::interrupted);
  for (const char* id : {"queued-1", "queued-2", "queued-3"}) {
    const auto done = second.recorder.wait_terminal(id);
    ASSERT_TRUE(done) << id;
    EXPECT_EQ(done->state, JobState::succeeded) << id;
  }
  {
    std::lock_guard lock(ran_mutex);
    EXPECT_EQ(ran, (std::vector<std::string>{"queued-1", "queued-2", "queued-3"})) << "in the order accepted";
  }
  // A finished id stays known across the restart.
  const SubmitResult again = second.submit("done-1", "work");
  EXPECT_FALSE(again.accepted);
  EXPECT_EQ(again.rejection, ErrorCode::duplicate);
  // Its status was never acknowledged (no transport here): published again.
  ASSERT_TRUE(second.runtime.wait_until_all_jobs_finished(10s));
  bool republished = false;
  for (const auto& [id, json] : second.recorder.stored()) {
    if (id == "done-1") republished = json.find(R"("state":"succeeded")") != std::string::npos;
  }
  EXPECT_TRUE(republished);
  second.stop();
}

TEST(JournalRuntime, ACleanStopLeavesQueuedJobsForTheRestart) {
  PowerCutFileSystem files;
  {
    RuntimeConfig config = runtime_config();
    config.workers = 1;
    JournaledRuntime first(files, journal_options(), config);
    ASSERT_TRUE(first.runtime.register_handler("work", until_stopped));
    ASSERT_TRUE(first.start());
    ASSERT_TRUE(first.submit("running", "work").accepted);
    ASSERT_TRUE(first.recorder.wait_state("running", JobState::running));
    ASSERT_TRUE(first.submit("waiting", "work").accepted);
    ASSERT_TRUE(first.recorder.wait_state("waiting", JobState::queued));
    first.stop(true, 50ms);
    // The running one ran out of grace: not idempotent, it ends interrupted.
    const auto running = first.recorder.wait_terminal("running", 0ms);
    ASSERT_TRUE(running);
    EXPECT_EQ(running->error, ErrorCode::interrupted);
    EXPECT_FALSE(first.recorder.wait_terminal("waiting", 0ms)) << "a queued job is neither run nor canceled";
  }
  JournaledRuntime second(files, journal_options(), runtime_config());
  ASSERT_TRUE(second.runtime.register_handler("work", ok));
  ASSERT_TRUE(second.start());
  const auto waiting = second.recorder.wait_terminal("waiting");
  ASSERT_TRUE(waiting);
  EXPECT_EQ(waiting->state, JobState::succeeded);
  second.stop();
}

}  // namespace
}  // namespace edgerun::journal::test

namespace edgerun::journal::test {
namespace {

TEST(JournalRuntime, TheFileStaysBoundedByRewritesAndKeepsItsChain) {
  PowerCutFileSystem files;
  JournalOptions options = journal_options();
  options.max_file_bytes = 16 * 1024;
  options.finished_ids = 64;
  constexpr int kJobs = 600;
  {
    JournaledRuntime running(files, options, runtime_config());
    ASSERT_TRUE(running.runtime.register_handler("work", ok));
    ASSERT_TRUE(running.start());
    for (int i = 0; i < kJobs; ++i) {
      const std::string id = edgerun::test::numbered_id("job-", i);
      ASSERT_TRUE(running.submit(id, "work").accepted) << id;
      if (i % 8 == 7) {
        ASSERT_TRUE(running.recorder.wait_terminal(id));
      }
    }
    for (int i = 0; i < kJobs; ++i) ASSERT_TRUE(running.recorder.wait_terminal(edgerun::test::numbered_id("job-", i)));
    running.stop();
    const JournalStats stats = running.journal.stats();
    EXPECT_GT(stats.rewrites, 2u);
    // The bound, plus the live records of one rewrite and what came since.
    EXPECT_LT(stats.file_bytes, 2 * options.max_file_bytes);
    EXPECT_EQ(stats.finished_evicted, std::uint64_t{kJobs} - 64);
  }
  const ReadBack read = read_back(files);
  EXPECT_EQ(read.scan.outcome, ScanOutcome::clean) << read.scan.reason.data();
  EXPECT_GT(read.scan.first_sequence, 1u) << "a rewritten file starts with a checkpoint following the old one";

  // The newest finished ids are still known after a restart, and after the
  // next: each start rewrites the file, which then holds their ended
  // records alone. The oldest of them was finished before the run's last
  // rewrite.
  for (int restart = 0; restart < 2; ++restart) {
    SCOPED_TRACE("restart " + std::to_string(restart + 1));
    JournaledRuntime again(files, options, runtime_config());
    ASSERT_TRUE(again.runtime.register_handler("work", ok));
    ASSERT_TRUE(again.start());
    for (const int job : {kJobs - 64, kJobs - 1}) {
      EXPECT_EQ(again.submit(edgerun::test::numbered_id("job-", job), "work").rejection, ErrorCode::duplicate) << job;
    }
    again.stop();
  }
}

}  // namespace
}  // namespace edgerun::journal::test

// Defects a review found; each test fails without its fix.
namespace edgerun::journal::test {
namespace {

JobStatusView succeeded_status(std::string_view id, std::string_view result = "{}") {
  JobStatusView status{};
  status.id = id;
  status.type = "work";
  status.state = JobState::succeeded;
  status.ts_ms = 1;
  status.result_json = result;
  return status;
}

class CountingRecovery final : public JournalRecovery {
 public:
  void pending(std::string_view, std::string_view, bool, bool, std::uint64_t) noexcept override { ++pending_jobs; }
  void finished(std::string_view, JobState, bool) noexcept override { ++finished_jobs; }
  int pending_jobs = 0;
  int finished_jobs = 0;
};

TEST(JournalReview, AStoredStatusIsNotHandedOutBeforeItsRecordIsDurable) {
  PowerCutFileSystem files;
  LogRing log(64, LogLevel::info);
  JournalOptions options = journal_options();
  options.batch_ms = 1000;
  Journal journal(files, options, log);
  CountingRecovery recovery;
  ASSERT_TRUE(journal.recover(recovery));
  int error = 0;
  // A first record syncs at once; the next ones wait out the batch.
  ASSERT_TRUE(journal.wait_durable(journal.accepted("warm-up", R"({"v":1})", error)));
  ASSERT_NE(journal.accepted("job-1", R"({"v":1,"id":"job-1","type":"work"})", error), 0u);
  const auto ended = journal.ended(succeeded_status("job-1"), error);
  ASSERT_NE(ended, 0u);
  std::array<char, 512> out{};
  if (!journal.is_durable(ended)) {
    EXPECT_EQ(journal.stored_status("job-1", out), 0u) << "a duplicate would publish a status a power cut may undo";
  }
  ASSERT_TRUE(journal.wait_durable(ended));
  EXPECT_GT(journal.stored_status("job-1", out), 0u);
}

TEST(JournalReview, RecoveryPutsBackEveryJobThatHeldASlotBeyondTheQueuesCapacity) {
  PowerCutFileSystem files;
  RuntimeConfig config = runtime_config();
  config.workers = 1;
  config.queue_capacity = 2;  // 4 slots: 2 waiting, 2 for the worker's
  {
    LogRing log(64, LogLevel::info);
    Journal journal(files, journal_options(), log);
    CountingRecovery recovery;
    ASSERT_TRUE(journal.recover(recovery));
    int error = 0;
    for (int i = 0; i < 4; ++i) {
      const std::string id = edgerun::test::numbered_id("held-", i);
      ASSERT_TRUE(journal.wait_durable(
          journal.accepted(id, R"({"v":1,"id":")" + id + R"(","type":"work"})", error)));
    }
    journal.close();
  }
  JournaledRuntime restarted(files, journal_options(), config);
  ASSERT_TRUE(restarted.runtime.register_handler("work", ok, {.idempotent = true}));
  ASSERT_TRUE(restarted.start());
  for (int i = 0; i < 4; ++i) {
    const auto done = restarted.recorder.wait_terminal(edgerun::test::numbered_id("held-", i));
    ASSERT_TRUE(done) << i;
    EXPECT_EQ(done->state, JobState::succeeded);
  }
  restarted.stop();
}

TEST(JournalReview, AFailingDiskStopsTheRuntimeEvenWithNothingWaiting) {
  PowerCutFileSystem files;
  JournaledRuntime running(files, journal_options(SyncMode::always), runtime_config());
  ASSERT_TRUE(running.runtime.register_handler("work", ok));
  ASSERT_TRUE(running.start());
  ASSERT_TRUE(running.submit("before", "work").accepted);
  ASSERT_TRUE(running.recorder.wait_terminal("before"));
  files.cut_power_after(files.operations());  // the disk fails from now on
  const SubmitResult refused = running.submit("after", "work");
  EXPECT_EQ(refused.rejection, ErrorCode::unavailable);
  // It stops by itself: admission closes, run() returns its error.
  const auto deadline = std::chrono::steady_clock::now() + 10s;
  while (running.submit("probe", "work").rejection != ErrorCode::shutting_down) {
    ASSERT_LT(std::chrono::steady_clock::now(), deadline) << "the runtime went on with a failed journal";
    std::this_thread::yield();
  }
  running.join();
  EXPECT_FALSE(running.run_status().ok());
}

TEST(JournalReview, AJournalWrittenWithLargerLimitsStillRecovers) {
  PowerCutFileSystem files;
  const std::string big_result = R"({"blob":")" + std::string(6000, 'x') + R"("})";
  {
    LogRing log(64, LogLevel::info);
    JournalOptions generous = journal_options();
    generous.max_result_bytes = 16384;
    Journal journal(files, generous, log);
    CountingRecovery recovery;
    ASSERT_TRUE(journal.recover(recovery));
    int error = 0;
    ASSERT_NE(journal.accepted("big", R"({"v":1,"id":"big","type":"work"})", error), 0u);
    ASSERT_TRUE(journal.wait_durable(journal.ended(succeeded_status("big", big_result), error)));
    journal.close();
  }
  LogRing log(64, LogLevel::info);
  JournalOptions small = journal_options();
  small.max_result_bytes = 1024;  // an operator lowered jobs.max_result_bytes
  Journal journal(files, small, log);
  CountingRecovery recovery;
  const Status recovered = journal.recover(recovery);
  ASSERT_TRUE(recovered) << recovered.message();
  EXPECT_EQ(recovery.finished_jobs, 1);
}

TEST(JournalReview, AnIdLongerThanAnyJobIdIsDamage) {
  PowerCutFileSystem files;
  {
    auto writer = open_writer(files, {.sync = SyncMode::always});
    // A record whose hash checks out but whose id no job can have.
    (void)append(*writer, RecordKind::accepted, std::string(200, 'a'), "{}");
    (void)append(*writer, RecordKind::accepted, "after", "{}");
    writer->close();
  }
  EXPECT_EQ(read_back(files).scan.outcome, ScanOutcome::corrupt);
}

TEST(JournalReview, AFullDiskDoesNotHoldUpTheStop) {
  PowerCutFileSystem files;
  RuntimeConfig config = runtime_config();
  config.workers = 1;
  JournaledRuntime running(files, journal_options(SyncMode::always), config);
  ASSERT_TRUE(running.runtime.register_handler("work", until_stopped));
  ASSERT_TRUE(running.start());
  ASSERT_TRUE(running.submit("stuck", "work").accepted);
  ASSERT_TRUE(running.recorder.wait_state("stuck", JobState::running));
  files.set_capacity(0);  // no room for its ended record
  running.stop(true, 50ms);  // returns: the job ends without a status
  EXPECT_FALSE(running.recorder.wait_terminal("stuck", 0ms));
  // Its accepted and started records stay: the restart ends it interrupted.
  files.set_capacity(UINT64_MAX);
}

}  // namespace
}  // namespace edgerun::journal::test

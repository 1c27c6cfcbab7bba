// The runtime with its journal: nothing is heard of before its record is
// on disk, a restart puts every job back where it was, and a power cut at
// any write or fsync of a run of jobs loses nothing that was promised and
// runs nothing twice that must not run twice.
#include <gtest/gtest.h>

#include <atomic>
#include <map>
#include <set>

#include "edgerun/journal.hpp"
#include "journal_test_support.hpp"
#include "runtime_harness.hpp"

namespace edgerun::journal::test {
namespace {

using edgerun::test::PowerCutFileSystem;
using edgerun::test::RunningRuntime;
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

// A runtime with its journal over a file system; the journal is made first
// and outlives the runtime, as it must.
struct JournalHolder {
  JournalHolder(port::FileSystem& files, const JournalOptions& options) : journal(files, options, log) {}
  LogRing log{64, LogLevel::info};
  Journal journal;
};
class JournaledRuntime : public JournalHolder, public RunningRuntime {
 public:
  JournaledRuntime(port::FileSystem& files, const JournalOptions& options, const RuntimeConfig& config = runtime_config())
      : JournalHolder(files, options), RunningRuntime(config) {
    runtime.set_journal(journal);
  }
};

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
    ASSERT_TRUE(first.runtime.register_handler("work", [](JobContext& job) {
      job.wait_for_cancel(30s);
      return HandlerResult::success(nullptr);
    }));
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

// What a scripted run saw of each job, across the run cut by the power and
// the run after the reboot.
struct Outcome {
  bool promised = false;               // a status was published before the cut
  std::set<JobState> terminal_states;  // published, stored ones included
  int runs = 0;                        // handler calls of a type that is not idempotent
};

class PowerCutScript {
 public:
  explicit PowerCutScript(int jobs) : jobs_(jobs) {}

  // Runs the jobs one after another on `files` until they are done or the
  // journal fails under them.
  void run_until_cut(PowerCutFileSystem& files) {
    JournaledRuntime running(files, journal_options(SyncMode::always), runtime_config());
    register_handlers(running);
    if (!running.start()) return;  // the power went during recovery
    for (int i = 0; i < jobs_; ++i) {
      const std::string id = edgerun::test::numbered_id("job-", i);
      if (!running.submit(id, i % 2 == 0 ? "once" : "again").accepted) break;
      // Bounded: a failed journal stops the runtime, which ends the wait.
      while (!running.recorder.wait_terminal(id, 20ms) && !running.journal.failed()) {
      }
      if (running.journal.failed()) break;
    }
    running.stop();
    collect(running, true);
  }

  void run_after_reboot(PowerCutFileSystem& files) {
    JournaledRuntime running(files, journal_options(SyncMode::always), runtime_config());
    register_handlers(running);
    ASSERT_TRUE(running.start());
    ASSERT_TRUE(running.runtime.wait_until_all_jobs_finished(10s));
    running.stop();
    collect(running, false);
  }

  std::map<std::string, Outcome>& outcomes() { return outcomes_; }

 private:
  void register_handlers(RunningRuntime& running) {
    ASSERT_TRUE(running.runtime.register_handler("once", [this](JobContext& job) {
      std::lock_guard lock(mutex_);
      ++outcomes_[std::string(job.id())].runs;
      return HandlerResult::success(nullptr);
    }));
    ASSERT_TRUE(running.runtime.register_handler("again", ok, {.idempotent = true}));
  }

  void collect(RunningRuntime& running, bool before_cut) {
    std::lock_guard lock(mutex_);
    for (const auto& status : running.recorder.all()) {
      Outcome& outcome = outcomes_[status.id];
      if (before_cut) outcome.promised = true;
      if (is_terminal(status.state)) outcome.terminal_states.insert(status.state);
    }
    for (const auto& [id, json] : running.recorder.stored()) {
      for (const JobState state : {JobState::succeeded, JobState::failed, JobState::canceled, JobState::timed_out}) {
        if (json.find("\"state\":\"" + std::string(to_string(state)) + "\"") != std::string::npos) {
          outcomes_[id].terminal_states.insert(state);
        }
      }
    }
  }

  int jobs_;
  std::mutex mutex_;
  std::map<std::string, Outcome> outcomes_;
};

TEST(JournalRuntimePowerCut, AtEveryWriteAndFsyncNothingPromisedIsLostOrRunTwice) {
  constexpr int kJobs = 40;
  std::uint64_t operations = 0;
  {
    PowerCutFileSystem dry;
    PowerCutScript script(kJobs);
    script.run_until_cut(dry);
    operations = dry.operations();
    ASSERT_EQ(script.outcomes().size(), std::size_t{kJobs});
  }
  for (std::uint64_t cut = 0; cut <= operations; ++cut) {
    for (const std::size_t torn : {std::size_t{0}, std::size_t{40}}) {
      SCOPED_TRACE("power cut after operation " + std::to_string(cut) + " of " + std::to_string(operations) +
                   ", torn bytes " + std::to_string(torn));
      PowerCutFileSystem files;
      files.cut_power_after(cut);
      PowerCutScript script(kJobs);
      script.run_until_cut(files);
      const auto rebooted = files.after_power_cut(torn);
      script.run_after_reboot(*rebooted);
      for (const auto& [id, outcome] : script.outcomes()) {
        if (outcome.promised) {
          ASSERT_FALSE(outcome.terminal_states.empty()) << id << " was lost";
        }
        ASSERT_LE(outcome.terminal_states.size(), 1u) << id << " ended two ways";
        ASSERT_LE(outcome.runs, 1) << id << " ran twice";
      }
    }
  }
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

  // The newest finished ids are still known after a restart.
  JournaledRuntime second(files, options, runtime_config());
  ASSERT_TRUE(second.runtime.register_handler("work", ok));
  ASSERT_TRUE(second.start());
  EXPECT_EQ(second.submit(edgerun::test::numbered_id("job-", kJobs - 1), "work").rejection, ErrorCode::duplicate);
  second.stop();
}

}  // namespace
}  // namespace edgerun::journal::test

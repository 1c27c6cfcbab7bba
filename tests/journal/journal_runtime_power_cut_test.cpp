// The runtime with its journal under a power cut at every write and fsync,
// torn or not: nothing whose `queued` was published is lost, nothing that is
// not idempotent runs twice, and every job ends with one terminal state.
//
// A run of a few hundred jobs goes once. The file system records, at every
// operation boundary, what a power cut right there would leave
// (PowerCutFileSystem::record_power_cuts), and the run notes the operation
// count at each status it publishes and each handler it starts. A cut after
// operation k is then the run's events up to k, and a reboot on the image of
// k: a new journal and runtime that recover it and finish what it holds. A
// reboot is made once per distinct image, and its outcome is checked against
// every cut that leaves that image. Running the script again up to each cut
// instead would cost O(n^2) operations.
//
// What a single run cannot show is the runtime on the disk that failed: what
// it does after the cut, until it stops. A short run, cut for real at each
// of its boundaries, covers that.
#include <gtest/gtest.h>

#include <algorithm>
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <deque>
#include <limits>
#include <map>
#include <mutex>
#include <optional>
#include <set>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include "edgerun/journal.hpp"
#include "journal_test_support.hpp"
#include "journaled_runtime.hpp"
#include "runtime_harness.hpp"

namespace edgerun::journal::test {
namespace {

using edgerun::test::PowerCutFileSystem;
using edgerun::test::RunningRuntime;
using namespace std::chrono_literals;

constexpr std::uint32_t kWorkers = 2;
constexpr std::uint32_t kQueueCapacity = 16;
// What may survive of an unsynced tail: nothing, a torn record (every
// record is longer), or all of it (written back, never fsynced).
constexpr std::size_t kTornRecordBytes = 40;
constexpr std::size_t kWholeTail = std::numeric_limits<std::size_t>::max();
constexpr std::uint64_t kNever = std::numeric_limits<std::uint64_t>::max();

std::string torn_name(std::size_t torn) { return torn == kWholeTail ? "all" : std::to_string(torn); }

JournalOptions journal_options() {
  JournalOptions options;
  options.directory = kDirectory;
  options.sync = SyncMode::always;  // a boundary for every record
  options.max_pending = 64;
  // Finished ids are forgotten oldest first, their status published or not,
  // and a status can wait while up to a slot's worth of newer jobs end and
  // are published: twice the runtime's slots (queue_capacity + 2 * workers),
  // so that no job is forgotten before its status is out.
  options.finished_ids = 2 * (kQueueCapacity + 2 * kWorkers) + 8;
  // Small enough that the run rewrites its file several times, so cuts fall
  // inside rewrites too, and that an image stays a few KiB; larger than the
  // live records (finished_ids ended records of ~200 bytes, and the pending
  // jobs), or every append would rewrite them all.
  options.max_file_bytes = 20 * 1024;
  options.max_payload_bytes = 1024;
  options.max_result_bytes = 1024;
  options.device = "dev";
  return options;
}

// Small buffers: every reboot allocates them again.
RuntimeConfig runtime_config() {
  RuntimeConfig config = edgerun::test::small_config();
  config.workers = kWorkers;
  config.queue_capacity = kQueueCapacity;
  config.max_payload_bytes = 1024;
  config.max_result_bytes = 1024;
  config.json_arena_bytes = 4096;
  config.finished_ids = 512;
  config.log_records = 16;
  config.event_records = 1;
  config.event_max_bytes = 64;
  return config;
}

// The terminal state a stored status says, as published; rejected (no
// terminal state of a job that ran) when it names none.
JobState state_of_stored(std::string_view json) {
  for (const JobState state : {JobState::succeeded, JobState::failed, JobState::canceled, JobState::timed_out}) {
    if (json.find("\"state\":\"" + std::string(to_string(state)) + "\"") != std::string_view::npos) return state;
  }
  return JobState::rejected;
}

// What a run saw of one job, each at the file system's operation count
// then. A power cut after operation k comes after whatever was noted at k
// or before: the disk it leaves is the same anywhere between operation k and
// k + 1, so the cut may as well fall just before k + 1.
struct Seen {
  std::uint64_t queued = kNever;                           // its `queued` published
  std::vector<std::pair<JobState, std::uint64_t>> ended;   // terminal statuses published
  std::vector<std::pair<JobState, std::uint64_t>> stored;  // and published again from the journal
  std::vector<std::uint64_t> runs;                         // calls of a handler that is not idempotent
};
using Timeline = std::map<std::string, Seen>;

class Observer final : public StatusSink {
 public:
  // `files` null: everything happens at operation 0 (a run that is not cut).
  explicit Observer(const PowerCutFileSystem* files = nullptr) : files_(files) {}

  void on_status(const JobStatusView& status) noexcept override {
    const std::uint64_t now = operation();
    std::lock_guard lock(mutex_);
    Seen& seen = jobs_[std::string(status.id)];
    if (status.state == JobState::queued && seen.queued == kNever) seen.queued = now;
    if (is_terminal(status.state)) seen.ended.emplace_back(status.state, now);
  }
  void on_stored_status(std::string_view id, std::string_view status_json) noexcept override {
    const std::uint64_t now = operation();
    std::lock_guard lock(mutex_);
    jobs_[std::string(id)].stored.emplace_back(state_of_stored(status_json), now);
  }
  // Before the submission: a job the run had, whatever it heard of it.
  void submitting(std::string_view id) {
    std::lock_guard lock(mutex_);
    jobs_.try_emplace(std::string(id));
  }
  void ran(std::string_view id) {
    const std::uint64_t now = operation();
    std::lock_guard lock(mutex_);
    jobs_[std::string(id)].runs.push_back(now);
  }
  Timeline jobs() {
    std::lock_guard lock(mutex_);
    return jobs_;
  }

 private:
  // The file system's own count, read under its lock, so an event is
  // ordered with the operations of every thread.
  std::uint64_t operation() const { return files_ == nullptr ? 0 : files_->operations(); }

  const PowerCutFileSystem* files_;
  std::mutex mutex_;
  Timeline jobs_;
};

// "once" and "hold" are not idempotent: their runs count. With `hold`, a
// "hold" job keeps its worker until it is canceled; otherwise (after a
// reboot) it returns at once.
void register_handlers(RunningRuntime& running, Observer& observer, bool hold) {
  ASSERT_TRUE(running.runtime.register_handler("once", [&observer](JobContext& job) {
    observer.ran(job.id());
    return HandlerResult::success(nullptr);
  }));
  ASSERT_TRUE(running.runtime.register_handler(
      "again", [](JobContext&) { return HandlerResult::success(nullptr); }, {.idempotent = true}));
  ASSERT_TRUE(running.runtime.register_handler("hold", [&observer, hold](JobContext& job) {
    observer.ran(job.id());
    if (hold) job.wait_for_cancel(30s);
    return HandlerResult::success(nullptr);
  }));
}

const char* type_of(int job) { return job % 2 == 0 ? "once" : "again"; }

// A reboot on `image`: a new journal and runtime recover it and finish
// every job it holds.
void reboot(PowerCutFileSystem& image, Observer& observer) {
  JournaledRuntime running(image, journal_options(), runtime_config());
  running.runtime.add_status_sink(observer);
  register_handlers(running, observer, false);
  ASSERT_TRUE(running.start());
  ASSERT_TRUE(running.runtime.wait_until_all_jobs_finished(10s));
  running.stop();
  ASSERT_TRUE(running.run_status().ok()) << running.run_status().message();
}

// The first rule a power cut after `operation` broke, or "": `before` is
// the run the cut ended, `after` the reboot.
std::string broken_rule(const Timeline& before, const Timeline& after, std::uint64_t operation) {
  for (const auto& [id, seen] : after) {
    if (!before.contains(id)) return id + " came back after the reboot, but the run never submitted it";
  }
  const Seen none;
  for (const auto& [id, seen] : before) {
    const auto found = after.find(id);
    const Seen& again = found == after.end() ? none : found->second;
    std::set<JobState> states;
    bool ended_before = false;
    for (const auto& [state, at] : seen.ended) {
      if (at > operation) continue;
      states.insert(state);
      ended_before = true;
    }
    for (const auto& [state, at] : again.ended) states.insert(state);
    for (const auto& [state, at] : again.stored) states.insert(state);
    std::size_t runs = again.runs.size();
    for (const std::uint64_t at : seen.runs) runs += at <= operation ? 1 : 0;
    if (seen.queued <= operation && states.empty()) return id + " was promised (queued published) and lost";
    if (states.size() > 1) return id + " ended two ways";
    // Only the stored status may go out again: a new one means the end
    // published before was not on disk.
    if (ended_before && !again.ended.empty()) return id + " ended once more after the reboot";
    if (runs > 1) return id + " ran twice, and it is not idempotent";
  }
  return "";
}

// What the long run did, to check that it covers what it claims to.
struct Coverage {
  int accepted_beyond_queue = 0;  // jobs taken while both workers were held and the queue full
  int refused = 0;                // submissions refused for room, and submitted again
  int canceled = 0;
  JournalStats journal;
};

// Both workers are held by "hold" jobs while the queue fills past its
// capacity (refused or taken beyond it, as the runtime does), a queued job
// and the held ones are canceled, and the rest of `jobs` go in waves: a
// refused submission waits for the oldest job still out to end.
void run_jobs(PowerCutFileSystem& files, Observer& observer, int jobs, Coverage& coverage) {
  JournaledRuntime running(files, journal_options(), runtime_config());
  running.runtime.add_status_sink(observer);
  register_handlers(running, observer, true);
  ASSERT_TRUE(running.start());
  for (const char* id : {"hold-a", "hold-b"}) {
    observer.submitting(id);
    ASSERT_TRUE(running.submit(id, "hold").accepted);
    ASSERT_TRUE(running.recorder.wait_state(id, JobState::running)) << id;
  }
  std::deque<std::string> out;
  const auto submit = [&](int job) {
    const std::string id = edgerun::test::numbered_id("job-", job);
    observer.submitting(id);
    const SubmitResult result = running.submit(id, type_of(job));
    if (result.accepted) {
      out.push_back(id);
      return true;
    }
    // Refused for room: the queue's, or the journal's pending jobs.
    EXPECT_TRUE(result.rejection == ErrorCode::queue_full || result.rejection == ErrorCode::unavailable)
        << id << ": " << to_string(*result.rejection) << " " << result.message_view();
    ++coverage.refused;
    return false;
  };
  const auto cancel = [&](const std::string& id) {
    EXPECT_TRUE(running.runtime.cancel(id)) << id;
    EXPECT_TRUE(running.recorder.wait_state(id, JobState::canceled)) << id;
    ++coverage.canceled;
  };
  int next = 0;
  while (next < static_cast<int>(kQueueCapacity) + 8 && submit(next)) ++next;
  coverage.accepted_beyond_queue = std::max(0, next - static_cast<int>(kQueueCapacity));
  ASSERT_GE(next, 3) << "too few jobs were taken to cancel one while queued";
  cancel(edgerun::test::numbered_id("job-", 2));  // queued
  cancel("hold-a");                              // running
  bool held = true;
  while (next < jobs) {
    if (held && next >= jobs / 2) {
      cancel("hold-b");
      held = false;
    }
    if (submit(next)) {
      ++next;
    } else if (!out.empty()) {
      ASSERT_TRUE(running.recorder.wait_terminal(out.front())) << out.front();
      out.pop_front();
    } else {
      std::this_thread::sleep_for(1ms);  // the slot is not retired yet
    }
    if (::testing::Test::HasFailure()) return;
  }
  if (held) cancel("hold-b");
  ASSERT_TRUE(running.runtime.wait_until_all_jobs_finished(30s));
  running.stop();
  coverage.journal = running.journal.stats();
}

TEST(JournalRuntimePowerCut, AtEveryWriteAndFsyncOfAFewHundredJobsNothingPromisedIsLostOrRunTwice) {
  constexpr int kJobs = 300;
  PowerCutFileSystem files;
  const std::vector<std::size_t> torn_sizes{0, kTornRecordBytes, kWholeTail};
  files.record_power_cuts(torn_sizes);
  Observer run(&files);
  Coverage coverage;
  run_jobs(files, run, kJobs, coverage);
  ASSERT_FALSE(HasFailure());
  const std::uint64_t operations = files.operations();
  const auto images = files.take_power_cut_images();
  const Timeline before = run.jobs();
  ASSERT_EQ(before.size(), std::size_t{kJobs} + 2);
  EXPECT_TRUE(coverage.refused > 0 || coverage.accepted_beyond_queue > 0) << "never more jobs than the queue holds";
  EXPECT_EQ(coverage.canceled, 3);
  EXPECT_GE(coverage.journal.rewrites, 3u) << "few cuts inside a rewrite";

  std::uint64_t cuts = 0;
  for (const auto& image : images) {
    const PowerCutFileSystem::Cut& first = image.cuts.front();
    SCOPED_TRACE("the reboot after operation " + std::to_string(first.operation) + " of " +
                 std::to_string(operations) + ", torn bytes " + torn_name(first.torn_bytes));
    Observer after;
    reboot(*image.boot(), after);
    ASSERT_FALSE(HasFailure());
    const Timeline rebooted = after.jobs();
    for (const auto& cut : image.cuts) {
      ++cuts;
      ASSERT_EQ(broken_rule(before, rebooted, cut.operation), "")
          << "power cut after operation " << cut.operation << " of " << operations << ", torn bytes "
          << torn_name(cut.torn_bytes);
    }
  }
  EXPECT_EQ(cuts, (operations + 1) * torn_sizes.size()) << "a cut at every boundary, and one before the first";
  std::printf("%d jobs: %llu operations, %llu cuts, %zu distinct images rebooted; %llu rewrites, %d refused\n",
              kJobs, static_cast<unsigned long long>(operations), static_cast<unsigned long long>(cuts), images.size(),
              static_cast<unsigned long long>(coverage.journal.rewrites), coverage.refused);
}

// Jobs one after another until they are done or the disk fails under them;
// then the runtime stops by itself, and is stopped.
void run_until_cut(PowerCutFileSystem& files, Observer& observer, int jobs) {
  JournaledRuntime running(files, journal_options(), runtime_config());
  running.runtime.add_status_sink(observer);
  register_handlers(running, observer, false);
  if (!running.start()) return;  // the power went during recovery
  for (int job = 0; job < jobs; ++job) {
    const std::string id = edgerun::test::numbered_id("job-", job);
    observer.submitting(id);
    if (!running.submit(id, type_of(job)).accepted) break;
    while (!running.recorder.wait_terminal(id, 1ms) && !running.journal.failed()) {
    }
    if (running.journal.failed()) break;
  }
  running.stop();
}

TEST(JournalRuntimePowerCut, ARunWhoseDiskFailsAtAnyBoundaryPromisesNothingMore) {
  constexpr int kJobs = 20;
  std::uint64_t operations = 0;
  {
    PowerCutFileSystem dry;
    Observer run;
    run_until_cut(dry, run, kJobs);
    operations = dry.operations();
    ASSERT_EQ(run.jobs().size(), std::size_t{kJobs});
  }
  for (std::uint64_t cut = 0; cut <= operations; ++cut) {
    PowerCutFileSystem files;
    files.cut_power_after(cut);
    Observer run;
    run_until_cut(files, run, kJobs);
    const Timeline before = run.jobs();
    for (const std::size_t torn : {std::size_t{0}, kTornRecordBytes, kWholeTail}) {
      SCOPED_TRACE("power cut after operation " + std::to_string(cut) + " of " + std::to_string(operations) +
                   ", torn bytes " + torn_name(torn));
      const auto rebooted = files.after_power_cut(torn);
      Observer after;
      reboot(*rebooted, after);
      ASSERT_FALSE(HasFailure());
      // Everything the cut run did, it did before its disk failed or
      // because of it: all of it counts.
      ASSERT_EQ(broken_rule(before, after.jobs(), kNever - 1), "");
    }
  }
  std::printf("%d jobs: %llu operations, a run and 3 reboots for each cut\n", kJobs,
              static_cast<unsigned long long>(operations));
}

}  // namespace
}  // namespace edgerun::journal::test

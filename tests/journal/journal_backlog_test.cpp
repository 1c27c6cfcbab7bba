// The backlog: with a journal, jobs accepted beyond the queue's capacity
// wait in the journal alone, up to journal.max_pending, and move into the
// queue in order as room frees; a drain takes jobs for after the restart.
#include <gtest/gtest.h>

#include <cjson/cJSON.h>

#include <algorithm>
#include <atomic>
#include <condition_variable>
#include <mutex>
#include <thread>
#include <vector>

#include "edgerun/journal.hpp"
#include "edgerun/port/clock.hpp"
#include "journal_test_support.hpp"
#include "journaled_runtime.hpp"
#include "runtime_harness.hpp"

namespace edgerun::journal::test {
namespace {

using edgerun::test::numbered_id;
using edgerun::test::PowerCutFileSystem;
using namespace std::chrono_literals;

constexpr std::uint32_t kMaxPending = 12;

JournalOptions backlog_journal_options() {
  JournalOptions options;
  options.directory = kDirectory;
  options.batch_ms = 2;
  options.max_pending = kMaxPending;
  options.device = "dev";
  return options;
}

// One worker and a queue of two: four jobs have buffers (one running, two
// queued, one ended), the other eight of kMaxPending wait in the journal.
RuntimeConfig one_worker() {
  RuntimeConfig config = edgerun::test::small_config();
  config.workers = 1;
  config.queue_capacity = 2;
  return config;
}

// A runtime over a journal, with a job type that holds the worker until
// opened, and one that notes the `n` of its params in the order run.
class BacklogRuntime : public JournaledRuntime {
 public:
  explicit BacklogRuntime(port::FileSystem& files)
      : JournaledRuntime(files, backlog_journal_options(), one_worker()) {
    EXPECT_TRUE(runtime.register_handler("hold", [this](JobContext& job) {
      std::unique_lock lock(mutex_);
      ++held_;
      changed_.notify_all();
      // A cancel or a stop is told through the job, not this condition.
      while (!open_ && !job.cancel_requested()) changed_.wait_for(lock, 5ms);
      return HandlerResult::success(nullptr);
    }));
    EXPECT_TRUE(runtime.register_handler("note", [this](JobContext& job) {
      const cJSON* n = cJSON_GetObjectItemCaseSensitive(job.params(), "n");
      std::lock_guard lock(mutex_);
      ran_.push_back(cJSON_IsNumber(n) ? n->valueint : -1);
      return HandlerResult::success(nullptr);
    }));
  }
  ~BacklogRuntime() { open(); }

  bool wait_held() {
    std::unique_lock lock(mutex_);
    return changed_.wait_for(lock, 10s, [&] { return held_ > 0; });
  }
  void open() {
    {
      std::lock_guard lock(mutex_);
      open_ = true;
    }
    changed_.notify_all();
  }
  std::vector<int> ran() {
    std::lock_guard lock(mutex_);
    return ran_;
  }
  SubmitResult note(int n) { return submit(numbered_id("note-", n), "note", "{\"n\":" + std::to_string(n) + "}"); }

 private:
  std::mutex mutex_;
  std::condition_variable changed_;
  int held_ = 0;
  bool open_ = false;
  std::vector<int> ran_;
};

std::vector<int> zero_to(int count) {
  std::vector<int> all;
  for (int i = 0; i < count; ++i) all.push_back(i);
  return all;
}

TEST(JournalBacklog, JobsBeyondTheQueueAreQueuedAndRunInOrderUpToMaxPending) {
  PowerCutFileSystem files;
  BacklogRuntime running(files);
  ASSERT_TRUE(running.start());
  ASSERT_TRUE(running.submit("hold-0", "hold").accepted);
  ASSERT_TRUE(running.wait_held());
  // Two in the queue, the rest in the journal: kMaxPending jobs pending in
  // all, the one running included.
  constexpr int kAccepted = static_cast<int>(kMaxPending) - 1;
  for (int n = 0; n < kAccepted; ++n) {
    if (n % 2 == 0) {
      ASSERT_TRUE(running.note(n).accepted) << n;
    } else {
      // Through the wire form too: its params are read back the same.
      const std::string json = R"({"id":")" + numbered_id("note-", n) + R"(","type":"note","params":{"n":)" +
                               std::to_string(n) + "}}";
      ASSERT_TRUE(running.runtime.submit_json(json).accepted) << n;
    }
  }
  for (int n = 0; n < kAccepted; ++n) EXPECT_TRUE(running.recorder.wait_state(numbered_id("note-", n), JobState::queued));
  const SubmitResult refused = running.note(kAccepted);
  EXPECT_EQ(refused.rejection, ErrorCode::queue_full);

  running.open();
  for (int n = 0; n < kAccepted; ++n) {
    const auto done = running.recorder.wait_terminal(numbered_id("note-", n));
    ASSERT_TRUE(done) << n;
    EXPECT_EQ(done->state, JobState::succeeded) << n;
  }
  EXPECT_EQ(running.ran(), zero_to(kAccepted));
  // Room again: a job is taken as soon as the backlog has moved.
  EXPECT_TRUE(running.note(100).accepted);
  EXPECT_TRUE(running.recorder.wait_terminal("note-100"));
}

TEST(JournalBacklog, ACancelOrAnExpiryEndsAJobInTheBacklogWithoutWaitingForRoom) {
  PowerCutFileSystem files;
  BacklogRuntime running(files);
  ASSERT_TRUE(running.start());
  ASSERT_TRUE(running.submit("hold-0", "hold").accepted);
  ASSERT_TRUE(running.wait_held());
  for (int n = 0; n < 4; ++n) ASSERT_TRUE(running.note(n).accepted);
  JobRequest expiring{"expiring", "note", R"({"n":50})", std::nullopt};
  expiring.expires_at_ms = port::wall_ms() + 100;
  ASSERT_TRUE(running.runtime.submit(expiring).accepted);
  ASSERT_TRUE(running.recorder.wait_state("note-3", JobState::queued));
  EXPECT_EQ(running.runtime.job_state("note-3"), JobState::queued);

  // The worker is still held: both end on their own.
  ASSERT_TRUE(running.runtime.cancel("note-3"));
  const auto canceled = running.recorder.wait_terminal("note-3");
  ASSERT_TRUE(canceled);
  EXPECT_EQ(canceled->state, JobState::canceled);
  const auto expired = running.recorder.wait_terminal("expiring");
  ASSERT_TRUE(expired);
  EXPECT_EQ(expired->error, ErrorCode::expired);

  running.open();
  for (int n = 0; n < 3; ++n) EXPECT_TRUE(running.recorder.wait_terminal(numbered_id("note-", n)));
  EXPECT_EQ(running.ran(), zero_to(3));
}

TEST(JournalBacklog, AStopLeavesTheBacklogInTheJournalAndARestartRunsItInOrder) {
  PowerCutFileSystem files;
  constexpr int kJobs = 9;
  {
    BacklogRuntime first(files);
    ASSERT_TRUE(first.start());
    ASSERT_TRUE(first.submit("hold-0", "hold").accepted);
    ASSERT_TRUE(first.wait_held());
    for (int n = 0; n < kJobs; ++n) ASSERT_TRUE(first.note(n).accepted) << n;
    ASSERT_TRUE(first.recorder.wait_state(numbered_id("note-", kJobs - 1), JobState::queued));
    first.stop();
    EXPECT_TRUE(first.ran().empty());
    for (int n = 0; n < kJobs; ++n) {
      EXPECT_EQ(first.recorder.states_of(numbered_id("note-", n)), std::vector<JobState>{JobState::queued}) << n;
    }
  }
  // More jobs than the queue and the workers hold: the restart puts the
  // rest in the backlog, and every one runs once, in order.
  BacklogRuntime second(files);
  ASSERT_TRUE(second.start());
  for (int n = 0; n < kJobs; ++n) {
    const auto done = second.recorder.wait_terminal(numbered_id("note-", n));
    ASSERT_TRUE(done) << n;
    EXPECT_EQ(done->state, JobState::succeeded);
  }
  EXPECT_EQ(second.ran(), zero_to(kJobs));
}

TEST(JournalBacklog, JobsArrivingDuringADrainAreQueuedForTheRestart) {
  PowerCutFileSystem files;
  std::vector<JobState> canceled_in_drain;
  {
    BacklogRuntime first(files);
    ASSERT_TRUE(first.start());
    ASSERT_TRUE(first.submit("hold-0", "hold").accepted);
    ASSERT_TRUE(first.wait_held());
    first.runtime.shutdown(true, 30s);
    // Taken, and `queued` goes out once its record is on disk; it does not
    // run while the drain lasts.
    for (int n = 0; n < 4; ++n) ASSERT_TRUE(first.note(n).accepted) << n;
    ASSERT_TRUE(first.recorder.wait_state("note-3", JobState::queued));
    // Kept for the restart, it is still known: queued, a duplicate, and a
    // cancel reaches it (now, or recorded for the restart).
    EXPECT_EQ(first.runtime.job_state("note-3"), JobState::queued);
    EXPECT_EQ(first.note(3).rejection, ErrorCode::duplicate);
    EXPECT_TRUE(first.runtime.cancel("note-3"));
    first.open();
    first.join();
    EXPECT_TRUE(first.ran().empty());
    EXPECT_EQ(first.recorder.wait_terminal("hold-0")->state, JobState::succeeded);
    EXPECT_EQ(first.note(9).rejection, ErrorCode::shutting_down);
    for (int n = 0; n < 3; ++n) EXPECT_FALSE(first.recorder.wait_terminal(numbered_id("note-", n), 0ms)) << n;
    for (const JobState state : first.recorder.states_of("note-3")) {
      if (is_terminal(state)) canceled_in_drain.push_back(state);
    }
  }
  BacklogRuntime second(files);
  ASSERT_TRUE(second.start());
  for (int n = 0; n < 3; ++n) EXPECT_TRUE(second.recorder.wait_terminal(numbered_id("note-", n))) << n;
  EXPECT_EQ(second.ran(), zero_to(3));
  // Canceled once, in the drain or at the restart; never run.
  std::vector<JobState> states = canceled_in_drain;
  for (const JobState state : second.recorder.states_of("note-3")) states.push_back(state);
  EXPECT_EQ(std::count(states.begin(), states.end(), JobState::canceled), 1);
  EXPECT_EQ(std::count_if(states.begin(), states.end(), [](JobState state) { return is_terminal(state); }), 1);
}

// expires_at is read again against the wall clock at the restart: a job
// whose time passed while the device was down ends expired, unrun.
TEST(JournalBacklog, AJobWhoseExpiryPassedWhileStoppedEndsExpiredAfterTheRestart) {
  PowerCutFileSystem files;
  const std::int64_t expires_at = port::wall_ms() + 100;
  {
    BacklogRuntime first(files);
    ASSERT_TRUE(first.start());
    ASSERT_TRUE(first.submit("hold-0", "hold").accepted);
    ASSERT_TRUE(first.wait_held());
    JobRequest expiring{"expiring", "note", R"({"n":1})", std::nullopt};
    expiring.expires_at_ms = expires_at;
    ASSERT_TRUE(first.runtime.submit(expiring).accepted);
    JobRequest lasting{"lasting", "note", R"({"n":2})", std::nullopt};
    lasting.expires_at_ms = expires_at + 3'600'000;
    ASSERT_TRUE(first.runtime.submit(lasting).accepted);
    ASSERT_TRUE(first.recorder.wait_state("lasting", JobState::queued));
    first.stop();
  }
  // The device stays down past the expiry (a wait for the clock, not for an
  // event).
  while (port::wall_ms() <= expires_at) std::this_thread::sleep_for(5ms);
  BacklogRuntime second(files);
  ASSERT_TRUE(second.start());
  const auto expired = second.recorder.wait_terminal("expiring");
  ASSERT_TRUE(expired);
  EXPECT_EQ(expired->error, ErrorCode::expired);
  const auto lasted = second.recorder.wait_terminal("lasting");
  ASSERT_TRUE(lasted);
  EXPECT_EQ(lasted->state, JobState::succeeded);
  EXPECT_EQ(second.ran(), std::vector<int>{2});
}

// A job given through the C++ API is journaled as a submission, which must
// fit a slot when it is read back (from the backlog, at a restart).
TEST(JournalBacklog, ParamsThatDoNotFitOnceJournaledAreRefusedTooLarge) {
  PowerCutFileSystem files;
  BacklogRuntime running(files);
  ASSERT_TRUE(running.start());
  const std::size_t limit = one_worker().max_payload_bytes;
  const std::string filler(limit - 40, 'x');
  const SubmitResult refused = running.submit("big", "note", R"({"f":")" + filler + R"("})");
  EXPECT_EQ(refused.rejection, ErrorCode::too_large) << refused.message_view();
  const std::string fits(limit / 2, 'x');
  EXPECT_TRUE(running.submit("fits", "note", R"({"f":")" + fits + R"("})").accepted);
  EXPECT_TRUE(running.recorder.wait_terminal("fits"));
}

}  // namespace
}  // namespace edgerun::journal::test

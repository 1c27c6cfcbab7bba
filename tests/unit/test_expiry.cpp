// A submission's expires_at: a job not started by then ends failed/expired,
// whether it waits in the queue when the time comes or reaches a worker
// after it, and it never runs.
#include <cjson/cJSON.h>

#include <atomic>
#include <condition_variable>
#include <mutex>
#include <thread>

#include <gtest/gtest.h>

#include <uv.h>

#include "edgerun/port/clock.hpp"
#include "runtime_harness.hpp"

namespace edgerun::test {
namespace {

// Holds every worker until opened, so the jobs behind wait in the queue.
class Blocker {
 public:
  HandlerResult hold(JobContext& job) {
    std::unique_lock lock(mutex_);
    ++entered_;
    changed_.notify_all();
    changed_.wait(lock, [&] { return open_ || job.cancel_requested(); });
    return HandlerResult::success();
  }
  bool wait_entered(int count) {
    std::unique_lock lock(mutex_);
    return changed_.wait_for(lock, 10s, [&] { return entered_ >= count; });
  }
  void open() {
    {
      std::lock_guard lock(mutex_);
      open_ = true;
    }
    changed_.notify_all();
  }

 private:
  std::mutex mutex_;
  std::condition_variable changed_;
  int entered_ = 0;
  bool open_ = false;
};

class ExpiryTest : public ::testing::Test {
 protected:
  void SetUp() override {
    ASSERT_TRUE(rt.runtime.register_handler("hold", [this](JobContext& job) { return blocker.hold(job); }).ok());
    ASSERT_TRUE(rt.runtime.register_handler("count", [this](JobContext&) {
      ++ran;
      return HandlerResult::success();
    }).ok());
    ASSERT_TRUE(rt.start());
  }
  void TearDown() override {
    blocker.open();
    EXPECT_TRUE(rt.runtime.wait_until_all_jobs_finished(10s));
  }

  // Every worker busy: what comes next waits in the queue.
  void hold_every_worker() {
    const int workers = static_cast<int>(rt.runtime.worker_count());
    for (int i = 0; i < workers; ++i) ASSERT_TRUE(rt.submit(numbered_id("hold-", i), "hold").accepted);
    ASSERT_TRUE(blocker.wait_entered(workers));
  }

  SubmitResult submit_expiring(const std::string& id, std::int64_t expires_at_ms) {
    JobRequest request{id, "count", "", std::nullopt};
    request.expires_at_ms = expires_at_ms;
    return rt.runtime.submit(request);
  }

  Blocker blocker;
  std::atomic<int> ran{0};
  RunningRuntime rt;
};

TEST_F(ExpiryTest, AJobStillQueuedAtItsExpiryEndsExpiredWithoutWaitingForAWorker) {
  hold_every_worker();
  ASSERT_TRUE(submit_expiring("soon", port::wall_ms() + 150).accepted);
  // The workers are still held: the job ends on its expiry alone.
  const auto done = rt.recorder.wait_terminal("soon");
  ASSERT_TRUE(done);
  EXPECT_EQ(done->state, JobState::failed);
  EXPECT_EQ(done->error, ErrorCode::expired);
  EXPECT_EQ(rt.recorder.states_of("soon"), (std::vector<JobState>{JobState::queued, JobState::failed}));
  EXPECT_EQ(rt.runtime.job_state("soon"), JobState::failed);
  blocker.open();
  ASSERT_TRUE(rt.runtime.wait_until_all_jobs_finished(10s));
  EXPECT_EQ(ran.load(), 0);
}

TEST_F(ExpiryTest, AJobSubmittedAfterItsExpiryIsAcceptedAndEndsExpired) {
  ASSERT_TRUE(submit_expiring("late", port::wall_ms() - 1000).accepted);
  const auto done = rt.recorder.wait_terminal("late");
  ASSERT_TRUE(done);
  EXPECT_EQ(done->error, ErrorCode::expired);
  EXPECT_EQ(ran.load(), 0);
}

TEST_F(ExpiryTest, AJobStartedBeforeItsExpiryRunsToItsEnd) {
  ASSERT_TRUE(submit_expiring("in-time", port::wall_ms() + 60'000).accepted);
  const auto done = rt.recorder.wait_terminal("in-time");
  ASSERT_TRUE(done);
  EXPECT_EQ(done->state, JobState::succeeded);
  EXPECT_EQ(ran.load(), 1);
}

TEST_F(ExpiryTest, TheQueueKeepsItsOrderAroundAnExpiredJob) {
  hold_every_worker();
  ASSERT_TRUE(rt.submit("before", "count").accepted);
  ASSERT_TRUE(submit_expiring("expires", port::wall_ms() + 100).accepted);
  ASSERT_TRUE(rt.submit("after", "count").accepted);
  const auto expired = rt.recorder.wait_terminal("expires");
  ASSERT_TRUE(expired);
  EXPECT_EQ(expired->error, ErrorCode::expired);
  blocker.open();
  EXPECT_EQ(rt.recorder.wait_terminal("before")->state, JobState::succeeded);
  EXPECT_EQ(rt.recorder.wait_terminal("after")->state, JobState::succeeded);
  EXPECT_EQ(ran.load(), 2);
}

TEST_F(ExpiryTest, TheWireFieldIsReadAndCheckedBySubmitJson) {
  hold_every_worker();
  const std::string expired = R"({"id":"wire","type":"count","expires_at":)" + std::to_string(port::wall_ms() - 1) + "}";
  ASSERT_TRUE(rt.runtime.submit_json(expired).accepted);
  EXPECT_EQ(rt.recorder.wait_terminal("wire")->error, ErrorCode::expired);
  for (const char* bad : {R"({"id":"b1","type":"count","expires_at":-1})",
                          R"({"id":"b2","type":"count","expires_at":1.5})",
                          R"({"id":"b3","type":"count","expires_at":"tomorrow"})",
                          R"({"id":"b4","type":"count","expires_at":9007199254740992})"}) {
    EXPECT_EQ(rt.runtime.submit_json(bad).rejection, ErrorCode::bad_request) << bad;
  }
  JobRequest negative{"b5", "count", "", std::nullopt};
  negative.expires_at_ms = -5;
  EXPECT_EQ(rt.runtime.submit(negative).rejection, ErrorCode::bad_request);
}

// A component whose check handle (after the poll, before the timers) keeps
// the loop busy once, as a slow I/O callback would, after opening `blocker`.
class BusyOnce final : public Component {
 public:
  BusyOnce(Blocker& blocker, std::chrono::milliseconds busy) : blocker_(blocker), busy_(busy) {}
  void arm() { armed_ = true; }
  Status on_start(uv_loop_s& loop) noexcept override {
    uv_check_init(&loop, &check_);
    check_.data = this;
    uv_check_start(&check_, [](uv_check_t* handle) {
      auto* self = static_cast<BusyOnce*>(handle->data);
      if (!self->armed_.exchange(false)) return;
      self->blocker_.open();
      std::this_thread::sleep_for(self->busy_);
    });
    uv_unref(reinterpret_cast<uv_handle_t*>(&check_));
    return {};
  }
  void on_stop() noexcept override { uv_close(reinterpret_cast<uv_handle_t*>(&check_), nullptr); }

 private:
  Blocker& blocker_;
  std::chrono::milliseconds busy_;
  std::atomic<bool> armed_{false};
  uv_check_t check_{};
};

// The worker takes the job before its expiry while the loop is busy: when
// the loop gets to its timers, the expiry has passed, but the job started
// and runs to its end (timeout_ms bounds it, not expires_at).
TEST(ExpiryAroundTheStart, AJobAWorkerTookBeforeItsExpiryIsNotEndedByIt) {
  RuntimeConfig config = small_config();
  config.workers = 1;
  Blocker blocker;
  BusyOnce busy(blocker, 400ms);
  RunningRuntime rt(config);
  rt.runtime.add_component(busy);
  ASSERT_TRUE(rt.runtime.register_handler("hold", [&](JobContext& job) { return blocker.hold(job); }).ok());
  std::atomic<bool> asked_to_stop{false};
  ASSERT_TRUE(rt.runtime.register_handler("slow", [&](JobContext& job) {
    asked_to_stop = job.wait_for_cancel(600ms);
    return HandlerResult::success();
  }).ok());
  ASSERT_TRUE(rt.start());
  ASSERT_TRUE(rt.submit("hold-0", "hold").accepted);
  ASSERT_TRUE(blocker.wait_entered(1));
  JobRequest request{"x", "slow", "", std::nullopt};
  request.expires_at_ms = port::wall_ms() + 200;
  busy.arm();
  ASSERT_TRUE(rt.runtime.submit(request).accepted);
  const auto done = rt.recorder.wait_terminal("x");
  ASSERT_TRUE(done);
  EXPECT_EQ(done->state, JobState::succeeded) << to_string(done->state);
  EXPECT_FALSE(asked_to_stop.load());
}

}  // namespace
}  // namespace edgerun::test

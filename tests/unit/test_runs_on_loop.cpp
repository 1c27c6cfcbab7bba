// HandlerOptions::runs_on_loop: a handler that never waits runs on the loop
// thread, each job as a call queued for the loop, never inside the call that
// submitted it, with the same statuses, results, cancel and lookup as a job
// run by a worker.
#include <cjson/cJSON.h>
#include <gtest/gtest.h>

#include <atomic>
#include <future>
#include <optional>
#include <thread>

#include "runtime_harness.hpp"

namespace edgerun::test {
namespace {

// Where and how each job of the handler ran.
struct Seen {
  std::mutex mutex;
  std::thread::id thread;
  std::uint32_t worker_index = 0;
  int runs = 0;
};

class OnLoopTest : public ::testing::Test {
 protected:
  void SetUp() override {
    rt.runtime.add_component(caller);
    ASSERT_TRUE(rt.runtime.register_handler("quick", [this](JobContext& job) {
      std::lock_guard lock(seen.mutex);
      seen.thread = std::this_thread::get_id();
      seen.worker_index = job.worker_index();
      ++seen.runs;
      if (submitting.load()) nested = true;
      cJSON* result = cJSON_CreateObject();
      cJSON_AddNumberToObject(result, "n", cJSON_GetNumberValue(cJSON_GetObjectItem(job.params(), "n")));
      return HandlerResult::success(result);
    }, HandlerOptions{.runs_on_loop = true}).ok());
  }

  // Starts the runtime and waits until its loop runs (a delivered status
  // says so), so that the caller's handle is open.
  void start() {
    ASSERT_TRUE(rt.start());
    ASSERT_TRUE(rt.submit("warm-up", "quick").accepted);
    ASSERT_TRUE(rt.recorder.wait_terminal("warm-up"));
    std::lock_guard lock(seen.mutex);
    seen.runs = 0;
  }

  // The loop thread's id, asked on the loop.
  std::thread::id loop_thread() {
    std::promise<std::thread::id> id;
    caller.set_call([&] { id.set_value(std::this_thread::get_id()); });
    caller.poke();
    auto future = id.get_future();
    EXPECT_EQ(future.wait_for(10s), std::future_status::ready);
    return future.get();
  }

  // Runs `body` on the loop thread and waits until it has run.
  void on_loop(std::function<void()> body) {
    std::promise<void> done;
    caller.set_call([&] {
      body();
      done.set_value();
    });
    caller.poke();
    ASSERT_EQ(done.get_future().wait_for(10s), std::future_status::ready);
  }

  // Declared first: outlive the runtime that calls them.
  LoopCaller caller;
  Seen seen;
  std::atomic<bool> submitting{false};
  bool nested = false;  // loop thread
  RunningRuntime rt;
};

TEST_F(OnLoopTest, AJobRunsOnTheLoopThreadWithTheUsualStatuses) {
  start();
  const std::thread::id loop = loop_thread();
  ASSERT_TRUE(rt.submit("from-thread", "quick", R"({"n":7})").accepted);
  const auto done = rt.recorder.wait_terminal("from-thread");
  ASSERT_TRUE(done);
  EXPECT_EQ(done->state, JobState::succeeded);
  EXPECT_EQ(done->result, R"({"n":7})");
  EXPECT_EQ(rt.recorder.states_of("from-thread"),
            (std::vector<JobState>{JobState::queued, JobState::running, JobState::succeeded}));
  std::lock_guard lock(seen.mutex);
  EXPECT_EQ(seen.thread, loop);
  // One past the workers': a per-worker buffer index of its own.
  EXPECT_EQ(seen.worker_index, rt.runtime.worker_count());
  EXPECT_EQ(rt.runtime.job_state("from-thread"), JobState::succeeded);
}

TEST_F(OnLoopTest, AJobSubmittedOnTheLoopRunsAfterTheSubmitterReturns) {
  start();
  on_loop([&] {
    submitting.store(true);
    for (int i = 0; i < 3; ++i) {
      EXPECT_TRUE(rt.runtime.submit_json(R"({"v":1,"id":"on-loop-)" + std::to_string(i) +
                                         R"(","type":"quick","params":{"n":)" + std::to_string(i) + "}}")
                      .accepted);
    }
    submitting.store(false);
  });
  for (int i = 0; i < 3; ++i) {
    const auto done = rt.recorder.wait_terminal(numbered_id("on-loop-", i));
    ASSERT_TRUE(done);
    EXPECT_EQ(done->state, JobState::succeeded);
    EXPECT_EQ(done->result, "{\"n\":" + std::to_string(i) + "}");
  }
  std::lock_guard lock(seen.mutex);
  EXPECT_EQ(seen.runs, 3);
  EXPECT_FALSE(nested);
}

TEST_F(OnLoopTest, ACancelBeforeItsTurnEndsItWithoutRunning) {
  start();
  on_loop([&] {
    EXPECT_TRUE(rt.runtime.submit(JobRequest{"doomed", "quick", "", {}}).accepted);
    EXPECT_TRUE(rt.runtime.cancel("doomed"));
  });
  const auto done = rt.recorder.wait_terminal("doomed");
  ASSERT_TRUE(done);
  EXPECT_EQ(done->state, JobState::canceled);
  EXPECT_EQ(rt.recorder.states_of("doomed"), (std::vector<JobState>{JobState::queued, JobState::canceled}));
  ASSERT_TRUE(rt.runtime.wait_until_all_jobs_finished(10s));
  std::lock_guard lock(seen.mutex);
  EXPECT_EQ(seen.runs, 0);
}

TEST_F(OnLoopTest, ItsIdsAreRememberedAndItsSlotsGivenBack) {
  RuntimeConfig config = small_config();
  start();
  // More jobs than there are slots, one after another: each slot comes back.
  const int jobs = static_cast<int>(config.queue_capacity + 2 * rt.runtime.worker_count()) * 3;
  for (int i = 0; i < jobs; ++i) {
    const std::string id = numbered_id("seq-", i);
    ASSERT_TRUE(rt.submit(id, "quick").accepted) << id;
    ASSERT_TRUE(rt.recorder.wait_terminal(id)) << id;
  }
  ASSERT_TRUE(rt.runtime.wait_until_all_jobs_finished(10s));
  EXPECT_EQ(rt.submit("seq-0", "quick").rejection, ErrorCode::duplicate);
}

}  // namespace
}  // namespace edgerun::test

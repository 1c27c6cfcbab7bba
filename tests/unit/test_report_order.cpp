// The loop reads every report before it sleeps or judges a timeout: a report
// made on the loop thread itself (a sink that submits) is read in the same
// pass, and a job that finished in time while the loop was busy ends with
// its result, not timed_out.
#include <gtest/gtest.h>

#include <chrono>
#include <future>
#include <thread>

#include "runtime_harness.hpp"

namespace edgerun::test {
namespace {

// Waits until `future` is ready, at most 10 s, and says whether it was.
template <class T>
bool ready(std::future<T>& future) {
  return future.wait_for(10s) == std::future_status::ready;
}

TEST(ReportOrder, AJobASinkSubmitsOnTheLoopRunsWithoutWaitingForAWakeUp) {
  // Submits "second" when it hears that "first" ended; it runs on the loop,
  // so its report is made on the loop thread, which sends no wake-up.
  struct SubmitOnEnd final : StatusSink {
    Runtime* runtime = nullptr;
    void on_status(const JobStatusView& status) noexcept override {
      if (status.id == "first" && is_terminal(status.state)) {
        (void)runtime->submit(JobRequest{"second", "quick", "", {}});
      }
    }
    bool wants_progress() const noexcept override { return false; }
  };
  // Declared first: outlive the runtime that calls them.
  LoopCaller caller;
  SubmitOnEnd submit_on_end;
  RuntimeConfig config = small_config();
  // The loop's only timer: nothing else would wake it for a minute.
  config.log_flush_interval_ms = 60000;
  RunningRuntime rt(config);
  submit_on_end.runtime = &rt.runtime;
  rt.runtime.add_component(caller);
  rt.runtime.add_status_sink(submit_on_end);
  ASSERT_TRUE(rt.runtime.register_handler("quick", [](JobContext&) { return HandlerResult::success(); },
                                          HandlerOptions{.runs_on_loop = true}).ok());
  ASSERT_TRUE(rt.start());
  // The loop runs (and the caller's handle is open) once a job has ended.
  ASSERT_TRUE(rt.submit("warm-up", "quick").accepted);
  ASSERT_TRUE(rt.recorder.wait_terminal("warm-up"));

  // Submitted on the loop, "first" is read, run and ended in the loop's pass
  // over the inbox before it sleeps; "second" is added during that pass.
  std::promise<void> submitted;
  caller.set_call([&] {
    EXPECT_TRUE(rt.runtime.submit(JobRequest{"first", "quick", "", {}}).accepted);
    submitted.set_value();
  });
  caller.poke();
  auto submitted_future = submitted.get_future();
  ASSERT_TRUE(ready(submitted_future));
  ASSERT_TRUE(rt.recorder.wait_terminal("first"));
  const auto second = rt.recorder.wait_terminal("second", 5s);
  ASSERT_TRUE(second) << "the report of a job submitted from a sink waited for the next timer";
  EXPECT_EQ(second->state, JobState::succeeded);
}

TEST(ReportOrder, AJobThatFinishedInTimeWhileTheLoopWasBusyKeepsItsResult) {
  LoopCaller caller;
  std::promise<void> gate;
  std::shared_future<void> gate_open = gate.get_future().share();
  RunningRuntime rt;
  rt.runtime.add_component(caller);
  ASSERT_TRUE(rt.runtime.register_handler("gated", [gate_open](JobContext&) {
    gate_open.wait();
    return HandlerResult::success();
  }).ok());
  ASSERT_TRUE(rt.start());
  ASSERT_TRUE(rt.submit("in-time", "gated", "", 200).accepted);
  // `running` is delivered when the loop reads the worker's start and arms
  // the job's 200 ms timer.
  ASSERT_TRUE(rt.recorder.wait_state("in-time", JobState::running));

  // The loop is held in a callback of its own for 500 ms: the job finishes
  // at its start, well within its time, but the loop reads that only after
  // the deadline has passed; libuv then runs timers before anything else.
  std::promise<void> held;
  caller.set_call([&] {
    gate.set_value();
    std::this_thread::sleep_for(500ms);
    held.set_value();
  });
  caller.poke();
  auto held_future = held.get_future();
  ASSERT_TRUE(ready(held_future));
  const auto done = rt.recorder.wait_terminal("in-time");
  ASSERT_TRUE(done);
  EXPECT_EQ(done->state, JobState::succeeded);
}

}  // namespace
}  // namespace edgerun::test

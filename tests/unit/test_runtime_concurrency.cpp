// The pool and queue under concurrency: many producers against a small
// bounded queue. Nothing lost, nothing run twice, capacity honoured.
#include <gtest/gtest.h>

#include <atomic>
#include <map>

#include "runtime_harness.hpp"

namespace edgerun::test {
namespace {

TEST(RuntimeConcurrency, ManyProducersLoseNothingAndRunNothingTwice) {
  constexpr int kProducers = 4;
  constexpr int kJobsEach = 1500;
  RuntimeConfig config = small_config();
  config.queue_capacity = 16;
  config.finished_ids = kProducers * kJobsEach;
  RunningRuntime rt(config);

  std::mutex runs_mutex;
  std::map<std::string, int> runs;
  ASSERT_TRUE(rt.runtime.register_handler("work", [&](JobContext& job) {
    std::lock_guard lock(runs_mutex);
    ++runs[std::string(job.id())];
    return HandlerResult::success();
  }).ok());
  ASSERT_TRUE(rt.start());

  std::atomic<int> queue_full{0};
  std::atomic<int> other_rejections{0};
  std::vector<std::thread> producers;
  for (int p = 0; p < kProducers; ++p) {
    producers.emplace_back([&, p] {
      for (int i = 0; i < kJobsEach; ++i) {
        const std::string id = numbered_id("p", p).append(numbered_id("-", i));
        // A queue_full rejection is final for that submission; like a
        // submitter would, resubmit the same id (it was never accepted).
        for (;;) {
          const SubmitResult r = rt.submit(id, "work");
          if (r.accepted) break;
          if (r.rejection == ErrorCode::queue_full) {
            ++queue_full;
            std::this_thread::yield();
            continue;
          }
          ++other_rejections;
          break;
        }
      }
    });
  }
  for (auto& producer : producers) producer.join();
  ASSERT_TRUE(rt.runtime.wait_until_all_jobs_finished(60s));
  rt.stop(true, 1s);

  EXPECT_EQ(other_rejections.load(), 0);
  ASSERT_EQ(runs.size(), static_cast<std::size_t>(kProducers * kJobsEach));
  for (const auto& [id, count] : runs) ASSERT_EQ(count, 1) << id;

  // Each job: exactly queued, running, succeeded, in that order.
  std::map<std::string, std::vector<JobState>> states;
  for (const auto& s : rt.recorder.all()) states[s.id].push_back(s.state);
  ASSERT_EQ(states.size(), runs.size());
  for (const auto& [id, seq] : states) {
    ASSERT_EQ(seq, (std::vector<JobState>{JobState::queued, JobState::running, JobState::succeeded})) << id;
  }

  rt.runtime.refresh_metrics();
  auto& m = rt.runtime.metrics();
  EXPECT_LE(m.value(m.find("edgerun_queue_high_water")), config.queue_capacity);
  EXPECT_EQ(m.value(m.find("edgerun_jobs_total", {{"state", "succeeded"}})), kProducers * kJobsEach);
  EXPECT_EQ(m.value(m.find("edgerun_jobs_rejected_total", {{"reason", "queue_full"}})), queue_full.load());
}

TEST(RuntimeConcurrency, CancelRacingWithCompletionGivesExactlyOneTerminalStatus) {
  RuntimeConfig config = small_config();
  config.queue_capacity = 64;
  config.finished_ids = 4096;
  RunningRuntime rt(config);
  ASSERT_TRUE(rt.runtime.register_handler("quick", [](JobContext&) { return HandlerResult::success(); }).ok());
  ASSERT_TRUE(rt.start());
  constexpr int kJobs = 2000;
  for (int i = 0; i < kJobs; ++i) {
    const std::string id = numbered_id("c", i);
    while (!rt.submit(id, "quick").accepted) std::this_thread::yield();
    rt.runtime.cancel(id);  // may hit queued, running or already finished
  }
  ASSERT_TRUE(rt.runtime.wait_until_all_jobs_finished(60s));
  rt.stop(true, 1s);
  std::map<std::string, int> terminal;
  for (const auto& s : rt.recorder.all()) {
    if (is_terminal(s.state)) {
      ++terminal[s.id];
      EXPECT_TRUE(s.state == JobState::succeeded || s.state == JobState::canceled) << s.id;
    }
  }
  ASSERT_EQ(terminal.size(), static_cast<std::size_t>(kJobs));
  for (const auto& [id, count] : terminal) ASSERT_EQ(count, 1) << id;
}

}  // namespace
}  // namespace edgerun::test

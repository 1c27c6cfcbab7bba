// The job lifecycle of PROTOCOL.md through the Runtime API, with a real loop
// and real worker threads.
#include <cjson/cJSON.h>
#include <gtest/gtest.h>

#include <algorithm>
#include <atomic>
#include <functional>
#include <future>
#include <mutex>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "edgerun/port/thread.hpp"
#include "runtime_harness.hpp"

namespace edgerun::test {
namespace {

// Holds handlers until opened; a held handler also ends on cancellation.
class Gate {
 public:
  void open() {
    {
      std::lock_guard lock(mutex_);
      open_ = true;
    }
    cv_.notify_all();
  }
  // Waits until open or canceled; returns true if opened.
  bool pass(JobContext& job) {
    entered_.fetch_add(1);
    std::unique_lock lock(mutex_);
    while (!open_) {
      if (job.cancel_requested()) return false;
      cv_.wait_for(lock, 5ms);
    }
    return true;
  }
  bool wait_entered(int count, std::chrono::milliseconds timeout = 10s) {
    const auto deadline = std::chrono::steady_clock::now() + timeout;
    while (entered_.load() < count) {
      if (std::chrono::steady_clock::now() > deadline) return false;
      std::this_thread::yield();
    }
    return true;
  }

 private:
  std::mutex mutex_;
  std::condition_variable cv_;
  bool open_ = false;
  std::atomic<int> entered_{0};
};

HandlerResult echo(JobContext& job) {
  return HandlerResult::success(cJSON_Duplicate(job.params(), true));
}

class RuntimeTest : public ::testing::Test {
 protected:
  void SetUp() override {
    ASSERT_TRUE(rt.runtime.register_handler("echo", echo).ok());
    ASSERT_TRUE(rt.runtime.register_handler("gated", [this](JobContext& job) {
      if (!gate.pass(job)) return HandlerResult::failure("stopped");
      return HandlerResult::success();
    }).ok());
  }
  void TearDown() override {
    gate.open();
    // Every pool is back to empty: no job left in flight.
    EXPECT_TRUE(rt.runtime.wait_until_all_jobs_finished(10s));
  }

  Gate gate;
  RunningRuntime rt;
};

TEST_F(RuntimeTest, EchoJobPassesQueuedRunningSucceededWithItsResult) {
  ASSERT_TRUE(rt.start());
  ASSERT_TRUE(rt.submit("job-1", "echo", R"({"msg":"hi","n":3})").accepted);
  auto done = rt.recorder.wait_terminal("job-1");
  ASSERT_TRUE(done);
  EXPECT_EQ(done->state, JobState::succeeded);
  EXPECT_EQ(done->result, R"({"msg":"hi","n":3})");
  EXPECT_EQ(rt.recorder.states_of("job-1"),
            (std::vector<JobState>{JobState::queued, JobState::running, JobState::succeeded}));
  EXPECT_EQ(rt.runtime.job_state("job-1"), JobState::succeeded);
}

std::int64_t wall_now_ms() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::system_clock::now().time_since_epoch())
      .count();
}

TEST_F(RuntimeTest, StatusTimestampsAreTheWallClockWhenDelivered) {
  ASSERT_TRUE(rt.start());
  // The loop reads the wall clock once per iteration, not per status; a job
  // submitted after the clock moved on must not carry the earlier reading.
  for (const std::string id : {"ts-1", "ts-2"}) {
    const std::int64_t before = wall_now_ms();
    ASSERT_TRUE(rt.submit(id, "echo").accepted);
    ASSERT_TRUE(rt.recorder.wait_terminal(id));
    const std::int64_t after = wall_now_ms();
    for (const RecordedStatus& status : rt.recorder.all()) {
      if (status.id != id) continue;
      EXPECT_GE(status.ts_ms, before) << id << " " << to_string(status.state);
      EXPECT_LE(status.ts_ms, after) << id << " " << to_string(status.state);
    }
    // Let the clock move on by more than the loop's millisecond tick.
    while (wall_now_ms() < after + 2) std::this_thread::yield();
  }
}

TEST_F(RuntimeTest, SubmitJsonDecodesTheProtocolPayload) {
  ASSERT_TRUE(rt.start());
  const SubmitResult r =
      rt.runtime.submit_json(R"({"v":1,"id":"job-42","type":"echo","params":{"msg":"hi"},"timeout_ms":5000})");
  ASSERT_TRUE(r.accepted) << r.message_view();
  auto done = rt.recorder.wait_terminal("job-42");
  ASSERT_TRUE(done);
  EXPECT_EQ(done->result, R"({"msg":"hi"})");
}

TEST_F(RuntimeTest, MissingParamsDefaultToAnEmptyObject) {
  ASSERT_TRUE(rt.start());
  ASSERT_TRUE(rt.runtime.submit_json(R"({"id":"p","type":"echo"})").accepted);
  auto done = rt.recorder.wait_terminal("p");
  ASSERT_TRUE(done);
  EXPECT_EQ(done->result, "{}");
}

// A handler that returns success() with no result succeeds with {}, also in
// a slot whose previous job left a result behind.
TEST_F(RuntimeTest, AHandlerWithoutAResultSucceedsWithAnEmptyObject) {
  ASSERT_TRUE(rt.runtime.register_handler("nothing", [](JobContext&) { return HandlerResult::success(); }).ok());
  ASSERT_TRUE(rt.start());
  for (int round = 0; round < 3; ++round) {
    const std::string with = numbered_id("with", round);
    const std::string without = numbered_id("without", round);
    ASSERT_TRUE(rt.submit(with, "echo", R"({"left":"behind"})").accepted);
    auto first = rt.recorder.wait_terminal(with);
    ASSERT_TRUE(first);
    EXPECT_EQ(first->result, R"({"left":"behind"})");
    ASSERT_TRUE(rt.runtime.wait_until_all_jobs_finished(10s));
    ASSERT_TRUE(rt.submit(without, "nothing").accepted);
    auto second = rt.recorder.wait_terminal(without);
    ASSERT_TRUE(second);
    EXPECT_EQ(second->state, JobState::succeeded);
    EXPECT_EQ(second->result, "{}");
  }
}

TEST_F(RuntimeTest, EveryRejectionCodeIsReturnedAndCounted) {
  RuntimeConfig config = small_config();
  ASSERT_TRUE(rt.start());
  struct Case {
    std::string payload;
    ErrorCode code;
    std::string id;
  };
  const std::vector<Case> cases = {
      {"{not json", ErrorCode::bad_json, ""},
      {R"({"type":"echo"})", ErrorCode::bad_request, ""},
      {R"({"id":"a/b","type":"echo"})", ErrorCode::bad_request, ""},
      {R"({"id":"r1"})", ErrorCode::bad_request, "r1"},
      {R"({"id":"r2","type":"echo","params":[1]})", ErrorCode::bad_request, "r2"},
      {R"({"id":"r3","type":"echo","timeout_ms":-5})", ErrorCode::bad_request, "r3"},
      {R"({"id":"r4","type":"nope"})", ErrorCode::unknown_type, "r4"},
      {R"({"v":2,"id":"r5","type":"echo"})", ErrorCode::bad_version, "r5"},
      {R"({"id":"r6","type":"echo","params":{"pad":")" + std::string(config.max_payload_bytes, 'x') + R"("}})",
       ErrorCode::too_large, "r6"},
  };
  for (const Case& c : cases) {
    const SubmitResult r = rt.runtime.submit_json(c.payload);
    EXPECT_FALSE(r.accepted) << c.payload;
    EXPECT_EQ(r.rejection, c.code) << c.payload << " -> " << r.message_view();
    EXPECT_EQ(r.id_view(), c.id) << c.payload;
    EXPECT_FALSE(r.message_view().empty());
  }
  auto& m = rt.runtime.metrics();
  EXPECT_EQ(m.value(m.find("edgerun_jobs_rejected_total", {{"reason", "bad_request"}})), 5);
  EXPECT_EQ(m.value(m.find("edgerun_jobs_rejected_total", {{"reason", "unknown_type"}})), 1);
  EXPECT_EQ(m.value(m.find("edgerun_jobs_total", {{"state", "rejected"}})), static_cast<double>(cases.size()));
  // A rejected job was never queued: no status was delivered for it.
  EXPECT_TRUE(rt.recorder.states_of("r4").empty());
}

TEST_F(RuntimeTest, DuplicateIdsAreRejectedInFlightAndAfterFinishing) {
  ASSERT_TRUE(rt.start());
  ASSERT_TRUE(rt.submit("held", "gated").accepted);
  EXPECT_EQ(rt.submit("held", "echo").rejection, ErrorCode::duplicate);
  ASSERT_TRUE(rt.submit("quick", "echo").accepted);
  ASSERT_TRUE(rt.recorder.wait_terminal("quick"));
  ASSERT_TRUE(rt.runtime.wait_until_all_jobs_finished(0ms) == false);  // "held" still runs
  // Wait until "quick" is retired, then it is remembered as finished.
  const auto deadline = std::chrono::steady_clock::now() + 10s;
  while (rt.submit("quick", "echo").rejection != ErrorCode::duplicate) {
    ASSERT_LT(std::chrono::steady_clock::now(), deadline);
  }
  gate.open();
  ASSERT_TRUE(rt.recorder.wait_terminal("held"));
  ASSERT_TRUE(rt.runtime.wait_until_all_jobs_finished(10s));
  EXPECT_EQ(rt.submit("held", "echo").rejection, ErrorCode::duplicate);
}

TEST_F(RuntimeTest, QueueFullWhenWorkersAndQueueAreTaken) {
  ASSERT_TRUE(rt.start());
  const RuntimeConfig config = small_config();
  const int capacity = static_cast<int>(config.workers + config.queue_capacity);
  for (int i = 0; i < static_cast<int>(config.workers); ++i) {
    ASSERT_TRUE(rt.submit(numbered_id("w", i), "gated").accepted);
  }
  ASSERT_TRUE(gate.wait_entered(static_cast<int>(config.workers)));
  for (int i = static_cast<int>(config.workers); i < capacity; ++i) {
    ASSERT_TRUE(rt.submit(numbered_id("w", i), "gated").accepted) << i;
  }
  const SubmitResult refused = rt.submit("one-too-many", "echo");
  EXPECT_EQ(refused.rejection, ErrorCode::queue_full);
  EXPECT_EQ(refused.id_view(), "one-too-many");
  gate.open();
  for (int i = 0; i < capacity; ++i) {
    auto done = rt.recorder.wait_terminal(numbered_id("w", i));
    ASSERT_TRUE(done);
    EXPECT_EQ(done->state, JobState::succeeded);
  }
  auto& m = rt.runtime.metrics();
  EXPECT_EQ(m.value(m.find("edgerun_jobs_rejected_total", {{"reason", "queue_full"}})), 1);
}

TEST_F(RuntimeTest, HandlerErrorAndExceptionFailTheJobButNotTheWorker) {
  ASSERT_TRUE(rt.runtime.register_handler("fails", [](JobContext&) {
    return HandlerResult::failure("disk is full");
  }).ok());
  ASSERT_TRUE(rt.runtime.register_handler("throws", [](JobContext&) -> HandlerResult {
    throw std::runtime_error("boom");
  }).ok());
  ASSERT_TRUE(rt.runtime.register_handler("throws-int", [](JobContext&) -> HandlerResult { throw 42; }).ok());
  ASSERT_TRUE(rt.start());
  ASSERT_TRUE(rt.submit("f", "fails").accepted);
  ASSERT_TRUE(rt.submit("t", "throws").accepted);
  ASSERT_TRUE(rt.submit("ti", "throws-int").accepted);
  auto f = rt.recorder.wait_terminal("f");
  auto t = rt.recorder.wait_terminal("t");
  auto ti = rt.recorder.wait_terminal("ti");
  ASSERT_TRUE(f && t && ti);
  EXPECT_EQ(f->state, JobState::failed);
  EXPECT_EQ(f->error, ErrorCode::handler_error);
  EXPECT_EQ(f->message, "disk is full");
  EXPECT_EQ(t->state, JobState::failed);
  EXPECT_EQ(t->message, "boom");
  EXPECT_EQ(ti->error, ErrorCode::handler_error);
  // Both workers still take jobs.
  for (int i = 0; i < 4; ++i) ASSERT_TRUE(rt.submit(numbered_id("after", i), "echo").accepted);
  for (int i = 0; i < 4; ++i) {
    auto done = rt.recorder.wait_terminal(numbered_id("after", i));
    ASSERT_TRUE(done);
    EXPECT_EQ(done->state, JobState::succeeded);
  }
}

TEST_F(RuntimeTest, ExitStatusFailureCarriesTheExitCode) {
  ASSERT_TRUE(rt.runtime.register_handler("exits", [](JobContext&) {
    return HandlerResult::failure("exited with 3", ErrorCode::exit_status, 3);
  }).ok());
  ASSERT_TRUE(rt.start());
  ASSERT_TRUE(rt.submit("e", "exits").accepted);
  auto done = rt.recorder.wait_terminal("e");
  ASSERT_TRUE(done);
  EXPECT_EQ(done->error, ErrorCode::exit_status);
  EXPECT_EQ(done->exit_code, 3);
}

TEST_F(RuntimeTest, TimeoutEndsTheJobAndTheHandlerSeesCancellation) {
  std::atomic<bool> saw_cancel{false};
  ASSERT_TRUE(rt.runtime.register_handler("slow", [&](JobContext& job) {
    saw_cancel = job.wait_for_cancel(30s);
    return HandlerResult::success();
  }).ok());
  ASSERT_TRUE(rt.start());
  ASSERT_TRUE(rt.submit("slow-1", "slow", "", 50).accepted);
  auto done = rt.recorder.wait_terminal("slow-1");
  ASSERT_TRUE(done);
  EXPECT_EQ(done->state, JobState::timed_out);
  ASSERT_TRUE(rt.runtime.wait_until_all_jobs_finished(10s));
  EXPECT_TRUE(saw_cancel);
  // The handler returned success after the deadline: still exactly one
  // terminal status, timed_out.
  EXPECT_EQ(rt.recorder.states_of("slow-1"),
            (std::vector<JobState>{JobState::queued, JobState::running, JobState::timed_out}));
  EXPECT_EQ(rt.runtime.job_state("slow-1"), JobState::timed_out);
}

TEST_F(RuntimeTest, DefaultTimeoutAppliesWhenTheJobGivesNone) {
  RuntimeConfig config = small_config();
  config.default_timeout_ms = 30;
  RunningRuntime local(config);
  ASSERT_TRUE(local.runtime.register_handler("slow", [](JobContext& job) {
    job.wait_for_cancel(30s);
    return HandlerResult::success();
  }).ok());
  ASSERT_TRUE(local.start());
  ASSERT_TRUE(local.submit("d", "slow").accepted);
  auto done = local.recorder.wait_terminal("d");
  ASSERT_TRUE(done);
  EXPECT_EQ(done->state, JobState::timed_out);
}

TEST_F(RuntimeTest, CancelAQueuedJobRemovesItBeforeItRuns) {
  std::atomic<int> ran{0};
  ASSERT_TRUE(rt.runtime.register_handler("count", [&](JobContext&) {
    ++ran;
    return HandlerResult::success();
  }).ok());
  ASSERT_TRUE(rt.start());
  ASSERT_TRUE(rt.submit("b0", "gated").accepted);
  ASSERT_TRUE(rt.submit("b1", "gated").accepted);
  ASSERT_TRUE(gate.wait_entered(2));
  ASSERT_TRUE(rt.submit("victim", "count").accepted);
  ASSERT_TRUE(rt.recorder.wait_state("victim", JobState::queued));
  EXPECT_EQ(rt.runtime.job_state("victim"), JobState::queued);
  EXPECT_TRUE(rt.runtime.cancel("victim"));
  auto done = rt.recorder.wait_terminal("victim");
  ASSERT_TRUE(done);
  EXPECT_EQ(done->state, JobState::canceled);
  gate.open();
  ASSERT_TRUE(rt.runtime.wait_until_all_jobs_finished(10s));
  EXPECT_EQ(ran.load(), 0);
  EXPECT_EQ(rt.recorder.states_of("victim"), (std::vector<JobState>{JobState::queued, JobState::canceled}));
}

// A canceled queued job leaves no trace that takes queue room: a backend that
// submits and cancels over and over while every worker is held still finds
// the queue's full capacity, and no canceled job runs. (Two workers run the
// jobs, so the order they finish in is not checked here; the work queue's
// own tests check FIFO.)
TEST_F(RuntimeTest, CancelingQueuedJobsOverAndOverKeepsTheWholeQueue) {
  std::mutex order_mutex;
  std::vector<std::string> ran;
  ASSERT_TRUE(rt.runtime.register_handler("record", [&](JobContext& job) {
    std::lock_guard lock(order_mutex);
    ran.emplace_back(job.id());
    return HandlerResult::success();
  }).ok());
  ASSERT_TRUE(rt.start());
  const RuntimeConfig config = small_config();
  for (std::uint32_t i = 0; i < config.workers; ++i) ASSERT_TRUE(rt.submit(numbered_id("held", i), "gated").accepted);
  ASSERT_TRUE(gate.wait_entered(static_cast<int>(config.workers)));
  // One job waits at the head of the queue for the whole test.
  ASSERT_TRUE(rt.submit("first", "record").accepted);
  const int churn = static_cast<int>(config.queue_capacity) * 10;
  for (int i = 0; i < churn; ++i) {
    const std::string id = numbered_id("churn", i);
    const SubmitResult submitted = rt.submit(id, "record");
    ASSERT_TRUE(submitted.accepted) << id << ": " << submitted.message_view();
    ASSERT_TRUE(rt.runtime.cancel(id));
    ASSERT_TRUE(rt.recorder.wait_state(id, JobState::canceled)) << id;
  }
  // Slots of canceled jobs come back with the loop's next batch.
  std::vector<std::string> expected{"first"};
  for (std::uint32_t i = 1; i < config.queue_capacity; ++i) {
    const std::string id = numbered_id("fill", i);
    ASSERT_TRUE(rt.submit(id, "record").accepted) << id;
    expected.push_back(id);
  }
  EXPECT_EQ(rt.submit("one-too-many", "record").rejection, ErrorCode::queue_full);
  gate.open();
  ASSERT_TRUE(rt.runtime.wait_until_all_jobs_finished(10s));
  std::lock_guard lock(order_mutex);
  std::sort(ran.begin(), ran.end());
  std::sort(expected.begin(), expected.end());
  EXPECT_EQ(ran, expected);
}

TEST_F(RuntimeTest, CancelARunningJobSignalsItsHandler) {
  ASSERT_TRUE(rt.start());
  ASSERT_TRUE(rt.submit("r", "gated").accepted);
  ASSERT_TRUE(gate.wait_entered(1));
  ASSERT_TRUE(rt.recorder.wait_state("r", JobState::running));
  EXPECT_EQ(rt.runtime.job_state("r"), JobState::running);
  EXPECT_TRUE(rt.runtime.cancel("r"));
  auto done = rt.recorder.wait_terminal("r");
  ASSERT_TRUE(done);
  EXPECT_EQ(done->state, JobState::canceled);
  // The gated handler returns only because it saw the request.
  EXPECT_TRUE(rt.runtime.wait_until_all_jobs_finished(10s));
  EXPECT_EQ(rt.recorder.states_of("r"),
            (std::vector<JobState>{JobState::queued, JobState::running, JobState::canceled}));
}

TEST_F(RuntimeTest, CancelOfUnknownOrFinishedIdChangesNothing) {
  ASSERT_TRUE(rt.start());
  EXPECT_FALSE(rt.runtime.cancel("never-submitted"));
  ASSERT_TRUE(rt.submit("done", "echo").accepted);
  ASSERT_TRUE(rt.recorder.wait_terminal("done"));
  ASSERT_TRUE(rt.runtime.wait_until_all_jobs_finished(10s));
  EXPECT_FALSE(rt.runtime.cancel("done"));
  EXPECT_EQ(rt.runtime.job_state("done"), JobState::succeeded);
  EXPECT_EQ(rt.recorder.states_of("done").size(), 3u);
  EXPECT_FALSE(rt.runtime.job_state("never-submitted").has_value());
}

TEST_F(RuntimeTest, ResultLargerThanTheLimitFailsResultTooLarge) {
  RuntimeConfig config = small_config();
  config.max_result_bytes = 100;
  RunningRuntime local(config);
  ASSERT_TRUE(local.runtime.register_handler("big", [](JobContext&) {
    cJSON* result = cJSON_CreateObject();
    cJSON_AddStringToObject(result, "data", std::string(200, 'x').c_str());
    return HandlerResult::success(result);
  }).ok());
  ASSERT_TRUE(local.start());
  ASSERT_TRUE(local.submit("big-1", "big").accepted);
  auto done = local.recorder.wait_terminal("big-1");
  ASSERT_TRUE(done);
  EXPECT_EQ(done->state, JobState::failed);
  EXPECT_EQ(done->error, ErrorCode::result_too_large);
}

TEST_F(RuntimeTest, WorkersAreNamedAndEveryWorkerRunsJobs) {
  std::mutex mutex;
  std::set<std::string> names;
  ASSERT_TRUE(rt.runtime.register_handler("name", [&](JobContext&) {
    std::array<char, 16> name{};
    port::current_thread_name(name);
    {
      std::lock_guard lock(mutex);
      names.insert(name.data());
    }
    return HandlerResult::success();
  }).ok());
  ASSERT_TRUE(rt.start());
  ASSERT_TRUE(rt.submit("g0", "gated").accepted);
  ASSERT_TRUE(rt.submit("g1", "gated").accepted);
  ASSERT_TRUE(gate.wait_entered(2));  // both workers busy: w0 and w1 exist
  gate.open();
  for (int i = 0; i < 8; ++i) ASSERT_TRUE(rt.submit(numbered_id("n", i), "name").accepted);
  ASSERT_TRUE(rt.runtime.wait_until_all_jobs_finished(10s));
  for (const std::string& name : names) EXPECT_TRUE(name == "edgerun-w0" || name == "edgerun-w1") << name;
  EXPECT_FALSE(names.empty());
}

TEST_F(RuntimeTest, ShutdownWithDrainFinishesQueuedJobsAndRejectsNewOnes) {
  ASSERT_TRUE(rt.start());
  for (int i = 0; i < 6; ++i) ASSERT_TRUE(rt.submit(numbered_id("d", i), "gated").accepted);
  ASSERT_TRUE(gate.wait_entered(2));
  rt.runtime.shutdown(true, 30s);
  const SubmitResult late = rt.submit("late", "echo");
  EXPECT_EQ(late.rejection, ErrorCode::shutting_down);
  gate.open();
  rt.join();
  for (int i = 0; i < 6; ++i) {
    auto done = rt.recorder.wait_terminal(numbered_id("d", i), 0ms);
    ASSERT_TRUE(done) << i;
    EXPECT_EQ(done->state, JobState::succeeded);
  }
}

TEST_F(RuntimeTest, ShutdownDrainTimeoutCancelsWhatIsLeft) {
  ASSERT_TRUE(rt.start());
  for (int i = 0; i < 4; ++i) ASSERT_TRUE(rt.submit(numbered_id("s", i), "gated").accepted);
  ASSERT_TRUE(gate.wait_entered(2));
  rt.runtime.shutdown(true, 50ms);
  rt.join();  // returns only because the drain timeout canceled the jobs
  for (int i = 0; i < 4; ++i) {
    auto done = rt.recorder.wait_terminal(numbered_id("s", i), 0ms);
    ASSERT_TRUE(done) << i;
    EXPECT_EQ(done->state, JobState::canceled);
  }
}

TEST_F(RuntimeTest, ShutdownWithoutDrainCancelsQueuedAndRunningJobs) {
  ASSERT_TRUE(rt.start());
  for (int i = 0; i < 5; ++i) ASSERT_TRUE(rt.submit(numbered_id("c", i), "gated").accepted);
  ASSERT_TRUE(gate.wait_entered(2));
  rt.stop(false);
  for (int i = 0; i < 5; ++i) {
    auto done = rt.recorder.wait_terminal(numbered_id("c", i), 0ms);
    ASSERT_TRUE(done) << i;
    EXPECT_EQ(done->state, JobState::canceled);
  }
}

TEST_F(RuntimeTest, WaitUntilAllJobsFinishedTimesOutWhileAJobRuns) {
  ASSERT_TRUE(rt.start());
  EXPECT_TRUE(rt.runtime.wait_until_all_jobs_finished(0ms));
  ASSERT_TRUE(rt.submit("w", "gated").accepted);
  EXPECT_FALSE(rt.runtime.wait_until_all_jobs_finished(20ms));
  gate.open();
  EXPECT_TRUE(rt.runtime.wait_until_all_jobs_finished(10s));
}

TEST_F(RuntimeTest, RegistrationIsCheckedAndClosedAfterStart) {
  EXPECT_FALSE(rt.runtime.register_handler("echo", echo).ok());       // twice
  EXPECT_FALSE(rt.runtime.register_handler("bad/name", echo).ok());   // not an id
  EXPECT_FALSE(rt.runtime.register_handler("empty", Handler{}).ok());
  ASSERT_TRUE(rt.start());
  const Status late = rt.runtime.register_handler("late", echo);
  EXPECT_FALSE(late.ok());
  EXPECT_NE(std::string(late.message()).find("before start"), std::string::npos);
  ASSERT_EQ(rt.runtime.handler_count(), 2u);
  EXPECT_EQ(rt.runtime.handler_name(0), "echo");
}

TEST_F(RuntimeTest, InvalidConfigStopsStartWithTheFieldNamed) {
  RuntimeConfig config = small_config();
  config.queue_capacity = 0;
  Runtime bad(config);
  const Status started = bad.start();
  ASSERT_FALSE(started.ok());
  EXPECT_NE(std::string(started.message()).find("queue_capacity"), std::string::npos);
}

// --- logs, events and metrics from handlers ---

class RecordingLogSink final : public LogSink {
 public:
  void write(const LogRecord& record) noexcept override {
    std::lock_guard lock(mutex);
    std::string line = std::string(to_string(record.level)) + " " + std::string(record.message());
    for (std::size_t i = 0; i < record.field_count(); ++i) {
      line.append(" ").append(record.field(i).key).append("=").append(record.field(i).value);
    }
    lines.push_back(line);
  }
  std::mutex mutex;
  std::vector<std::string> lines;
};

class RecordingEventSink final : public EventSink {
 public:
  void on_event(const EventView& e) noexcept override {
    std::lock_guard lock(mutex);
    events.push_back(std::string(e.job_id) + " " + std::string(e.type) + " " + std::string(e.data_json));
  }
  std::mutex mutex;
  std::vector<std::string> events;
};

TEST(RuntimeTelemetry, HandlerLogsEventsAndMetricsReachTheirSinks) {
  RuntimeConfig config = small_config();
  config.event_records = 2;
  RunningRuntime rt(config);
  RecordingLogSink logs;
  RecordingEventSink events;
  rt.runtime.add_log_sink(logs);
  rt.runtime.add_event_sink(events);
  std::atomic<int> refused{0};
  ASSERT_TRUE(rt.runtime.register_handler("chatty", [&](JobContext& job) {
    job.log(LogLevel::warn, "valve stuck", {{"valve", "v7"}});
    job.log(LogLevel::debug, "below the level");
    const MetricId id = job.metrics().counter("valve_checks_total");
    job.metrics().add(id, 2);
    cJSON* data = cJSON_CreateObject();
    cJSON_AddNumberToObject(data, "pressure", 4.5);
    if (!job.emit_event("alarm", data)) ++refused;
    return HandlerResult::success();
  }).ok());
  ASSERT_TRUE(rt.start());
  // The event ring holds 2; whether the flush ran between two jobs is up to
  // timing, so every event is either delivered or refused, never lost.
  for (int i = 0; i < 3; ++i) ASSERT_TRUE(rt.submit(numbered_id("c", i), "chatty").accepted);
  ASSERT_TRUE(rt.runtime.wait_until_all_jobs_finished(10s));
  rt.stop(true, 1s);  // the final flush delivers what is left

  {
    std::lock_guard lock(logs.mutex);
    int stuck = 0;
    for (const auto& line : logs.lines) {
      EXPECT_EQ(line.find("below the level"), std::string::npos);
      if (line.rfind("warn valve stuck job=c", 0) == 0 && line.find("valve=v7") != std::string::npos) ++stuck;
    }
    EXPECT_EQ(stuck, 3);
  }
  {
    std::lock_guard lock(events.mutex);
    EXPECT_EQ(static_cast<int>(events.events.size()) + refused.load(), 3);
    for (const auto& e : events.events) EXPECT_NE(e.find(" alarm {\"pressure\":4.5}"), std::string::npos) << e;
  }
  auto& m = rt.runtime.metrics();
  EXPECT_EQ(m.value(m.find("valve_checks_total")), 6);
  EXPECT_EQ(m.value(m.find("edgerun_jobs_total", {{"state", "succeeded"}})), 3);
}

TEST(RuntimeTelemetry, BuiltinMetricsDescribeTheRun) {
  RunningRuntime rt;
  ASSERT_TRUE(rt.runtime.register_handler("echo", echo).ok());
  ASSERT_TRUE(rt.start());
  // Two rounds of 5 (the queue holds 8), waiting between them.
  for (int i = 0; i < 10; ++i) {
    ASSERT_TRUE(rt.submit(numbered_id("m", i), "echo").accepted);
    if (i == 4) {
      ASSERT_TRUE(rt.runtime.wait_until_all_jobs_finished(10s));
    }
  }
  ASSERT_TRUE(rt.runtime.wait_until_all_jobs_finished(10s));
  rt.stop(true, 1s);
  rt.runtime.refresh_metrics();  // the loop has ended: no other thread uses it now
  auto& m = rt.runtime.metrics();
  EXPECT_EQ(m.value(m.find("edgerun_jobs_total", {{"state", "succeeded"}})), 10);
  EXPECT_EQ(m.value(m.find("edgerun_queue_depth")), 0);
  EXPECT_EQ(m.value(m.find("edgerun_jobs_running")), 0);
  EXPECT_EQ(m.value(m.find("edgerun_queue_capacity")), 8);
  EXPECT_GE(m.value(m.find("edgerun_queue_high_water")), 1);
  EXPECT_LE(m.value(m.find("edgerun_queue_high_water")), 8);
  bool saw_histogram = false;
  m.for_each([&](const MetricView& v) {
    if (v.name == "edgerun_job_duration_seconds") {
      saw_histogram = true;
      EXPECT_EQ(v.kind, MetricKind::histogram);
      EXPECT_EQ(v.count, 10u);
      EXPECT_EQ(v.bucket_counts.back(), 10u);
    }
  });
  EXPECT_TRUE(saw_histogram);
  // The workers' own tallies are folded in once: a second refresh adds nothing.
  rt.runtime.refresh_metrics();
  m.for_each([&](const MetricView& v) {
    if (v.name == "edgerun_job_duration_seconds") {
      EXPECT_EQ(v.count, 10u);
    }
  });
  const double utilization = m.value(m.find("edgerun_worker_utilization"));
  EXPECT_GE(utilization, 0.0);
  EXPECT_LE(utilization, 1.0);
}

}  // namespace
}  // namespace edgerun::test

namespace edgerun::test {
namespace {

TEST(RuntimeHandlerOptions, TypeTimeoutIsTheDefaultAndTheCap) {
  RunningRuntime rt;
  std::atomic<int> max_worker{-1};
  ASSERT_TRUE(rt.runtime.register_handler("capped", [&](JobContext& job) {
    max_worker = std::max<int>(max_worker.load(), static_cast<int>(job.worker_index()));
    job.wait_for_cancel(30s);
    return HandlerResult::success();
  }, HandlerOptions{.timeout_ms = 40}).ok());
  ASSERT_TRUE(rt.start());
  // No timeout given: the type's 40 ms applies, not the config's 10 s.
  ASSERT_TRUE(rt.submit("no-timeout", "capped").accepted);
  // Asking for more than the type allows is capped.
  ASSERT_TRUE(rt.submit("asks-more", "capped", "", 600000).accepted);
  for (const char* id : {"no-timeout", "asks-more"}) {
    auto done = rt.recorder.wait_terminal(id);
    ASSERT_TRUE(done) << id;
    EXPECT_EQ(done->state, JobState::timed_out) << id;
  }
  ASSERT_TRUE(rt.runtime.wait_until_all_jobs_finished(10s));
  EXPECT_GE(max_worker.load(), 0);
  EXPECT_LT(max_worker.load(), static_cast<int>(rt.runtime.worker_count()));
}

}  // namespace
}  // namespace edgerun::test

#include <uv.h>

namespace edgerun::test {
namespace {

// A component whose on_start fails, as a transport that cannot reach its
// broker's address does.
class FailingComponent final : public Component {
 public:
  Status on_start(uv_loop_s&) noexcept override { return Status::error("broker address does not resolve"); }
  void on_stop() noexcept override { stopped = true; }
  bool stopped = false;
};

TEST(RuntimeComponents, RunReturnsTheErrorOfAComponentThatFailedToStart) {
  FailingComponent failing;
  Runtime runtime(small_config());
  runtime.add_component(failing);
  ASSERT_TRUE(runtime.register_handler("echo", echo).ok());
  ASSERT_TRUE(runtime.start().ok());
  const Status ran = runtime.run();  // returns by itself: the runtime stops at once
  EXPECT_FALSE(ran.ok());
  EXPECT_NE(std::string_view(ran.message()).find("broker address does not resolve"), std::string_view::npos)
      << ran.message();
  EXPECT_TRUE(failing.stopped);
  EXPECT_EQ(runtime.submit(JobRequest{"after", "echo", "", {}}).rejection, ErrorCode::shutting_down);
}

TEST(RuntimeWorkers, ABurstOfJobsWakesEveryIdleWorker) {
  // Idle workers sleep; one wake is in flight at a time and a woken worker
  // passes it on. If it did not, the second job of the burst would wait for
  // the first to end, which here is never.
  RuntimeConfig config = small_config();
  config.workers = 4;
  RunningRuntime rt(config);
  Gate gate;
  ASSERT_TRUE(rt.runtime.register_handler("gated", [&](JobContext& job) {
    return gate.pass(job) ? HandlerResult::success() : HandlerResult::failure("stopped");
  }).ok());
  ASSERT_TRUE(rt.start());
  for (int i = 0; i < 4; ++i) ASSERT_TRUE(rt.submit(numbered_id("burst-", i), "gated").accepted);
  EXPECT_TRUE(gate.wait_entered(4));
  gate.open();
  for (int i = 0; i < 4; ++i) {
    auto done = rt.recorder.wait_terminal(numbered_id("burst-", i));
    ASSERT_TRUE(done);
    EXPECT_EQ(done->state, JobState::succeeded);
  }
}

// Submits a new job on the loop thread for each job of `watched` that ends,
// as a transport does for a backend that resubmits on every result.
class ResubmittingSink final : public StatusSink {
 public:
  ResubmittingSink(Runtime& runtime, std::set<std::string> watched) : runtime_(runtime), watched_(std::move(watched)) {}
  void on_status(const JobStatusView& status) noexcept override {
    if (!is_terminal(status.state) || watched_.count(std::string(status.id)) == 0) return;
    const std::string id = "again-" + std::string(status.id);
    const SubmitResult result = runtime_.submit(JobRequest{id, "echo", "", {}});
    std::lock_guard lock(mutex_);
    outcomes_.emplace_back(id, result.rejection);
  }
  std::vector<std::pair<std::string, std::optional<ErrorCode>>> outcomes() {
    std::lock_guard lock(mutex_);
    return outcomes_;
  }

 private:
  Runtime& runtime_;
  std::set<std::string> watched_;
  std::mutex mutex_;
  std::vector<std::pair<std::string, std::optional<ErrorCode>>> outcomes_;
};

TEST(RuntimeOnTheLoop, ASinkSubmittingAsJobsEndGetsTheSlotsOfTheEndedJobs) {
  // One worker and room for two waiting jobs: four slots. One job runs, two
  // wait, and both waiting ones are canceled while the loop is busy, so
  // their ends reach the loop in one batch. The sink's first resubmission
  // takes the last free slot; the second finds none free and must be given
  // the slot of a job that ended earlier in the same batch, not be refused.
  RuntimeConfig config = small_config();
  config.workers = 1;
  config.queue_capacity = 2;
  LoopCaller caller;  // outlives the runtime that calls it
  RunningRuntime rt(config);
  ResubmittingSink resubmit(rt.runtime, {"q1", "q2"});
  rt.runtime.add_status_sink(resubmit);
  rt.runtime.add_component(caller);
  Gate gate;
  ASSERT_TRUE(rt.runtime.register_handler("echo", echo).ok());
  ASSERT_TRUE(rt.runtime.register_handler("gated", [&](JobContext& job) {
    return gate.pass(job) ? HandlerResult::success() : HandlerResult::failure("stopped");
  }).ok());
  std::promise<void> loop_busy;
  std::promise<void> release_loop;
  std::shared_future<void> released = release_loop.get_future().share();
  caller.set_call([&] {
    loop_busy.set_value();
    released.wait();
  });
  ASSERT_TRUE(rt.start());
  ASSERT_TRUE(rt.submit("w", "gated").accepted);
  // A delivered status means the loop runs, so the caller's handle is open.
  ASSERT_TRUE(rt.recorder.wait_state("w", JobState::running));
  ASSERT_TRUE(rt.submit("q1", "gated").accepted);
  ASSERT_TRUE(rt.submit("q2", "gated").accepted);
  caller.poke();
  ASSERT_EQ(loop_busy.get_future().wait_for(10s), std::future_status::ready);
  EXPECT_TRUE(rt.runtime.cancel("q1"));
  EXPECT_TRUE(rt.runtime.cancel("q2"));
  release_loop.set_value();

  ASSERT_TRUE(rt.recorder.wait_terminal("q2"));
  EXPECT_EQ(rt.recorder.wait_terminal("q1")->state, JobState::canceled);
  EXPECT_EQ(rt.recorder.wait_terminal("q2")->state, JobState::canceled);
  gate.open();
  for (const std::string id : {"again-q1", "again-q2"}) {
    auto done = rt.recorder.wait_terminal(id);
    ASSERT_TRUE(done) << id;
    EXPECT_EQ(done->state, JobState::succeeded) << id;
  }
  using Outcome = std::pair<std::string, std::optional<ErrorCode>>;
  EXPECT_EQ(resubmit.outcomes(), (std::vector<Outcome>{{"again-q1", std::nullopt}, {"again-q2", std::nullopt}}));
  EXPECT_TRUE(rt.runtime.wait_until_all_jobs_finished(10s));
}

// When `watched` times out, waits until `ready` says the worker has moved on
// from it, then submits two jobs on the loop thread: the first takes the
// last free slot, the second finds none.
class SubmitOnTimeoutSink final : public StatusSink {
 public:
  SubmitOnTimeoutSink(Runtime& runtime, std::string watched, std::function<bool()> ready)
      : runtime_(runtime), watched_(std::move(watched)), ready_(std::move(ready)) {}
  void on_status(const JobStatusView& status) noexcept override {
    if (status.state != JobState::timed_out || status.id != watched_) return;
    waited_ = ready_();
    first_ = runtime_.submit(JobRequest{"job-y1", "hold", "", {}}).rejection;
    second_ = runtime_.submit(JobRequest{"job-y2", "hold", "", {}}).rejection;
    submitted_ = true;
  }
  // Read after the watched job's terminal status reached a later sink.
  bool submitted_ = false;
  bool waited_ = false;
  std::optional<ErrorCode> first_;
  std::optional<ErrorCode> second_;

 private:
  Runtime& runtime_;
  std::string watched_;
  std::function<bool()> ready_;
};

TEST(RuntimeOnTheLoop, ASinkSubmittingDuringATimeoutLeavesTheTimedOutStatusWholeForLaterSinks) {
  // One worker and a queue of one: three slots. job-x runs until its timeout,
  // job-z waits behind it. When the timer ends job-x, the sink in the middle
  // waits for the worker to report job-x finished and start job-z, then
  // takes the last free slot and asks for one more. Nothing may then retire
  // job-x, let alone hand its slot to the new job, while the sinks after it
  // have yet to hear job-x's `timed_out`.
  RuntimeConfig config = small_config();
  config.workers = 1;
  config.queue_capacity = 1;
  // Declared first: they outlive the runtime that calls them, also when an
  // assertion below ends the test early.
  std::atomic<bool> z_started{false};
  Gate gate;
  StatusRecorder later;
  std::optional<SubmitOnTimeoutSink> submitter;
  RunningRuntime rt(config);
  submitter.emplace(rt.runtime, "job-x", [&] {
    const auto deadline = std::chrono::steady_clock::now() + 10s;
    while (!z_started.load()) {
      if (std::chrono::steady_clock::now() > deadline) return false;
      std::this_thread::yield();
    }
    return true;
  });
  rt.runtime.add_status_sink(*submitter);
  rt.runtime.add_status_sink(later);
  // Returns as soon as the timer asks it to stop, while the loop is still
  // delivering job-x's `timed_out` (the cancel wake-up comes after it).
  ASSERT_TRUE(rt.runtime.register_handler("spin", [](JobContext& job) {
    const auto deadline = std::chrono::steady_clock::now() + 10s;
    while (!job.cancel_requested() && std::chrono::steady_clock::now() < deadline) std::this_thread::yield();
    return HandlerResult::failure("stopped");
  }).ok());
  ASSERT_TRUE(rt.runtime.register_handler("hold", [&](JobContext& job) {
    z_started.store(true);
    return gate.pass(job) ? HandlerResult::success() : HandlerResult::failure("stopped");
  }).ok());
  ASSERT_TRUE(rt.start());
  ASSERT_TRUE(rt.submit("job-x", "spin", "", 100).accepted);
  ASSERT_TRUE(rt.recorder.wait_state("job-x", JobState::running));
  ASSERT_TRUE(rt.submit("job-z", "hold").accepted);

  ASSERT_TRUE(later.wait_terminal("job-x"));
  EXPECT_TRUE(submitter->waited_);
  ASSERT_TRUE(submitter->submitted_);
  EXPECT_EQ(submitter->first_, std::nullopt);
  // No slot is free for it (and the work queue holds job-y1 anyway).
  EXPECT_EQ(submitter->second_, ErrorCode::queue_full);
  for (StatusRecorder* sink : {&rt.recorder, &later}) {
    EXPECT_EQ(sink->states_of("job-x"), (std::vector<JobState>{JobState::queued, JobState::running, JobState::timed_out}));
    // No status of a job that never ran, under another job's name.
    EXPECT_TRUE(sink->states_of("job-y2").empty());
  }
  gate.open();
  ASSERT_TRUE(later.wait_terminal("job-z"));
  ASSERT_TRUE(later.wait_terminal("job-y1"));
  EXPECT_TRUE(rt.runtime.wait_until_all_jobs_finished(10s));
  // Every sink heard each job's statuses, in the same order. (Across jobs
  // the order may differ: job-y1's `queued` reached the later sink first.)
  std::set<std::string> ids;
  for (const RecordedStatus& s : later.all()) ids.insert(s.id);
  EXPECT_EQ(ids, (std::set<std::string>{"job-x", "job-z", "job-y1"}));
  for (const std::string& id : ids) EXPECT_EQ(rt.recorder.states_of(id), later.states_of(id)) << id;
}

// However many jobs a loop callback submits, every one of them runs without
// the loop having anything else to do.
TEST(RuntimeOnTheLoop, EveryJobSubmittedInALoopCallbackRuns) {
  LoopCaller caller;  // outlives the runtime that calls it
  RunningRuntime rt;
  rt.runtime.add_component(caller);
  ASSERT_TRUE(rt.runtime.register_handler("noop", [](JobContext&) { return HandlerResult::success(); }).ok());
  std::atomic<int> round{0};
  std::atomic<int> refused{0};
  caller.set_call([&] {
    // 1 job, then 7, then 8 (the queue's capacity): none a multiple of the
    // batch except by chance, and the last fills the queue.
    const int n = round.load() == 0 ? 1 : round.load() == 1 ? 7 : 8;
    for (int i = 0; i < n; ++i) {
      const std::string id = numbered_id("r", round.load()).append(numbered_id("-", i));
      if (!rt.runtime.submit(JobRequest{id, "noop", "", {}}).accepted) refused.fetch_add(1);
    }
  });
  ASSERT_TRUE(rt.start());
  // A status delivered means the loop runs, so the caller's handle is open.
  ASSERT_TRUE(rt.submit("warm-up", "noop").accepted);
  ASSERT_TRUE(rt.recorder.wait_terminal("warm-up"));
  ASSERT_TRUE(rt.runtime.wait_until_all_jobs_finished(10s));
  for (int r = 0; r < 3; ++r) {
    round.store(r);
    caller.poke();
    const int n = r == 0 ? 1 : r == 1 ? 7 : 8;
    for (int i = 0; i < n; ++i) {
      const std::string id = numbered_id("r", r).append(numbered_id("-", i));
      auto done = rt.recorder.wait_terminal(id);
      ASSERT_TRUE(done) << id;
      EXPECT_EQ(done->state, JobState::succeeded);
      // Each status once, in order, naming the job and its type.
      const std::vector<RecordedStatus> statuses = rt.recorder.statuses_of(id);
      ASSERT_EQ(statuses.size(), 3u) << id;
      EXPECT_EQ(statuses[0].state, JobState::queued);
      EXPECT_EQ(statuses[1].state, JobState::running);
      EXPECT_EQ(statuses[2].state, JobState::succeeded);
      for (const RecordedStatus& status : statuses) {
        EXPECT_EQ(status.type, "noop") << id;
        EXPECT_GT(status.ts_ms, 0) << id;
      }
    }
    ASSERT_TRUE(rt.runtime.wait_until_all_jobs_finished(10s));
  }
  EXPECT_EQ(refused.load(), 0);
}

// A sink may ask for terminal states only (edgerund with report_progress
// false). It gets exactly one status per job, submitted from any thread,
// and a sink beside it that wants progress still gets every state.
TEST(RuntimeSinks, ASinkThatWantsNoProgressGetsOnlyTerminalStates) {
  LoopCaller caller;  // outlives the runtime that calls it
  RunningRuntime rt;
  rt.recorder.progress = false;
  rt.runtime.add_component(caller);
  ASSERT_TRUE(rt.runtime.register_handler("noop", [](JobContext&) { return HandlerResult::success(); }).ok());
  caller.set_call([&] { (void)rt.runtime.submit(JobRequest{"on-loop", "noop", "", {}}); });
  ASSERT_TRUE(rt.start());
  ASSERT_TRUE(rt.submit("from-thread", "noop").accepted);
  ASSERT_TRUE(rt.recorder.wait_terminal("from-thread"));
  caller.poke();
  ASSERT_TRUE(rt.recorder.wait_terminal("on-loop"));
  ASSERT_TRUE(rt.runtime.wait_until_all_jobs_finished(10s));
  EXPECT_EQ(rt.recorder.states_of("from-thread"), std::vector<JobState>{JobState::succeeded});
  EXPECT_EQ(rt.recorder.states_of("on-loop"), std::vector<JobState>{JobState::succeeded});
  EXPECT_EQ(rt.runtime.job_state("on-loop"), JobState::succeeded);
}

TEST(RuntimeSinks, ProgressGoesOnlyToTheSinksThatWantIt) {
  StatusRecorder terminal_only;  // outlives the runtime that calls it
  terminal_only.progress = false;
  RunningRuntime rt;  // its recorder wants progress
  rt.runtime.add_status_sink(terminal_only);
  ASSERT_TRUE(rt.runtime.register_handler("noop", [](JobContext&) { return HandlerResult::success(); }).ok());
  ASSERT_TRUE(rt.start());
  ASSERT_TRUE(rt.submit("j", "noop").accepted);
  ASSERT_TRUE(terminal_only.wait_terminal("j"));
  ASSERT_TRUE(rt.recorder.wait_terminal("j"));
  EXPECT_EQ(rt.recorder.states_of("j"), (std::vector<JobState>{JobState::queued, JobState::running, JobState::succeeded}));
  EXPECT_EQ(terminal_only.states_of("j"), std::vector<JobState>{JobState::succeeded});
}

// Reads edgerun_jobs_total for each terminal state it hears of, there and
// then, as a sink that reports progress counts would.
class CounterReadingSink final : public StatusSink {
 public:
  explicit CounterReadingSink(Metrics& metrics) : metrics_(metrics) {}
  bool wants_progress() const noexcept override { return false; }
  void on_status(const JobStatusView& status) noexcept override {
    const double counted = metrics_.value(metrics_.find("edgerun_jobs_total", {{"state", to_string(status.state)}}));
    std::lock_guard lock(mutex_);
    counted_when_heard_.push_back(counted);
  }
  std::vector<double> counted_when_heard() {
    std::lock_guard lock(mutex_);
    return counted_when_heard_;
  }

 private:
  Metrics& metrics_;
  std::mutex mutex_;
  std::vector<double> counted_when_heard_;
};

TEST(RuntimeSinks, AJobIsCountedByItsEndStateBeforeTheSinksHearOfIt) {
  RunningRuntime rt;
  CounterReadingSink reader(rt.runtime.metrics());
  rt.runtime.add_status_sink(reader);
  ASSERT_TRUE(rt.runtime.register_handler("noop", [](JobContext&) { return HandlerResult::success(); }).ok());
  ASSERT_TRUE(rt.runtime.register_handler("fail", [](JobContext&) { return HandlerResult::failure("no"); }).ok());
  ASSERT_TRUE(rt.start());
  for (const char* id : {"ok-1", "ok-2", "ok-3"}) {
    ASSERT_TRUE(rt.submit(id, "noop").accepted);
    ASSERT_TRUE(rt.recorder.wait_terminal(id));
  }
  ASSERT_TRUE(rt.submit("bad-1", "fail").accepted);
  ASSERT_TRUE(rt.recorder.wait_terminal("bad-1"));
  ASSERT_TRUE(rt.runtime.wait_until_all_jobs_finished(10s));
  // The n-th succeeded job is heard of with the counter at n; the failed one
  // with its own counter at 1.
  EXPECT_EQ(reader.counted_when_heard(), (std::vector<double>{1, 2, 3, 1}));
}

// Statuses are delivered from the loop's own callbacks, never from inside a
// call into the runtime: a transport that submits or cancels from its
// message callback is not called back before that call returns, and a sink
// that submits is not called again inside its own on_status.
class ReentryWatchingSink final : public StatusSink {
 public:
  explicit ReentryWatchingSink(Runtime& runtime) : runtime_(runtime) {}
  // Set on the loop thread around calls into the runtime.
  static thread_local bool inside_call;
  std::atomic<bool> reentered{false};

  void on_status(const JobStatusView& status) noexcept override {
    if (inside_call) reentered.store(true);
    if (status.id == "first" && is_terminal(status.state)) {
      inside_call = true;
      (void)runtime_.submit(JobRequest{"second", "noop", "", {}});
      inside_call = false;
    }
  }

 private:
  Runtime& runtime_;
};
thread_local bool ReentryWatchingSink::inside_call = false;

TEST(RuntimeOnTheLoop, NoStatusIsDeliveredFromInsideACallIntoTheRuntime) {
  // Declared first: they outlive the runtime that calls them.
  LoopCaller caller;
  std::optional<ReentryWatchingSink> watcher;
  RunningRuntime rt;
  watcher.emplace(rt.runtime);
  rt.runtime.add_status_sink(*watcher);
  rt.runtime.add_component(caller);
  ASSERT_TRUE(rt.runtime.register_handler("noop", [](JobContext&) { return HandlerResult::success(); }).ok());
  ASSERT_TRUE(rt.runtime.register_handler("wait", [](JobContext& job) {
    job.wait_for_cancel(30s);
    return HandlerResult::success();
  }).ok());
  std::promise<bool> canceled;
  caller.set_call([&] {
    ReentryWatchingSink::inside_call = true;
    const bool accepted = rt.runtime.submit(JobRequest{"first", "noop", "", {}}).accepted;
    const bool did_cancel = rt.runtime.cancel("w1");
    ReentryWatchingSink::inside_call = false;
    canceled.set_value(accepted && did_cancel);
  });
  ASSERT_TRUE(rt.start());
  ASSERT_TRUE(rt.submit("w1", "wait").accepted);
  ASSERT_TRUE(rt.recorder.wait_state("w1", JobState::running));
  caller.poke();
  auto future = canceled.get_future();
  ASSERT_EQ(future.wait_for(10s), std::future_status::ready);
  EXPECT_TRUE(future.get());
  ASSERT_TRUE(rt.recorder.wait_terminal("w1"));
  ASSERT_TRUE(rt.recorder.wait_terminal("second"));
  EXPECT_EQ(rt.recorder.states_of("w1"), (std::vector<JobState>{JobState::queued, JobState::running, JobState::canceled}));
  EXPECT_EQ(rt.recorder.states_of("first"), (std::vector<JobState>{JobState::queued, JobState::running, JobState::succeeded}));
  EXPECT_EQ(rt.recorder.states_of("second"), (std::vector<JobState>{JobState::queued, JobState::running, JobState::succeeded}));
  EXPECT_FALSE(watcher->reentered.load());
}

}  // namespace
}  // namespace edgerun::test

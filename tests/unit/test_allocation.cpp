// After start(), running jobs through the core allocates nothing on the heap.
// This binary replaces malloc, calloc, realloc, free and the global operator
// new/delete with counting versions (forwarding to glibc's own allocator), and
// counts every allocation any thread makes while 10,000 jobs run.
#include <cjson/cJSON.h>
#include <gtest/gtest.h>

#include <atomic>
#include <condition_variable>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <mutex>
#include <new>

#include "edgerun/journal.hpp"
#include "edgerun/port/file.hpp"
#include "edgerun/runtime.hpp"

extern "C" {
void* __libc_malloc(std::size_t);
void* __libc_calloc(std::size_t, std::size_t);
void* __libc_realloc(void*, std::size_t);
void __libc_free(void*);
}

namespace {
std::atomic<bool> g_counting{false};
std::atomic<std::uint64_t> g_allocations{0};

void note_allocation() {
  if (g_counting.load(std::memory_order_relaxed)) g_allocations.fetch_add(1, std::memory_order_relaxed);
}
}  // namespace

extern "C" {
void* malloc(std::size_t size) {
  note_allocation();
  return __libc_malloc(size);
}
void* calloc(std::size_t count, std::size_t size) {
  note_allocation();
  return __libc_calloc(count, size);
}
void* realloc(void* pointer, std::size_t size) {
  note_allocation();
  return __libc_realloc(pointer, size);
}
void free(void* pointer) { __libc_free(pointer); }
}

void* operator new(std::size_t size) {
  note_allocation();
  if (void* p = __libc_malloc(size == 0 ? 1 : size)) return p;
  throw std::bad_alloc();
}
void* operator new[](std::size_t size) { return operator new(size); }
void operator delete(void* p) noexcept { __libc_free(p); }
void operator delete[](void* p) noexcept { __libc_free(p); }
void operator delete(void* p, std::size_t) noexcept { __libc_free(p); }
void operator delete[](void* p, std::size_t) noexcept { __libc_free(p); }

namespace edgerun {
namespace {

using namespace std::chrono_literals;

// Counts terminal statuses without allocating.
class CountingSink final : public StatusSink, public EventSink, public LogSink {
 public:
  void on_status(const JobStatusView& status) noexcept override {
    if (!is_terminal(status.state)) return;
    if (status.state == JobState::succeeded && status.result_json.find("\"echo\":") != std::string_view::npos) {
      succeeded.fetch_add(1);
    } else {
      other.fetch_add(1);
    }
    std::lock_guard lock(mutex);
    cv.notify_all();
  }
  void on_event(const EventView&) noexcept override { events.fetch_add(1); }
  void write(const LogRecord&) noexcept override { logs.fetch_add(1); }

  void wait_for(std::uint64_t total) {
    std::unique_lock lock(mutex);
    cv.wait_for(lock, 60s, [&] { return succeeded.load() + other.load() >= total; });
  }

  std::atomic<std::uint64_t> succeeded{0}, other{0}, events{0}, logs{0};
  std::mutex mutex;
  std::condition_variable cv;
};

HandlerResult work(JobContext& job) {
  // What a real handler does: read params, build a result, log, count, emit.
  const cJSON* msg = cJSON_GetObjectItemCaseSensitive(job.params(), "msg");
  cJSON* result = cJSON_CreateObject();
  cJSON_AddStringToObject(result, "echo", cJSON_IsString(msg) ? msg->valuestring : "");
  cJSON_AddNumberToObject(result, "n", 42);
  job.log(LogLevel::info, "working", {{"step", "1"}});
  job.metrics().add(job.metrics().find("app_work_total"));
  if (job.id().back() == '0') {
    cJSON* data = cJSON_CreateObject();
    cJSON_AddBoolToObject(data, "tick", true);
    job.emit_event("tick", data);
  }
  return HandlerResult::success(result);
}

// Runs 10,000 jobs after a warm-up and counts the heap allocations meanwhile;
// with `journal`, every job is written ahead to it (rewrites included).
void run_ten_thousand_jobs(journal::Journal* journal) {
  RuntimeConfig config;
  config.workers = 2;
  config.queue_capacity = 64;
  config.log_to_stderr = false;
  config.finished_ids = 256;
  Runtime runtime(config);
  if (journal != nullptr) runtime.set_journal(*journal);
  CountingSink sink;
  runtime.add_status_sink(sink);
  runtime.add_event_sink(sink);
  runtime.add_log_sink(sink);
  // One job in 16 of a type that is not idempotent: with a journal its
  // worker waits for the started record's fsync, which costs time more
  // than it tests anything else.
  ASSERT_TRUE(runtime.register_handler("work", work, {.idempotent = true}).ok());
  ASSERT_TRUE(runtime.register_handler("work-once", work).ok());
  (void)runtime.metrics().counter("app_work_total");
  ASSERT_TRUE(runtime.start().ok());
  std::thread loop([&] { (void)runtime.run(); });

  // Ids and payloads are made before counting: the submitter's own strings
  // are not the core's allocations.
  constexpr int kWarmup = 200;
  constexpr int kJobs = 10000;
  std::vector<std::string> payloads;
  payloads.reserve(kWarmup + kJobs);
  for (int i = 0; i < kWarmup + kJobs; ++i) {
    const std::string type = i % 16 == 0 ? "work-once" : "work";
    payloads.push_back(R"({"v":1,"id":"job-)" + std::to_string(i) + R"(","type":")" + type + R"(","params":{"msg":"hi )" +
                       std::to_string(i) + R"("},"timeout_ms":5000})");
  }
  auto submit_all = [&](int from, int to) {
    for (int i = from; i < to; ++i) {
      // Half through the MQTT path (raw payload), half through the API.
      for (;;) {
        SubmitResult r;
        if (i % 2 == 0) {
          r = runtime.submit_json(payloads[static_cast<std::size_t>(i)]);
        } else {
          char id[32];
          std::snprintf(id, sizeof id, "job-%d", i);
          r = runtime.submit(JobRequest{id, i % 16 == 1 ? "work-once" : "work", R"({"msg":"api"})", 5000});
        }
        if (r.accepted) break;
        ASSERT_EQ(r.rejection, ErrorCode::queue_full) << r.message_view();
        std::this_thread::yield();
      }
    }
  };

  // Warm-up: first-use work of the C and C++ runtimes (thread-locals, stdio)
  // happens here, not in the measured run.
  submit_all(0, kWarmup);
  sink.wait_for(kWarmup);
  ASSERT_TRUE(runtime.wait_until_all_jobs_finished(30s));

  g_allocations = 0;
  g_counting = true;
  submit_all(kWarmup, kWarmup + kJobs);
  sink.wait_for(kWarmup + kJobs);
  const bool finished = runtime.wait_until_all_jobs_finished(60s);
  g_counting = false;
  const std::uint64_t allocations = g_allocations.load();

  runtime.shutdown(true, 5s);
  loop.join();
  ASSERT_TRUE(finished);
  EXPECT_EQ(sink.succeeded.load(), static_cast<std::uint64_t>(kWarmup + kJobs));
  EXPECT_EQ(sink.other.load(), 0u);
  EXPECT_EQ(runtime.metrics().value(runtime.metrics().find("app_work_total")), kWarmup + kJobs);
  EXPECT_EQ(allocations, 0u) << "heap allocations while " << kJobs << " jobs ran";
  if (journal != nullptr) {
    EXPECT_GT(journal->stats().rewrites, 0u) << "the journal was never rewritten: the test misses that part";
    runtime.refresh_metrics();
    EXPECT_GT(runtime.metrics().value(runtime.metrics().find("edgerun_backlog_high_water")), 0)
        << "no job waited in the journal beyond the queue: the test misses that part";
  }
}

TEST(Allocation, RunningTenThousandJobsAllocatesNothing) { run_ten_thousand_jobs(nullptr); }

TEST(Allocation, RunningTenThousandJobsWithAJournalAllocatesNothing) {
  char directory[] = "/tmp/edgerun-allocation-XXXXXX";
  ASSERT_NE(mkdtemp(directory), nullptr);
  {
    journal::JournalOptions options;
    options.directory = std::string(directory) + "/state";
    options.sync = journal::SyncMode::batch;
    options.batch_ms = 2;
    // Small, so the measured run rewrites it several times.
    options.max_file_bytes = 256 * 1024;
    options.max_pending = 256;
    options.finished_ids = 256;
    LogRing log(64, LogLevel::info);
    journal::Journal journal(port::system_file_system(), options, log);
    run_ten_thousand_jobs(&journal);
  }
  std::filesystem::remove_all(directory);
}

// The counter works: a test that cannot fail proves nothing.
TEST(Allocation, TheCounterSeesAllocations) {
  g_allocations = 0;
  g_counting = true;
  void* p = std::malloc(64);
  auto* q = new int(7);
  g_counting = false;
  std::free(p);
  delete q;
  EXPECT_EQ(g_allocations.load(), 2u);
}

}  // namespace
}  // namespace edgerun

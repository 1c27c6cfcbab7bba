// edgerun_pool_bench: post -> complete throughput of the edgerun worker pool
// against libuv's own uv_queue_work pool, in the same process, with the same
// number of workers and the same trivial work.
//
// One iteration posts a batch of B jobs and waits until the loop thread has
// seen all B complete: for edgerun a StatusSink counting terminal statuses,
// for libuv the after_work callback. The variants:
//
//   edgerun_post_from_thread  the benchmark thread calls Runtime::submit().
//   edgerun_post_from_loop    the benchmark thread pokes a uv_async_t owned by
//                             a Component; its callback submits the batch on
//                             the loop thread (the MQTT transport's path).
//   ..._terminal_only         the same, with a sink that asks for terminal
//                             states only (edgerund's jobs.report_progress
//                             false), so no queued/running statuses are built.
//   uv_queue_work             the benchmark thread pokes a uv_async_t; its
//                             callback calls uv_queue_work B times on the loop
//                             thread (the only thread that may call it).
//
// libuv sizes its pool once per process from UV_THREADPOOL_SIZE, so the worker
// count is a process-wide setting: --workers=N (default 2). Run the program
// once per worker count to compare pool sizes.
#include <sys/resource.h>
#include <uv.h>

#include <benchmark/benchmark.h>

#include <array>
#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <future>
#include <mutex>
#include <set>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

#include "edgerun/config.hpp"
#include "edgerun/handler.hpp"
#include "edgerun/job_state.hpp"
#include "edgerun/port/thread.hpp"
#include "edgerun/runtime.hpp"
#include "edgerun/sinks.hpp"

namespace {

using namespace std::chrono_literals;

// The pool size of every variant; set once in main() before the first
// uv_queue_work of the process.
std::uint32_t g_workers = 2;

// A batch that has not completed in this time means a lost job, not a slow one.
constexpr auto kBatchTimeout = 60s;

// Counts completions on the loop thread and wakes the benchmark thread when
// the count reaches the target it set. Completions are counted for the whole
// life of a pool, so a batch waits for `previous total + B`.
//
// The target is an atomic rather than guarded by the mutex so that the loop
// thread takes the mutex once per batch, not once per job. Lost wake-ups are
// excluded by sequential consistency: the waiter stores the target and then
// reads the count; the loop stores the count and then reads the target; at
// least one of them sees the other's store.
class Completion {
 public:
  // Loop thread, once per completed job.
  void on_done() noexcept {
    const std::uint64_t done = done_.fetch_add(1) + 1;
    if (done >= target_.load()) {
      // Taking the mutex puts this notify after a waiter's predicate check
      // or after it sleeps, never between the two.
      { std::lock_guard lock(mutex_); }
      reached_.notify_one();
    }
  }

  // Any thread: the total count the next wait() waits for.
  void expect(std::uint64_t total) noexcept { target_.store(total); }

  // Any thread: `count` of the expected jobs will never complete (they were
  // rejected), so the wait ends without them.
  void withdraw(std::uint64_t count) noexcept {
    target_.fetch_sub(count);
    { std::lock_guard lock(mutex_); }
    reached_.notify_one();
  }

  // Benchmark thread. False on timeout.
  bool wait() {
    std::unique_lock lock(mutex_);
    return reached_.wait_for(lock, kBatchTimeout, [this] { return done_.load() >= target_.load(); });
  }

 private:
  std::atomic<std::uint64_t> done_{0};
  std::atomic<std::uint64_t> target_{0};
  std::mutex mutex_;
  std::condition_variable reached_;
};

// Job ids unique across the whole run, kept as decimal text and incremented
// in place so that making an id costs no formatting.
class IdCounter {
 public:
  IdCounter() {
    text_.fill('0');
    text_[0] = 'b';
  }

  std::string_view next() noexcept {
    for (std::size_t i = text_.size() - 1; i > 0; --i) {
      if (text_[i] != '9') {
        ++text_[i];
        break;
      }
      text_[i] = '0';
    }
    return {text_.data(), text_.size()};
  }

 private:
  std::array<char, 16> text_{};  // 'b' and 15 digits: never wraps in a run
};

// One counter for the process, so that no id is ever submitted twice and the
// duplicate check never decides what a run measures.
IdCounter g_ids;

constexpr std::string_view kJobType = "noop";

edgerun::JobRequest make_request(std::string_view id) noexcept {
  return edgerun::JobRequest{id, kJobType, "", {}};
}

// Over the timed loop, per job, for the whole process (every thread):
// - switches_per_job, context switches: how often a thread had to sleep and
//   be woken, the first number to look at when two runs disagree;
// - cpu_ns_per_job, CPU time: with more busy threads than cores (the loop and
//   two workers on two), a batch lasts about this over the core count.
class ProcessCounters {
 public:
  ProcessCounters() noexcept : start_(now()) {}

  void report(benchmark::State& state, std::uint64_t jobs) const {
    if (jobs == 0) return;
    const Sample end = now();
    const auto per_job = [jobs](std::uint64_t total) { return static_cast<double>(total) / static_cast<double>(jobs); };
    state.counters["switches_per_job"] = per_job(end.switches - start_.switches);
    state.counters["cpu_ns_per_job"] = per_job(end.cpu_ns - start_.cpu_ns);
  }

 private:
  struct Sample {
    std::uint64_t switches;
    std::uint64_t cpu_ns;
  };
  static Sample now() noexcept {
    rusage usage{};
    getrusage(RUSAGE_SELF, &usage);
    const auto ns = [](const timeval& t) {
      return static_cast<std::uint64_t>(t.tv_sec) * 1'000'000'000u + static_cast<std::uint64_t>(t.tv_usec) * 1'000u;
    };
    return {static_cast<std::uint64_t>(usage.ru_nvcsw) + static_cast<std::uint64_t>(usage.ru_nivcsw),
            ns(usage.ru_utime) + ns(usage.ru_stime)};
  }

  Sample start_;
};

// ---------------------------------------------------------------------------
// edgerun

class CountingSink final : public edgerun::StatusSink {
 public:
  CountingSink(Completion& completion, bool progress) : completion_(completion), progress_(progress) {}

  bool wants_progress() const noexcept override { return progress_; }

  void on_status(const edgerun::JobStatusView& status) noexcept override {
    if (!edgerun::is_terminal(status.state)) return;
    if (status.state != edgerun::JobState::succeeded) not_succeeded_.fetch_add(1, std::memory_order_relaxed);
    completion_.on_done();
  }

  std::uint64_t not_succeeded() const noexcept { return not_succeeded_.load(std::memory_order_relaxed); }

 private:
  Completion& completion_;
  const bool progress_;
  std::atomic<std::uint64_t> not_succeeded_{0};
};

// Lives on the loop: says when the loop runs (run() has made its thread the
// loop thread, so other threads may submit without racing on that), and
// submits a batch on the loop thread when poked.
class LoopPoster final : public edgerun::Component {
 public:
  LoopPoster(edgerun::Runtime& runtime, Completion& completion) : runtime_(runtime), completion_(completion) {}

  edgerun::Status on_start(uv_loop_s& loop) noexcept override {
    uv_async_init(&loop, &poke_, &LoopPoster::on_poke);
    poke_.data = this;
    ready_.set_value();
    return {};
  }

  void on_stop() noexcept override { uv_close(reinterpret_cast<uv_handle_t*>(&poke_), nullptr); }

  bool wait_ready() { return ready_.get_future().wait_for(10s) == std::future_status::ready; }

  // Benchmark thread: asks the loop to submit `count` jobs.
  void post(std::uint32_t count) noexcept {
    requested_.store(count);
    // libuv 1.44's uv_async_send may skip the wake-up after a plain load of
    // the handle's pending flag (libuv pull request 349): the fence makes
    // the count visible before that load.
    std::atomic_thread_fence(std::memory_order_seq_cst);
    uv_async_send(&poke_);
  }

  std::uint64_t rejected() const noexcept { return rejected_.load(); }

 private:
  static void on_poke(uv_async_t* handle) {
    auto* self = static_cast<LoopPoster*>(handle->data);
    const std::uint32_t count = self->requested_.exchange(0);
    std::uint64_t rejected = 0;
    for (std::uint32_t i = 0; i < count; ++i) {
      if (!self->runtime_.submit(make_request(g_ids.next())).accepted) ++rejected;
    }
    if (rejected != 0) {
      self->rejected_.fetch_add(rejected);
      self->completion_.withdraw(rejected);
    }
  }

  edgerun::Runtime& runtime_;
  Completion& completion_;
  uv_async_t poke_{};
  std::promise<void> ready_;
  std::atomic<std::uint32_t> requested_{0};
  std::atomic<std::uint64_t> rejected_{0};
};

edgerun::RuntimeConfig bench_config(std::uint32_t batch) {
  edgerun::RuntimeConfig config;
  config.workers = g_workers;
  // Room for a whole batch, so that nothing is refused `queue_full`.
  config.queue_capacity = batch;
  // The jobs carry no params and no result: the smallest buffers validate()
  // allows keep the slots of a 10000-job queue at ~3 MB instead of ~330 MB
  // with the 16 KiB defaults, which would measure page faults, not the pool.
  config.max_payload_bytes = 256;
  config.max_result_bytes = 64;
  config.json_arena_bytes = 4096;
  // Ids are never reused; a short memory keeps the duplicate check cheap.
  config.finished_ids = 1;
  config.finished_id_ttl_ms = 1;
  config.log_to_stderr = false;
  config.log_level = edgerun::LogLevel::warn;
  return config;
}

enum class PostFrom { benchmark_thread, loop_thread };
// all: the sink takes queued and running too, as edgerund does by default;
// terminal_only: as with jobs.report_progress false.
enum class Statuses { all, terminal_only };

void edgerun_pool(benchmark::State& state, PostFrom from, Statuses statuses) {
  const auto batch = static_cast<std::uint32_t>(state.range(0));
  Completion completion;
  CountingSink sink(completion, statuses == Statuses::all);
  edgerun::Runtime runtime(bench_config(batch));
  LoopPoster poster(runtime, completion);
  if (edgerun::Status registered =
          runtime.register_handler(kJobType, [](edgerun::JobContext&) { return edgerun::HandlerResult::success(); });
      !registered) {
    state.SkipWithError(registered.message());
    return;
  }
  runtime.add_status_sink(sink);
  runtime.add_component(poster);
  if (edgerun::Status started = runtime.start(); !started) {
    state.SkipWithError(started.message());
    return;
  }
  edgerun::Status run_status;
  // Named threads tell the loops apart in perf and top -H.
  std::thread loop_thread = edgerun::port::spawn_named_thread("edgerun-loop", [&] { run_status = runtime.run(); });
  if (!poster.wait_ready()) {
    state.SkipWithError("the edgerun loop did not start");
    runtime.shutdown(false, 0ms);
    loop_thread.join();
    return;
  }

  std::uint64_t expected = 0;
  std::uint64_t rejected = 0;
  const ProcessCounters counters;
  for (auto _ : state) {
    expected += batch;
    completion.expect(expected);
    if (from == PostFrom::benchmark_thread) {
      for (std::uint32_t i = 0; i < batch; ++i) {
        if (!runtime.submit(make_request(g_ids.next())).accepted) ++rejected;
      }
      // Wait for the jobs that were accepted, then report.
      if (rejected != 0) completion.withdraw(rejected);
    } else {
      poster.post(batch);
    }
    // A job's terminal status goes out a little before its slot is free
    // again (slots are given back once per delivered batch), so a thread
    // that refills the whole queue waits for the slots, as
    // wait_until_all_jobs_finished() documents. On the loop thread, submit()
    // retires ended jobs itself when it needs their slots.
    if (!completion.wait() ||
        (from == PostFrom::benchmark_thread && !runtime.wait_until_all_jobs_finished(kBatchTimeout))) {
      state.SkipWithError("a batch did not complete in time");
      break;
    }
    if (from == PostFrom::loop_thread) rejected = poster.rejected();
    if (rejected != 0) {
      state.SkipWithError("the runtime rejected submissions; the queue must hold a whole batch");
      break;
    }
  }
  state.SetItemsProcessed(static_cast<std::int64_t>(state.iterations()) * batch);
  counters.report(state, expected);
  if (sink.not_succeeded() != 0) state.SkipWithError("a job ended in a state other than succeeded");

  runtime.shutdown(true, 5s);
  loop_thread.join();
  if (!run_status) state.SkipWithError(run_status.message());
}

// ---------------------------------------------------------------------------
// libuv

class UvPool {
 public:
  UvPool(std::uint32_t batch, Completion& completion) : requests_(batch), completion_(completion) {
    for (uv_work_t& request : requests_) request.data = this;
  }

  // Benchmark thread. The handles are set up before the loop thread exists.
  bool start() {
    if (uv_loop_init(&loop_) != 0) return false;
    uv_async_init(&loop_, &poke_, &UvPool::on_poke);
    poke_.data = this;
    thread_ = edgerun::port::spawn_named_thread("uv-loop", [this] { uv_run(&loop_, UV_RUN_DEFAULT); });
    return true;
  }

  // Benchmark thread: asks the loop to queue the whole batch.
  void post() noexcept { uv_async_send(&poke_); }

  // Benchmark thread. False when the loop could not be closed cleanly.
  bool stop() {
    stopping_.store(true);
    uv_async_send(&poke_);
    thread_.join();
    return uv_loop_close(&loop_) == 0;
  }

  std::uint64_t errors() const noexcept { return errors_.load(std::memory_order_relaxed); }

 private:
  static void on_poke(uv_async_t* handle) {
    auto* self = static_cast<UvPool*>(handle->data);
    if (self->stopping_.load()) {
      uv_close(reinterpret_cast<uv_handle_t*>(handle), nullptr);
      return;
    }
    for (uv_work_t& request : self->requests_) {
      if (uv_queue_work(&self->loop_, &request, &UvPool::work, &UvPool::after_work) != 0) {
        self->errors_.fetch_add(1, std::memory_order_relaxed);
        self->completion_.on_done();
      }
    }
  }

  // The same trivial work as the edgerun handler: nothing.
  static void work(uv_work_t*) {}

  static void after_work(uv_work_t* request, int status) {
    auto* self = static_cast<UvPool*>(request->data);
    if (status != 0) self->errors_.fetch_add(1, std::memory_order_relaxed);
    self->completion_.on_done();
  }

  uv_loop_t loop_{};
  uv_async_t poke_{};
  std::thread thread_;
  std::vector<uv_work_t> requests_;
  Completion& completion_;
  std::atomic<bool> stopping_{false};
  std::atomic<std::uint64_t> errors_{0};
};

void uv_pool(benchmark::State& state) {
  const auto batch = static_cast<std::uint32_t>(state.range(0));
  Completion completion;
  UvPool pool(batch, completion);
  if (!pool.start()) {
    state.SkipWithError("uv_loop_init failed");
    return;
  }
  std::uint64_t expected = 0;
  const ProcessCounters counters;
  for (auto _ : state) {
    expected += batch;
    completion.expect(expected);
    pool.post();
    if (!completion.wait()) {
      state.SkipWithError("a batch did not complete in time");
      break;
    }
  }
  state.SetItemsProcessed(static_cast<std::int64_t>(state.iterations()) * batch);
  counters.report(state, expected);
  if (pool.errors() != 0) state.SkipWithError("uv_queue_work failed or a request was canceled");
  if (!pool.stop()) state.SkipWithError("uv_loop_close failed: a handle or request was left open");
}

// ---------------------------------------------------------------------------
// Set-up

// Sets libuv's pool size and makes the first uv_queue_work of the process, then
// checks that the pool really has that many threads: a pool of another size
// would make the comparison unfair without any other sign.
bool size_uv_pool(std::uint32_t workers) {
  const std::string size = std::to_string(workers);
  setenv("UV_THREADPOOL_SIZE", size.c_str(), 1);

  struct Probe {
    std::mutex mutex;
    std::set<std::thread::id> threads;
  } probe;
  uv_loop_t loop;
  if (uv_loop_init(&loop) != 0) return false;
  loop.data = &probe;
  // Enough slow requests that every pool thread takes at least one.
  std::vector<uv_work_t> requests(workers * 4);
  for (uv_work_t& request : requests) {
    request.data = &probe;
    uv_queue_work(
        &loop, &request,
        [](uv_work_t* r) {
          std::this_thread::sleep_for(20ms);
          auto* p = static_cast<Probe*>(r->data);
          std::lock_guard lock(p->mutex);
          p->threads.insert(std::this_thread::get_id());
        },
        [](uv_work_t*, int) {});
  }
  uv_run(&loop, UV_RUN_DEFAULT);
  if (uv_loop_close(&loop) != 0) return false;
  if (probe.threads.size() != workers) {
    std::fprintf(stderr, "edgerun_pool_bench: libuv pool has %zu threads, expected %u\n", probe.threads.size(),
                 workers);
    return false;
  }
  return true;
}

// Takes --workers=N out of argv (Google Benchmark rejects flags it does not
// know). Returns false for a malformed value.
bool take_workers_flag(int& argc, char** argv) {
  constexpr std::string_view kFlag = "--workers=";
  int out = 1;
  for (int i = 1; i < argc; ++i) {
    const std::string_view arg = argv[i];
    if (arg.substr(0, kFlag.size()) != kFlag) {
      argv[out++] = argv[i];
      continue;
    }
    char* end = nullptr;
    const unsigned long value = std::strtoul(argv[i] + kFlag.size(), &end, 10);
    if (end == argv[i] + kFlag.size() || *end != '\0' || value == 0 || value > 128) return false;
    g_workers = static_cast<std::uint32_t>(value);
  }
  argc = out;
  return true;
}

void register_benchmarks() {
  const std::string suffix = "/workers:" + std::to_string(g_workers);
  // Real time: the benchmark thread sleeps while the pool works, so its own
  // CPU time says nothing; the cpu column is the whole process's instead.
  auto common = [](benchmark::internal::Benchmark* b) {
    b->ArgName("batch")->Arg(1000)->Arg(10000)->UseRealTime()->MeasureProcessCPUTime()->Unit(benchmark::kMillisecond);
  };
  common(benchmark::RegisterBenchmark(("edgerun_post_from_thread" + suffix).c_str(), edgerun_pool,
                                      PostFrom::benchmark_thread, Statuses::all));
  common(benchmark::RegisterBenchmark(("edgerun_post_from_loop" + suffix).c_str(), edgerun_pool,
                                      PostFrom::loop_thread, Statuses::all));
  common(benchmark::RegisterBenchmark(("edgerun_post_from_thread_terminal_only" + suffix).c_str(), edgerun_pool,
                                      PostFrom::benchmark_thread, Statuses::terminal_only));
  common(benchmark::RegisterBenchmark(("edgerun_post_from_loop_terminal_only" + suffix).c_str(), edgerun_pool,
                                      PostFrom::loop_thread, Statuses::terminal_only));
  common(benchmark::RegisterBenchmark(("uv_queue_work" + suffix).c_str(), uv_pool));
}

}  // namespace

int main(int argc, char** argv) {
  if (!take_workers_flag(argc, argv)) {
    std::fprintf(stderr, "edgerun_pool_bench: --workers=N takes an integer from 1 to 128\n");
    return 2;
  }
  benchmark::Initialize(&argc, argv);
  if (benchmark::ReportUnrecognizedArguments(argc, argv)) return 2;
  if (!size_uv_pool(g_workers)) return 1;
  benchmark::AddCustomContext("workers", std::to_string(g_workers));
  benchmark::AddCustomContext("libuv", uv_version_string());
#ifdef EDGERUN_BENCH_CONFIG
  // The core's own build type: a Debug core makes every edgerun number moot.
  benchmark::AddCustomContext("edgerun_core_build", EDGERUN_BENCH_CONFIG);
#endif
  register_benchmarks();
  benchmark::RunSpecifiedBenchmarks();
  benchmark::Shutdown();
  return 0;
}

#pragma once
// A Runtime running its loop on a thread of its own, and a status sink that
// records every status so tests can wait for one with a bounded timeout.

#include <uv.h>

#include <chrono>
#include <condition_variable>
#include <functional>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

#include <gtest/gtest.h>

#include "edgerun/runtime.hpp"

namespace edgerun::test {

// "<prefix><n>", a job id. Built by appending: GCC 12 at -O3 reports
// "literal" + std::to_string(n) as an overlapping memcpy (-Wrestrict, a
// false positive of its own).
inline std::string numbered_id(std::string_view prefix, long long n) {
  return std::string(prefix).append(std::to_string(n));
}


using namespace std::chrono_literals;

struct RecordedStatus {
  std::string id;
  JobState state;
  std::string result;
  std::optional<ErrorCode> error;
  std::string message;
  std::optional<int> exit_code;
  std::int64_t ts_ms = 0;
  std::string type;
};

class StatusRecorder final : public StatusSink {
 public:
  // Set before start(): false asks the runtime for terminal states only.
  bool progress = true;
  bool wants_progress() const noexcept override { return progress; }

  void on_status(const JobStatusView& s) noexcept override {
    {
      std::lock_guard lock(mutex_);
      statuses_.push_back({std::string(s.id), s.state, std::string(s.result_json), s.error_code,
                           std::string(s.error_message), s.exit_code, s.ts_ms, std::string(s.type)});
    }
    changed_.notify_all();
  }

  // The terminal status of `id`, waiting up to `timeout` for it.
  std::optional<RecordedStatus> wait_terminal(const std::string& id, std::chrono::milliseconds timeout = 10s) {
    std::unique_lock lock(mutex_);
    std::optional<RecordedStatus> found;
    changed_.wait_for(lock, timeout, [&] {
      for (const auto& s : statuses_) {
        if (s.id == id && is_terminal(s.state)) {
          found = s;
          return true;
        }
      }
      return false;
    });
    return found;
  }

  // Waits until `id` reached `state` (terminal or not).
  bool wait_state(const std::string& id, JobState state, std::chrono::milliseconds timeout = 10s) {
    std::unique_lock lock(mutex_);
    return changed_.wait_for(lock, timeout, [&] {
      for (const auto& s : statuses_) {
        if (s.id == id && s.state == state) return true;
      }
      return false;
    });
  }

  std::vector<RecordedStatus> statuses_of(const std::string& id) {
    std::lock_guard lock(mutex_);
    std::vector<RecordedStatus> found;
    for (const auto& s : statuses_) {
      if (s.id == id) found.push_back(s);
    }
    return found;
  }

  std::vector<JobState> states_of(const std::string& id) {
    std::lock_guard lock(mutex_);
    std::vector<JobState> states;
    for (const auto& s : statuses_) {
      if (s.id == id) states.push_back(s.state);
    }
    return states;
  }

  std::vector<RecordedStatus> all() {
    std::lock_guard lock(mutex_);
    return statuses_;
  }

  // Terminal statuses published again from the journal (id, status JSON).
  void on_stored_status(std::string_view id, std::string_view status_json) noexcept override {
    {
      std::lock_guard lock(mutex_);
      stored_.emplace_back(std::string(id), std::string(status_json));
    }
    changed_.notify_all();
  }
  std::vector<std::pair<std::string, std::string>> stored() {
    std::lock_guard lock(mutex_);
    return stored_;
  }

 private:
  std::mutex mutex_;
  std::condition_variable changed_;
  std::vector<RecordedStatus> statuses_;
  std::vector<std::pair<std::string, std::string>> stored_;
};

inline RuntimeConfig small_config() {
  RuntimeConfig config;
  config.workers = 2;
  config.queue_capacity = 8;
  config.log_to_stderr = false;
  config.default_timeout_ms = 10000;
  return config;
}

// Owns a Runtime and the thread that runs its loop.
class RunningRuntime {
 public:
  explicit RunningRuntime(const RuntimeConfig& config = small_config()) : runtime(config) {
    runtime.add_status_sink(recorder);
  }
  ~RunningRuntime() { stop(); }

  // Call after registering handlers.
  ::testing::AssertionResult start() {
    if (Status started = runtime.start(); !started) return ::testing::AssertionFailure() << started.message();
    loop_ = std::thread([this] { run_status_ = runtime.run(); });
    return ::testing::AssertionSuccess();
  }

  void stop(bool drain = false, std::chrono::milliseconds timeout = 0ms) {
    if (!loop_.joinable()) return;
    runtime.shutdown(drain, timeout);
    loop_.join();
  }

  // Joins a loop that was told to shut down elsewhere.
  void join() {
    if (loop_.joinable()) loop_.join();
  }

  SubmitResult submit(const std::string& id, const std::string& type, const std::string& params = "",
                      std::optional<std::uint32_t> timeout_ms = std::nullopt) {
    return runtime.submit(JobRequest{id, type, params, timeout_ms});
  }

  // What run() returned, once the loop thread was joined.
  const Status& run_status() const { return run_status_; }

  Runtime runtime;
  StatusRecorder recorder;

 private:
  std::thread loop_;
  Status run_status_;
};

// A component whose `call` runs on the loop thread each time poke() is
// called (a stand-in for a transport's callback). Declare it before the
// runtime that calls it.
class LoopCaller final : public Component {
 public:
  // What the next poke() runs on the loop thread. The mutex tells
  // ThreadSanitizer what the eventfd behind uv_async_send tells the CPU:
  // the call was set before the loop runs it.
  void set_call(std::function<void()> call) {
    std::lock_guard lock(mutex_);
    call_ = std::move(call);
  }
  Status on_start(uv_loop_s& loop) noexcept override {
    uv_async_init(&loop, &async_, [](uv_async_t* handle) { static_cast<LoopCaller*>(handle->data)->run(); });
    async_.data = this;
    return {};
  }
  void on_stop() noexcept override { uv_close(reinterpret_cast<uv_handle_t*>(&async_), nullptr); }
  void poke() { uv_async_send(&async_); }

 private:
  void run() {
    std::function<void()> call;
    {
      std::lock_guard lock(mutex_);
      call = call_;
    }
    if (call) call();
  }

  std::mutex mutex_;
  std::function<void()> call_;
  uv_async_t async_{};
};

}  // namespace edgerun::test

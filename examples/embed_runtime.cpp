// Embedding edgerun in a firmware: register a C++ handler, run the loop on a
// thread of its own, post jobs, wait for them, print what they returned, and
// shut down cleanly.
#include <cjson/cJSON.h>

#include <chrono>
#include <cstdio>
#include <mutex>
#include <string>
#include <thread>

#include "edgerun/runtime.hpp"

namespace {

using namespace std::chrono_literals;

// Sums the numbers in params.values: {"values":[1,2,3]} -> {"sum":6,"count":3}.
edgerun::HandlerResult sum_handler(edgerun::JobContext& job) {
  const cJSON* values = cJSON_GetObjectItemCaseSensitive(job.params(), "values");
  if (!cJSON_IsArray(values)) return edgerun::HandlerResult::failure("params.values must be an array of numbers");
  double sum = 0;
  int count = 0;
  const cJSON* value = nullptr;
  cJSON_ArrayForEach(value, values) {
    if (job.cancel_requested()) return edgerun::HandlerResult::failure("canceled");
    if (!cJSON_IsNumber(value)) return edgerun::HandlerResult::failure("params.values must hold numbers only");
    sum += value->valuedouble;
    ++count;
  }
  job.log(edgerun::LogLevel::info, "summed", {{"count", std::to_string(count)}});
  cJSON* result = cJSON_CreateObject();
  cJSON_AddNumberToObject(result, "sum", sum);
  cJSON_AddNumberToObject(result, "count", count);
  return edgerun::HandlerResult::success(result);
}

// Prints every status; a real firmware would publish them (edgerund does).
class PrintingSink final : public edgerun::StatusSink {
 public:
  void on_status(const edgerun::JobStatusView& s) noexcept override {
    std::lock_guard lock(mutex_);
    std::printf("%-8s %-10s", std::string(s.id).c_str(), std::string(to_string(s.state)).c_str());
    if (s.state == edgerun::JobState::succeeded) std::printf(" %.*s", static_cast<int>(s.result_json.size()), s.result_json.data());
    if (s.error_code) {
      std::printf(" %s: %.*s", std::string(to_string(*s.error_code)).c_str(), static_cast<int>(s.error_message.size()),
                  s.error_message.data());
    }
    std::printf("\n");
    std::fflush(stdout);
  }

 private:
  std::mutex mutex_;
};

}  // namespace

int main() {
  edgerun::RuntimeConfig config;  // every size has a default; see config.hpp
  config.workers = 2;
  config.queue_capacity = 16;
  config.log_level = edgerun::LogLevel::warn;

  edgerun::Runtime runtime(config);
  PrintingSink printer;
  runtime.add_status_sink(printer);
  if (auto s = runtime.register_handler("sum", sum_handler); !s) {
    std::fprintf(stderr, "register_handler: %s\n", s.message());
    return 1;
  }
  if (auto s = runtime.start(); !s) {
    std::fprintf(stderr, "start: %s\n", s.message());
    return 1;
  }
  std::thread loop([&] {
    if (auto s = runtime.run(); !s) std::fprintf(stderr, "run: %s\n", s.message());
  });

  runtime.submit({"job-1", "sum", R"({"values":[1,2,3,4]})", {}});
  runtime.submit({"job-2", "sum", R"({"values":[0.5,0.25]})", {}});
  runtime.submit({"job-3", "sum", R"({"values":"oops"})", {}});
  // The same id again while job-1 is known: rejected `duplicate`.
  const edgerun::SubmitResult again = runtime.submit({"job-1", "sum", R"({"values":[]})", {}});
  if (!again.accepted) {
    std::printf("%-8s %-10s %s: %s\n", "job-1", "rejected", std::string(to_string(*again.rejection)).c_str(),
                again.message.data());
  }
  const edgerun::SubmitResult unknown = runtime.submit_json(R"({"v":1,"id":"job-4","type":"reboot"})");
  std::printf("%-8s %-10s %s: %s\n", "job-4", "rejected", std::string(to_string(*unknown.rejection)).c_str(),
              unknown.message.data());

  const bool finished = runtime.wait_until_all_jobs_finished(10s);
  runtime.shutdown(/*drain=*/true, 5s);
  loop.join();
  return finished ? 0 : 1;
}

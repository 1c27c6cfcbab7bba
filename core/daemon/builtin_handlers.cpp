// The handlers every edgerund has: echo, sleep and sysinfo.
#include <cjson/cJSON.h>

#include <chrono>
#include <cmath>

#include "daemon.hpp"
#include "edgerun/port/sysinfo.hpp"

namespace edgerun {

namespace {

// The longest sleep a job may ask for; its timeout usually ends it sooner.
constexpr double kMaxSleepMs = 24.0 * 3600 * 1000;

// Returns the params as the result.
HandlerResult echo_handler(JobContext& job) {
  cJSON* copy = cJSON_Duplicate(job.params(), true);
  if (copy == nullptr) return HandlerResult::failure("params too large to copy", ErrorCode::result_too_large);
  return HandlerResult::success(copy);
}

// {"ms": N}: waits N ms, or until the job is canceled or times out.
HandlerResult sleep_handler(JobContext& job) {
  const cJSON* ms = cJSON_GetObjectItemCaseSensitive(job.params(), "ms");
  if (!cJSON_IsNumber(ms) || !std::isfinite(ms->valuedouble) || ms->valuedouble < 0 ||
      ms->valuedouble > kMaxSleepMs || ms->valuedouble != std::floor(ms->valuedouble)) {
    return HandlerResult::failure("params.ms must be an integer from 0 to 86400000");
  }
  const auto wait = std::chrono::milliseconds(static_cast<std::int64_t>(ms->valuedouble));
  // {"ms": 0} only looks for a cancel: waiting on the condition variable for
  // no time would cost two futex calls a job.
  const bool canceled = wait.count() == 0 ? job.cancel_requested() : job.wait_for_cancel(wait);
  if (canceled) return HandlerResult::failure("interrupted by a cancel request");
  cJSON* result = cJSON_CreateObject();
  if (result != nullptr) cJSON_AddNumberToObject(result, "slept_ms", ms->valuedouble);
  return HandlerResult::success(result);
}

// The same object as the presence message's sysinfo.
HandlerResult sysinfo_handler(JobContext&) {
  port::SysInfo info;
  if (!port::read_sysinfo(info)) return HandlerResult::failure("could not read the system information");
  cJSON* result = cJSON_CreateObject();
  if (result == nullptr) return HandlerResult::failure("out of JSON memory", ErrorCode::result_too_large);
  cJSON_AddStringToObject(result, "hostname", info.hostname.data());
  cJSON_AddStringToObject(result, "os", info.os.data());
  cJSON_AddStringToObject(result, "release", info.release.data());
  cJSON_AddStringToObject(result, "arch", info.arch.data());
  cJSON_AddNumberToObject(result, "cpu_count", info.cpu_count);
  cJSON_AddNumberToObject(result, "mem_total", static_cast<double>(info.mem_total));
  cJSON_AddNumberToObject(result, "mem_available", static_cast<double>(info.mem_available));
  cJSON_AddNumberToObject(result, "uptime_s", static_cast<double>(info.uptime_s));
  return HandlerResult::success(result);
}

}  // namespace

Status register_builtin_handlers(Runtime& runtime) {
  // echo and sysinfo return at once (sysinfo reads a few small files under
  // /proc): they run on the loop. sleep waits, on a worker.
  const struct {
    const char* type;
    HandlerResult (*handler)(JobContext&);
    bool runs_on_loop;
  } builtins[] = {{"echo", echo_handler, true}, {"sleep", sleep_handler, false}, {"sysinfo", sysinfo_handler, true}};
  for (const auto& builtin : builtins) {
    // A type already registered (an exec entry of the config) wins.
    bool taken = false;
    for (std::size_t i = 0; i < runtime.handler_count(); ++i) taken = taken || runtime.handler_name(i) == builtin.type;
    if (taken) {
      runtime.log().write(LogLevel::info, "an exec handler replaces the built-in one", {{"type", builtin.type}});
      continue;
    }
    if (Status s = runtime.register_handler(builtin.type, builtin.handler, {.runs_on_loop = builtin.runs_on_loop, .idempotent = true}); !s) {
      return s;
    }
  }
  return {};
}

}  // namespace edgerun

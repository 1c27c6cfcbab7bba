// The worker side: take a job from the queue, run its handler with a context,
// serialize the outcome into the slot, and hand it back to the loop.
#include <cjson/cJSON.h>

#include <cstring>
#include <exception>

#include "edgerun/check.hpp"
#include "edgerun/json_parse.hpp"
#include "edgerun/port/clock.hpp"
#include "runtime_impl.hpp"

namespace edgerun {

using detail::JobSlot;
using detail::PayloadKind;
using detail::ReportKind;
using detail::StopReason;

class WorkerJobContext final : public JobContext {
 public:
  WorkerJobContext(Runtime::Impl& runtime, JobSlot& slot, const cJSON* params, std::uint32_t worker) noexcept
      : runtime_(runtime), slot_(slot), params_(params), worker_(worker) {}

  std::string_view id() const noexcept override { return slot_.id_view(); }
  std::string_view type() const noexcept override { return runtime_.handler_names_[slot_.handler]; }
  const cJSON* params() const noexcept override { return params_; }
  std::uint32_t worker_index() const noexcept override { return worker_; }

  bool cancel_requested() const noexcept override {
    return slot_.stop.load(std::memory_order_acquire) != StopReason::none;
  }

  bool wait_for_cancel(std::chrono::milliseconds timeout) const noexcept override {
    std::unique_lock lock(runtime_.cancel_mutex_);
    return runtime_.cancel_requested_.wait_for(lock, timeout, [this] { return cancel_requested(); });
  }

  void log(LogLevel level, std::string_view message, std::initializer_list<LogField> fields) const noexcept override {
    if (!runtime_.log_.enabled(level)) return;
    // The job field goes first; up to LogRecord::kMaxFields - 1 of the
    // caller's follow.
    std::array<LogField, LogRecord::kMaxFields> all{};
    std::size_t count = 0;
    all[count++] = {"job", id()};
    for (const LogField& field : fields) {
      if (count == all.size()) break;
      all[count++] = field;
    }
    write_fields(level, message, all, count);
  }

  Metrics& metrics() const noexcept override { return runtime_.metrics_; }

  bool emit_event(std::string_view type, const cJSON* data) noexcept override {
    return runtime_.events_->push(port::wall_ms(), id(), type, data);
  }

 private:
  // LogRing::write takes an initializer_list; build one of the right length.
  void write_fields(LogLevel level, std::string_view message, const std::array<LogField, LogRecord::kMaxFields>& f,
                    std::size_t count) const noexcept {
    LogRing& ring = runtime_.log_;
    switch (count) {
      case 1: ring.write(level, message, {f[0]}); break;
      case 2: ring.write(level, message, {f[0], f[1]}); break;
      case 3: ring.write(level, message, {f[0], f[1], f[2]}); break;
      case 4: ring.write(level, message, {f[0], f[1], f[2], f[3]}); break;
      case 5: ring.write(level, message, {f[0], f[1], f[2], f[3], f[4]}); break;
      default: ring.write(level, message, {f[0], f[1], f[2], f[3], f[4], f[5]}); break;
    }
  }
  static_assert(LogRecord::kMaxFields == 6, "write_fields spells out every field count");

  Runtime::Impl& runtime_;
  JobSlot& slot_;
  const cJSON* params_;
  std::uint32_t worker_;
};

void Runtime::Impl::worker_main(std::uint32_t worker) noexcept {
  JsonArena& arena = arenas_[worker + 1];
  for (;;) {
    JobSlot* slot = nullptr;
    {
      std::unique_lock lock(table_->mutex());
      work_ready_.wait(lock, [this] { return workers_stop_ || table_->waiting() != 0; });
      if (workers_stop_) return;
      slot = table_->pop_waiting();
      if (expired(*slot, port::monotonic_ms())) {
        // The loop's expiry timer may not have run yet: the job ends all
        // the same without running.
        slot->error = JobError::make(ErrorCode::expired, "the job was not started before its expires_at");
        report(*slot, ReportKind::finished);
        continue;
      }
      // Only a queued job becomes running: a cancel that got in first has
      // already decided its end.
      auto queued = JobState::queued;
      slot->state.compare_exchange_strong(queued, JobState::running, std::memory_order_acq_rel);
      slot->started_ns = port::monotonic_ns();
    }
    if (!journal_started(*slot)) {
      // Without a durable started record a job that is not idempotent may
      // not run: should the power go, the restart could run it again.
      slot->error = JobError::make(ErrorCode::interrupted, "the journal could not record the job's start");
      report(*slot, ReportKind::finished);
      continue;
    }
    report(*slot, ReportKind::started);
    run_job(*slot, arena, worker);
    // How long the job held this worker, whatever its end: a job that timed
    // out or was canceled still held it until its handler returned.
    const std::int64_t ran_ns = port::monotonic_ns() - slot->started_ns;
    busy_ns_.fetch_add(static_cast<std::uint64_t>(ran_ns), std::memory_order_relaxed);
    metrics_.observe(builtin_.job_duration, static_cast<double>(ran_ns) / 1e9);
    report(*slot, ReportKind::finished);
  }
}

bool Runtime::Impl::journal_started(JobSlot& slot) noexcept {
  if (journal_ == nullptr || handler_options_[slot.handler].idempotent) return true;
  int error = 0;
  const std::uint64_t ticket = journal_->started(slot.id_view(), error);
  if (ticket == 0 || !journal_->wait_durable(ticket)) return false;
  // Read by the loop after the `started` report.
  slot.started_ticket = ticket;
  return true;
}

void Runtime::Impl::run_job(JobSlot& slot, JsonArena& arena, std::uint32_t worker) noexcept {
  // Canceled between leaving the queue and starting: do not run it.
  if (slot.stop.load(std::memory_order_acquire) != StopReason::none) return;

  const ScopedJsonArena scope(arena);
  const cJSON* params = nullptr;
  if (slot.payload_kind == PayloadKind::none) {
    params = cJSON_CreateObject();
  } else {
    params = parse_json({slot.payload, slot.payload_length});
    if (params != nullptr && slot.payload_kind == PayloadKind::submission) {
      params = cJSON_GetObjectItemCaseSensitive(params, "params");
    }
  }
  if (params == nullptr) {
    slot.error = JobError::make(ErrorCode::handler_error, "params could not be parsed in json_arena_bytes");
    return;
  }
  WorkerJobContext context(*this, slot, params, worker);
  try {
    const HandlerResult outcome = handlers_[slot.handler](context);
    if (!outcome.succeeded()) {
      slot.error = outcome.error();
      return;
    }
    if (arena.exhausted()) {
      // A cJSON_Create* call inside the handler got no memory, so the result
      // is missing parts.
      results_too_large_.fetch_add(1, std::memory_order_relaxed);
      slot.error = JobError::make(ErrorCode::result_too_large, "the result did not fit json_arena_bytes");
      return;
    }
    if (outcome.result() != nullptr) {
      if (!cJSON_PrintPreallocated(outcome.result(), slot.result, static_cast<int>(result_buffer_bytes_), false) ||
          std::strlen(slot.result) > config_.max_result_bytes) {
        results_too_large_.fetch_add(1, std::memory_order_relaxed);
        slot.error = JobError::make(ErrorCode::result_too_large, "the result is larger than max_result_bytes");
        return;
      }
      slot.result_length = static_cast<std::uint32_t>(std::strlen(slot.result));
    }
    slot.handler_succeeded = true;
  } catch (const std::exception& e) {
    slot.error = JobError::make(ErrorCode::handler_error, e.what());
  } catch (...) {
    slot.error = JobError::make(ErrorCode::handler_error, "the handler threw a non-standard exception");
  }
}

}  // namespace edgerun

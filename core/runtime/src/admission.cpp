// Admission, cancel and lookup: any thread, under the job table's lock.
#include <cjson/cJSON.h>

#include <algorithm>
#include <cerrno>
#include <cstdio>
#include <cstring>

#include "copy_cut.hpp"
#include "edgerun/check.hpp"
#include "edgerun/codec.hpp"
#include "edgerun/json_parse.hpp"
#include "edgerun/port/clock.hpp"
#include "runtime_impl.hpp"

namespace edgerun {

using detail::JobSlot;
using detail::PayloadKind;
using detail::ReportKind;
using detail::StopReason;

std::string_view Runtime::Impl::encode_request_submission(const JobRequest& request) noexcept {
  // {"v":1,"id","type","timeout_ms","params"}. The id and the type are
  // checked names ([A-Za-z0-9._-]) and the params checked JSON: nothing
  // needs escaping.
  char* const begin = submission_scratch_.get();
  char* at = begin;
  const auto put = [&at](std::string_view text) {
    if (text.empty()) return;
    std::memcpy(at, text.data(), text.size());
    at += text.size();
  };
  put(R"({"v":1,"id":")");
  put(request.id);
  put(R"(","type":")");
  put(request.type.substr(0, kMaxIdLength));
  put("\"");
  if (request.timeout_ms.has_value()) at += std::snprintf(at, 32, ",\"timeout_ms\":%u", *request.timeout_ms);
  if (!request.params_json.empty()) {
    put(R"(,"params":)");
    put(request.params_json);
  }
  put("}");
  return {begin, static_cast<std::size_t>(at - begin)};
}

SubmitResult Runtime::Impl::reject(std::string_view id, ErrorCode code, std::string_view message) noexcept {
  SubmitResult result;
  result.rejection = code;
  detail::copy_cut(result.id, id);
  detail::copy_cut(result.message, message);
  metrics_.add(builtin_.rejected_by_reason[static_cast<std::size_t>(code)]);
  metrics_.add(builtin_.jobs_by_state[static_cast<std::size_t>(JobState::rejected)]);
  log_.write(LogLevel::info, "job rejected", {{"job", id}, {"code", to_string(code)}});
  return result;
}

SubmitResult Runtime::Impl::submit_json(std::string_view payload) noexcept {
  if (!started_) return reject({}, ErrorCode::shutting_down, "the runtime is not started");
  SubmitResult result;
  Admitted admitted;
  {
    std::lock_guard lock(table_->mutex());
    // The admission arena is the table lock's, like the rest of admission.
    const ScopedJsonArena scope(arenas_[0]);
    const DecodedSubmission decoded = decode_submission(payload, config_.max_payload_bytes);
    if (decoded.error) return reject(decoded.id, *decoded.error, decoded.message);
    // The worker parses the submission again for its params, as received; a
    // job without params skips that.
    const bool has_params = decoded.params != nullptr && decoded.params->child != nullptr;
    result = admit_locked(decoded.id, decoded.type, decoded.timeout_ms,
                          has_params ? PayloadKind::submission : PayloadKind::none, payload, payload, 0, admitted);
  }
  if (result.accepted && !admitted.on_loop) wake_a_worker();
  return result;
}

SubmitResult Runtime::Impl::submit(const JobRequest& request) noexcept {
  if (!started_) return reject({}, ErrorCode::shutting_down, "the runtime is not started");
  if (!is_valid_id(request.id)) return reject({}, ErrorCode::bad_request, "id must match [A-Za-z0-9._-]{1,64}");
  if (request.params_json.size() > config_.max_payload_bytes) {
    return reject(request.id, ErrorCode::too_large, "params are larger than jobs.max_payload_bytes");
  }
  if (request.timeout_ms.has_value() && *request.timeout_ms == 0) {
    return reject(request.id, ErrorCode::bad_request, "timeout_ms must be at least 1");
  }
  SubmitResult result;
  Admitted admitted;
  {
    std::lock_guard lock(table_->mutex());
    PayloadKind kind = PayloadKind::none;
    if (!request.params_json.empty()) {
      // Parsed here only to check them; the worker parses them again.
      const ScopedJsonArena scope(arenas_[0]);
      const cJSON* params = parse_json(request.params_json);
      if (params == nullptr && current_json_arena_exhausted()) {
        return reject(request.id, ErrorCode::too_large, "params are too complex for json_arena_bytes");
      }
      if (!cJSON_IsObject(params)) return reject(request.id, ErrorCode::bad_request, "params must be a JSON object");
      if (params->child != nullptr) kind = PayloadKind::params;
    }
    // The journal keeps a submission as the wire carries it, so that
    // recovery reads every job one way.
    std::string_view submission;
    if (journal_ != nullptr) submission = encode_request_submission(request);
    result = admit_locked(request.id, request.type, request.timeout_ms, kind, request.params_json, submission, 0,
                          admitted);
  }
  if (result.accepted && !admitted.on_loop) wake_a_worker();
  return result;
}

void Runtime::Impl::report_admission_locked(const Admitted& admitted) noexcept {
  // Under the table lock: once it is released a worker may run the job and
  // the loop retire it, and a report added after that could reach a loop
  // already closed by a shutdown.
  if (admitted.on_loop) {
    add_report(admitted.slot, admitted.generation, ReportKind::run_on_loop);
  } else if (!progress_sinks_.empty()) {
    add_report(admitted.slot, admitted.generation, ReportKind::queued);
  }
}

void Runtime::Impl::wake_a_worker() noexcept {
  // Outside the table lock: a worker woken while the lock is still held
  // would only wait for it.
  work_ready_.notify_one();
}

SubmitResult Runtime::Impl::admit_locked(std::string_view id, std::string_view type,
                                         std::optional<std::uint32_t> timeout_ms, PayloadKind kind,
                                         std::string_view payload, std::string_view submission,
                                         std::uint64_t journaled, Admitted& admitted) noexcept {
  if (!accepting_) return reject(id, ErrorCode::shutting_down, "the runtime is shutting down");
  const auto handler = std::find(handler_names_.begin(), handler_names_.end(), type);
  if (handler == handler_names_.end()) return reject(id, ErrorCode::unknown_type, "no handler is registered for this type");
  if (table_->find(id, port::monotonic_ms()).kind != detail::JobIds::Found::Kind::none) {
    return reject(id, ErrorCode::duplicate, "a job with this id is in flight or finished recently");
  }
  const bool on_loop = handler_options_[static_cast<std::size_t>(handler - handler_names_.begin())].runs_on_loop;
  // A recovered job (journaled) held a slot before the restart, waiting or
  // running: it gets one again even past the queue's capacity.
  const bool recovered = journaled != 0;
  if (!table_->has_room(!on_loop, recovered)) return reject(id, ErrorCode::queue_full, "the job queue is full");
  std::uint64_t ticket = journaled;
  if (journal_ != nullptr && ticket == 0) {
    // Recorded before the job can run or be heard of; it has room, so a
    // recorded job is never refused after.
    int error = 0;
    ticket = journal_->accepted(id, submission, error);
    if (ticket == 0) {
      return reject(id, ErrorCode::unavailable,
                    error == ENOSPC ? "the journal's disk is full" : "the journal cannot record the job");
    }
  }
  JobSlot* slot = table_->take_free_slot();
  std::memcpy(slot->id.data(), id.data(), id.size());
  slot->id[id.size()] = '\0';
  slot->id_length = static_cast<std::uint8_t>(id.size());
  slot->handler = static_cast<std::uint16_t>(handler - handler_names_.begin());
  const std::uint32_t type_limit = handler_options_[slot->handler].timeout_ms;
  slot->timeout_ms = timeout_ms.value_or(type_limit != 0 ? type_limit : config_.default_timeout_ms);
  if (type_limit != 0 && slot->timeout_ms > type_limit) slot->timeout_ms = type_limit;
  slot->payload_kind = kind;
  slot->payload_length = kind == PayloadKind::none ? 0 : static_cast<std::uint32_t>(payload.size());
  std::memcpy(slot->payload, payload.data(), slot->payload_length);
  slot->started_ns = 0;
  slot->handler_succeeded = false;
  slot->result_length = 0;
  slot->state.store(JobState::queued, std::memory_order_relaxed);
  slot->stop.store(StopReason::none, std::memory_order_relaxed);
  slot->accepted_ticket = ticket;
  slot->started_ticket = 0;
  slot->ended_ticket = 0;
  const bool admitted_now = table_->admit(*slot, !on_loop, recovered);
  check(admitted_now, "a job was refused after has_room() said there was room");
  SubmitResult result;
  result.accepted = true;
  detail::copy_cut(result.id, id);
  admitted = {table_->index_of(*slot), slot->generation, on_loop};
  report_admission_locked(admitted);
  return result;
}

void Runtime::Impl::report(const JobSlot& slot, ReportKind kind) noexcept {
  add_report(table_->index_of(slot), slot.generation, kind);
}

void Runtime::Impl::add_report(std::uint32_t slot, std::uint32_t generation, ReportKind kind) noexcept {
  inbox_->add({slot, generation, kind}, on_loop_thread());
}

void Runtime::Impl::cancel_locked(JobSlot& slot) noexcept {
  if (table_->remove_waiting(slot)) {
    // It never reaches a worker: it ends now.
    slot.stop.store(StopReason::canceled, std::memory_order_release);
    report(slot, ReportKind::finished);
    return;
  }
  auto expected = StopReason::none;
  if (slot.stop.compare_exchange_strong(expected, StopReason::canceled, std::memory_order_acq_rel)) {
    if (journal_ != nullptr) {
      // A running job: should the power go before it ends, it ends
      // canceled at the restart rather than run again. Best effort: its
      // ended record decides either way.
      int error = 0;
      (void)journal_->cancel_requested(slot.id_view(), error);
    }
    report(slot, ReportKind::cancel_decided);
    wake_waiting_handlers();
  }
}

bool Runtime::Impl::cancel(std::string_view id) noexcept {
  if (!started_ || !is_valid_id(id)) return false;
  std::lock_guard lock(table_->mutex());
  const detail::JobIds::Found found = table_->find(id, port::monotonic_ms());
  if (found.kind != detail::JobIds::Found::Kind::in_flight) return false;
  JobSlot& slot = table_->slot(found.slot);
  if (slot.stop.load(std::memory_order_acquire) != StopReason::none) return false;
  log_.write(LogLevel::info, "job cancel requested", {{"job", id}});
  cancel_locked(slot);
  return true;
}

std::optional<JobState> Runtime::Impl::job_state(std::string_view id) const noexcept {
  if (!started_ || !is_valid_id(id)) return std::nullopt;
  std::lock_guard lock(table_->mutex());
  const detail::JobIds::Found found = table_->find(id, port::monotonic_ms());
  switch (found.kind) {
    case detail::JobIds::Found::Kind::in_flight: return table_->slot(found.slot).state.load(std::memory_order_acquire);
    case detail::JobIds::Found::Kind::finished: return found.state;
    case detail::JobIds::Found::Kind::none: break;
  }
  return std::nullopt;
}

bool Runtime::Impl::wait_until_all_jobs_finished(std::chrono::milliseconds timeout) const noexcept {
  if (!table_) return true;  // not started: no job
  std::unique_lock lock(table_->mutex());
  return all_finished_.wait_for(lock, timeout, [this] { return table_->in_flight() == 0; });
}

void Runtime::Impl::wake_waiting_handlers() noexcept {
  std::lock_guard lock(cancel_mutex_);
  cancel_requested_.notify_all();
}

}  // namespace edgerun

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

namespace {

// expires_at is wall-clock time, and the wall clock jumps: a device without
// a real-time clock boots in 1970 and jumps when NTP syncs. It is read
// against the wall clock once, when the job is admitted (or recovered after
// a restart), and kept on the monotonic clock, which does not jump.
std::int64_t expiry_on_monotonic_clock(std::int64_t expires_at_ms) noexcept {
  const std::int64_t now = port::monotonic_ms();
  const std::int64_t left = expires_at_ms - port::wall_ms();
  // Never 0, which means no expiry.
  return std::max<std::int64_t>(1, left <= 0 ? now : now + left);
}

}  // namespace

std::string_view Runtime::Impl::encode_request_submission(const JobRequest& request) noexcept {
  // {"v":1,"id","type","timeout_ms","expires_at","params"}. The id and the type are
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
  if (request.expires_at_ms.has_value()) {
    at += std::snprintf(at, 40, ",\"expires_at\":%lld", static_cast<long long>(*request.expires_at_ms));
  }
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
    result = admit_locked({.id = decoded.id,
                           .type = decoded.type,
                           .timeout_ms = decoded.timeout_ms,
                           .expires_at_ms = decoded.expires_at_ms,
                           .kind = has_params ? PayloadKind::submission : PayloadKind::none,
                           .payload = payload,
                           .submission = payload},
                          admitted);
  }
  if (result.accepted && !admitted.on_loop && !admitted.in_backlog) wake_a_worker();
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
  if (request.expires_at_ms.has_value() && (*request.expires_at_ms < 0 || *request.expires_at_ms > kMaxExpiresAtMs)) {
    return reject(request.id, ErrorCode::bad_request, "expires_at must be from 0 to 9007199254740991 (UTC ms)");
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
    if (journal_ != nullptr) {
      submission = encode_request_submission(request);
      // Recovery and the backlog read it back into a slot of
      // max_payload_bytes: params near the limit do not fit with the rest.
      if (submission.size() > config_.max_payload_bytes) {
        return reject(request.id, ErrorCode::too_large,
                      "the job as journaled (params and envelope) is larger than jobs.max_payload_bytes");
      }
    }
    result = admit_locked({.id = request.id,
                           .type = request.type,
                           .timeout_ms = request.timeout_ms,
                           .expires_at_ms = request.expires_at_ms,
                           .kind = kind,
                           .payload = request.params_json,
                           .submission = submission},
                          admitted);
  }
  if (result.accepted && !admitted.on_loop && !admitted.in_backlog) wake_a_worker();
  return result;
}

void Runtime::Impl::report_admission_locked(const Admitted& admitted) noexcept {
  // Under the table lock: once it is released a worker may run the job and
  // the loop retire it, and a report added after that could reach a loop
  // already closed by a shutdown.
  if (admitted.on_loop) {
    add_report(admitted.slot, admitted.generation, ReportKind::run_on_loop);
  } else if (!progress_sinks_.empty() || table_->slot(admitted.slot).expires_ms != 0) {
    // The loop publishes `queued`, and arms the expiry of a job that has one.
    add_report(admitted.slot, admitted.generation, ReportKind::queued);
  }
  // Taken in a drain: it stays in the journal, for the restart.
  if (admitted.for_restart) add_report(admitted.slot, admitted.generation, ReportKind::left_for_restart);
}

void Runtime::Impl::wake_a_worker() noexcept {
  // Outside the table lock: a worker woken while the lock is still held
  // would only wait for it.
  work_ready_.notify_one();
}

SubmitResult Runtime::Impl::admit_locked(const Admission& job, Admitted& admitted) noexcept {
  const std::string_view id = job.id;
  const std::string_view type = job.type;
  const std::uint64_t journaled = job.journaled;
  // With a journal a drain goes on taking jobs, for after the restart,
  // until the loop closes.
  const bool draining = !accepting_;
  if (draining && (journal_ == nullptr || closed_)) {
    return reject(id, ErrorCode::shutting_down, "the runtime is shutting down");
  }
  const auto handler = std::find(handler_names_.begin(), handler_names_.end(), type);
  if (handler == handler_names_.end()) return reject(id, ErrorCode::unknown_type, "no handler is registered for this type");
  if (table_->find(id, port::monotonic_ms()).kind != detail::JobIds::Found::Kind::none) {
    return reject(id, ErrorCode::duplicate, "a job with this id is in flight or finished recently");
  }
  const bool on_loop = handler_options_[static_cast<std::size_t>(handler - handler_names_.begin())].runs_on_loop;
  // Room in the queue; or, with a journal, in the backlog: the journal
  // alone keeps the job until the queue has room (or, in a drain, for the
  // restart), up to journal.max_pending jobs.
  const bool to_queue = !draining && table_->has_room(!on_loop);
  if (!to_queue && (journal_ == nullptr || !table_->has_backlog_room())) {
    return reject(id, ErrorCode::queue_full,
                  journal_ == nullptr ? "the job queue is full" : "the job queue and the journal's backlog are full");
  }
  std::uint64_t ticket = journaled;
  if (journal_ != nullptr && ticket == 0) {
    // Recorded before the job can run or be heard of; it has room, so a
    // recorded job is never refused after.
    int error = 0;
    ticket = journal_->accepted(id, job.submission, error);
    if (ticket == 0 && error == ENOBUFS) {
      return reject(id, ErrorCode::queue_full, "the journal holds journal.max_pending jobs already");
    }
    if (ticket == 0) {
      return reject(id, ErrorCode::unavailable,
                    error == ENOSPC ? "the journal's disk is full" : "the journal cannot record the job");
    }
  }
  JobSlot* slot = table_->take_free_slot(to_queue);
  std::memcpy(slot->id.data(), id.data(), id.size());
  slot->id[id.size()] = '\0';
  slot->id_length = static_cast<std::uint8_t>(id.size());
  slot->handler = static_cast<std::uint16_t>(handler - handler_names_.begin());
  const std::uint32_t type_limit = handler_options_[slot->handler].timeout_ms;
  slot->timeout_ms = job.timeout_ms.value_or(type_limit != 0 ? type_limit : config_.default_timeout_ms);
  if (type_limit != 0 && slot->timeout_ms > type_limit) slot->timeout_ms = type_limit;
  slot->expires_ms = job.expires_at_ms ? expiry_on_monotonic_clock(*job.expires_at_ms) : 0;
  if (to_queue) {
    slot->payload_kind = job.kind;
    slot->payload_length = job.kind == PayloadKind::none ? 0 : static_cast<std::uint32_t>(job.payload.size());
    std::memcpy(slot->payload, job.payload.data(), slot->payload_length);
  } else {
    // Read back from the journal, as journaled, when it leaves the backlog.
    slot->payload_kind = job.kind == PayloadKind::none ? PayloadKind::none : PayloadKind::submission;
    slot->payload_length = 0;
  }
  slot->started_ns = 0;
  slot->handler_succeeded = false;
  slot->result_length = 0;
  slot->error = {};
  slot->state.store(JobState::queued, std::memory_order_relaxed);
  slot->stop.store(StopReason::none, std::memory_order_relaxed);
  slot->accepted_ticket = ticket;
  slot->started_ticket = 0;
  slot->ended_ticket = 0;
  if (to_queue) {
    const bool admitted_now = table_->admit(*slot, !on_loop);
    check(admitted_now, "a job was refused after has_room() said there was room");
  } else {
    table_->admit_to_backlog(*slot);
  }
  SubmitResult result;
  result.accepted = true;
  detail::copy_cut(result.id, id);
  admitted = {table_->index_of(*slot), slot->generation, on_loop && to_queue, !to_queue, draining};
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
  if (found.kind == detail::JobIds::Found::Kind::finished && found.state == JobState::queued && journal_ != nullptr) {
    // Left in the journal by a shutdown: it ends canceled at the restart.
    int error = 0;
    if (journal_->cancel_requested(id, error) == 0) return false;
    log_.write(LogLevel::info, "job cancel recorded for the restart", {{"job", id}});
    return true;
  }
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

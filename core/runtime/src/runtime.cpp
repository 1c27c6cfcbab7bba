// Runtime: set-up, admission, cancel and lookup. The worker side is in
// worker.cpp, the loop side in loop.cpp.
#include <cjson/cJSON.h>

#include <algorithm>
#include <cstdio>
#include <cstring>
#include <optional>

#include "edgerun/check.hpp"
#include "edgerun/codec.hpp"
#include "edgerun/json_parse.hpp"
#include "edgerun/port/clock.hpp"
#include "edgerun/port/thread.hpp"
#include "runtime_impl.hpp"

namespace edgerun {

using detail::InboxKind;
using detail::JobSlot;
using detail::StopReason;

namespace {

// cJSON_PrintPreallocated needs a few bytes beyond the text it prints.
constexpr std::size_t kPrintSlack = 8;

// Handler names are few and short: compared inline, eight bytes a step,
// where std::find called memcmp for each admission.
bool same_text(std::string_view a, std::string_view b) noexcept {
  if (a.size() != b.size()) return false;
  std::size_t at = 0;
  for (; at + 8 <= a.size(); at += 8) {
    std::uint64_t left = 0;
    std::uint64_t right = 0;
    std::memcpy(&left, a.data() + at, 8);
    std::memcpy(&right, b.data() + at, 8);
    if (left != right) return false;
  }
  // The rest, under eight bytes: four, two, one.
  for (std::size_t step = 4; step != 0; step /= 2) {
    if (a.size() - at < step) continue;
    std::uint32_t left = 0;
    std::uint32_t right = 0;
    std::memcpy(&left, a.data() + at, step);
    std::memcpy(&right, b.data() + at, step);
    if (left != right) return false;
    at += step;
  }
  return true;
}

template <std::size_t N>
void copy_cut(std::array<char, N>& out, std::string_view text) noexcept {
  const std::size_t n = std::min(text.size(), N - 1);
  std::copy_n(text.data(), n, out.data());
  out[n] = '\0';
}

}  // namespace

std::string_view SubmitResult::id_view() const noexcept { return id.data(); }
std::string_view SubmitResult::message_view() const noexcept { return message.data(); }

std::string_view JobError::message_view() const noexcept { return message.data(); }

JobError JobError::make(ErrorCode code, std::string_view text, std::optional<int> exit_code) noexcept {
  JobError error;
  error.code = code;
  copy_cut(error.message, text);
  error.exit_code = exit_code;
  return error;
}

// ---------------------------------------------------------------------------
// Set-up

Runtime::Impl::Impl(const RuntimeConfig& config)
    : config_(config),
      log_(std::max<std::uint32_t>(config.log_records, 2), config.log_level),
      metrics_(std::max<std::uint32_t>(config.metric_capacity, 64)) {
  auto& m = metrics_;
  for (std::size_t s = 0; s < kJobStateCount; ++s) {
    const auto state = static_cast<JobState>(s);
    if (!is_terminal(state)) continue;
    builtin_.jobs_by_state[s] = m.counter("edgerun_jobs_total", {{"state", to_string(state)}});
    if (state != JobState::rejected) builtin_.ended_by_state[s] = m.sole_writer(builtin_.jobs_by_state[s]);
  }
  for (std::size_t r = 0; r < kRejectionCodeCount; ++r) {
    builtin_.rejected_by_reason[r] =
        m.counter("edgerun_jobs_rejected_total", {{"reason", to_string(static_cast<ErrorCode>(r))}});
  }
  builtin_.queue_depth = m.gauge("edgerun_queue_depth");
  builtin_.queue_capacity = m.gauge("edgerun_queue_capacity");
  builtin_.queue_high_water = m.gauge("edgerun_queue_high_water");
  builtin_.jobs_running = m.gauge("edgerun_jobs_running");
  builtin_.workers = m.gauge("edgerun_workers");
  builtin_.worker_utilization = m.gauge("edgerun_worker_utilization");
  builtin_.job_duration = m.histogram("edgerun_job_duration_seconds", detail::kJobDurationBounds);
  builtin_.log_dropped = m.counter("edgerun_log_dropped_total");
  builtin_.log_written = m.counter("edgerun_log_records_total");
  builtin_.events_dropped = m.counter("edgerun_events_dropped_total");
  builtin_.metrics_refused = m.counter("edgerun_metrics_refused_total");
  builtin_.json_arena_high_water = m.gauge("edgerun_json_arena_high_water_bytes");
  builtin_.results_too_large = m.counter("edgerun_results_too_large_total");
}

Runtime::Impl::~Impl() {
  stop_workers();
  if (loop_open_) {
    // start() without run(): close what start() opened.
    close_loop_handles();
    uv_run(&loop_, UV_RUN_DEFAULT);
    uv_loop_close(&loop_);
  }
}

Status Runtime::Impl::register_handler(std::string_view type, Handler handler, HandlerOptions options) {
  if (started_) return Status::error("handler '%.*s': register handlers before start()", static_cast<int>(type.size()), type.data());
  if (!is_valid_id(type)) {
    return Status::error("handler name '%.*s' must match [A-Za-z0-9._-]{1,64}", static_cast<int>(type.size()), type.data());
  }
  if (!handler) return Status::error("handler '%.*s' is empty", static_cast<int>(type.size()), type.data());
  if (std::find(handler_names_.begin(), handler_names_.end(), type) != handler_names_.end()) {
    return Status::error("handler '%.*s' is registered twice", static_cast<int>(type.size()), type.data());
  }
  handler_names_.emplace_back(type);
  handlers_.push_back(std::move(handler));
  handler_options_.push_back(options);
  return {};
}

Status Runtime::Impl::set_handler_options(std::string_view type, HandlerOptions options) {
  const int n = static_cast<int>(type.size());
  if (started_) return Status::error("handler '%.*s': set its options before start()", n, type.data());
  const auto it = std::find(handler_names_.begin(), handler_names_.end(), type);
  if (it == handler_names_.end()) return Status::error("handler '%.*s' is not registered", n, type.data());
  handler_options_[static_cast<std::size_t>(it - handler_names_.begin())] = options;
  return {};
}

Status Runtime::Impl::start() {
  if (started_) return Status::error("start() was called twice");
  if (Status valid = validate(config_); !valid) return valid;
  if (handlers_.size() > 0xFFFF) return Status::error("too many handlers");

  workers_count_ = effective_workers(config_);
  // A job holds its slot while queued, while running, and until the loop has
  // delivered its terminal status and retired it. The second slot per worker
  // covers jobs that ended but wait for the loop, so that a submitter on
  // another thread is not refused while the queue itself has room.
  slot_count_ = config_.queue_capacity + 2 * workers_count_;
  result_buffer_bytes_ = config_.max_result_bytes + kPrintSlack;
  const std::size_t params_bytes = config_.max_payload_bytes + kPrintSlack;
  const std::size_t per_slot = params_bytes + result_buffer_bytes_;

  slots_.reset(new JobSlot[slot_count_]);
  slot_buffers_.reset(new char[per_slot * slot_count_]);
  free_slots_ = std::make_unique<detail::FreeList>(slot_count_);
  job_ids_ = std::make_unique<detail::JobIds>(slot_count_, config_.finished_ids, config_.finished_id_ttl_ms);
  ended_.reset(new std::uint32_t[slot_count_]);
  for (std::uint32_t i = 0; i < slot_count_; ++i) {
    slots_[i].params = slot_buffers_.get() + per_slot * i;
    slots_[i].result = slots_[i].params + params_bytes;
  }
  // Pushed in reverse so that slot 0 is taken first.
  for (std::uint32_t i = slot_count_; i > 0; --i) (void)free_slots_->try_push(i - 1);
  free_count_.store(slot_count_);
  const std::size_t arena_count = workers_count_ + 1;
  arena_memory_.reset(new std::byte[arena_count * config_.json_arena_bytes]);
  arenas_.reset(new JsonArena[arena_count]);
  for (std::size_t i = 0; i < arena_count; ++i) {
    arenas_[i].assign(std::span<std::byte>(arena_memory_.get() + i * config_.json_arena_bytes, config_.json_arena_bytes));
  }
  work_ = std::make_unique<detail::WorkQueue>(config_.queue_capacity, slot_count_);
  // Other threads put at most three events per job into the inbox (queued,
  // the end of a canceled queued job, a cancel decision). Besides the jobs
  // in flight, the inbox may still hold events of jobs retired since its
  // last drain: at most one ring batch per worker (see process_inbox). A
  // worker puts two events per job it ran into its ring, and every job it
  // ran holds a slot until the loop has read them.
  inbox_ = std::make_unique<detail::SpscRing<detail::InboxEvent>>(
      (static_cast<std::size_t>(slot_count_) + kInboxBatch * workers_count_) * 3);
  tallies_ = std::make_unique<detail::WorkerTally[]>(workers_count_);
  for (std::uint32_t w = 0; w < workers_count_; ++w) {
    worker_rings_.push_back(
        std::make_unique<detail::SpscRing<detail::InboxEvent>>(static_cast<std::size_t>(slot_count_) * 2));
  }
  events_ = std::make_unique<detail::EventRing>(config_.event_records, config_.event_max_bytes);
  if (config_.log_to_stderr) log_sinks_.insert(log_sinks_.begin(), &stderr_sink_);
  for (StatusSink* sink : status_sinks_) {
    if (sink->wants_progress()) progress_sinks_.push_back(sink);
  }
  install_cjson_arena_hooks();

  if (int rc = uv_loop_init(&loop_); rc != 0) return Status::error("uv_loop_init: %s", uv_strerror(rc));
  loop_open_ = true;
  uv_async_init(&loop_, &wake_, &Impl::on_wake);
  wake_.data = this;
  uv_timer_init(&loop_, &flush_timer_);
  flush_timer_.data = this;
  // Jobs submitted on the loop thread and not yet published go to the
  // workers before the loop next waits for I/O; the handle does not keep
  // the loop alive.
  uv_prepare_init(&loop_, &publish_prepare_);
  publish_prepare_.data = this;
  uv_prepare_start(&publish_prepare_, &Impl::on_publish_prepare);
  uv_unref(reinterpret_cast<uv_handle_t*>(&publish_prepare_));
  uv_timer_init(&loop_, &drain_timer_);
  drain_timer_.data = this;
  for (std::uint32_t i = 0; i < slot_count_; ++i) {
    uv_timer_init(&loop_, &slots_[i].timer);
    slots_[i].timer.data = &slots_[i];
    slots_[i].runtime = this;
  }

  metrics_.set(builtin_.queue_capacity, config_.queue_capacity);
  metrics_.set(builtin_.workers, workers_count_);
  last_refresh_ns_ = port::monotonic_ns();

  accepting_ = true;
  started_ = true;
  workers_.reserve(workers_count_);
  for (std::uint32_t w = 0; w < workers_count_; ++w) {
    char name[24];
    std::snprintf(name, sizeof name, "edgerun-w%u", w);
    workers_.push_back(port::spawn_named_thread(name, [this, w] { worker_main(w); }));
  }
  log_.write(LogLevel::info, "runtime started");
  return {};
}

void Runtime::Impl::stop_workers() noexcept {
  if (work_) work_->close();
  for (std::thread& worker : workers_) {
    if (worker.joinable()) worker.join();
  }
  workers_.clear();
}

// ---------------------------------------------------------------------------
// Admission

SubmitResult Runtime::Impl::reject(std::string_view id, ErrorCode code, std::string_view message) noexcept {
  SubmitResult result;
  result.rejection = code;
  copy_cut(result.id, id);
  copy_cut(result.message, message);
  metrics_.add(builtin_.rejected_by_reason[static_cast<std::size_t>(code)]);
  metrics_.add(builtin_.jobs_by_state[static_cast<std::size_t>(JobState::rejected)]);
  log_.write(LogLevel::info, "job rejected", {{"job", id}, {"code", to_string(code)}});
  return result;
}

// Inline: admission looks every id up.
inline detail::JobIds::Found Runtime::Impl::find_locked(std::string_view id, std::uint64_t hash) const noexcept {
  return job_ids_->find(
      id, hash, [this](std::uint32_t slot) { return slots_[slot].id_view(); }, port::monotonic_ms);
}

JobSlot* Runtime::Impl::find_in_flight_locked(std::string_view id, std::uint64_t hash) const noexcept {
  const detail::JobIds::Found found = find_locked(id, hash);
  return found.kind == detail::JobIds::Found::Kind::in_flight ? &slots_[found.slot] : nullptr;
}

SubmitResult Runtime::Impl::admit_locked(std::string_view id, std::uint64_t hash, std::string_view type,
                                         const cJSON* params, std::optional<std::uint32_t> timeout_ms,
                                         std::uint32_t& admitted) noexcept {
  if (!accepting_) return reject(id, ErrorCode::shutting_down, "the runtime is shutting down");
  // The slot the job after next will most likely take starts loading now:
  // a burst of admissions then finds its slots in cache.
  if (std::uint32_t later = 0; free_slots_->peek(2, later)) slots_[later].prefetch();
  const auto handler = std::find_if(handler_names_.begin(), handler_names_.end(),
                                    [type](const std::string& name) { return same_text(name, type); });
  if (handler == handler_names_.end()) return reject(id, ErrorCode::unknown_type, "no handler is registered for this type");
  if (find_locked(id, hash).kind != detail::JobIds::Found::Kind::none) {
    return reject(id, ErrorCode::duplicate, "a job with this id is in flight or finished recently");
  }
  std::uint32_t index = 0;
  if (!free_slots_->try_pop(index)) return reject(id, ErrorCode::queue_full, "the job queue is full");
  JobSlot& slot = slots_[index];
  const std::size_t params_room = config_.max_payload_bytes + kPrintSlack;
  // No params (or `{}`) is recorded as length 0 without touching the params
  // buffer: most jobs carry none, and that buffer is a cold cache line.
  slot.params_length = 0;
  if (params != nullptr && params->child != nullptr) {
    if (!cJSON_PrintPreallocated(const_cast<cJSON*>(params), slot.params, static_cast<int>(params_room), false)) {
      (void)free_slots_->try_push(index);
      return reject(id, ErrorCode::too_large, "params are larger than jobs.max_payload_bytes");
    }
    slot.params_length = static_cast<std::uint32_t>(std::strlen(slot.params));
  }
  std::memcpy(slot.id.data(), id.data(), id.size());
  slot.id[id.size()] = '\0';
  slot.id_length = static_cast<std::uint8_t>(id.size());
  slot.id_hash = hash;
  slot.handler = static_cast<std::uint16_t>(handler - handler_names_.begin());
  const std::uint32_t type_limit = handler_options_[slot.handler].timeout_ms;
  slot.timeout_ms = timeout_ms.value_or(type_limit != 0 ? type_limit : config_.default_timeout_ms);
  if (type_limit != 0 && slot.timeout_ms > type_limit) slot.timeout_ms = type_limit;
  slot.result_length = 0;
  slot.handler_succeeded = false;
  slot.started_ns = slot.finished_ns = 0;
  slot.state.store(JobState::queued, std::memory_order_relaxed);
  slot.stop.store(StopReason::none, std::memory_order_relaxed);
  // On the loop thread a burst of submissions (a sink, a batch of MQTT
  // messages) reaches the workers in batches; the loop publishes the rest
  // before it next waits for I/O (on_publish_prepare).
  const bool loop_thread = on_loop_thread();
  if (!work_->try_push(index, !loop_thread)) {
    (void)free_slots_->try_push(index);
    return reject(id, ErrorCode::queue_full, "the job queue is full");
  }
  if (loop_thread) publish_pending_ = true;
  slot.in_use = true;
  job_ids_->add_in_flight(hash, index);
  free_count_.store(free_count_.load(std::memory_order_relaxed) - 1, std::memory_order_relaxed);
  ++in_flight_;
  // The loop delivers `queued` itself when the job was submitted on its
  // thread; a job from another thread needs the loop woken for it, unless
  // no sink takes progress statuses.
  if (!loop_thread && !progress_sinks_.empty()) push_inbox(index, slot.generation, InboxKind::queued);
  admitted = index;
  return accepted(id);
}

SubmitResult Runtime::Impl::accepted(std::string_view id) noexcept {
  SubmitResult result;
  result.accepted = true;
  // From the caller's id, not the slot's copy: reading that copy back
  // straight after writing it stalled until the slot's line arrived (the
  // reads straddle the id's last store and its NUL).
  static_assert(sizeof(result.id) == kMaxIdLength + 1);
  std::memcpy(result.id.data(), id.data(), id.size());
  result.id[id.size()] = '\0';
  return result;
}

// Both entry points admit, then deliver `queued` at once on the loop thread.
// Every return of the admit_* functions is a prvalue and the wrappers return
// their one named result, so the 240-byte result is built in the caller's
// storage, never copied (admission is on every job's path).
SubmitResult Runtime::Impl::submit_json(std::string_view payload) noexcept {
  std::uint32_t admitted = 0;
  SubmitResult result = admit_json(payload, admitted);
  if (result.accepted && on_loop_thread()) deliver_queued_now(admitted);
  return result;
}

SubmitResult Runtime::Impl::submit(const JobRequest& request) noexcept {
  std::uint32_t admitted = 0;
  SubmitResult result = admit_request(request, admitted);
  if (result.accepted && on_loop_thread()) deliver_queued_now(admitted);
  return result;
}

SubmitResult Runtime::Impl::admit_json(std::string_view payload, std::uint32_t& admitted) noexcept {
  if (!started_) return reject({}, ErrorCode::shutting_down, "the runtime is not started");
  make_room();
  std::lock_guard lock(table_mutex_);
  ScopedJsonArena scope(arenas_[0]);
  const DecodedSubmission decoded = decode_submission(payload, config_.max_payload_bytes);
  if (decoded.error) return reject(decoded.id, *decoded.error, decoded.message);
  return admit_locked(decoded.id, detail::hash_id(decoded.id), decoded.type, decoded.params, decoded.timeout_ms,
                      admitted);
}

SubmitResult Runtime::Impl::admit_request(const JobRequest& request, std::uint32_t& admitted) noexcept {
  if (!started_) return reject({}, ErrorCode::shutting_down, "the runtime is not started");
  if (!is_valid_id(request.id)) return reject({}, ErrorCode::bad_request, "id must match [A-Za-z0-9._-]{1,64}");
  // The id's index line loads while the lock is taken and the request checked.
  const std::uint64_t hash = detail::hash_id(request.id);
  job_ids_->prefetch(hash);
  make_room();
  std::lock_guard lock(table_mutex_);
  if (request.params_json.size() > config_.max_payload_bytes) {
    return reject(request.id, ErrorCode::too_large, "params are larger than jobs.max_payload_bytes");
  }
  if (request.timeout_ms.has_value() && *request.timeout_ms == 0) {
    return reject(request.id, ErrorCode::bad_request, "timeout_ms must be at least 1");
  }
  // Most jobs carry no params; only parsing needs the admission arena, and
  // its tree must live until admit_locked has copied it.
  std::optional<ScopedJsonArena> scope;
  const cJSON* params = nullptr;
  if (!request.params_json.empty()) {
    scope.emplace(arenas_[0]);
    params = parse_json(request.params_json);
    if (params == nullptr && current_json_arena_exhausted()) {
      return reject(request.id, ErrorCode::too_large, "params are too complex for json_arena_bytes");
    }
    if (!cJSON_IsObject(params)) return reject(request.id, ErrorCode::bad_request, "params must be a JSON object");
  }
  return admit_locked(request.id, hash, request.type, params, request.timeout_ms, admitted);
}

// ---------------------------------------------------------------------------
// Cancel and lookup

void Runtime::Impl::cancel_slot_locked(std::uint32_t index) noexcept {
  JobSlot& slot = slots_[index];
  if (work_->remove(index)) {
    // Still queued: no worker will see it. It ends now.
    slot.stop.store(StopReason::canceled, std::memory_order_release);
    push_inbox(index, slot.generation, InboxKind::finished);
    return;
  }
  auto expected = StopReason::none;
  if (slot.stop.compare_exchange_strong(expected, StopReason::canceled, std::memory_order_acq_rel)) {
    push_inbox(index, slot.generation, InboxKind::cancel_decided);
    std::lock_guard lock(cancel_mutex_);
    cancel_requested_.notify_all();
  }
}

bool Runtime::Impl::cancel(std::string_view id) noexcept {
  if (!started_ || !is_valid_id(id)) return false;
  {
    std::lock_guard lock(table_mutex_);
    JobSlot* slot = find_in_flight_locked(id, detail::hash_id(id));
    if (slot == nullptr || slot->stop.load(std::memory_order_acquire) != StopReason::none) return false;
    log_.write(LogLevel::info, "job cancel requested", {{"job", id}});
    cancel_slot_locked(static_cast<std::uint32_t>(slot - slots_.get()));
  }
  // On the loop thread (a cancel from the transport), deliver `canceled`
  // now, before the loop handles the next message about the same job.
  if (on_loop_thread()) process_inbox();
  return true;
}

std::optional<JobState> Runtime::Impl::job_state(std::string_view id) const noexcept {
  if (!started_ || !is_valid_id(id)) return std::nullopt;
  const std::uint64_t hash = detail::hash_id(id);
  std::lock_guard lock(table_mutex_);
  const detail::JobIds::Found found = find_locked(id, hash);
  switch (found.kind) {
    case detail::JobIds::Found::Kind::in_flight: return slots_[found.slot].state.load(std::memory_order_acquire);
    case detail::JobIds::Found::Kind::finished: return found.state;
    case detail::JobIds::Found::Kind::none: break;
  }
  return std::nullopt;
}

bool Runtime::Impl::wait_until_all_jobs_finished(std::chrono::milliseconds timeout) const noexcept {
  std::unique_lock lock(table_mutex_);
  return all_finished_.wait_for(lock, timeout, [this] { return in_flight_ == 0; });
}

void Runtime::Impl::push_inbox(std::uint32_t slot, std::uint32_t generation, InboxKind kind) noexcept {
  // Every caller holds table_mutex_, which makes the producers of this
  // single-producer ring one at a time.
  const bool pushed = inbox_->try_push(detail::InboxEvent{slot, generation, kind});
  check(pushed, "loop inbox overflowed; it is sized for every event of every slot");
  detail::wake_loop_after_publishing(wake_);
}

// ---------------------------------------------------------------------------
// Public forwarding

Runtime::Runtime(const RuntimeConfig& config) : impl_(std::make_unique<Impl>(config)) {}
Runtime::~Runtime() = default;
Status Runtime::register_handler(std::string_view type, Handler handler, HandlerOptions options) {
  return impl_->register_handler(type, std::move(handler), options);
}
Status Runtime::set_handler_options(std::string_view type, HandlerOptions options) {
  return impl_->set_handler_options(type, options);
}
void Runtime::add_status_sink(StatusSink& sink) { impl_->status_sinks_.push_back(&sink); }
void Runtime::add_log_sink(LogSink& sink) { impl_->log_sinks_.push_back(&sink); }
void Runtime::add_event_sink(EventSink& sink) { impl_->event_sinks_.push_back(&sink); }
void Runtime::add_component(Component& component) { impl_->components_.push_back(&component); }
Status Runtime::start() { return impl_->start(); }
Status Runtime::run() { return impl_->run(); }
SubmitResult Runtime::submit_json(std::string_view payload) noexcept { return impl_->submit_json(payload); }
SubmitResult Runtime::submit(const JobRequest& request) noexcept { return impl_->submit(request); }
bool Runtime::cancel(std::string_view id) noexcept { return impl_->cancel(id); }
std::optional<JobState> Runtime::job_state(std::string_view id) const noexcept { return impl_->job_state(id); }
bool Runtime::wait_until_all_jobs_finished(std::chrono::milliseconds timeout) const noexcept {
  return impl_->wait_until_all_jobs_finished(timeout);
}
void Runtime::shutdown(bool drain, std::chrono::milliseconds timeout) noexcept { impl_->shutdown(drain, timeout); }
LogRing& Runtime::log() noexcept { return impl_->log_; }
Metrics& Runtime::metrics() noexcept { return impl_->metrics_; }
std::uint32_t Runtime::worker_count() const noexcept { return effective_workers(impl_->config_); }
const RuntimeConfig& Runtime::config() const noexcept { return impl_->config_; }
std::size_t Runtime::handler_count() const noexcept { return impl_->handler_names_.size(); }
std::string_view Runtime::handler_name(std::size_t index) const noexcept { return impl_->handler_names_.at(index); }
void Runtime::refresh_metrics() noexcept { impl_->refresh_metrics(); }
uv_loop_s& Runtime::loop() noexcept { return impl_->loop_; }

}  // namespace edgerun

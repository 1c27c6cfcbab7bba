// Runtime: set-up and the public forwarding. Admission is in admission.cpp,
// the workers in worker.cpp, the loop's side of a job in completion.cpp, and
// run and shutdown in loop.cpp.
#include <algorithm>
#include <cstdio>

#include "edgerun/port/clock.hpp"
#include "edgerun/port/thread.hpp"
#include "copy_cut.hpp"
#include "runtime_impl.hpp"

namespace edgerun {

namespace {

// cJSON_PrintPreallocated needs a few bytes beyond the text it prints.
constexpr std::size_t kPrintSlack = 8;

}  // namespace

std::string_view SubmitResult::id_view() const noexcept { return id.data(); }
std::string_view SubmitResult::message_view() const noexcept { return message.data(); }

std::string_view JobError::message_view() const noexcept { return message.data(); }

JobError JobError::make(ErrorCode code, std::string_view text, std::optional<int> exit_code) noexcept {
  JobError error;
  error.code = code;
  detail::copy_cut(error.message, text);
  error.exit_code = exit_code;
  return error;
}

Runtime::Impl::Impl(const RuntimeConfig& config)
    : config_(config),
      log_(std::max<std::uint32_t>(config.log_records, 2), config.log_level),
      metrics_(std::max<std::uint32_t>(config.metric_capacity, 64)) {
  auto& m = metrics_;
  for (std::size_t s = 0; s < kJobStateCount; ++s) {
    const auto state = static_cast<JobState>(s);
    if (is_terminal(state)) builtin_.jobs_by_state[s] = m.counter("edgerun_jobs_total", {{"state", to_string(state)}});
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
  builtin_.job_duration = m.histogram("edgerun_job_duration_seconds", kJobDurationBounds);
  builtin_.log_dropped = m.counter("edgerun_log_dropped_total");
  builtin_.log_written = m.counter("edgerun_log_records_total");
  builtin_.events_dropped = m.counter("edgerun_events_dropped_total");
  builtin_.metrics_refused = m.counter("edgerun_metrics_refused_total");
  builtin_.json_arena_high_water = m.gauge("edgerun_json_arena_high_water_bytes");
  builtin_.results_too_large = m.counter("edgerun_results_too_large_total");
  builtin_.finished_ids_evicted = m.counter("edgerun_finished_ids_evicted_total");
}

Runtime::Impl::~Impl() {
  if (journal_ != nullptr) journal_->set_on_durable(nullptr, nullptr);
  stop_workers();
  if (loop_open_) {
    // start() without run(): close what start() opened.
    close_loop_handles();
    uv_run(&loop_, UV_RUN_DEFAULT);
    uv_loop_close(&loop_);
  }
}

Status Runtime::Impl::register_handler(std::string_view type, Handler handler, HandlerOptions options) {
  const int n = static_cast<int>(type.size());
  if (started_) return Status::error("handler '%.*s': register handlers before start()", n, type.data());
  if (!is_valid_id(type)) return Status::error("handler name '%.*s' must match [A-Za-z0-9._-]{1,64}", n, type.data());
  if (!handler) return Status::error("handler '%.*s' is empty", n, type.data());
  if (std::find(handler_names_.begin(), handler_names_.end(), type) != handler_names_.end()) {
    return Status::error("handler '%.*s' is registered twice", n, type.data());
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
  // A job holds its slot while it waits, while it runs, and until the loop
  // has delivered its terminal status and retired it. The two slots per
  // worker beyond the queue's capacity cover jobs that ended and wait for
  // the loop, so that a full queue is what refuses a job, not that wait.
  // With a journal, the jobs it keeps beyond those (its backlog, up to its
  // max_pending) hold slots without buffers.
  const std::uint32_t buffer_count = config_.queue_capacity + 2 * workers_count_;
  const std::uint32_t slot_count =
      journal_ != nullptr ? std::max(buffer_count, journal_->max_pending()) : buffer_count;
  result_buffer_bytes_ = config_.max_result_bytes + kPrintSlack;
  table_ = std::make_unique<detail::JobTable>(detail::JobTable::Sizes{
      .slots = slot_count,
      .buffers = buffer_count,
      .queue_capacity = config_.queue_capacity,
      .finished_ids = config_.finished_ids,
      .finished_id_ttl_ms = config_.finished_id_ttl_ms,
      .payload_bytes = config_.max_payload_bytes,
      .result_bytes = result_buffer_bytes_,
  });
  // A job generation adds at most four reports (queued, then started, a
  // cancel decided and finished; or run_on_loop; or left_for_restart and
  // finished), and a slot's reports of its previous generation may
  // still wait when the loop retires it and it is taken again: at most one
  // cancel decision, which the loop reads before the new generation's.
  inbox_ = std::make_unique<detail::Inbox>(std::size_t{slot_count} * 5);
  // One for admission, one per worker, one for jobs run on the loop.
  const std::size_t arena_count = workers_count_ + 2;
  arena_memory_.reset(new std::byte[arena_count * config_.json_arena_bytes]);
  arenas_.reset(new JsonArena[arena_count]);
  for (std::size_t i = 0; i < arena_count; ++i) {
    arenas_[i].assign(std::span<std::byte>(arena_memory_.get() + i * config_.json_arena_bytes, config_.json_arena_bytes));
  }
  events_ = std::make_unique<detail::EventRing>(config_.event_records, config_.event_max_bytes);
  if (journal_ != nullptr) submission_scratch_.reset(new char[config_.max_payload_bytes + 2 * kMaxIdLength + 128]);
  if (config_.log_to_stderr) log_sinks_.insert(log_sinks_.begin(), &stderr_sink_);
  for (StatusSink* sink : status_sinks_) {
    if (sink->wants_progress()) progress_sinks_.push_back(sink);
  }
  install_cjson_arena_hooks();
  if (journal_ != nullptr) {
    auto& m = metrics_;
    builtin_.journal_bytes = m.gauge("edgerun_journal_bytes");
    // The chain head's sequence; its hash is in the presence message, never
    // a label.
    builtin_.journal_sequence = m.gauge("edgerun_journal_sequence");
    builtin_.journal_syncs = m.counter("edgerun_journal_syncs_total");
    builtin_.journal_append_failures = m.counter("edgerun_journal_append_failures_total");
    builtin_.journal_rewrites = m.counter("edgerun_journal_rewrites_total");
    builtin_.journal_pending = m.gauge("edgerun_journal_pending_jobs");
    builtin_.journal_failed = m.gauge("edgerun_journal_failed");
    // Jobs beyond the queue, kept by the journal alone; those refused past
    // it are counted as queue_full rejections.
    builtin_.backlog_depth = m.gauge("edgerun_backlog_depth");
    builtin_.backlog_high_water = m.gauge("edgerun_backlog_high_water");
  }

  if (int rc = uv_loop_init(&loop_); rc != 0) return Status::error("uv_loop_init: %s", uv_strerror(rc));
  loop_open_ = true;
  inbox_->open(loop_, this, &Impl::on_reports);
  uv_timer_init(&loop_, &flush_timer_);
  flush_timer_.data = this;
  uv_timer_init(&loop_, &drain_timer_);
  drain_timer_.data = this;
  for (std::uint32_t i = 0; i < slot_count; ++i) {
    detail::JobSlot& slot = table_->slot(i);
    uv_timer_init(&loop_, &slot.timer);
    slot.timer.data = &slot;
    slot.runtime = this;
  }

  metrics_.set(builtin_.queue_capacity, config_.queue_capacity);
  metrics_.set(builtin_.workers, workers_count_);
  last_refresh_ns_ = port::monotonic_ns();

  accepting_ = true;
  started_ = true;
  // Before the workers start and before any component (the transport)
  // does: the broker hands queued session messages over right after
  // CONNACK, and they must find the journal's jobs already in place.
  if (journal_ != nullptr) {
    if (Status recovered = recover_from_journal(); !recovered) {
      accepting_ = false;
      closed_ = true;  // nor for a restart: no loop will run
      return recovered;
    }
  }
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
  if (table_) {
    std::lock_guard lock(table_->mutex());
    workers_stop_ = true;
  }
  work_ready_.notify_all();
  for (std::thread& worker : workers_) {
    if (worker.joinable()) worker.join();
  }
  workers_.clear();
}

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
void Runtime::set_journal(JobJournal& journal) { impl_->journal_ = &journal; }
bool Runtime::has_journal() const noexcept { return impl_->journal_ != nullptr; }
std::optional<JournalHead> Runtime::journal_head() const noexcept {
  if (impl_->journal_ == nullptr) return std::nullopt;
  return impl_->journal_->head();
}
void Runtime::status_acknowledged(std::string_view id) noexcept {
  if (impl_->journal_ != nullptr) impl_->journal_->status_acked(id);
}
std::size_t Runtime::stored_status(std::string_view id, std::span<char> out) noexcept {
  return impl_->journal_ == nullptr ? 0 : impl_->journal_->stored_status(id, out);
}
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
const HandlerOptions& Runtime::handler_options(std::size_t index) const noexcept {
  return impl_->handler_options_.at(index);
}
void Runtime::refresh_metrics() noexcept { impl_->refresh_metrics(); }
uv_loop_s& Runtime::loop() noexcept { return impl_->loop_; }

}  // namespace edgerun

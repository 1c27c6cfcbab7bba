#pragma once
// Reports for the loop about jobs: queued, started, finished, a cancel
// decided, and jobs for the loop to run itself. Workers and other threads add them; the loop reads them in the
// order they were added, so a job's reports arrive in the order they
// happened.
//
// The same scheme as libuv's own thread pool: a mutex-guarded queue and an
// async handle, sent while the mutex is held, so that the loop, which clears
// the handle's pending flag before it takes the mutex, never misses a
// report. A report the loop adds itself (a submission from a transport's
// callback, a cancel) wakes nothing and is read by a prepare handle before
// the loop next waits for I/O: the caller's stack is never re-entered.

#include <uv.h>

#include <cstdint>
#include <mutex>
#include <span>

#include "edgerun/ring_queue.hpp"

namespace edgerun::detail {

// run_on_loop: a job of a handler that runs on the loop waits for its turn.
// left_for_restart: a job taken during a drain stays in the journal.
enum class ReportKind : std::uint8_t { queued, started, finished, cancel_decided, run_on_loop, left_for_restart };

struct Report {
  std::uint32_t slot = 0;
  std::uint32_t generation = 0;
  ReportKind kind = ReportKind::queued;
};

class Inbox {
 public:
  // `capacity`: reports that may wait; adding one more is a bug (check()).
  explicit Inbox(std::size_t capacity);

  // On the loop thread, before it runs. `on_reports(owner)` is called on the
  // loop when reports may be waiting (and after wake()).
  void open(uv_loop_t& loop, void* owner, void (*on_reports)(void* owner)) noexcept;
  // Closes both handles (uv_close).
  void close() noexcept;

  // Any thread. `from_loop`: the caller is the loop thread.
  void add(const Report& report, bool from_loop) noexcept;
  // Any thread: makes the loop call on_reports soon (a shutdown request).
  void wake() noexcept;
  // Loop thread: moves up to out.size() reports into `out`, oldest first.
  std::size_t take(std::span<Report> out) noexcept;

 private:
  static void on_async(uv_async_t* handle);
  static void on_prepare(uv_prepare_t* handle);

  std::mutex mutex_;
  OwnedRingQueue<Report> reports_;
  uv_async_t wake_{};
  uv_prepare_t before_wait_{};
  bool closed_ = false;  // mutex_: close() ran, nothing more is sent
  void* owner_ = nullptr;
  void (*on_reports_)(void*) = nullptr;
};

}  // namespace edgerun::detail

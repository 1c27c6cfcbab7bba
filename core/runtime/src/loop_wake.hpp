#pragma once
// Waking the loop after publishing something for it to read (a report in a
// ring, a shutdown request).
//
// libuv 1.44 (Debian bookworm) returns early from uv_async_send when the
// handle is already pending, after a plain load of its pending flag. The loop
// clears the flag (a full barrier) and then runs the callback, which reads
// what was published. Without a barrier between the publishing store and that
// load, the store may still sit in this CPU's store buffer when the load sees
// the flag set: the loop clears the flag, finds nothing new, and waits with
// the new item unseen until something else wakes it (libuv pull request 349
// describes the race; later releases read the flag atomically). Workers'
// reports hit it: edgerun_pool_bench hung on a batch now and then until this
// fence (tools/bench/hang_check.sh). libuv's own pool is not exposed to it,
// because its workers publish under the mutex the loop then takes.

#include <uv.h>

#include <atomic>

namespace edgerun::detail {

// ThreadSanitizer does not model fences (GCC warns about them under
// -fsanitize=thread); it does not see libuv's side of this either.
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wtsan"
inline void full_fence() noexcept { std::atomic_thread_fence(std::memory_order_seq_cst); }

inline void wake_loop_after_publishing(uv_async_t& handle) noexcept {
  full_fence();
  uv_async_send(&handle);
}
#pragma GCC diagnostic pop

}  // namespace edgerun::detail

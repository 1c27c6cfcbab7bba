#pragma once
// Clocks of the platform layer.
//
// Any thread may call these functions at any time; they do not allocate, lock
// or fail. The underlying clock_gettime(2) can only fail for an unknown clock
// id, which cannot happen for the clocks used here, so there is no error path.

#include <cstdint>

namespace edgerun::port {

// Nanoseconds on a clock that never goes backwards and does not jump when the
// wall clock is set (CLOCK_MONOTONIC). Its origin is arbitrary, so only
// differences between two readings mean anything. Use it for timeouts.
std::int64_t monotonic_ns() noexcept;

// The same clock as monotonic_ns(), in whole milliseconds (truncated).
std::int64_t monotonic_ms() noexcept;

// Milliseconds since the Unix epoch (CLOCK_REALTIME). This clock jumps when
// the time is set, for example by NTP after boot on a device without an RTC,
// so use it only for timestamps that leave the process, never for timeouts.
std::int64_t wall_ms() noexcept;

}  // namespace edgerun::port

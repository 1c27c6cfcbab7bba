// Clocks for Linux through clock_gettime(2), which the vDSO serves without a
// system call on the usual architectures.
#include "edgerun/port/clock.hpp"

#include <time.h>

namespace edgerun::port {
namespace {

std::int64_t read_ns(clockid_t id) noexcept {
  timespec ts{};
  // clock_gettime fails only for an unknown clock id; both ids used here
  // exist on every Linux kernel this runs on.
  (void)clock_gettime(id, &ts);
  return static_cast<std::int64_t>(ts.tv_sec) * 1'000'000'000 + ts.tv_nsec;
}

}  // namespace

std::int64_t monotonic_ns() noexcept { return read_ns(CLOCK_MONOTONIC); }

std::int64_t monotonic_ms() noexcept { return monotonic_ns() / 1'000'000; }

std::int64_t wall_ms() noexcept { return read_ns(CLOCK_REALTIME) / 1'000'000; }

}  // namespace edgerun::port

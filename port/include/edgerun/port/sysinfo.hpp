#pragma once
// A description of the device the runtime runs on, reported to the broker.
//
// Any thread may call these functions. They do not allocate on the heap or
// throw, so they may be called at run time on a device that is short of
// memory; read_sysinfo() does blocking reads of small files under /proc and
// /etc, so call it where a millisecond of blocking is acceptable (a worker or
// start-up), not on a hot path of the event loop.

#include <array>
#include <cstdint>

namespace edgerun::port {

struct SysInfo {
  std::array<char, 65> hostname{};  // NUL-terminated host name (uname nodename).
  std::array<char, 96> os{};        // PRETTY_NAME from os-release, unquoted; else uname sysname.
  std::array<char, 65> release{};   // Kernel release, as uname -r.
  std::array<char, 33> arch{};      // Machine, as uname -m: x86_64, aarch64, armv7l, ...
  unsigned cpu_count = 0;           // Online CPUs, at least 1.
  std::uint64_t mem_total = 0;      // Bytes, MemTotal from /proc/meminfo.
  std::uint64_t mem_available = 0;  // Bytes, MemAvailable from /proc/meminfo.
  std::uint64_t uptime_s = 0;       // Whole seconds since boot, from /proc/uptime.
};

// Fills out and returns true when every source could be read. Returns false
// when uname(2), /proc/meminfo (or one of its two fields) or /proc/uptime
// could not be read; the fields from the other sources are still filled and
// the unreadable ones are left empty or 0 (cpu_count is always at least 1).
// Strings longer than their array are cut so that they stay NUL-terminated.
// A missing or unreadable os-release is not a failure: images built without
// one are normal, and os then holds the uname sysname ("Linux").
bool read_sysinfo(SysInfo& out) noexcept;

// The number of online CPUs, at least 1 even if the platform cannot tell.
unsigned online_cpu_count() noexcept;

}  // namespace edgerun::port

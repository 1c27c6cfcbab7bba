#pragma once
// One job in flight. Slots are allocated once at start; a job takes a free
// slot when admitted and gives it back when its terminal status was delivered
// and its worker is done with it.

#include <uv.h>

#include <array>
#include <atomic>
#include <bit>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <string_view>

#include "edgerun/handler.hpp"
#include "edgerun/job_state.hpp"

namespace edgerun::detail {

// Why a job was asked to stop; the first reason set wins.
enum class StopReason : std::uint8_t { none, canceled, timed_out };

struct alignas(64) JobSlot {
  // Every field a job without params or result touches is in the first two
  // cache lines, and slots start on a line: at a queue of thousands of slots
  // (more than a core's cache) each line a job touches is a miss, for the
  // loop when it admits the job, for the worker, and for the loop again when
  // the job ends. The buffers, the error text and the loop's timer, touched
  // only by jobs with params or a result, jobs that fail and jobs that run
  // long, come after.

  // Written at admission under the table lock, before the job is queued; read
  // by the worker and the loop after that.
  std::array<char, 65> id{};
  std::uint8_t id_length = 0;
  std::uint16_t handler = 0;
  std::uint32_t timeout_ms = 0;
  std::uint64_t id_hash = 0;
  std::uint32_t params_length = 0;

  // Written by the worker before it reports Finished.
  std::uint32_t result_length = 0;  // 0: the handler gave no result, delivered as {}
  std::int64_t started_ns = 0;
  std::int64_t finished_ns = 0;
  bool handler_succeeded = false;

  std::atomic<JobState> state{JobState::queued};
  std::atomic<StopReason> stop{StopReason::none};

  // Table lock: whether the slot holds a job, and which one (events carry the
  // generation so that a late event for a retired job is ignored).
  bool in_use = false;
  std::uint32_t generation = 0;

  // Loop thread only.
  bool queued_sent = false;
  bool running_sent = false;
  bool terminal_delivered = false;
  bool ran = false;          // the loop processed Started
  bool timer_armed = false;  // the timeout timer was started
  JobState terminal_state = JobState::succeeded;

  // Cold. Set once by start().
  char* params = nullptr;  // max_payload_bytes + NUL, from the slab
  char* result = nullptr;  // max_result_bytes + slack, from the slab
  void* runtime = nullptr;
  // Written by the worker when the job fails.
  JobError error;
  uv_timer_t timer{};  // timer.data points at the slot

  std::string_view id_view() const noexcept { return {id.data(), id_length}; }

  // Starts loading both hot lines, to be written. At a queue of thousands of
  // slots each is a cache miss; asked for a little early, several load at
  // once instead of one after another.
  void prefetch() const noexcept {
    __builtin_prefetch(this, 1);
    __builtin_prefetch(reinterpret_cast<const char*>(this) + 64, 1);
  }
};

// The hot fields above fit two lines.
static_assert(offsetof(JobSlot, terminal_state) < 128);

enum class InboxKind : std::uint8_t { queued, started, finished, cancel_decided };

struct InboxEvent {
  std::uint32_t slot = 0;
  std::uint32_t generation = 0;
  InboxKind kind = InboxKind::queued;
};

// Ids are compared by hash first, then by text. The hash takes eight bytes
// at a time and ends with murmur3's 64-bit finalizer, so that every bit of
// the id reaches the low bits the id indexes use.
inline std::uint64_t hash_id(std::string_view id) noexcept {
  constexpr std::uint64_t kMultiplier = 0x9E3779B97F4A7C15ull;
  std::uint64_t hash = id.size() * kMultiplier;
  std::size_t at = 0;
  for (; at + 8 <= id.size(); at += 8) {
    std::uint64_t word = 0;
    std::memcpy(&word, id.data() + at, 8);
    hash = std::rotl(hash ^ word, 29) * kMultiplier;
  }
  std::uint64_t tail = 0;
  for (std::size_t shift = 0; at < id.size(); ++at, shift += 8) {
    tail |= std::uint64_t{static_cast<unsigned char>(id[at])} << shift;
  }
  hash ^= tail;
  hash ^= hash >> 33;
  hash *= 0xFF51AFD7ED558CCDull;
  hash ^= hash >> 33;
  hash *= 0xC4CEB9FE1A85EC53ull;
  hash ^= hash >> 33;
  return hash;
}

}  // namespace edgerun::detail

#pragma once
// One job in flight. Slots are allocated once at start; a job takes a free
// slot when admitted and gives it back once the loop has delivered its
// terminal status and its worker is done with it.

#include <uv.h>

#include <array>
#include <atomic>
#include <cstdint>
#include <string_view>

#include "edgerun/handler.hpp"
#include "edgerun/ids.hpp"
#include "edgerun/job_state.hpp"

namespace edgerun::detail {

// Why a job was asked to stop; the first reason set wins. `shutdown`: the
// drain ran out while it ran (with a journal: it ends failed/interrupted, or
// runs again after the restart when its type is idempotent).
enum class StopReason : std::uint8_t { none, canceled, timed_out, shutdown };

// What the slot's payload bytes are: the submission as received (its
// `params` member, if any, is the job's params), or a params object given
// through the C++ API.
enum class PayloadKind : std::uint8_t { none, submission, params };

inline constexpr std::uint32_t kNoSlot = 0xFFFFFFFFu;

// Where a job in flight waits, if it waits: in the queue for a worker, or,
// with a journal, in the backlog, whose jobs are kept by the journal alone
// until the queue has room (and a slot's buffers are free) for them.
enum class SlotList : std::uint8_t { none, queue, backlog };

struct JobSlot {
  // Written at admission under the table lock, before a worker can see the
  // job; read by the worker and the loop after that.
  std::array<char, kMaxIdLength + 1> id{};
  std::uint8_t id_length = 0;
  std::uint16_t handler = 0;
  std::uint32_t timeout_ms = 0;
  // When it expires unstarted (expires_at), on the monotonic clock in ms; 0:
  // never.
  std::int64_t expires_ms = 0;
  PayloadKind payload_kind = PayloadKind::none;
  std::uint32_t payload_length = 0;
  // max_payload_bytes and max_result_bytes + slack, from the table's pool
  // while has_buffers (a job in the backlog has none).
  char* payload = nullptr;

  // Table lock: whether the slot holds a job, which one (reports carry the
  // generation, so a late one about a retired job is ignored), its place in
  // the queue of jobs waiting for a worker or in the backlog of jobs waiting
  // in the journal for room in that queue, and whether it has buffers
  // (payload, result) for running.
  bool in_use = false;
  SlotList list = SlotList::none;
  bool has_buffers = false;
  std::uint32_t generation = 0;
  std::uint32_t prev_waiting = kNoSlot;
  std::uint32_t next_waiting = kNoSlot;

  // Any thread: the state job_state() reports, and a stop request.
  std::atomic<JobState> state{JobState::queued};
  std::atomic<StopReason> stop{StopReason::none};

  // The job's journal records its statuses wait for: accepted (admission,
  // table lock), started (the worker, before it reports `started`; the loop
  // reads it after that report) and ended (the loop).
  std::uint64_t accepted_ticket = 0;
  std::uint64_t started_ticket = 0;
  std::uint64_t ended_ticket = 0;

  // Written by the worker before it reports the job finished.
  std::int64_t started_ns = 0;
  bool handler_succeeded = false;
  std::uint32_t result_length = 0;  // 0: no result, delivered as {}
  char* result = nullptr;
  JobError error;

  // Loop thread only.
  bool queued_sent = false;
  bool running_sent = false;
  bool terminal_delivered = false;
  bool ran = false;  // the loop has read the worker's `started`
  // With a journal: the terminal state is decided (its ended record
  // written) before it is delivered, which waits until the record is
  // durable. `held`: a status waits for the journal; `retire_pending`: the
  // worker is done, the slot retires once the terminal status went out;
  // `parked`: a shutdown leaves the job in the journal, without a status,
  // for after the restart.
  bool terminal_decided = false;
  bool held = false;
  bool retire_pending = false;
  bool parked = false;
  JobState held_state = JobState::queued;
  std::int64_t terminal_ts_ms = 0;  // decided: the terminal status's ts, as journaled
  JobState terminal_state = JobState::succeeded;
  uv_timer_t timer{};  // the job's timeout; timer.data points at the slot
  void* runtime = nullptr;

  std::string_view id_view() const noexcept { return {id.data(), id_length}; }
};

}  // namespace edgerun::detail

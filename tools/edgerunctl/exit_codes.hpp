#pragma once

namespace edgerun::ctl {

// Process exit codes. Scripts branch on them, so a code never changes meaning.
enum class ExitCode : int {
  ok = 0,
  job_failed = 1,    // the job ended failed, timed_out or canceled
  not_found = 1,     // `status` found no device
  rejected = 2,      // the runtime rejected the submission
  usage = 3,         // bad command line; nothing was sent
  connection = 4,    // could not connect, or the broker refused or dropped us
  wait_timeout = 5,  // --timeout ran out before the awaited answer
  // `journal`: the journal is damaged, missing or unreadable, or no longer
  // holds the chain head given with --head (rewritten or cut). A torn last
  // record is a crash, not damage: it exits 0.
  journal_damaged = 6,
  interrupted = 130, // SIGINT/SIGTERM while waiting for a job (128 + SIGINT)
};

constexpr int to_int(ExitCode code) { return static_cast<int>(code); }

}  // namespace edgerun::ctl

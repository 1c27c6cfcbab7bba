#pragma once
// The `exec` job handler: a configured job type (`exec.<type>` in the daemon
// config) mapped to an absolute program with a fixed argv, started directly
// with port::run_process(), never through a shell. Nothing a job submits can
// change the program or its arguments; the only way job input reaches the
// process is through the environment variables named in `params_env`.
//
// What the process sees:
//   - argv: spec.program, then spec.args, fixed at construction;
//   - environment: EDGERUN_JOB_ID=<id>, EDGERUN_JOB_TYPE=<type>, one
//     EDGERUN_PARAM_<NAME> (NAME upper-cased) for each name of
//     spec.params_env that the job's params hold, and the variables of
//     spec.env_passthrough that were set when the handler was built. Nothing
//     else: params that are not listed never reach the process;
//   - stdin from /dev/null, its own process group, spec.working_directory
//     (empty: the daemon's own).
//
// Outcome:
//   - exit 0: succeeded with
//     {"exit_code":0,"stdout":"<tail>","stderr":"<tail>",
//      "stdout_cut_bytes":N,"stderr_cut_bytes":N}
//     where each tail is the last bytes of the stream (at most
//     spec.max_output_bytes) as valid UTF-8: invalid sequences and NUL bytes
//     become U+FFFD, and the tail is shortened at its front (by whole
//     characters) when that replacement would make it longer than
//     max_output_bytes, or when the result printed as JSON would be larger
//     than the runtime's max_result_bytes (a stream that needs less than half
//     of that keeps all of it; the other gets the rest). Each cut counts
//     every byte of its stream that is not shown.
//   - exit N != 0: failed `exit_status`, exit_code N, message
//     "exited with status N: <last line of stderr>" (the line cut to 150 bytes);
//   - ended by signal S: failed `exit_status`, exit_code 128 + S, message
//     "killed by signal S (<name>)";
//   - could not start: failed `handler_error`, "cannot start <program>: <reason>";
//   - a param of the wrong type or too long: failed `handler_error`, naming it;
//   - canceled or timed out: the process group gets SIGTERM, SIGKILL after
//     spec.stop_grace_ms, and the handler returns failure("stopped"), which
//     the runtime ignores in favour of canceled / timed_out.
//
// Memory: everything a job needs is allocated at construction, per worker:
// 4 * max_output_bytes (two output tails, two UTF-8-clean copies of them),
// params_env.size() * ~4.2 KiB for the param variables, and a few pointer
// arrays. Running a job allocates nothing on our side (posix_spawn's file
// actions aside, see port/spawn.hpp); the result's two output strings are
// cJSON string *references* into the worker's buffers, so they cost no arena
// memory either. They stay valid until that worker's next job, which is after
// the runtime has serialized the result on the same worker thread.
//
// Note on sizes: the result holds both tails with JSON escaping (up to 6
// bytes a byte for control characters), so the tails shown are shortened to
// fit max_result_bytes rather than failing the job `result_too_large`. With
// max_result_bytes below 2 * max_output_bytes + ~130, a job with a lot of
// output shows less than max_output_bytes of it.

#include <cstdint>
#include <functional>
#include <memory>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "edgerun/exec_program.hpp"
#include "edgerun/handler.hpp"
#include "edgerun/runtime.hpp"
#include "edgerun/status.hpp"

namespace edgerun {

// The largest value of one EDGERUN_PARAM_* variable, in bytes.
inline constexpr std::size_t kExecParamMaxBytes = 4096;

class ExecHandler {
 public:
  // Copies `spec`, resolves spec.env_passthrough through getenv_fn once
  // (nullptr: not set, so not passed), and preallocates the scratch memory of
  // `workers` workers. `max_result_bytes` is the runtime's
  // RuntimeConfig::max_result_bytes, which the success result is kept within
  // (0: no limit). Allocates; may throw std::bad_alloc. It does not validate
  // `spec` (validate_exec_spec() does).
  ExecHandler(const ExecProgram& spec, std::uint32_t workers,
              const std::function<const char*(const char*)>& getenv_fn, std::uint32_t max_result_bytes = 0);
  ~ExecHandler();
  ExecHandler(const ExecHandler&) = delete;
  ExecHandler& operator=(const ExecHandler&) = delete;

  // Runs one job to its end. Called on a worker thread; two jobs may run at
  // once only on different workers (job.worker_index() picks the scratch
  // memory). Does not throw.
  HandlerResult operator()(JobContext& job) noexcept;

  const ExecProgram& spec() const noexcept;

  class Impl;

 private:
  std::unique_ptr<Impl> impl_;
};

// Checks what ExecHandler relies on: an id for a type, an absolute program,
// an absolute working directory (or none), max_output_bytes >= 1,
// params_env names of [A-Za-z0-9_]{1,64} that stay distinct once upper-cased.
// The message names the type and the field.
Status validate_exec_spec(const ExecProgram& spec) noexcept;

// Builds one ExecHandler per spec (for runtime.worker_count() workers and
// runtime.config().max_result_bytes) and registers it under spec.type with
// default HandlerOptions (set others with Runtime::set_handler_options()).
// Call before runtime.start(), on the thread that sets the runtime up.
//
// Ownership: each handler is held by a shared_ptr captured in the registered
// edgerun::Handler, so it lives exactly as long as the runtime's handler
// table; the caller keeps nothing. Fails (naming the type) for a spec that
// validate_exec_spec() refuses or when register_handler() fails (a duplicate
// type, or after start); handlers registered before the failure stay
// registered. May throw std::bad_alloc.
Status register_exec_handlers(Runtime& runtime, const std::vector<ExecProgram>& specs,
                              const std::function<const char*(const char*)>& getenv_fn);

// Writes `in` to `out` as valid UTF-8 without NUL bytes, NUL-terminated: each
// byte that does not start a valid sequence (and each NUL) becomes U+FFFD.
// When the result does not fit out.size() - 1 bytes, whole characters are
// dropped from the front (keep_end) or the back (!keep_end). Returns the
// number of bytes written (without the terminator) and sets `dropped` to the
// input bytes left out. out.size() must be at least 1. Pure; any thread.
std::size_t sanitize_utf8(std::string_view in, std::span<char> out, bool keep_end, std::size_t& dropped) noexcept;

}  // namespace edgerun

#pragma once
// Running a program as a child process, for `exec` job handlers.
//
// A job type maps to an absolute program path with a fixed argv; the program
// is started directly, never through a shell, so nothing in a job's input can
// become shell syntax. The child gets descriptors 0 (/dev/null), 1 and 2
// (pipes to us) and no other: every descriptor of the daemon, its MQTT socket
// among them, is closed in the child before the program starts, whether or
// not it was opened close-on-exec. The handler runs on a worker thread, so run_process()
// blocks until the program has ended, and polls a stop check the caller
// provides to learn when to end it early.
//
// Nothing here allocates on the heap on our side: the caller owns the output
// buffers. (The C library's posix_spawn file actions keep a small array of
// their own, which we cannot avoid; if that fails, the spawn fails with
// ENOMEM.)

#include <array>
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <span>
#include <string_view>

namespace edgerun::port {

// Keeps the last capacity() bytes appended to it (the tail) and counts all of
// them, so a report can say "... N bytes cut ..." and then show the end of a
// program's output, which is where the error usually is. A full tail is
// normal: older bytes are dropped, nothing fails or allocates.
//
// The bytes live in caller-owned memory that must outlive the tail. The tail
// is a ring, so an append costs only the bytes appended; text() puts the
// ring back in order in place, once, when it has wrapped. That is why text()
// may write to the buffer even though it is const: a tail belongs to one
// thread at a time, including for text().
class OutputTail {
 public:
  explicit OutputTail(std::span<char> buffer) noexcept : buffer_(buffer) {}
  // Two tails over the same buffer would overwrite each other.
  OutputTail(const OutputTail&) = delete;
  OutputTail& operator=(const OutputTail&) = delete;

  void append(std::string_view bytes) noexcept;
  // The kept tail, oldest byte first. Valid until the next append or clear.
  std::string_view text() const noexcept;
  std::size_t capacity() const noexcept { return buffer_.size(); }
  // Every byte ever appended since construction or clear().
  std::uint64_t total_bytes() const noexcept { return total_; }
  // Bytes appended but no longer kept: total_bytes() - text().size().
  std::uint64_t cut_bytes() const noexcept { return total_ - kept_; }
  void clear() noexcept;

 private:
  std::span<char> buffer_;
  mutable std::size_t start_ = 0;  // Index of the oldest kept byte; 0 until the ring wraps.
  std::size_t kept_ = 0;
  std::uint64_t total_ = 0;
};

// An OutputTail that owns N bytes of storage, for tails kept in a struct or
// on a stack. It costs N bytes plus 40 (on a 64-bit target).
template <std::size_t N>
class SizedOutputTail : private std::array<char, N>, public OutputTail {
 public:
  // The array base is constructed first, so the span over it is valid.
  SizedOutputTail() noexcept : OutputTail(std::span<char>(static_cast<std::array<char, N>&>(*this))) {}
};

struct SpawnRequest {
  const char* program = nullptr;            // Absolute path; no PATH search.
  const char* const* argv = nullptr;        // NULL-terminated, argv[0] included.
  const char* const* envp = nullptr;        // NULL-terminated; the child's whole environment.
  const char* working_directory = nullptr;  // nullptr keeps the caller's.
  std::chrono::milliseconds stop_grace{2000};  // From SIGTERM to SIGKILL after a stop.
};

enum class ProcessEnd : std::uint8_t { exited, signaled, spawn_failed };

struct ProcessResult {
  ProcessEnd end = ProcessEnd::spawn_failed;
  int exit_code = 0;    // When exited: 0-255, or -1 when the status was lost
                        // because something else reaped the child (SIGCHLD
                        // ignored, or a waitpid(-1) elsewhere in the process).
  int signal = 0;       // When signaled: the signal that ended the child.
  int spawn_errno = 0;  // When spawn_failed: ENOENT, EACCES, ENOEXEC, ...,
                        // the chdir error for a bad working_directory,
                        // EINVAL for a missing or relative program or a
                        // missing argv or envp, EMFILE when out of descriptors.
  bool stopped = false;  // should_stop() returned true and the group was signaled.
};

// Runs request.program and returns when it has ended and been reaped.
//
// The child starts in a new process group of its own, with stdin from
// /dev/null, stdout into `out` and stderr into `err` (which may be the same
// tail, to interleave them), an empty signal mask and default dispositions
// for SIGPIPE, SIGTERM, SIGINT, SIGHUP, SIGQUIT and SIGCHLD, whatever the
// calling thread blocks or the process ignores.
//
// should_stop (which may be empty) is called on the calling thread about
// every 50 ms while the program runs, until it first returns true; it must
// not throw. Then the whole group gets SIGTERM, and SIGKILL after
// stop_grace; output is still read meanwhile. Members of a stopped group
// that outlive the program itself are SIGKILLed before this returns.
//
// A program that exits while a background child of its own still holds the
// output pipes open is not waited for beyond a short drain (a few hundred
// ms); the background process is left running but is no longer read.
//
// Any thread may call this; workers normally do. It waits only for its own
// child (by pid), never reaps others, and keeps no state between calls.
ProcessResult run_process(const SpawnRequest& request, OutputTail& out, OutputTail& err,
                          const std::function<bool()>& should_stop) noexcept;

}  // namespace edgerun::port

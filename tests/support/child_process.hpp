#pragma once

// Runs a program under test without a shell, with its stdout and stderr
// captured through pipes, and every wait bounded.
//
// Threads: one thread owns an instance.

#include <sys/types.h>

#include <chrono>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "status.hpp"

namespace edgerun::test {

struct ProcessResult {
  int exit_code = -1;     // -1 unless the process exited normally
  int term_signal = 0;    // the signal that ended it, if one did
  bool timed_out = false; // it was killed because the wait ran out
  std::string out;
  std::string err;
};

struct SpawnOptions {
  // The environment is the caller's, minus `unset_env`, plus `set_env`.
  std::vector<std::string> unset_env;
  std::vector<std::pair<std::string, std::string>> set_env;
};

class ChildProcess {
 public:
  ChildProcess() = default;
  ~ChildProcess();  // kills (SIGKILL) and reaps a process still running
  ChildProcess(const ChildProcess&) = delete;
  ChildProcess& operator=(const ChildProcess&) = delete;

  // argv[0] is `path`; `args` follow it.
  Status start(const std::string& path, const std::vector<std::string>& args,
               const SpawnOptions& options = {});

  // Reads output until `needle` has appeared on stderr (or stdout), the
  // process closes the stream, or `timeout` passes. Returns whether it did.
  bool wait_for_stderr(std::string_view needle, std::chrono::milliseconds timeout);
  bool wait_for_stdout(std::string_view needle, std::chrono::milliseconds timeout);

  void send_signal(int sig);

  // Reads until both streams close and the process exits. After `timeout`
  // the process is killed and the result says timed_out.
  ProcessResult wait(std::chrono::milliseconds timeout);

  const std::string& out() const { return out_; }
  const std::string& err() const { return err_; }
  pid_t pid() const { return pid_; }

 private:
  // Reads whatever is available within `wait`; false once both streams are closed.
  bool pump(std::chrono::milliseconds wait);
  bool wait_for(const std::string& stream, std::string_view needle, std::chrono::milliseconds timeout);
  void close_pipes();

  pid_t pid_ = -1;
  int out_fd_ = -1;
  int err_fd_ = -1;
  std::string out_;
  std::string err_;
};

// start() + wait(): the common case of running a command to completion.
ProcessResult run_process(const std::string& path, const std::vector<std::string>& args,
                          const SpawnOptions& options = {},
                          std::chrono::milliseconds timeout = std::chrono::seconds(20));

}  // namespace edgerun::test

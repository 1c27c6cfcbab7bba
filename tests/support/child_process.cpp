#include "child_process.hpp"

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <thread>

extern char** environ;

namespace edgerun::test {
namespace {

using Clock = std::chrono::steady_clock;

// Reaping has nothing to poll on once the pipes are closed, so the bounded
// wait for exit looks again after this pause.
constexpr std::chrono::milliseconds kReapInterval{5};

std::chrono::milliseconds remaining(Clock::time_point deadline) {
  auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - Clock::now());
  return std::max(left, std::chrono::milliseconds(0));
}

// A cross build's test binaries run under qemu-user, which cannot execve
// another target program (that needs binfmt_misc), so the programs of this
// build are started through the emulator ctest uses: "qemu-aarch64 -L /".
// Host programs (mosquitto, /bin/sh) start directly. Empty on host builds.
constexpr std::string_view kTargetEmulator = EDGERUN_TARGET_EMULATOR;
constexpr std::string_view kTargetProgramDir = EDGERUN_TARGET_PROGRAM_DIR;

std::vector<std::string> launcher_for(const std::string& path) {
  std::vector<std::string> words;
  if (kTargetEmulator.empty() || !path.starts_with(kTargetProgramDir)) return words;
  std::string_view rest = kTargetEmulator;
  while (!rest.empty()) {
    const auto end = rest.find(' ');
    if (end != 0) words.emplace_back(rest.substr(0, end));
    if (end == std::string_view::npos) break;
    rest.remove_prefix(end + 1);
  }
  return words;
}

std::string env_name(std::string_view entry) { return std::string(entry.substr(0, entry.find('='))); }

std::vector<std::string> build_environment(const SpawnOptions& options) {
  std::vector<std::string> env;
  for (char** e = environ; *e != nullptr; ++e) {
    std::string name = env_name(*e);
    bool drop = std::find(options.unset_env.begin(), options.unset_env.end(), name) != options.unset_env.end();
    for (const auto& [key, value] : options.set_env) drop = drop || key == name;
    if (!drop) env.emplace_back(*e);
  }
  for (const auto& [key, value] : options.set_env) env.push_back(key + "=" + value);
  return env;
}

void fill_result(int status, ProcessResult& result) {
  if (WIFEXITED(status)) result.exit_code = WEXITSTATUS(status);
  if (WIFSIGNALED(status)) result.term_signal = WTERMSIG(status);
}

}  // namespace

ChildProcess::~ChildProcess() {
  if (pid_ > 0) {
    ::kill(pid_, SIGKILL);
    ::waitpid(pid_, nullptr, 0);
  }
  close_pipes();
}

void ChildProcess::close_pipes() {
  if (out_fd_ >= 0) ::close(out_fd_);
  if (err_fd_ >= 0) ::close(err_fd_);
  out_fd_ = err_fd_ = -1;
}

Status ChildProcess::start(const std::string& path, const std::vector<std::string>& args,
                           const SpawnOptions& options) {
  if (pid_ > 0) return Status::failure("process already started");
  int out_pipe[2];
  int err_pipe[2];
  if (::pipe2(out_pipe, O_CLOEXEC) != 0) return Status::failure(std::string("pipe2: ") + std::strerror(errno));
  if (::pipe2(err_pipe, O_CLOEXEC) != 0) {
    ::close(out_pipe[0]);
    ::close(out_pipe[1]);
    return Status::failure(std::string("pipe2: ") + std::strerror(errno));
  }

  std::vector<std::string> argv_storage = launcher_for(path);
  argv_storage.push_back(path);
  argv_storage.insert(argv_storage.end(), args.begin(), args.end());
  std::vector<char*> argv;
  for (auto& a : argv_storage) argv.push_back(a.data());
  argv.push_back(nullptr);
  std::vector<std::string> env_storage = build_environment(options);
  std::vector<char*> envp;
  for (auto& e : env_storage) envp.push_back(e.data());
  envp.push_back(nullptr);

  posix_spawn_file_actions_t actions;
  posix_spawn_file_actions_init(&actions);
  posix_spawn_file_actions_addopen(&actions, STDIN_FILENO, "/dev/null", O_RDONLY, 0);
  // dup2 onto 1 and 2 clears O_CLOEXEC there; the originals close on exec.
  posix_spawn_file_actions_adddup2(&actions, out_pipe[1], STDOUT_FILENO);
  posix_spawn_file_actions_adddup2(&actions, err_pipe[1], STDERR_FILENO);
  pid_t pid = -1;
  // The emulator is named as CMake names it, so it is looked up in PATH.
  int rc = argv_storage.size() > args.size() + 1
               ? ::posix_spawnp(&pid, argv_storage.front().c_str(), &actions, nullptr, argv.data(), envp.data())
               : ::posix_spawn(&pid, path.c_str(), &actions, nullptr, argv.data(), envp.data());
  posix_spawn_file_actions_destroy(&actions);
  ::close(out_pipe[1]);
  ::close(err_pipe[1]);
  if (rc != 0) {
    ::close(out_pipe[0]);
    ::close(err_pipe[0]);
    return Status::failure("posix_spawn " + path + ": " + std::strerror(rc));
  }
  pid_ = pid;
  out_fd_ = out_pipe[0];
  err_fd_ = err_pipe[0];
  out_.clear();
  err_.clear();
  return Status::success();
}

bool ChildProcess::pump(std::chrono::milliseconds wait) {
  pollfd fds[2];
  int n = 0;
  if (out_fd_ >= 0) fds[n++] = {out_fd_, POLLIN, 0};
  if (err_fd_ >= 0) fds[n++] = {err_fd_, POLLIN, 0};
  if (n == 0) return false;
  int ready = ::poll(fds, static_cast<nfds_t>(n), static_cast<int>(wait.count()));
  if (ready <= 0) return true;
  for (int i = 0; i < n; ++i) {
    if ((fds[i].revents & (POLLIN | POLLHUP | POLLERR)) == 0) continue;
    int& fd = fds[i].fd == out_fd_ ? out_fd_ : err_fd_;
    std::string& sink = fds[i].fd == out_fd_ ? out_ : err_;
    char buf[4096];
    ssize_t got = ::read(fd, buf, sizeof buf);
    if (got > 0) {
      sink.append(buf, static_cast<std::size_t>(got));
    } else if (got == 0 || (errno != EINTR && errno != EAGAIN)) {
      ::close(fd);
      fd = -1;
    }
  }
  return out_fd_ >= 0 || err_fd_ >= 0;
}

bool ChildProcess::wait_for(const std::string& stream, std::string_view needle,
                            std::chrono::milliseconds timeout) {
  const auto deadline = Clock::now() + timeout;
  for (;;) {
    if (stream.find(needle) != std::string::npos) return true;
    if (Clock::now() >= deadline) return false;
    if (!pump(remaining(deadline))) return stream.find(needle) != std::string::npos;
  }
}

bool ChildProcess::wait_for_stderr(std::string_view needle, std::chrono::milliseconds timeout) {
  return wait_for(err_, needle, timeout);
}

bool ChildProcess::wait_for_stdout(std::string_view needle, std::chrono::milliseconds timeout) {
  return wait_for(out_, needle, timeout);
}

void ChildProcess::send_signal(int sig) {
  if (pid_ > 0) ::kill(pid_, sig);
}

ProcessResult ChildProcess::wait(std::chrono::milliseconds timeout) {
  ProcessResult result;
  if (pid_ <= 0) return result;
  const auto deadline = Clock::now() + timeout;
  int status = 0;
  bool reaped = false;
  while (Clock::now() < deadline) {
    if (pump(remaining(deadline))) continue;  // streams still open
    if (::waitpid(pid_, &status, WNOHANG) == pid_) {
      reaped = true;
      break;
    }
    std::this_thread::sleep_for(kReapInterval);
  }
  if (!reaped) {
    ::kill(pid_, SIGKILL);
    ::waitpid(pid_, &status, 0);
    result.timed_out = true;
    // Collect what the process wrote before it died; a grandchild could hold
    // the pipes open, so this is bounded too.
    const auto drain_deadline = Clock::now() + std::chrono::milliseconds(200);
    while (Clock::now() < drain_deadline && pump(remaining(drain_deadline))) {
    }
  }
  pid_ = -1;
  close_pipes();
  fill_result(status, result);
  result.out = out_;
  result.err = err_;
  return result;
}

ProcessResult run_process(const std::string& path, const std::vector<std::string>& args,
                          const SpawnOptions& options, std::chrono::milliseconds timeout) {
  ChildProcess child;
  if (Status s = child.start(path, args, options); !s) {
    ProcessResult result;
    result.err = s.message;
    return result;
  }
  return child.wait(timeout);
}

}  // namespace edgerun::test

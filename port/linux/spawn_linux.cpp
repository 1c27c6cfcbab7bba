// Child processes for Linux through posix_spawn(3), pidfd_open(2), poll(2)
// and waitid(2).
//
// posix_spawn rather than fork: glibc and musl implement it with
// CLONE_VFORK, so it neither copies the parent's page tables (which matters
// on a small device running a large runtime) nor runs our code in a child
// that shares a heap with other threads; and it reports exec and file-action
// failures, including a bad working directory, as its return value.
#include "edgerun/port/spawn.hpp"

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>

namespace edgerun::port {

void OutputTail::append(std::string_view bytes) noexcept {
  total_ += bytes.size();
  const std::size_t cap = buffer_.size();
  if (bytes.size() >= cap) {
    // Only the newest cap bytes survive; this also covers cap == 0.
    std::copy(bytes.end() - static_cast<std::ptrdiff_t>(cap), bytes.end(), buffer_.begin());
    start_ = 0;
    kept_ = cap;
    return;
  }
  // Write after the newest byte, wrapping at most once since bytes < cap.
  const std::size_t at = (start_ + kept_) % cap;
  const std::size_t first = std::min(bytes.size(), cap - at);
  std::copy_n(bytes.data(), first, buffer_.data() + at);
  std::copy_n(bytes.data() + first, bytes.size() - first, buffer_.data());
  if (kept_ + bytes.size() > cap) {
    start_ = (start_ + kept_ + bytes.size() - cap) % cap;
    kept_ = cap;
  } else {
    kept_ += bytes.size();
  }
}

std::string_view OutputTail::text() const noexcept {
  if (start_ != 0) {
    // Only a full ring has start_ != 0; rotating in place needs no memory.
    std::rotate(buffer_.begin(), buffer_.begin() + static_cast<std::ptrdiff_t>(start_), buffer_.end());
    start_ = 0;
  }
  return {buffer_.data(), kept_};
}

void OutputTail::clear() noexcept {
  start_ = 0;
  kept_ = 0;
  total_ = 0;
}

namespace {

using Clock = std::chrono::steady_clock;
using std::chrono::milliseconds;

// The longest the caller waits between two calls of should_stop().
constexpr milliseconds max_slice{50};
// How long output is still read after the program has exited, for a
// background child of it that keeps the pipes open.
constexpr milliseconds drain_after_exit{250};
// One read; a page is what a pipe hands over at a time anyway.
constexpr std::size_t read_chunk = 4096;

constexpr int default_signals[] = {SIGPIPE, SIGTERM, SIGINT, SIGHUP, SIGQUIT, SIGCHLD};

// Owns a descriptor; -1 when closed.
struct Fd {
  int fd = -1;
  Fd() = default;
  Fd(const Fd&) = delete;
  Fd& operator=(const Fd&) = delete;
  ~Fd() { reset(); }
  void reset() noexcept {
    if (fd >= 0) {
      (void)close(fd);  // Linux closes the descriptor even on EINTR, so no retry.
      fd = -1;
    }
  }
};

struct Pipe {
  Fd read;   // Ours.
  Fd write;  // The child's stdout or stderr.
};

// Makes a close-on-exec pipe whose child end is not 0, 1 or 2: when the
// runtime was started with those closed, a pipe end could land there and the
// child's file actions (open onto 0, dup2 onto 1 and 2) would overwrite it
// before it is duplicated. Returns 0 or an errno.
int make_pipe(Pipe& p) noexcept {
  int fds[2];
  if (pipe2(fds, O_CLOEXEC) != 0) {
    return errno;
  }
  p.read.fd = fds[0];
  p.write.fd = fds[1];
  if (p.write.fd <= STDERR_FILENO) {
    const int moved = fcntl(p.write.fd, F_DUPFD_CLOEXEC, STDERR_FILENO + 1);
    if (moved < 0) {
      return errno;
    }
    p.write.reset();
    p.write.fd = moved;
  }
  return 0;
}

// posix_spawn attributes and file actions, destroyed on every path.
struct SpawnSetup {
  posix_spawnattr_t attr;
  posix_spawn_file_actions_t actions;
  SpawnSetup() noexcept {
    (void)posix_spawnattr_init(&attr);
    (void)posix_spawn_file_actions_init(&actions);
  }
  SpawnSetup(const SpawnSetup&) = delete;
  SpawnSetup& operator=(const SpawnSetup&) = delete;
  ~SpawnSetup() {
    (void)posix_spawn_file_actions_destroy(&actions);
    (void)posix_spawnattr_destroy(&attr);
  }
};

// Starts the child; returns 0 and sets pid, or an errno.
int spawn(const SpawnRequest& request, const Pipe& out, const Pipe& err, pid_t& pid) noexcept {
  SpawnSetup s;
  // The worker thread blocks the termination signals and the process ignores
  // SIGPIPE; both would be inherited across exec without these. The new
  // group (pgid = the child's pid) is what a stop signals as a whole.
  sigset_t mask;
  sigemptyset(&mask);
  sigset_t defaults;
  sigemptyset(&defaults);
  for (const int sig : default_signals) {
    sigaddset(&defaults, sig);
  }
  int rc = posix_spawnattr_setflags(&s.attr, POSIX_SPAWN_SETPGROUP | POSIX_SPAWN_SETSIGMASK | POSIX_SPAWN_SETSIGDEF);
  if (rc == 0) rc = posix_spawnattr_setpgroup(&s.attr, 0);
  if (rc == 0) rc = posix_spawnattr_setsigmask(&s.attr, &mask);
  if (rc == 0) rc = posix_spawnattr_setsigdefault(&s.attr, &defaults);
  // The actions run in order in the child: stdin, stdout and stderr are set
  // up first, and then everything above them is closed, the pipe ends we
  // dup2'ed from included. Close-on-exec alone is not enough: libmosquitto
  // opens its socket without it, and a program holding that socket (or a
  // background child it leaves behind) could publish as the device and keep
  // the connection open after the daemon is gone. Closing in the child also
  // covers a descriptor another thread opens while we spawn. glibc 2.34 added
  // addclosefrom_np (close_range(2), or /proc/self/fd on older kernels);
  // every Debian we build for (bookworm: 2.36, host and cross) has it.
  if (rc == 0 && request.working_directory != nullptr) {
    rc = posix_spawn_file_actions_addchdir_np(&s.actions, request.working_directory);
  }
  if (rc == 0) rc = posix_spawn_file_actions_addopen(&s.actions, STDIN_FILENO, "/dev/null", O_RDONLY, 0);
  if (rc == 0) rc = posix_spawn_file_actions_adddup2(&s.actions, out.write.fd, STDOUT_FILENO);
  if (rc == 0) rc = posix_spawn_file_actions_adddup2(&s.actions, err.write.fd, STDERR_FILENO);
  if (rc == 0) rc = posix_spawn_file_actions_addclosefrom_np(&s.actions, STDERR_FILENO + 1);
  if (rc != 0) {
    return rc;
  }
  // posix_spawn's argv and envp are char* const[] for historical reasons
  // only; it does not write to the strings.
  return posix_spawn(&pid, request.program, &s.actions, &s.attr, const_cast<char* const*>(request.argv),
                     const_cast<char* const*>(request.envp));
}

// Reads what the open pipes have within timeout into their tails; a pipe at
// EOF (or failing) is closed. Returns early when exit_fd (a pidfd, or -1)
// says the child has ended. With nothing to watch it just waits out timeout.
void drain(Pipe& out, Pipe& err, OutputTail& out_tail, OutputTail& err_tail, const Fd& exit_fd,
           milliseconds timeout) noexcept {
  pollfd fds[3];
  Pipe* pipes[2];
  OutputTail* tails[2];
  nfds_t n = 0;
  const auto watch = [&](Pipe& pipe, OutputTail& tail) {
    if (pipe.read.fd >= 0) {
      fds[n] = pollfd{pipe.read.fd, POLLIN, 0};
      pipes[n] = &pipe;
      tails[n] = &tail;
      ++n;
    }
  };
  watch(out, out_tail);
  watch(err, err_tail);
  nfds_t watched = n;
  if (exit_fd.fd >= 0) {
    fds[watched++] = pollfd{exit_fd.fd, POLLIN, 0};
  }
  // EINTR just ends the slice early; the caller's loop goes round again.
  if (poll(fds, watched, static_cast<int>(timeout.count())) <= 0) {
    return;
  }
  char chunk[read_chunk];
  for (nfds_t i = 0; i < n; ++i) {
    if (fds[i].revents == 0) {
      continue;
    }
    const ssize_t got = read(fds[i].fd, chunk, sizeof chunk);
    if (got > 0) {
      tails[i]->append(std::string_view(chunk, static_cast<std::size_t>(got)));
    } else if (got == 0 || errno != EINTR) {
      pipes[i]->read.reset();
    }
  }
}

// True once the child has ended. WNOWAIT leaves it a zombie, which keeps its
// pid, and so the group id, from being reused while we may still signal the
// group. Sets lost when the child was reaped behind our back.
bool has_exited(pid_t pid, bool& lost) noexcept {
  siginfo_t info{};
  if (waitid(P_PID, static_cast<id_t>(pid), &info, WEXITED | WNOHANG | WNOWAIT) != 0) {
    lost = errno == ECHILD;
    return lost;  // EINTR: ask again next slice.
  }
  return info.si_pid != 0;
}

ProcessResult reap(pid_t pid, bool lost) noexcept {
  ProcessResult result{};
  result.end = ProcessEnd::exited;
  result.exit_code = -1;
  int status = 0;
  pid_t got = -1;
  if (!lost) {
    do {
      got = waitpid(pid, &status, 0);  // Immediate: has_exited() saw the zombie.
    } while (got < 0 && errno == EINTR);
  }
  if (got == pid && WIFEXITED(status)) {
    result.exit_code = WEXITSTATUS(status);
  } else if (got == pid && WIFSIGNALED(status)) {
    result.end = ProcessEnd::signaled;
    result.signal = WTERMSIG(status);
  }
  return result;
}

}  // namespace

ProcessResult run_process(const SpawnRequest& request, OutputTail& out, OutputTail& err,
                          const std::function<bool()>& should_stop) noexcept {
  ProcessResult failed{};
  failed.end = ProcessEnd::spawn_failed;
  if (request.program == nullptr || request.program[0] != '/' || request.argv == nullptr ||
      request.envp == nullptr) {
    failed.spawn_errno = EINVAL;
    return failed;
  }
  Pipe out_pipe;
  Pipe err_pipe;
  pid_t pid = -1;
  int rc = make_pipe(out_pipe);
  if (rc == 0) rc = make_pipe(err_pipe);
  if (rc == 0) rc = spawn(request, out_pipe, err_pipe, pid);
  // Only the child may hold the write ends, or the pipes never reach EOF.
  out_pipe.write.reset();
  err_pipe.write.reset();
  if (rc != 0) {
    // posix_spawn has already reaped a child whose exec or chdir failed.
    failed.spawn_errno = rc;
    return failed;
  }

  // Readable once the child has ended, so the wait below wakes at its exit
  // rather than on a timer. Before, the exit that follows the closing of the
  // pipes was found by asking from 1 ms up: 0.48x a bare launcher's jobs/s
  // through this function, 0.98x with the pidfd (tools/bench/e2e/run.sh
  // --exec, launcher-run-process). Kernels before 5.3 have no pidfd; then
  // the asking below remains.
  Fd exit_fd;
  // Through syscall(2): glibc 2.36's <sys/pidfd.h> lacks extern "C".
  exit_fd.fd = static_cast<int>(syscall(SYS_pidfd_open, pid, 0));

  bool stopping = false;
  bool killed = false;
  bool exited = false;
  bool lost = false;
  Clock::time_point kill_at{};
  Clock::time_point give_up_at{};
  milliseconds idle_slice{1};
  // Signals the whole group, unless the child was lost: then its pid, and so
  // the group id, may already belong to someone else.
  const auto signal_group = [pid, &lost](int sig) {
    if (!lost) {
      (void)kill(-pid, sig);
    }
  };
  const auto until = [](Clock::time_point now, Clock::time_point then) {
    return std::max(std::chrono::ceil<milliseconds>(then - now), milliseconds{0});
  };
  for (;;) {
    const Clock::time_point now = Clock::now();
    if (!exited && has_exited(pid, lost)) {
      exited = true;
      give_up_at = now + drain_after_exit;
    }
    const bool pipes_open = out_pipe.read.fd >= 0 || err_pipe.read.fd >= 0;
    if (exited && (!pipes_open || now >= give_up_at)) {
      break;
    }
    if (!exited && !stopping && should_stop && should_stop()) {
      stopping = true;
      signal_group(SIGTERM);
      kill_at = now + request.stop_grace;
    }
    if (stopping && !killed && now >= kill_at) {
      signal_group(SIGKILL);
      killed = true;
    }
    // With no pipe and no pidfd left to wake us, exit is noticed only by
    // asking, so ask soon first (a program usually exits right after closing
    // its output) and back off to the full slice.
    milliseconds wait = max_slice;
    if (exited) {
      exit_fd.reset();  // Stays readable; it would turn the drain into a spin.
    }
    if (!pipes_open && exit_fd.fd < 0) {
      wait = idle_slice;
      idle_slice = std::min(idle_slice * 2, max_slice);
    }
    if (exited) wait = std::min(wait, until(now, give_up_at));
    if (stopping && !killed) wait = std::min(wait, until(now, kill_at));
    drain(out_pipe, err_pipe, out, err, exit_fd, wait);
  }

  // A stopped job ends as a whole: what is left of the group after the
  // program exited within its grace gets no more time. The zombie still
  // holds the group id, so this cannot hit a stranger's group.
  if (stopping && !killed) {
    signal_group(SIGKILL);
  }
  out_pipe.read.reset();
  err_pipe.read.reset();
  ProcessResult result = reap(pid, lost);
  result.stopped = stopping;
  return result;
}

}  // namespace edgerun::port

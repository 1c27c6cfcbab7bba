// edgerun_exec_launcher: the baseline for exec job throughput. It starts a
// program (default /bin/true) N times, W children at a time, with the same
// isolation edgerund's exec handler gives each child, and reports launches
// per second and CPU per launch. tools/bench/e2e/run.sh --exec compares
// edgerund running the same program as an exec job type against it.
//
// Per launch, as port/linux/spawn_linux.cpp and core/exec/src/exec_handler.cpp
// do for an exec job:
// - two close-on-exec pipes (stdout, stderr), their child ends moved above
//   descriptor 2;
// - posix_spawn (no PATH search) with the file actions: open /dev/null as
//   stdin, dup2 the pipes onto 1 and 2, then closefrom(3); and the attributes:
//   a new process group (setpgroup 0), an empty signal mask, and default
//   dispositions for SIGPIPE, SIGTERM, SIGINT, SIGHUP, SIGQUIT and SIGCHLD;
// - the environment EDGERUN_JOB_ID=<id>, EDGERUN_JOB_TYPE=<type> and the
//   passed-through PATH (exec.<type>.env_passthrough's default), nothing else;
// - both pipes read to EOF, then the child reaped and its exit status checked.
// Each of the W threads blocks the termination signals, as edgerund's workers
// do, and the process ignores SIGPIPE, as edgerund does; the spawn attributes
// undo both in the child.
//
// Two ways to wait, --wait:
// - direct (default): poll(2) on the pipes until both are at EOF, then a
//   blocking waitpid(2). This is the least a launcher that reads the output
//   must do, so it is the baseline.
// - run-process: port::run_process(), the very function edgerund's exec
//   handler calls, with a stop check that never asks to stop (edgerund's asks
//   whether the job was canceled). It polls the pipes in slices and asks
//   waitid(WNOHANG | WNOWAIT) whether the child has ended, so that it can stop
//   a job on cancel; the gap between it and direct is the cost of that design.
//
// Measured window: the warm-up launches run first, on all threads, and are not
// measured. A barrier then samples the clock and getrusage(RUSAGE_SELF) +
// getrusage(RUSAGE_CHILDREN) once every thread is ready, before any measured
// launch, and again once every thread has finished its last one. Every child
// is reaped before its launch counts as finished, so RUSAGE_CHILDREN holds
// all of the measured children's CPU at the end. cpu_us_per_job is (self +
// children) / N: edgerund's figure in run.sh --exec counts its children too
// (cutime + cstime of /proc/<pid>/stat).
//
// Exit status: 0 every launch (warm-up too) exited 0; 1 some did not; 2 a
// spawn failed; 64 bad usage.

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

#include <atomic>
#include <barrier>
#include <cerrno>
#include <chrono>
#include <cinttypes>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <optional>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

#include "edgerun/port/signal.hpp"
#include "edgerun/port/spawn.hpp"

namespace {

using Clock = std::chrono::steady_clock;

constexpr int kExitOk = 0;
constexpr int kExitNonZero = 1;
constexpr int kExitSpawnFailed = 2;
constexpr int kExitUsage = 64;

// The same list as spawn_linux.cpp's default_signals.
constexpr int kDefaultSignals[] = {SIGPIPE, SIGTERM, SIGINT, SIGHUP, SIGQUIT, SIGCHLD};
// exec.<type>.max_output_bytes' default: what edgerund keeps of each stream.
constexpr std::size_t kOutputBytes = 16384;
// One read, as spawn_linux.cpp's read_chunk.
constexpr std::size_t kReadChunk = 4096;

enum class Wait { direct, run_process };

struct Options {
  std::string program = "/bin/true";
  std::string type = "true";
  long long launches = 2000;
  long long warmup = 100;
  long long workers = 0;  // 0: one per online CPU, as edgerund's workers 0
  Wait wait = Wait::direct;
  bool json = false;
};

void usage(std::FILE* out) {
  std::fputs(
      "usage: edgerun_exec_launcher [options]\n"
      "  --program PATH     absolute path of the program to start (default /bin/true), no arguments\n"
      "  --type T           EDGERUN_JOB_TYPE given to the child (default true)\n"
      "  --launches N       measured launches (default 2000)\n"
      "  --warmup N         unmeasured launches first (default 100)\n"
      "  --workers W        children at a time, one thread each (default: online CPUs)\n"
      "  --wait direct|run-process\n"
      "                     direct: poll the pipes to EOF, then waitpid (default);\n"
      "                     run-process: edgerund's port::run_process()\n"
      "  --json             print one JSON object on stdout (the text line goes to stderr)\n",
      out);
}

std::optional<long long> parse_count(const char* text, long long min, long long max) {
  if (text == nullptr || *text == '\0') return std::nullopt;
  char* end = nullptr;
  errno = 0;
  const long long v = std::strtoll(text, &end, 10);
  if (*end != '\0' || errno != 0 || v < min || v > max) return std::nullopt;
  return v;
}

std::optional<Options> parse_args(int argc, char** argv) {
  Options o;
  for (int i = 1; i < argc; ++i) {
    const std::string_view a = argv[i];
    const char* v = i + 1 < argc ? argv[i + 1] : nullptr;
    auto count = [&](long long& out, long long min, long long max) {
      const auto n = parse_count(v, min, max);
      if (!n) {
        std::fprintf(stderr, "edgerun_exec_launcher: %s needs an integer from %lld to %lld\n", argv[i], min, max);
        return false;
      }
      out = *n;
      ++i;
      return true;
    };
    if (a == "--help" || a == "-h") {
      usage(stdout);
      std::exit(kExitOk);
    } else if (a == "--program" && v != nullptr) {
      o.program = v;
      ++i;
    } else if (a == "--type" && v != nullptr) {
      o.type = v;
      ++i;
    } else if (a == "--launches") {
      if (!count(o.launches, 1, 100'000'000)) return std::nullopt;
    } else if (a == "--warmup") {
      if (!count(o.warmup, 0, 100'000'000)) return std::nullopt;
    } else if (a == "--workers") {
      if (!count(o.workers, 1, 256)) return std::nullopt;  // edgerund's workers: 0..256
    } else if (a == "--wait" && v != nullptr && (std::strcmp(v, "direct") == 0 || std::strcmp(v, "run-process") == 0)) {
      o.wait = std::strcmp(v, "direct") == 0 ? Wait::direct : Wait::run_process;
      ++i;
    } else if (a == "--json") {
      o.json = true;
    } else {
      std::fprintf(stderr, "edgerun_exec_launcher: bad argument '%s'\n", argv[i]);
      usage(stderr);
      return std::nullopt;
    }
  }
  if (o.program.empty() || o.program.front() != '/') {
    std::fputs("edgerun_exec_launcher: --program must be an absolute path\n", stderr);
    return std::nullopt;
  }
  if (o.workers == 0) {
    const long n = sysconf(_SC_NPROCESSORS_ONLN);
    o.workers = n > 0 ? n : 1;
  }
  return o;
}

// What one launch ended with.
enum class Outcome { ok, non_zero, spawn_failed };

// A descriptor closed on scope exit; -1 when closed.
struct Fd {
  int fd = -1;
  Fd() = default;
  Fd(const Fd&) = delete;
  Fd& operator=(const Fd&) = delete;
  ~Fd() { reset(); }
  void reset() {
    if (fd >= 0) {
      (void)close(fd);
      fd = -1;
    }
  }
};

struct Pipe {
  Fd read, write;
};

// As spawn_linux.cpp's make_pipe: close-on-exec, child end above 2.
int make_pipe(Pipe& p) {
  int fds[2];
  if (pipe2(fds, O_CLOEXEC) != 0) return errno;
  p.read.fd = fds[0];
  p.write.fd = fds[1];
  if (p.write.fd <= STDERR_FILENO) {
    const int moved = fcntl(p.write.fd, F_DUPFD_CLOEXEC, STDERR_FILENO + 1);
    if (moved < 0) return errno;
    p.write.reset();
    p.write.fd = moved;
  }
  return 0;
}

// posix_spawn with the attributes and file actions of spawn_linux.cpp's
// spawn(); returns 0 and sets pid, or an errno.
int spawn(const char* program, const char* const* argv, const char* const* envp, const Pipe& out, const Pipe& err,
          pid_t& pid) {
  posix_spawnattr_t attr;
  posix_spawn_file_actions_t actions;
  (void)posix_spawnattr_init(&attr);
  (void)posix_spawn_file_actions_init(&actions);
  sigset_t mask, defaults;
  sigemptyset(&mask);
  sigemptyset(&defaults);
  for (const int sig : kDefaultSignals) sigaddset(&defaults, sig);
  int rc = posix_spawnattr_setflags(&attr, POSIX_SPAWN_SETPGROUP | POSIX_SPAWN_SETSIGMASK | POSIX_SPAWN_SETSIGDEF);
  if (rc == 0) rc = posix_spawnattr_setpgroup(&attr, 0);
  if (rc == 0) rc = posix_spawnattr_setsigmask(&attr, &mask);
  if (rc == 0) rc = posix_spawnattr_setsigdefault(&attr, &defaults);
  if (rc == 0) rc = posix_spawn_file_actions_addopen(&actions, STDIN_FILENO, "/dev/null", O_RDONLY, 0);
  if (rc == 0) rc = posix_spawn_file_actions_adddup2(&actions, out.write.fd, STDOUT_FILENO);
  if (rc == 0) rc = posix_spawn_file_actions_adddup2(&actions, err.write.fd, STDERR_FILENO);
  if (rc == 0) rc = posix_spawn_file_actions_addclosefrom_np(&actions, STDERR_FILENO + 1);
  if (rc == 0) {
    rc = posix_spawn(&pid, program, &actions, &attr, const_cast<char* const*>(argv), const_cast<char* const*>(envp));
  }
  (void)posix_spawn_file_actions_destroy(&actions);
  (void)posix_spawnattr_destroy(&attr);
  return rc;
}

// One thread's buffers and environment, allocated before the measured window
// as edgerund's exec handler allocates its per-worker scratch at start.
struct Worker {
  std::vector<char> out_bytes = std::vector<char>(kOutputBytes);
  std::vector<char> err_bytes = std::vector<char>(kOutputBytes);
  edgerun::port::OutputTail out{std::span<char>(out_bytes)};
  edgerun::port::OutputTail err{std::span<char>(err_bytes)};
  char id_var[96] = {};
  std::vector<const char*> envp;
};

class Launcher {
 public:
  explicit Launcher(const Options& opt) : opt_(opt) {
    argv_ = {opt_.program.c_str(), nullptr};
    type_var_ = "EDGERUN_JOB_TYPE=" + opt_.type;
    if (const char* path = std::getenv("PATH"); path != nullptr) path_var_ = std::string("PATH=") + path;
  }

  // Launches job `index` on worker w and waits for it.
  Outcome launch(Worker& w, long long index) {
    std::snprintf(w.id_var, sizeof w.id_var, "EDGERUN_JOB_ID=l-%lld", index);
    w.envp.clear();
    w.envp.push_back(w.id_var);
    w.envp.push_back(type_var_.c_str());
    if (!path_var_.empty()) w.envp.push_back(path_var_.c_str());
    w.envp.push_back(nullptr);
    w.out.clear();
    w.err.clear();
    if (opt_.wait == Wait::run_process) return launch_run_process(w);
    return launch_direct(w);
  }

 private:
  Outcome launch_direct(Worker& w) {
    Pipe out, err;
    pid_t pid = -1;
    int rc = make_pipe(out);
    if (rc == 0) rc = make_pipe(err);
    if (rc == 0) rc = spawn(opt_.program.c_str(), argv_.data(), w.envp.data(), out, err, pid);
    // Only the child may hold the write ends, or the pipes never reach EOF.
    out.write.reset();
    err.write.reset();
    if (rc != 0) {
      report_spawn_error(rc);
      return Outcome::spawn_failed;
    }
    // Both pipes to EOF. No timeout: nothing here stops a child early.
    char chunk[kReadChunk];
    while (out.read.fd >= 0 || err.read.fd >= 0) {
      pollfd fds[2];
      Pipe* pipes[2];
      edgerun::port::OutputTail* tails[2];
      nfds_t n = 0;
      if (out.read.fd >= 0) {
        fds[n] = pollfd{out.read.fd, POLLIN, 0};
        pipes[n] = &out;
        tails[n++] = &w.out;
      }
      if (err.read.fd >= 0) {
        fds[n] = pollfd{err.read.fd, POLLIN, 0};
        pipes[n] = &err;
        tails[n++] = &w.err;
      }
      if (poll(fds, n, -1) < 0) {
        if (errno == EINTR) continue;
        break;
      }
      for (nfds_t i = 0; i < n; ++i) {
        if (fds[i].revents == 0) continue;
        const ssize_t got = read(fds[i].fd, chunk, sizeof chunk);
        if (got > 0) {
          tails[i]->append(std::string_view(chunk, static_cast<std::size_t>(got)));
        } else if (got == 0 || errno != EINTR) {
          pipes[i]->read.reset();
        }
      }
    }
    int status = 0;
    pid_t got = -1;
    do {
      got = waitpid(pid, &status, 0);
    } while (got < 0 && errno == EINTR);
    return got == pid && WIFEXITED(status) && WEXITSTATUS(status) == 0 ? Outcome::ok : Outcome::non_zero;
  }

  Outcome launch_run_process(Worker& w) {
    edgerun::port::SpawnRequest request;
    request.program = opt_.program.c_str();
    request.argv = argv_.data();
    request.envp = w.envp.data();
    const edgerun::port::ProcessResult ended =
        edgerun::port::run_process(request, w.out, w.err, [] { return false; });
    if (ended.end == edgerun::port::ProcessEnd::spawn_failed) {
      report_spawn_error(ended.spawn_errno);
      return Outcome::spawn_failed;
    }
    return ended.end == edgerun::port::ProcessEnd::exited && ended.exit_code == 0 ? Outcome::ok : Outcome::non_zero;
  }

  void report_spawn_error(int err) {
    // Once: a failing spawn usually fails every time.
    if (!spawn_error_reported_.exchange(true)) {
      std::fprintf(stderr, "edgerun_exec_launcher: cannot start %s: %s\n", opt_.program.c_str(), std::strerror(err));
    }
  }

  const Options& opt_;
  std::vector<const char*> argv_;
  std::string type_var_, path_var_;
  std::atomic<bool> spawn_error_reported_{false};
};

// User + system CPU of this process (all threads) and of its reaped children,
// in seconds.
struct CpuSample {
  double self_s = 0, children_s = 0;
};

double seconds(const timeval& user, const timeval& sys) {
  return static_cast<double>(user.tv_sec + sys.tv_sec) + static_cast<double>(user.tv_usec + sys.tv_usec) * 1e-6;
}

CpuSample cpu_now() {
  rusage self{}, children{};
  getrusage(RUSAGE_SELF, &self);
  getrusage(RUSAGE_CHILDREN, &children);
  return {seconds(self.ru_utime, self.ru_stime), seconds(children.ru_utime, children.ru_stime)};
}

// The measured window's two ends, taken by the barrier's completion step
// (one thread, while all the others wait in the barrier).
struct Window {
  int phase = 0;  // completions so far: 1 = start taken, 2 = end taken
  Clock::time_point start_at{}, end_at{};
  CpuSample start_cpu{}, end_cpu{};
  void operator()() noexcept {
    if (phase == 0) {
      start_cpu = cpu_now();
      start_at = Clock::now();
    } else {
      end_at = Clock::now();
      end_cpu = cpu_now();
    }
    ++phase;
  }
};

}  // namespace

int main(int argc, char** argv) {
  const std::optional<Options> parsed = parse_args(argc, argv);
  if (!parsed) return kExitUsage;
  const Options& opt = *parsed;
  edgerun::port::ignore_sigpipe();

  Launcher launcher(opt);
  const auto workers = static_cast<std::size_t>(opt.workers);
  std::vector<Worker> scratch(workers);
  for (Worker& w : scratch) w.envp.reserve(4);

  // Jobs are taken from two shared counters, so a slow child on one thread
  // does not leave the others idle: at most W children run at any time, and
  // W do while there are launches left, as on edgerund's worker pool.
  std::atomic<long long> next_warmup{0}, next_measured{0};
  // Non-zero exits of the warm-up and of the measured launches.
  std::atomic<long long> warmup_non_zero{0}, non_zero{0}, spawn_failed{0};
  Window window;
  std::barrier sync(static_cast<std::ptrdiff_t>(workers), std::ref(window));

  auto body = [&](Worker& w) {
    auto run = [&](std::atomic<long long>& next, long long total, long long base, std::atomic<long long>& failed) {
      for (long long i = next.fetch_add(1); i < total && spawn_failed.load() == 0; i = next.fetch_add(1)) {
        switch (launcher.launch(w, base + i)) {
          case Outcome::ok: break;
          case Outcome::non_zero: failed.fetch_add(1); break;
          case Outcome::spawn_failed: spawn_failed.fetch_add(1); break;
        }
      }
    };
    run(next_warmup, opt.warmup, 0, warmup_non_zero);
    sync.arrive_and_wait();  // all warmed up: the window starts
    run(next_measured, opt.launches, opt.warmup, non_zero);
    sync.arrive_and_wait();  // all done: the window ends
  };

  std::vector<std::thread> threads;
  threads.reserve(workers);
  {
    // Threads inherit the creator's mask: block the termination signals
    // around their creation, as port::spawn_named_thread does for edgerund's
    // workers, then restore ours.
    sigset_t saved;
    pthread_sigmask(SIG_SETMASK, nullptr, &saved);
    edgerun::port::block_termination_signals_in_this_thread();
    for (Worker& w : scratch) threads.emplace_back(body, std::ref(w));
    pthread_sigmask(SIG_SETMASK, &saved, nullptr);
  }
  for (std::thread& t : threads) t.join();

  if (spawn_failed.load() != 0) {
    std::fprintf(stderr, "edgerun_exec_launcher: %lld launch(es) failed to start\n", spawn_failed.load());
    return kExitSpawnFailed;
  }
  const double elapsed_s = std::chrono::duration<double>(window.end_at - window.start_at).count();
  const double n = static_cast<double>(opt.launches);
  const double self_s = window.end_cpu.self_s - window.start_cpu.self_s;
  const double children_s = window.end_cpu.children_s - window.start_cpu.children_s;
  const double rate = elapsed_s > 0 ? n / elapsed_s : 0.0;
  const double cpu_us = (self_s + children_s) * 1e6 / n;
  const char* wait_name = opt.wait == Wait::direct ? "direct" : "run-process";

  std::fprintf(opt.json ? stderr : stdout,
               "edgerun_exec_launcher: %s x %lld (workers %lld, warmup %lld, wait %s) in %.3f s: %.0f launches/s; "
               "CPU us/launch %.1f (self %.1f, children %.1f); non-zero exits %lld (+ %lld in the warm-up)\n",
               opt.program.c_str(), opt.launches, opt.workers, opt.warmup, wait_name, elapsed_s, rate, cpu_us,
               self_s * 1e6 / n, children_s * 1e6 / n, non_zero.load(), warmup_non_zero.load());
  if (opt.json) {
    // Named like edgerun_e2e_bench's fields, so run.sh summarizes both alike.
    std::printf(
        "{\"program\":\"%s\",\"wait\":\"%s\",\"jobs\":%lld,\"workers\":%lld,\"warmup\":%lld,\"elapsed_s\":%.6f,"
        "\"jobs_per_s\":%.3f,\"cpu_us_per_job\":%.3f,\"self_cpu_s\":%.6f,\"children_cpu_s\":%.6f,"
        "\"non_succeeded\":%lld}\n",
        opt.program.c_str(), wait_name, opt.launches, opt.workers, opt.warmup, elapsed_s, rate, cpu_us, self_s,
        children_s, non_zero.load());
  }
  std::fflush(stdout);
  return non_zero.load() + warmup_non_zero.load() == 0 ? kExitOk : kExitNonZero;
}

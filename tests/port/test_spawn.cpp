#include "edgerun/port/signal.hpp"
#include "edgerun/port/spawn.hpp"

#include <fcntl.h>
#include <gtest/gtest.h>
#include <pthread.h>
#include <signal.h>
#include <stdlib.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <cstdio>
#include <fstream>
#include <initializer_list>
#include <string>
#include <thread>
#include <vector>

namespace port = edgerun::port;
using namespace std::chrono_literals;

namespace {

// PATH is only for the tools that the /bin/sh scripts below call.
const char* const test_env[] = {"PATH=/usr/bin:/bin", nullptr};

// A stop check that turns true after a long time, so that a broken
// run_process cannot hang a test that expects the program to end on its own.
std::function<bool()> safety_stop() {
  const auto give_up = std::chrono::steady_clock::now() + 20s;
  return [give_up] { return std::chrono::steady_clock::now() >= give_up; };
}

struct Outcome {
  port::ProcessResult result;
  std::string out;
  std::string err;
};

class Spawn : public testing::Test {
 protected:
  port::SizedOutputTail<4096> out;
  port::SizedOutputTail<4096> err;

  Outcome run(std::vector<const char*> argv, const std::function<bool()>& should_stop,
          std::chrono::milliseconds grace = 5000ms, const char* cwd = nullptr,
          const char* const* envp = test_env) {
    const char* program = argv.front();
    argv.push_back(nullptr);
    const port::SpawnRequest request{program, argv.data(), envp, cwd, grace};
    const port::ProcessResult result = port::run_process(request, out, err, should_stop);
    return {result, std::string(out.text()), std::string(err.text())};
  }

  Outcome run(std::vector<const char*> argv) { return run(std::move(argv), safety_stop()); }

  void TearDown() override {
    // Every child was reaped: the process has none left (waitid without
    // reaping, so that the check itself takes nobody's child).
    siginfo_t info{};
    EXPECT_EQ(waitid(P_ALL, 0, &info, WEXITED | WNOHANG | WNOWAIT), -1);
    EXPECT_EQ(errno, ECHILD) << "a child is left over";
  }
};

void expect_exited(const Outcome& r, int code) {
  EXPECT_EQ(r.result.end, port::ProcessEnd::exited);
  EXPECT_EQ(r.result.exit_code, code);
  EXPECT_FALSE(r.result.stopped);
}

void expect_spawn_failed(const Outcome& r, int error) {
  EXPECT_EQ(r.result.end, port::ProcessEnd::spawn_failed);
  EXPECT_EQ(r.result.spawn_errno, error);
  EXPECT_FALSE(r.result.stopped);
}

void expect_signaled(const Outcome& r, int sig) {
  EXPECT_EQ(r.result.end, port::ProcessEnd::signaled);
  EXPECT_EQ(r.result.signal, sig);
  EXPECT_TRUE(r.result.stopped);
}

// True while pid exists and is not a zombie waiting for init to reap it (it
// is not our child, so we cannot).
bool is_running(pid_t pid) {
  std::ifstream stat("/proc/" + std::to_string(pid) + "/stat");
  std::string line;
  if (!std::getline(stat, line)) {
    return false;
  }
  // "pid (comm) S ...": the state follows the last ')', as comm may hold one.
  const auto close = line.rfind(')');
  return close != std::string::npos && close + 2 < line.size() && line[close + 2] != 'Z';
}

// True once pid no longer runs; polls for at most 10 s.
bool ends_soon(pid_t pid) {
  const auto give_up = std::chrono::steady_clock::now() + 10s;
  while (std::chrono::steady_clock::now() < give_up) {
    if (!is_running(pid)) {
      return true;
    }
    std::this_thread::sleep_for(10ms);
  }
  return false;
}

pid_t first_line_as_pid(const std::string& text) { return static_cast<pid_t>(std::stol(text)); }

}  // namespace

// --- OutputTail -------------------------------------------------------------

TEST(OutputTail, KeepsEverythingUntilFull) {
  port::SizedOutputTail<8> tail;
  tail.append("abc");
  tail.append("");
  tail.append("de");
  EXPECT_EQ(tail.text(), "abcde");
  EXPECT_EQ(tail.total_bytes(), 5U);
  EXPECT_EQ(tail.cut_bytes(), 0U);
}

TEST(OutputTail, KeepsTheLastBytesAcrossWraps) {
  // Compare with a plain string model for appends of every size around the
  // capacity, reading text() in between (which rotates the ring) or not.
  constexpr std::size_t cap = 7;
  for (std::size_t step = 1; step <= 2 * cap + 1; ++step) {
    port::SizedOutputTail<cap> tail;
    std::string all;
    for (int i = 0; i < 20; ++i) {
      std::string piece;
      for (std::size_t j = 0; j < step; ++j) {
        piece.push_back(static_cast<char>('a' + (all.size() + j) % 26));
      }
      tail.append(piece);
      all += piece;
      if (i % 3 == 0) {
        continue;
      }
      const std::string want = all.substr(all.size() > cap ? all.size() - cap : 0);
      ASSERT_EQ(tail.text(), want) << "step " << step << " append " << i;
      ASSERT_EQ(tail.total_bytes(), all.size());
      ASSERT_EQ(tail.cut_bytes(), all.size() - want.size());
    }
  }
}

TEST(OutputTail, ZeroCapacityOnlyCounts) {
  port::OutputTail tail({});
  tail.append("hello");
  EXPECT_EQ(tail.text(), "");
  EXPECT_EQ(tail.total_bytes(), 5U);
  EXPECT_EQ(tail.cut_bytes(), 5U);
}

TEST(OutputTail, ClearStartsOver) {
  char buffer[4];
  port::OutputTail tail(buffer);
  tail.append("abcdef");
  tail.clear();
  EXPECT_EQ(tail.text(), "");
  EXPECT_EQ(tail.total_bytes(), 0U);
  tail.append("xy");
  EXPECT_EQ(tail.text(), "xy");
}

// --- run_process: ending normally ------------------------------------------

TEST_F(Spawn, ReportsExitCodes) {
  expect_exited(run({"/bin/true"}), 0);
  expect_exited(run({"/bin/false"}), 1);
  expect_exited(run({"/bin/sh", "-c", "exit 3"}), 3);
}

TEST_F(Spawn, CapturesStdoutAndStderrSeparately) {
  const Outcome r = run({"/bin/sh", "-c", "printf to-out; printf to-err >&2; /bin/echo more"});
  expect_exited(r, 0);
  EXPECT_EQ(r.out, "to-outmore\n");
  EXPECT_EQ(r.err, "to-err");
}

TEST_F(Spawn, PassesArgvAsIs) {
  // No shell in between: quotes, spaces and $ reach the program untouched.
  const Outcome r = run({"/bin/echo", "a  b", "$HOME", "'q'"});
  expect_exited(r, 0);
  EXPECT_EQ(r.out, "a  b $HOME 'q'\n");
}

TEST_F(Spawn, StdinIsDevNull) {
  // Give this process a stdin that never ends, so that a child inheriting it
  // would make cat wait until the stop check ends it.
  int never_ends[2];
  ASSERT_EQ(pipe(never_ends), 0);
  const int saved_stdin = dup(STDIN_FILENO);
  ASSERT_GE(saved_stdin, 0);
  ASSERT_EQ(dup2(never_ends[0], STDIN_FILENO), STDIN_FILENO);
  const auto give_up = std::chrono::steady_clock::now() + 5s;
  const Outcome r = run({"/bin/sh", "-c", "cat; echo done"},
                        [give_up] { return std::chrono::steady_clock::now() >= give_up; });
  dup2(saved_stdin, STDIN_FILENO);
  close(saved_stdin);
  close(never_ends[0]);
  close(never_ends[1]);
  expect_exited(r, 0);
  EXPECT_EQ(r.out, "done\n");
}

TEST_F(Spawn, KeepsTheExactTailOfLongOutput) {
  port::SizedOutputTail<1024> small;
  const char* const argv[] = {"/bin/sh", "-c", "head -c 100000 /dev/zero | tr '\\0' a; printf END", nullptr};
  const port::SpawnRequest request{argv[0], argv, test_env};
  const port::ProcessResult result = port::run_process(request, small, err, safety_stop());
  EXPECT_EQ(result.end, port::ProcessEnd::exited);
  EXPECT_EQ(result.exit_code, 0);
  EXPECT_EQ(small.text(), std::string(1021, 'a') + "END");
  EXPECT_EQ(small.total_bytes(), 100003U);
  EXPECT_EQ(small.cut_bytes(), 100003U - 1024U);
  EXPECT_EQ(err.total_bytes(), 0U);
}

TEST_F(Spawn, EnvpIsTheWholeEnvironment) {
  const char* const env[] = {"ONLY=this", "AND=that one", nullptr};
  const Outcome r = run({"/usr/bin/env"}, safety_stop(), 5000ms, nullptr, env);
  expect_exited(r, 0);
  EXPECT_EQ(r.out, "ONLY=this\nAND=that one\n");
}

TEST_F(Spawn, AppliesTheWorkingDirectory) {
  char dir_template[] = "/tmp/edgerun-spawn-XXXXXX";
  const char* dir = mkdtemp(dir_template);
  ASSERT_NE(dir, nullptr);
  char* real = realpath(dir, nullptr);
  ASSERT_NE(real, nullptr);
  const Outcome r = run({"/bin/pwd"}, safety_stop(), 5000ms, dir);
  expect_exited(r, 0);
  EXPECT_EQ(r.out, std::string(real) + "\n");
  free(real);
  rmdir(dir);
}

TEST_F(Spawn, DoesNotWaitForABackgroundChildHoldingThePipe) {
  // The shell exits at once; its background sleep keeps stdout open for 30 s.
  const Outcome r = run({"/bin/sh", "-c", "/bin/sleep 30 & echo $!"});
  expect_exited(r, 0);
  ASSERT_FALSE(r.out.empty());
  const pid_t sleeper = first_line_as_pid(r.out);
  // run_process returned while the pipe was still held open.
  EXPECT_TRUE(is_running(sleeper));
  EXPECT_EQ(kill(sleeper, SIGKILL), 0);  // Left running by contract; clean up.
  EXPECT_TRUE(ends_soon(sleeper));
}

// --- run_process: descriptors ----------------------------------------------

TEST_F(Spawn, ChildGetsOnlyStdinStdoutAndStderr) {
  // Descriptors this process holds without close-on-exec, as libmosquitto's
  // socket is: a low one, and a copy far above it (the issue saw fd 251).
  const int low = socket(AF_UNIX, SOCK_STREAM, 0);
  ASSERT_GT(low, STDERR_FILENO);
  const int high = fcntl(low, F_DUPFD, 200);
  if (high < 0) close(low);
  ASSERT_GE(high, 200);
  // The shell lists its own descriptors through a forked ls (the `exit`
  // after it keeps the shell from exec'ing ls in its place, so the listing
  // is of the shell, not of ls and the directory it has open). A shell run
  // with -c and no redirections opens nothing itself, so the listing is
  // exactly what run_process left open in the child.
  const Outcome r = run({"/bin/sh", "-c", "/bin/ls /proc/$$/fd; exit $?"});
  close(high);
  close(low);
  expect_exited(r, 0);
  EXPECT_EQ(r.out, "0\n1\n2\n") << "the test's descriptors were " << low << " and " << high;
  EXPECT_EQ(r.err, "");
}

// --- run_process: failing to start ------------------------------------------

TEST_F(Spawn, MissingProgramFailsWithEnoent) {
  expect_spawn_failed(run({"/nonexistent/program"}), ENOENT);
}

TEST_F(Spawn, ProgramThatIsNotExecutableFailsWithEacces) {
  expect_spawn_failed(run({"/etc/passwd"}), EACCES);
}

TEST_F(Spawn, BadWorkingDirectoryFails) {
  expect_spawn_failed(run({"/bin/true"}, safety_stop(), 5000ms, "/nonexistent/dir"), ENOENT);
  expect_spawn_failed(run({"/bin/true"}, safety_stop(), 5000ms, "/etc/passwd"), ENOTDIR);
}

TEST_F(Spawn, RelativeProgramIsRefused) {
  expect_spawn_failed(run({"true"}), EINVAL);
  expect_spawn_failed(run({"bin/true"}), EINVAL);
}

// --- run_process: stopping --------------------------------------------------

TEST_F(Spawn, StopSendsSigterm) {
  // posix_spawn returns after the exec, so the first call is already "after
  // the process started".
  const Outcome r = run({"/bin/sleep", "30"}, [] { return true; });
  expect_signaled(r, SIGTERM);
}

TEST_F(Spawn, StopCheckThatStaysFalseLetsTheProgramFinish) {
  const Outcome r = run({"/bin/sh", "-c", "echo hi"}, [] { return false; });
  expect_exited(r, 0);
  EXPECT_EQ(r.out, "hi\n");
}

TEST_F(Spawn, SigkillsTheWholeGroupAfterTheGrace) {
  // Both the shell and its sleep ignore SIGTERM (an ignored signal stays
  // ignored across fork and exec), so only SIGKILL to the group ends them.
  const Outcome r = run({"/bin/sh", "-c", "trap '' TERM; /bin/sleep 30 & echo $!; wait"},
                    [this] { return out.text().find('\n') != std::string_view::npos; }, 200ms);
  expect_signaled(r, SIGKILL);
  ASSERT_FALSE(r.out.empty());
  EXPECT_TRUE(ends_soon(first_line_as_pid(r.out)));
}

TEST_F(Spawn, StopEndsGroupMembersThatOutliveTheProgram) {
  // The shell dies of SIGTERM at once, but the sleep ignores it and holds
  // the pipe; it must not outlive the stopped job, long grace or not. The
  // pid is printed only once SIGTERM is ignored, so the stop cannot come
  // before that.
  const Outcome r = run({"/bin/sh", "-c", "(trap '' TERM; exec /bin/sh -c 'echo $$; exec /bin/sleep 30') & wait"},
                    [this] { return out.text().find('\n') != std::string_view::npos; }, 20000ms);
  expect_signaled(r, SIGTERM);
  ASSERT_FALSE(r.out.empty());
  EXPECT_TRUE(ends_soon(first_line_as_pid(r.out)));
}

// --- run_process: the child's signal state ----------------------------------

TEST_F(Spawn, SignalsBlockedInTheCallerAreNotBlockedInTheChild) {
  // Outcome from a thread that blocks SIGTERM, as worker threads do.
  Outcome r;
  std::thread worker([&] {
    sigset_t term;
    sigemptyset(&term);
    sigaddset(&term, SIGTERM);
    ASSERT_EQ(pthread_sigmask(SIG_BLOCK, &term, nullptr), 0);
    r = run({"/bin/sleep", "30"}, [] { return true; }, 20000ms);
  });
  worker.join();
  // With SIGTERM still blocked, the sleep would live on until the SIGKILL.
  expect_signaled(r, SIGTERM);
}

TEST_F(Spawn, ChildStartsWithEmptyMaskAndDefaultDispositions) {
  // The runtime's state: termination signals blocked on the worker and
  // SIGPIPE ignored process-wide. The child's /proc status shows its own.
  struct sigaction saved {};
  ASSERT_EQ(sigaction(SIGPIPE, nullptr, &saved), 0);
  port::ignore_sigpipe();
  Outcome r;
  std::thread worker([&] {
    port::block_termination_signals_in_this_thread();
    r = run({"/bin/grep", "-E", "^Sig(Blk|Ign):", "/proc/self/status"});
  });
  worker.join();
  ASSERT_EQ(sigaction(SIGPIPE, &saved, nullptr), 0);

  expect_exited(r, 0);
  unsigned long long blocked = ~0ULL;
  unsigned long long ignored = ~0ULL;
  ASSERT_EQ(std::sscanf(r.out.c_str(), "SigBlk: %llx SigIgn: %llx", &blocked, &ignored), 2) << r.out;
  EXPECT_EQ(blocked, 0U);
  // The launcher of the test may ignore others (nohup, a background job), so
  // check only the ones run_process resets.
  for (const int sig : {SIGPIPE, SIGTERM, SIGINT, SIGHUP, SIGQUIT, SIGCHLD}) {
    EXPECT_EQ(ignored & (1ULL << (sig - 1)), 0U) << "signal " << sig << " is ignored";
  }
}

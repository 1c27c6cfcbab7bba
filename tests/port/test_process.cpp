#include "edgerun/port/process.hpp"

#include <fcntl.h>
#include <gtest/gtest.h>
#include <grp.h>
#include <poll.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <string>

namespace port = edgerun::port;

namespace {

// The user a root test process switches its children to: another process of
// root is readable by root whatever the flag says, so the check needs a user
// without privileges.
constexpr uid_t nobody = 65534;
// The longest wait for a child to report.
constexpr int report_timeout_ms = 10000;

// What a child writes to the parent once it is set up.
enum Report : char { ready = 'r', cannot_switch_user = 'u', cannot_set_dumpable = 'd', port_failed = 'p' };

// A forked child that sets itself up, reports, and then waits, so that the
// parent can look at its /proc entry while it runs. It is killed and reaped
// on every path.
class HeldChild {
 public:
  // make_undumpable: whether the child calls the port function.
  explicit HeldChild(bool make_undumpable) {
    int report[2];
    int hold[2];
    if (pipe2(report, O_CLOEXEC) != 0) return;
    if (pipe2(hold, O_CLOEXEC) != 0) {
      close(report[0]);
      close(report[1]);
      return;
    }
    pid_ = fork();
    if (pid_ == 0) {
      // Only async-signal-safe calls from here on: the test process may have
      // had other threads when it forked.
      close(report[0]);
      close(hold[1]);
      char verdict = ready;
      if (geteuid() == 0 && (setgroups(0, nullptr) != 0 || setresgid(nobody, nobody, nobody) != 0 ||
                             setresuid(nobody, nobody, nobody) != 0)) {
        verdict = cannot_switch_user;
      } else if (prctl(PR_SET_DUMPABLE, 1, 0, 0, 0) != 0) {
        // Changing the uid made the child undumpable (the kernel applies
        // fs.suid_dumpable on a change of credentials), so undo that: from
        // here on the child is what a daemon started as that user is.
        verdict = cannot_set_dumpable;
      } else if (make_undumpable && port::make_process_undumpable() != 0) {
        verdict = port_failed;
      }
      (void)write(report[1], &verdict, 1);
      // Returns at EOF, when the parent closes its end or dies.
      char byte;
      (void)read(hold[0], &byte, 1);
      _exit(0);
    }
    close(report[1]);
    close(hold[0]);
    report_ = report[0];
    hold_ = hold[1];
    if (pid_ < 0) {
      close(report_);
      report_ = -1;
    }
  }
  HeldChild(const HeldChild&) = delete;
  HeldChild& operator=(const HeldChild&) = delete;
  ~HeldChild() {
    if (pid_ > 0) {
      (void)kill(pid_, SIGKILL);
      (void)waitpid(pid_, nullptr, 0);  // SIGKILL ends it promptly.
    }
    if (report_ >= 0) close(report_);
    if (hold_ >= 0) close(hold_);
  }

  // The child's report, or 0 when it sent none within the timeout.
  char wait_report() const {
    if (report_ < 0) return 0;
    pollfd p{report_, POLLIN, 0};
    char verdict = 0;
    if (poll(&p, 1, report_timeout_ms) == 1 && read(report_, &verdict, 1) == 1) return verdict;
    return 0;
  }

  pid_t pid() const { return pid_; }

  // The owner of /proc/<pid>/environ, or -1 when it cannot be read.
  long environ_owner() const {
    struct stat st {};
    const std::string path = "/proc/" + std::to_string(pid_) + "/environ";
    if (stat(path.c_str(), &st) != 0) return -1;
    return static_cast<long>(st.st_uid);
  }

 private:
  pid_t pid_ = -1;
  int report_ = -1;
  int hold_ = -1;
};

}  // namespace

TEST(Process, UndumpableHidesEnvironAndMemoryFromTheSameUser) {
  // The kernel makes the /proc files of an undumpable process owned by root,
  // which is what keeps another process of the same user from opening them;
  // a dumpable process's files belong to its own user.
  const uid_t user = geteuid() == 0 ? nobody : geteuid();
  HeldChild control(false);
  HeldChild undumpable(true);
  ASSERT_GT(control.pid(), 0) << std::strerror(errno);
  ASSERT_GT(undumpable.pid(), 0) << std::strerror(errno);
  const char control_report = control.wait_report();
  const char undumpable_report = undumpable.wait_report();
  if (control_report == cannot_switch_user || undumpable_report == cannot_switch_user) {
    GTEST_SKIP() << "running as root, but cannot switch a child to uid and gid " << nobody
                 << " (a user namespace that does not map it?)";
  }
  ASSERT_EQ(control_report, ready);
  ASSERT_EQ(undumpable_report, ready) << "'p': the port function failed; 'd': prctl failed; 0: no report";
  EXPECT_EQ(control.environ_owner(), static_cast<long>(user));
  EXPECT_EQ(undumpable.environ_owner(), 0L);
}

// What an exec job's program can reach of edgerund: a real broker, the real
// daemon, a probe submitting jobs. The program runs as the daemon's user, so
// it must get neither the daemon's descriptors (its MQTT socket would let it
// publish as the device) nor its environment and memory through /proc.
#include <gtest/gtest.h>

#include <sys/stat.h>
#include <unistd.h>

#include <filesystem>
#include <string>

#include "daemon_fixture.hpp"

namespace edgerun::test {
namespace {

// The user a root test runs the daemon as: root may read any process's
// /proc files, so only a daemon of another user shows the difference.
constexpr uid_t nobody = 65534;

using EdgerundExecIsolationTest = DaemonTest;

TEST_F(EdgerundExecIsolationTest, ExecProgramGetsOnlyStdinStdoutAndStderr) {
  // Connected: the daemon's MQTT socket is open while the job runs.
  start_daemon("dev-fd", [](cJSON& root) {
    // The shell lists its own descriptors through a forked ls: the `exit`
    // after it keeps the shell from exec'ing ls in its place (the listing
    // would then be of ls, with the directory it reads open). A shell run
    // with -c and no redirections opens nothing itself, so this is exactly
    // what the daemon left open in the program it started.
    add_exec_type(root, "fds", "/bin/sh", {"-c", "/bin/ls /proc/$$/fd; exit $?"});
  });
  ASSERT_TRUE(submit(probe_, dev(), "fds-1", "fds"));
  const Json status = wait_state(probe_, dev(), "fds-1", "succeeded");
  ASSERT_TRUE(status) << daemon_->process().err();
  const cJSON* result = cJSON_GetObjectItemCaseSensitive(status.get(), "result");
  EXPECT_EQ(json_string(result, "stdout"), "0\n1\n2\n");
  EXPECT_EQ(json_string(result, "stderr"), "");
}

TEST_F(EdgerundExecIsolationTest, DaemonIsNotDumpable) {
  // The kernel makes the /proc files of an undumpable process owned by root,
  // which keeps other processes of its user (its exec programs among them)
  // from reading /proc/<pid>/environ, where EDGERUN_MQTT_PASSWORD may be, and
  // /proc/<pid>/mem. A dumpable daemon's files are owned by its own user.
  const bool as_root = geteuid() == 0;
  if (as_root && EDGERUN_CROSS_BUILD) {
    GTEST_SKIP() << "runs the daemon as another user through setpriv, which cannot start a target program "
                    "under qemu-user";
  }
  if (as_root && access("/usr/bin/setpriv", X_OK) != 0) {
    GTEST_SKIP() << "runs the daemon as another user through /usr/bin/setpriv (util-linux), which is missing";
  }
  daemon_ = std::make_unique<Daemon>(broker_, "dev-dump");
  ChildProcess process;
  if (as_root) {
    // The daemon, as nobody, must be able to read its config.
    namespace fs = std::filesystem;
    const fs::path config = daemon_->config_path();
    fs::permissions(config.parent_path(), fs::perms::owner_all | fs::perms::group_read | fs::perms::group_exec |
                                              fs::perms::others_read | fs::perms::others_exec);
    fs::permissions(config, fs::perms::owner_read | fs::perms::owner_write | fs::perms::group_read |
                                fs::perms::others_read);
    // ... and to keep its journal in its state_dir.
    const fs::path state = config.parent_path() / "state";
    fs::create_directories(state);
    ASSERT_EQ(chown(state.c_str(), nobody, nobody), 0) << state;
    const std::string id = std::to_string(nobody);
    const Status started = process.start("/usr/bin/setpriv", {"--reuid=" + id, "--regid=" + id, "--clear-groups",
                                                              "--", EDGERUND_PATH, "--config", config.string()});
    ASSERT_TRUE(started) << started.message;
  } else {
    const Status started = process.start(EDGERUND_PATH, {"--config", daemon_->config_path()});
    ASSERT_TRUE(started) << started.message;
  }
  // By then main() has long run.
  ASSERT_TRUE(process.wait_for_stderr("mqtt: connected", 10s)) << process.err();

  struct stat st {};
  const std::string environ_path = "/proc/" + std::to_string(process.pid()) + "/environ";
  ASSERT_EQ(stat(environ_path.c_str(), &st), 0) << environ_path;
  EXPECT_EQ(st.st_uid, 0U) << "owned by the daemon's own user (" << (as_root ? nobody : geteuid())
                            << "): the daemon is dumpable";
}

}  // namespace
}  // namespace edgerun::test

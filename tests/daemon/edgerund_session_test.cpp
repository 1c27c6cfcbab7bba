// edgerund's MQTT session across stops and starts: what the broker keeps for
// the device while it is down, and what it must not hand it again.
#include <gtest/gtest.h>

#include <csignal>
#include <string>

#include "daemon_fixture.hpp"

namespace edgerun::test {
namespace {

using SessionTest = DaemonTest;

// SIGTERM, then a bounded wait for a clean exit.
void stop_cleanly(Daemon& daemon) {
  daemon.process().send_signal(SIGTERM);
  const ProcessResult result = daemon.process().wait(15s);
  ASSERT_FALSE(result.timed_out) << result.err;
  ASSERT_EQ(result.exit_code, 0) << result.err;
}

void restart(Daemon& daemon) {
  const Status started = daemon.start();
  ASSERT_TRUE(started) << started.message;
  ASSERT_TRUE(daemon.wait_connected()) << daemon.process().err();
}

TEST_F(SessionTest, JobsPublishedWhileTheDaemonIsStoppedRunAfterItStartsAgain) {
  start_daemon("dev-stop");
  ASSERT_NO_FATAL_FAILURE(stop_cleanly(*daemon_));

  // The daemon is gone; its persistent session keeps its subscription.
  constexpr int kJobs = 50;
  for (int i = 0; i < kJobs; ++i) {
    ASSERT_TRUE(submit(probe_, dev(), "down-" + std::to_string(i), "echo", R"({"n":)" + std::to_string(i) + "}"));
  }
  ASSERT_NO_FATAL_FAILURE(restart(*daemon_));
  for (int i = 0; i < kJobs; ++i) {
    const std::string id = "down-" + std::to_string(i);
    Json done = wait_state(probe_, dev(), id, "succeeded", 15s);
    ASSERT_TRUE(done) << id << " got no terminal status after the restart\n" << daemon_->process().err();
    EXPECT_EQ(json_number(cJSON_GetObjectItemCaseSensitive(done.get(), "result"), "n"), i);
  }
}

// With the journal, a job that arrives while the daemon drains is taken for
// after the restart: `queued` now, its run once the daemon is back.
TEST_F(SessionTest, AJobArrivingDuringTheDrainIsJournaledAndRunsAfterTheRestart) {
  start_daemon("dev-drain");
  ASSERT_TRUE(submit(probe_, dev(), "long-1", "sleep", R"({"ms":1500})"));
  ASSERT_TRUE(wait_state(probe_, dev(), "long-1", "running")) << daemon_->process().err();
  daemon_->process().send_signal(SIGTERM);
  ASSERT_TRUE(daemon_->wait_log("draining jobs")) << daemon_->process().err();

  // Still subscribed while it drains: the job is taken, not lost.
  ASSERT_TRUE(submit(probe_, dev(), "late-1", "echo", R"({"msg":"after"})"));
  ASSERT_TRUE(wait_state(probe_, dev(), "late-1", "queued")) << daemon_->process().err();
  EXPECT_TRUE(wait_state(probe_, dev(), "long-1", "succeeded")) << daemon_->process().err();
  const ProcessResult result = daemon_->process().wait(15s);
  EXPECT_EQ(result.exit_code, 0) << result.err;
  EXPECT_FALSE(probe_.wait_for_topic(daemon_->topic("jobs/late-1/status"), 200ms)) << "late-1 ran during the drain";

  ASSERT_NO_FATAL_FAILURE(restart(*daemon_));
  Json done = wait_state(probe_, dev(), "late-1", "succeeded");
  ASSERT_TRUE(done) << daemon_->process().err();
}

TEST_F(SessionTest, WithoutAJournalAJobArrivingDuringTheDrainIsRejectedShuttingDown) {
  start_daemon("dev-drain", [](cJSON& root) {
    disable_journal(root);
  });
  ASSERT_TRUE(submit(probe_, dev(), "long-1", "sleep", R"({"ms":1500})"));
  ASSERT_TRUE(wait_state(probe_, dev(), "long-1", "running")) << daemon_->process().err();
  daemon_->process().send_signal(SIGTERM);
  ASSERT_TRUE(daemon_->wait_log("draining jobs")) << daemon_->process().err();

  // Still subscribed while it drains: a job is answered, not silently lost.
  ASSERT_TRUE(submit(probe_, dev(), "late-1", "echo"));
  expect_rejected("late-1", "shutting_down");
  EXPECT_TRUE(wait_state(probe_, dev(), "long-1", "succeeded")) << daemon_->process().err();
  const ProcessResult result = daemon_->process().wait(15s);
  EXPECT_EQ(result.exit_code, 0) << result.err;
}

TEST_F(SessionTest, ARetainedSubmissionDoesNotRunAtStartOrRestart) {
  // Planted before the device ever subscribed.
  const std::string device = "dev-retained";
  ASSERT_TRUE(connect_submitter(probe_, broker_));
  ASSERT_TRUE(probe_.publish("edgerun/" + device + "/jobs/submit", R"({"v":1,"id":"planted","type":"echo"})", 1,
                             true));
  start_daemon(device);

  for (const std::string live : {"live-1", "live-2"}) {
    // Statuses go out in the order the broker delivered the jobs: had the
    // retained one been delivered at subscribe, its statuses would come
    // before those of a job submitted afterwards.
    ASSERT_TRUE(submit(probe_, dev(), live, "echo"));
    ASSERT_TRUE(wait_state(probe_, dev(), live, "succeeded")) << daemon_->process().err();
    EXPECT_FALSE(probe_.wait_for_topic(daemon_->topic("jobs/planted/status"), 200ms))
        << "the retained submission ran after " << live;
    if (live == "live-1") {
      ASSERT_NO_FATAL_FAILURE(stop_cleanly(*daemon_));
      ASSERT_NO_FATAL_FAILURE(restart(*daemon_));
    }
  }
}

}  // namespace
}  // namespace edgerun::test

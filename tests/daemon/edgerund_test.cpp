// edgerund over the wire: a real broker, the real daemon, a probe submitting
// jobs and reading what the daemon publishes (PROTOCOL.md).
#include <gtest/gtest.h>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <csignal>
#include <cstdio>
#include <map>

#include "daemon_fixture.hpp"

namespace edgerun::test {
namespace {

using EdgerundTest = DaemonTest;

TEST_F(EdgerundTest, EchoJobReportsQueuedRunningSucceededInOrder) {
  start_daemon();
  ASSERT_TRUE(submit(probe_, dev(), "echo-1", "echo", R"({"msg":"hi","n":3})"));
  Json queued = next_status(probe_, dev(), "echo-1");
  ASSERT_TRUE(queued) << daemon_->process().err();
  EXPECT_EQ(json_string(queued.get(), "state"), "queued");
  Json running = next_status(probe_, dev(), "echo-1");
  ASSERT_TRUE(running);
  EXPECT_EQ(json_string(running.get(), "state"), "running");
  Json done = next_status(probe_, dev(), "echo-1");
  ASSERT_TRUE(done);
  EXPECT_EQ(json_string(done.get(), "state"), "succeeded");
  EXPECT_EQ(json_string(done.get(), "device"), dev());
  EXPECT_EQ(json_number(done.get(), "v"), 1);
  EXPECT_TRUE(json_number(done.get(), "ts").has_value());
  const cJSON* result = cJSON_GetObjectItemCaseSensitive(done.get(), "result");
  EXPECT_EQ(json_string(result, "msg"), "hi");
  EXPECT_EQ(json_number(result, "n"), 3);
}

TEST_F(EdgerundTest, ReportProgressFalsePublishesOnlyTheTerminalState) {
  start_daemon("dev-quiet", [](cJSON& root) {
    cJSON_AddBoolToObject(cJSON_GetObjectItemCaseSensitive(&root, "jobs"), "report_progress", false);
  });
  ASSERT_TRUE(submit(probe_, dev(), "quiet-1", "echo"));
  Json first = next_status(probe_, dev(), "quiet-1");
  ASSERT_TRUE(first) << daemon_->process().err();
  EXPECT_EQ(json_string(first.get(), "state"), "succeeded");
}

TEST_F(EdgerundTest, EveryRejectionCodeGoesOverTheWire) {
  start_daemon();
  // bad_json: no id to read, so the answer goes to jobs/rejected.
  ASSERT_TRUE(probe_.publish(daemon_->topic("jobs/submit"), "{not json", 1));
  auto rejected = probe_.wait_for_topic(daemon_->topic("jobs/rejected"), 10s);
  ASSERT_TRUE(rejected) << daemon_->process().err();
  Json body = parse_json(rejected->payload);
  ASSERT_TRUE(body);
  EXPECT_EQ(json_string(body.get(), "device"), dev());
  EXPECT_EQ(json_string(cJSON_GetObjectItemCaseSensitive(body.get(), "error"), "code"), "bad_json");

  // bad_request: no type.
  ASSERT_TRUE(probe_.publish(daemon_->topic("jobs/submit"), R"({"v":1,"id":"rq-1"})", 1));
  expect_rejected("rq-1", "bad_request");
  // unknown_type.
  ASSERT_TRUE(submit(probe_, dev(), "rq-2", "reboot"));
  expect_rejected("rq-2", "unknown_type");
  // too_large: over jobs.max_payload_bytes (16384 by default).
  ASSERT_TRUE(submit(probe_, dev(), "rq-3", "echo", R"({"pad":")" + std::string(20000, 'x') + R"("})"));
  expect_rejected("rq-3", "too_large");
  // bad_version.
  ASSERT_TRUE(probe_.publish(daemon_->topic("jobs/submit"), R"({"v":2,"id":"rq-4","type":"echo"})", 1));
  expect_rejected("rq-4", "bad_version");
  // duplicate: the same id again after it finished. The answer goes to
  // jobs/rejected, never to the job's own status topic, which carries the
  // finished job's terminal status again, exactly as it was published.
  const std::string status_topic = daemon_->topic("jobs/rq-5/status");
  ASSERT_TRUE(submit(probe_, dev(), "rq-5", "echo", R"({"n":5})"));
  std::optional<MqttMessage> first;
  while (!first || first->payload.find(R"("state":"succeeded")") == std::string::npos) {
    first = probe_.wait_for_topic(status_topic);
    ASSERT_TRUE(first) << daemon_->process().err();
  }
  ASSERT_TRUE(submit(probe_, dev(), "rq-5", "echo"));
  auto duplicate = probe_.wait_for_topic(daemon_->topic("jobs/rejected"));
  ASSERT_TRUE(duplicate) << daemon_->process().err();
  Json answer = parse_json(duplicate->payload);
  EXPECT_EQ(json_string(answer.get(), "id"), "rq-5");
  EXPECT_EQ(json_string(answer.get(), "state"), "rejected");
  EXPECT_EQ(json_string(cJSON_GetObjectItemCaseSensitive(answer.get(), "error"), "code"), "duplicate");
  auto again = probe_.wait_for_topic(status_topic);
  ASSERT_TRUE(again) << "the stored status was not published again\n" << daemon_->process().err();
  EXPECT_EQ(again->payload, first->payload);
}

TEST_F(EdgerundTest, QueueFullWithATinyQueueAndNoJournal) {
  start_daemon("dev-small", [](cJSON& root) {
    cJSON_ReplaceItemInObjectCaseSensitive(&root, "workers", cJSON_CreateNumber(1));
    set_int(root, "jobs", "queue_capacity", 1);
    disable_journal(root);
  });
  ASSERT_TRUE(submit(probe_, dev(), "qf-1", "sleep", R"({"ms":20000})"));
  ASSERT_TRUE(wait_state(probe_, dev(), "qf-1", "running")) << daemon_->process().err();
  ASSERT_TRUE(submit(probe_, dev(), "qf-2", "sleep", R"({"ms":20000})"));
  ASSERT_TRUE(wait_state(probe_, dev(), "qf-2", "queued"));
  ASSERT_TRUE(submit(probe_, dev(), "qf-3", "sleep", R"({"ms":1})"));
  expect_rejected("qf-3", "queue_full");
  // Cancel both: a queued job and a running one end canceled.
  ASSERT_TRUE(probe_.publish(daemon_->topic("jobs/cancel"), R"({"id":"qf-2"})", 1));
  ASSERT_TRUE(probe_.publish(daemon_->topic("jobs/cancel"), R"({"id":"qf-1"})", 1));
  EXPECT_TRUE(wait_state(probe_, dev(), "qf-2", "canceled"));
  EXPECT_TRUE(wait_state(probe_, dev(), "qf-1", "canceled"));
}

// With the journal, jobs beyond the queue wait in it (its backlog), up to
// journal.max_pending; only past that is a job refused queue_full. They
// keep their order, and a cancel or a free worker reaches them.
TEST_F(EdgerundTest, JobsBeyondTheQueueWaitInTheJournalUpToMaxPending) {
  start_daemon("dev-small", [](cJSON& root) {
    cJSON_ReplaceItemInObjectCaseSensitive(&root, "workers", cJSON_CreateNumber(1));
    set_int(root, "jobs", "queue_capacity", 1);
    set_int(root, "journal", "max_pending", 5);
  });
  ASSERT_TRUE(submit(probe_, dev(), "bk-1", "sleep", R"({"ms":20000})"));
  ASSERT_TRUE(wait_state(probe_, dev(), "bk-1", "running")) << daemon_->process().err();
  ASSERT_TRUE(submit(probe_, dev(), "bk-2", "sleep", R"({"ms":20000})"));
  ASSERT_TRUE(wait_state(probe_, dev(), "bk-2", "queued"));
  // Past the queue of one: the journal's backlog.
  ASSERT_TRUE(submit(probe_, dev(), "bk-3", "sleep", R"({"ms":20000})"));
  ASSERT_TRUE(wait_state(probe_, dev(), "bk-3", "queued"));
  // Jobs of the workers (echo runs on the loop, past any queue); a sleep
  // without its params fails, so success says they were read back.
  ASSERT_TRUE(submit(probe_, dev(), "bk-4", "sleep", R"({"ms":1})"));
  ASSERT_TRUE(wait_state(probe_, dev(), "bk-4", "queued"));
  ASSERT_TRUE(submit(probe_, dev(), "bk-5", "sleep", R"({"ms":2})"));
  ASSERT_TRUE(wait_state(probe_, dev(), "bk-5", "queued"));
  // Five pending: the sixth is refused.
  ASSERT_TRUE(submit(probe_, dev(), "bk-6", "sleep", R"({"ms":1})"));
  expect_rejected("bk-6", "queue_full");
  // A job in the backlog is canceled at once, without waiting for room.
  ASSERT_TRUE(probe_.publish(daemon_->topic("jobs/cancel"), R"({"id":"bk-3"})", 1));
  EXPECT_TRUE(wait_state(probe_, dev(), "bk-3", "canceled"));
  // Room frees: the backlog runs, in order, its params read back from the
  // journal.
  ASSERT_TRUE(probe_.publish(daemon_->topic("jobs/cancel"), R"({"id":"bk-2"})", 1));
  ASSERT_TRUE(probe_.publish(daemon_->topic("jobs/cancel"), R"({"id":"bk-1"})", 1));
  Json fourth = wait_state(probe_, dev(), "bk-4", "succeeded");
  ASSERT_TRUE(fourth) << daemon_->process().err();
  Json fifth = wait_state(probe_, dev(), "bk-5", "succeeded");
  ASSERT_TRUE(fifth) << daemon_->process().err();
  // One worker: the older one ran first.
  EXPECT_LE(json_number(fourth.get(), "ts").value_or(1), json_number(fifth.get(), "ts").value_or(0));
}

TEST_F(EdgerundTest, CancelOfARunningSleepJobEndsCanceled) {
  start_daemon();
  ASSERT_TRUE(submit(probe_, dev(), "cx-1", "sleep", R"({"ms":30000})"));
  ASSERT_TRUE(wait_state(probe_, dev(), "cx-1", "running")) << daemon_->process().err();
  ASSERT_TRUE(probe_.publish(daemon_->topic("jobs/cancel"), R"({"id":"cx-1"})", 1));
  Json status = next_status(probe_, dev(), "cx-1");
  ASSERT_TRUE(status);
  EXPECT_EQ(json_string(status.get(), "state"), "canceled");
}

TEST_F(EdgerundTest, TimeoutEndsTimedOut) {
  start_daemon();
  ASSERT_TRUE(submit(probe_, dev(), "to-1", "sleep", R"({"ms":30000})", R"("timeout_ms":200)"));
  ASSERT_TRUE(wait_state(probe_, dev(), "to-1", "running")) << daemon_->process().err();
  Json status = next_status(probe_, dev(), "to-1");
  ASSERT_TRUE(status);
  EXPECT_EQ(json_string(status.get(), "state"), "timed_out");
}

TEST_F(EdgerundTest, SleepWithBadMsFailsHandlerError) {
  start_daemon();
  ASSERT_TRUE(submit(probe_, dev(), "bad-ms", "sleep", R"({"ms":"soon"})"));
  Json status = wait_state(probe_, dev(), "bad-ms", "failed");
  ASSERT_TRUE(status) << daemon_->process().err();
  EXPECT_EQ(json_string(cJSON_GetObjectItemCaseSensitive(status.get(), "error"), "code"), "handler_error");
}

TEST_F(EdgerundTest, SleepOfZeroMsSucceedsAtOnce) {
  start_daemon();
  ASSERT_TRUE(submit(probe_, dev(), "zero-ms", "sleep", R"({"ms":0})"));
  Json status = wait_state(probe_, dev(), "zero-ms", "succeeded");
  ASSERT_TRUE(status) << daemon_->process().err();
  const cJSON* slept = cJSON_GetObjectItemCaseSensitive(cJSON_GetObjectItemCaseSensitive(status.get(), "result"), "slept_ms");
  ASSERT_TRUE(cJSON_IsNumber(slept));
  EXPECT_EQ(slept->valuedouble, 0);
}

TEST_F(EdgerundTest, SysinfoJobReturnsTheDeviceDescription) {
  start_daemon();
  ASSERT_TRUE(submit(probe_, dev(), "si-1", "sysinfo"));
  Json status = wait_state(probe_, dev(), "si-1", "succeeded");
  ASSERT_TRUE(status) << daemon_->process().err();
  const cJSON* result = cJSON_GetObjectItemCaseSensitive(status.get(), "result");
  EXPECT_FALSE(json_string(result, "hostname").empty());
  EXPECT_GE(json_number(result, "cpu_count").value_or(0), 1);
}

TEST_F(EdgerundTest, RetainedOnlinePresenceThenWillAfterSigkill) {
  start_daemon();
  // A late subscriber gets the retained presence.
  MqttProbe late;
  ASSERT_TRUE(late.connect(broker_));
  ASSERT_TRUE(late.subscribe(daemon_->topic("status"), 1));
  auto presence = late.wait_for_message([](const MqttMessage& m) { return m.payload.find("\"online\"") != std::string::npos; }, 10s);
  ASSERT_TRUE(presence) << daemon_->process().err();
  EXPECT_TRUE(presence->retain);
  Json body = parse_json(presence->payload);
  ASSERT_TRUE(body);
  EXPECT_EQ(json_string(body.get(), "device"), dev());
  EXPECT_FALSE(json_string(body.get(), "version").empty());
  EXPECT_TRUE(json_number(body.get(), "started_at").has_value());
  const cJSON* sysinfo = cJSON_GetObjectItemCaseSensitive(body.get(), "sysinfo");
  for (const char* key : {"hostname", "os", "release", "arch"}) EXPECT_FALSE(json_string(sysinfo, key).empty()) << key;
  for (const char* key : {"cpu_count", "mem_total", "mem_available", "uptime_s"}) {
    EXPECT_TRUE(json_number(sysinfo, key).has_value()) << key;
  }
  const cJSON* handlers = cJSON_GetObjectItemCaseSensitive(body.get(), "handlers");
  ASSERT_TRUE(cJSON_IsArray(handlers));
  std::string names;
  const cJSON* item = nullptr;
  cJSON_ArrayForEach(item, handlers) names += std::string(item->valuestring) + ",";
  EXPECT_EQ(names, "echo,sleep,sysinfo,");
  // The journal's chain head, for an auditor to save.
  const cJSON* journal = cJSON_GetObjectItemCaseSensitive(body.get(), "journal");
  EXPECT_GE(json_number(journal, "sequence").value_or(0), 1);
  EXPECT_EQ(json_string(journal, "hash").size(), 64u);

  daemon_->process().send_signal(SIGKILL);
  auto offline = late.wait_for_message(
      [](const MqttMessage& m) { return m.payload.find("\"offline\"") != std::string::npos; }, 15s);
  ASSERT_TRUE(offline) << "no will after SIGKILL";
  Json will = parse_json(offline->payload);
  EXPECT_EQ(json_string(will.get(), "device"), dev());
  daemon_->process().wait(5s);
}

TEST_F(EdgerundTest, SigtermDrainsARunningJobThenExitsZeroWithOfflinePresence) {
  start_daemon();
  ASSERT_TRUE(submit(probe_, dev(), "drain-1", "sleep", R"({"ms":700})"));
  ASSERT_TRUE(wait_state(probe_, dev(), "drain-1", "running")) << daemon_->process().err();
  daemon_->process().send_signal(SIGTERM);
  Json done = next_status(probe_, dev(), "drain-1");
  ASSERT_TRUE(done) << daemon_->process().err();
  EXPECT_EQ(json_string(done.get(), "state"), "succeeded");
  auto offline = probe_.wait_for_message(
      [&](const MqttMessage& m) {
        return m.topic == "edgerun/dev-t/status" && m.payload.find("\"offline\"") != std::string::npos;
      },
      10s);
  EXPECT_TRUE(offline);
  const ProcessResult result = daemon_->process().wait(10s);
  EXPECT_EQ(result.exit_code, 0) << result.err;
  EXPECT_FALSE(result.timed_out);
}

TEST_F(EdgerundTest, MetricsAndLogsTelemetryArrive) {
  start_daemon();
  ASSERT_TRUE(submit(probe_, dev(), "tm-1", "echo"));
  ASSERT_TRUE(wait_state(probe_, dev(), "tm-1", "succeeded")) << daemon_->process().err();
  // Snapshots go out every 300 ms, so some taken before the job finished may
  // already be waiting in the probe: wait for one that counts it.
  const auto succeeded_jobs = [](const cJSON* snapshot) {
    double succeeded = 0;
    const cJSON* series = nullptr;
    cJSON_ArrayForEach(series, cJSON_GetObjectItemCaseSensitive(snapshot, "metrics")) {
      const cJSON* labels = cJSON_GetObjectItemCaseSensitive(series, "labels");
      if (json_string(series, "name") == "edgerun_jobs_total" && json_string(labels, "state") == "succeeded") {
        succeeded = json_number(series, "value").value_or(0);
      }
    }
    return succeeded;
  };
  auto metrics = probe_.wait_for_message(
      [&](const MqttMessage& m) {
        if (m.topic != "edgerun/dev-t/telemetry/metrics") return false;
        Json snapshot = parse_json(m.payload);
        return snapshot && succeeded_jobs(snapshot.get()) >= 1;
      },
      10s);
  ASSERT_TRUE(metrics) << "no metrics snapshot counted the succeeded job";
  Json snapshot = parse_json(metrics->payload);
  ASSERT_TRUE(snapshot) << metrics->payload;
  EXPECT_EQ(json_number(snapshot.get(), "interval_ms"), 300);
  EXPECT_NE(metrics->payload.find("edgerun_outbox_depth"), std::string::npos) << metrics->payload;
  const cJSON* list = cJSON_GetObjectItemCaseSensitive(snapshot.get(), "metrics");
  ASSERT_TRUE(cJSON_IsArray(list));
  bool saw_histogram = false;
  const cJSON* series = nullptr;
  cJSON_ArrayForEach(series, list) {
    if (json_string(series, "kind") == "histogram") {
      saw_histogram = cJSON_IsArray(cJSON_GetObjectItemCaseSensitive(series, "buckets")) &&
                      json_number(series, "count").has_value();
    }
  }
  EXPECT_TRUE(saw_histogram);

  auto logs = probe_.wait_for_message(
      [](const MqttMessage& m) {
        return m.topic == "edgerun/dev-t/telemetry/logs" && m.payload.find("mqtt: connected") != std::string::npos;
      },
      10s);
  ASSERT_TRUE(logs);
  Json batch = parse_json(logs->payload);
  ASSERT_TRUE(batch) << logs->payload;
  EXPECT_TRUE(json_number(batch.get(), "dropped").has_value());
  const cJSON* records = cJSON_GetObjectItemCaseSensitive(batch.get(), "records");
  ASSERT_TRUE(cJSON_IsArray(records));
  const cJSON* first = cJSON_GetArrayItem(records, 0);
  EXPECT_FALSE(json_string(first, "level").empty());
  EXPECT_TRUE(cJSON_IsObject(cJSON_GetObjectItemCaseSensitive(first, "fields")));
}

TEST_F(EdgerundTest, GroupSubmitViaSharedSubscriptionRunsEachJobExactlyOnce) {
  auto with_group = [](cJSON& root) {
    cJSON* groups = cJSON_AddArrayToObject(&root, "groups");
    cJSON_AddItemToArray(groups, cJSON_CreateString("fleet"));
  };
  start_daemon("dev-a", with_group);
  Daemon second(broker_, "dev-b", with_group);
  ASSERT_TRUE(second.start());
  ASSERT_TRUE(second.wait_connected()) << second.process().err();
  // Both daemons have subscribed once their online presence is out.
  for (const char* device : {"dev-a", "dev-b"}) {
    ASSERT_TRUE(probe_.wait_for_message(
        [&](const MqttMessage& m) { return m.topic == std::string("edgerun/") + device + "/status"; }, 10s))
        << device;
  }
  constexpr int kJobs = 12;
  for (int i = 0; i < kJobs; ++i) {
    const std::string payload = R"({"v":1,"id":"g-)" + std::to_string(i) + R"(","type":"echo"})";
    ASSERT_TRUE(probe_.publish("edgerun/groups/fleet/jobs/submit", payload, 1));
  }
  std::map<std::string, std::string> done_by;  // job id -> device
  for (int n = 0; n < kJobs; ++n) {
    auto message = probe_.wait_for_message(
        [](const MqttMessage& m) {
          return m.topic.find("/jobs/g-") != std::string::npos && m.payload.find("\"state\":\"succeeded\"") != std::string::npos;
        },
        10s);
    ASSERT_TRUE(message) << "only " << n << " jobs done\n" << daemon_->process().err() << second.process().err();
    Json body = parse_json(message->payload);
    const std::string id = json_string(body.get(), "id");
    EXPECT_EQ(done_by.count(id), 0u) << id << " done twice";
    done_by[id] = json_string(body.get(), "device");
    EXPECT_EQ(message->topic, "edgerun/" + done_by[id] + "/jobs/" + id + "/status");
  }
  EXPECT_EQ(done_by.size(), static_cast<std::size_t>(kJobs));
  // No job runs a second time on the other member.
  EXPECT_FALSE(probe_.wait_for_message(
      [](const MqttMessage& m) { return m.topic.find("/jobs/g-") != std::string::npos && m.payload.find("\"succeeded\"") != std::string::npos; },
      500ms));
}

TEST_F(EdgerundTest, StatusesProducedWhileTheBrokerIsAwayArriveAfterItReturns) {
  start_daemon("dev-r", [](cJSON& root) {
    cJSON* log = cJSON_AddObjectToObject(&root, "log");
    cJSON_AddStringToObject(log, "level", "debug");
  });
  // A submitter with a persistent session: the broker keeps what is published
  // for it while it is away, and its subscription across the restart.
  MqttProbe::Options options;
  options.client_id = "submitter-persistent";
  options.clean_start = false;
  options.session_expiry_s = 300;
  MqttProbe submitter(options);
  ASSERT_TRUE(connect_submitter(submitter, broker_));

  ASSERT_TRUE(submit(submitter, dev(), "rc-1", "sleep", R"({"ms":400})"));
  ASSERT_TRUE(wait_state(submitter, dev(), "rc-1", "running")) << daemon_->process().err();
  ASSERT_TRUE(broker_.stop());
  ASSERT_TRUE(daemon_->wait_log("mqtt: connection lost")) << daemon_->process().err();
  // The job ends while the broker is away: its status waits in the outbox.
  ASSERT_TRUE(daemon_->wait_log("job=rc-1 state=succeeded")) << daemon_->process().err();
  ASSERT_TRUE(broker_.start());
  ASSERT_TRUE(daemon_->wait_connected(2, 15s)) << daemon_->process().err();
  ASSERT_TRUE(submitter.wait_connected(10s));
  Json status = wait_state(submitter, dev(), "rc-1", "succeeded", 10s);
  ASSERT_TRUE(status) << daemon_->process().err();
  EXPECT_EQ(json_string(status.get(), "device"), dev());
  // And the daemon takes jobs again.
  ASSERT_TRUE(submit(submitter, dev(), "rc-2", "echo"));
  EXPECT_TRUE(wait_state(submitter, dev(), "rc-2", "succeeded", 10s)) << daemon_->process().err();
}

TEST_F(EdgerundTest, AFullOutboxDropsTheOldestStatusAndCountsIt) {
  start_daemon("dev-o", [](cJSON& root) {
    cJSON_ReplaceItemInObjectCaseSensitive(&root, "workers", cJSON_CreateNumber(3));
    set_int(root, "mqtt", "outbox_messages", 1);
    cJSON* log = cJSON_AddObjectToObject(&root, "log");
    cJSON_AddStringToObject(log, "level", "debug");
  });
  MqttProbe::Options options;
  options.client_id = "submitter-persistent-3";
  options.clean_start = false;
  options.session_expiry_s = 300;
  MqttProbe submitter(options);
  ASSERT_TRUE(connect_submitter(submitter, broker_));
  const std::string ids[] = {"ob-1", "ob-2", "ob-3"};
  // Long enough that the daemon has seen the broker go before any job ends,
  // also under a sanitizer on a loaded machine: a status published while
  // the link still counts as up goes to libmosquitto's queue, not the outbox.
  for (const std::string& id : ids) ASSERT_TRUE(submit(submitter, dev(), id, "sleep", R"({"ms":1500})"));
  for (const std::string& id : ids) ASSERT_TRUE(wait_state(submitter, dev(), id, "running")) << daemon_->process().err();
  ASSERT_TRUE(broker_.stop());
  for (const std::string& id : ids) {
    ASSERT_TRUE(daemon_->wait_log("job=" + id + " state=succeeded")) << daemon_->process().err();
  }
  // Said in the log as well as counted.
  EXPECT_TRUE(daemon_->wait_log("the outbox is full")) << daemon_->process().err();
  ASSERT_TRUE(broker_.start());
  ASSERT_TRUE(daemon_->wait_connected(2, 15s)) << daemon_->process().err();
  ASSERT_TRUE(submitter.wait_connected(10s));
  // One status survived; the two older ones were dropped and counted.
  auto metrics = submitter.wait_for_message(
      [](const MqttMessage& m) {
        return m.topic == "edgerun/dev-o/telemetry/metrics" &&
               m.payload.find(R"("name":"edgerun_outbox_dropped_total","kind":"counter","value":2)") != std::string::npos;
      },
      10s);
  EXPECT_TRUE(metrics) << daemon_->process().err();
  int delivered = 0;
  while (submitter.wait_for_message(
      [](const MqttMessage& m) {
        return m.topic.find("/jobs/ob-") != std::string::npos && m.payload.find("\"succeeded\"") != std::string::npos;
      },
      delivered == 0 ? 5000ms : 500ms)) {
    ++delivered;
  }
  EXPECT_EQ(delivered, 1);
}

TEST_F(EdgerundTest, JobSubmittedWhileTheDaemonIsAwayRunsWhenItReconnects) {
  start_daemon("dev-s");
  MqttProbe::Options options;
  options.client_id = "submitter-persistent-2";
  options.clean_start = false;
  options.session_expiry_s = 300;
  MqttProbe submitter(options);
  ASSERT_TRUE(connect_submitter(submitter, broker_));
  ASSERT_TRUE(broker_.restart());
  ASSERT_TRUE(submitter.wait_connected(10s));
  // The daemon may or may not be back yet: its persistent session holds the job.
  ASSERT_TRUE(submit(submitter, dev(), "away-1", "echo"));
  EXPECT_TRUE(wait_state(submitter, dev(), "away-1", "succeeded", 15s)) << daemon_->process().err();
  EXPECT_TRUE(daemon_->wait_connected(2, 1s));
}

TEST_F(EdgerundTest, ConnectsOnceTheBrokerComesUpAfterTheDaemon) {
  ASSERT_TRUE(broker_.stop());
  daemon_ = std::make_unique<Daemon>(broker_, "dev-late");
  ASSERT_TRUE(daemon_->start());
  ASSERT_TRUE(daemon_->wait_log("mqtt: connect failed")) << daemon_->process().err();
  ASSERT_TRUE(broker_.start());
  ASSERT_TRUE(daemon_->wait_connected(1, 15s)) << daemon_->process().err();
  ASSERT_TRUE(connect_submitter(probe_, broker_));
  ASSERT_TRUE(submit(probe_, dev(), "late-1", "echo"));
  EXPECT_TRUE(wait_state(probe_, dev(), "late-1", "succeeded")) << daemon_->process().err();
}

// A loopback listener whose accept queue is full and never drained: the
// kernel drops further SYNs, so a TCP connect to it neither completes nor
// fails, like a broker behind a dead link. Stays on this machine.
class BlackHoleListener {
 public:
  BlackHoleListener() {
    fd_ = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    sockaddr_in address{};
    address.sin_family = AF_INET;
    address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    socklen_t length = sizeof address;
    ok_ = ::bind(fd_, reinterpret_cast<sockaddr*>(&address), length) == 0 && ::listen(fd_, 0) == 0 &&
          ::getsockname(fd_, reinterpret_cast<sockaddr*>(&address), &length) == 0;
    port_ = ntohs(address.sin_port);
    // Fill the queue (a backlog of 0 still admits one): connects that are
    // never accepted.
    for (int& filler : fillers_) {
      filler = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
      (void)::connect(filler, reinterpret_cast<sockaddr*>(&address), length);
    }
  }
  ~BlackHoleListener() {
    for (int filler : fillers_) ::close(filler);
    ::close(fd_);
  }
  bool ok() const { return ok_; }
  int port() const { return port_; }

 private:
  int fd_ = -1;
  int fillers_[3] = {-1, -1, -1};
  bool ok_ = false;
  int port_ = 0;
};

TEST_F(EdgerundTest, AnUnreachableBrokerDoesNotBlockTheLoop) {
  BlackHoleListener black_hole;
  ASSERT_TRUE(black_hole.ok());
  const std::string url = "mqtt://127.0.0.1:" + std::to_string(black_hole.port());
  daemon_ = std::make_unique<Daemon>(broker_, "dev-far", [&](cJSON& root) {
    cJSON* mqtt = cJSON_GetObjectItemCaseSensitive(&root, "mqtt");
    cJSON_ReplaceItemInObjectCaseSensitive(mqtt, "url", cJSON_CreateString(url.c_str()));
  });
  ASSERT_TRUE(daemon_->start());
  ASSERT_TRUE(daemon_->wait_log("edgerund started")) << daemon_->process().err();
  daemon_->process().send_signal(SIGTERM);
  const ProcessResult result = daemon_->process().wait(5s);
  EXPECT_FALSE(result.timed_out) << result.err;
  EXPECT_EQ(result.exit_code, 0) << result.err;
}

TEST_F(EdgerundTest, SighupReloadsTheConfigAndKeepsTheOldOneWhenBad) {
  start_daemon();
  {
    FILE* f = std::fopen(daemon_->config_path().c_str(), "w");
    ASSERT_NE(f, nullptr);
    std::fputs(R"({"device_id": "dev-t", "jobs": {"queue_capacity": "many"}})", f);
    std::fclose(f);
  }
  daemon_->process().send_signal(SIGHUP);
  ASSERT_TRUE(daemon_->wait_log("config reload failed")) << daemon_->process().err();
  EXPECT_TRUE(daemon_->wait_log("jobs.queue_capacity"));
  {
    FILE* f = std::fopen(daemon_->config_path().c_str(), "w");
    ASSERT_NE(f, nullptr);
    const std::string text = R"({"device_id": "dev-t", "mqtt": {"url": ")" + broker_.url() +
                             R"("}, "log": {"level": "debug"}, "telemetry": {"interval_ms": 200}})";
    std::fputs(text.c_str(), f);
    std::fclose(f);
  }
  daemon_->process().send_signal(SIGHUP);
  ASSERT_TRUE(daemon_->wait_log("config reloaded")) << daemon_->process().err();
  EXPECT_TRUE(daemon_->wait_log("log.level=debug"));
  // Still working.
  ASSERT_TRUE(submit(probe_, dev(), "hup-1", "echo"));
  EXPECT_TRUE(wait_state(probe_, dev(), "hup-1", "succeeded"));
  EXPECT_TRUE(daemon_->wait_log("job=hup-1 state=succeeded")) << "debug logging after reload";
}

TEST_F(EdgerundTest, ExecJobRunsTheConfiguredProgramAndReplacesABuiltin) {
  start_daemon("dev-x", [](cJSON& root) {
    add_exec_type(root, "hello", "/bin/echo", {"hello from exec"});
    // An exec type named like a built-in replaces it.
    add_exec_type(root, "sleep", "/bin/echo", {"not the built-in sleep"});
  });
  ASSERT_TRUE(submit(probe_, dev(), "ex-1", "hello"));
  Json status = wait_state(probe_, dev(), "ex-1", "succeeded");
  ASSERT_TRUE(status) << daemon_->process().err();
  const cJSON* result = cJSON_GetObjectItemCaseSensitive(status.get(), "result");
  EXPECT_NE(json_string(result, "stdout").find("hello from exec"), std::string::npos);
  ASSERT_TRUE(submit(probe_, dev(), "ex-2", "sleep", R"({"ms":1})"));
  status = wait_state(probe_, dev(), "ex-2", "succeeded");
  ASSERT_TRUE(status) << daemon_->process().err();
  result = cJSON_GetObjectItemCaseSensitive(status.get(), "result");
  EXPECT_NE(json_string(result, "stdout").find("not the built-in sleep"), std::string::npos);
}

TEST_F(EdgerundTest, TellsTheServiceManagerReadyWatchdogAndStopping) {
  char tmpl[] = "/tmp/edgerund-notify-XXXXXX";
  ASSERT_NE(mkdtemp(tmpl), nullptr);
  const std::string path = std::string(tmpl) + "/notify.sock";
  const int fd = ::socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
  ASSERT_GE(fd, 0);
  sockaddr_un addr{};
  addr.sun_family = AF_UNIX;
  std::snprintf(addr.sun_path, sizeof addr.sun_path, "%s", path.c_str());
  ASSERT_EQ(::bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr), 0);
  auto receive = [fd](std::string_view needle) {
    const auto deadline = std::chrono::steady_clock::now() + 10s;
    while (std::chrono::steady_clock::now() < deadline) {
      pollfd p{fd, POLLIN, 0};
      if (::poll(&p, 1, 200) <= 0) continue;
      char buf[512];
      const ssize_t n = ::recv(fd, buf, sizeof buf, 0);
      if (n > 0 && std::string_view(buf, static_cast<std::size_t>(n)).find(needle) != std::string_view::npos) return true;
    }
    return false;
  };
  daemon_ = std::make_unique<Daemon>(broker_, "dev-n");
  SpawnOptions options;
  options.set_env = {{"NOTIFY_SOCKET", path}, {"WATCHDOG_USEC", "200000"}};
  options.unset_env = {"WATCHDOG_PID"};
  ASSERT_TRUE(daemon_->start(options));
  EXPECT_TRUE(receive("READY=1")) << daemon_->process().err();
  EXPECT_TRUE(receive("WATCHDOG=1"));
  // STATUS= follows the broker connection and counts the jobs done.
  EXPECT_TRUE(receive("STATUS=broker connected, 0 jobs done"));
  ASSERT_TRUE(connect_submitter(probe_, broker_));
  ASSERT_TRUE(submit(probe_, dev(), "n-1", "echo"));
  ASSERT_TRUE(wait_state(probe_, dev(), "n-1", "succeeded"));
  EXPECT_TRUE(receive("STATUS=broker connected, 1 jobs done"));
  daemon_->process().send_signal(SIGTERM);
  EXPECT_TRUE(receive("STOPPING=1"));
  EXPECT_EQ(daemon_->process().wait(10s).exit_code, 0);
  ::close(fd);
  std::remove(path.c_str());
  ::rmdir(tmpl);
}

TEST(EdgerundCli, CheckConfigOnABadFileExitsNonZeroNamingTheField) {
  char tmpl[] = "/tmp/edgerund-cli-XXXXXX";
  ASSERT_NE(mkdtemp(tmpl), nullptr);
  const std::string path = std::string(tmpl) + "/bad.json";
  {
    FILE* f = std::fopen(path.c_str(), "w");
    ASSERT_NE(f, nullptr);
    std::fputs(R"({"jobs": {"queue_capacity": -3}})", f);
    std::fclose(f);
  }
  ProcessResult result = run_process(EDGERUND_PATH, {"--check-config", "--config", path});
  EXPECT_NE(result.exit_code, 0);
  EXPECT_NE(result.err.find("jobs.queue_capacity"), std::string::npos) << result.err;
  // The daemon itself refuses to start on it too.
  result = run_process(EDGERUND_PATH, {"--config", path});
  EXPECT_NE(result.exit_code, 0);
  EXPECT_NE(result.err.find("jobs.queue_capacity"), std::string::npos) << result.err;
  std::remove(path.c_str());
  ::rmdir(tmpl);
}

TEST(EdgerundCli, CheckConfigOnAGoodFilePrintsTheEffectiveConfig) {
  char tmpl[] = "/tmp/edgerund-cli-XXXXXX";
  ASSERT_NE(mkdtemp(tmpl), nullptr);
  const std::string path = std::string(tmpl) + "/good.json";
  {
    FILE* f = std::fopen(path.c_str(), "w");
    ASSERT_NE(f, nullptr);
    std::fputs(R"({"device_id": "dev-x", "mqtt": {"password": "secret"}})", f);
    std::fclose(f);
  }
  const ProcessResult result = run_process(EDGERUND_PATH, {"--check-config", "--config", path});
  EXPECT_EQ(result.exit_code, 0) << result.err;
  EXPECT_NE(result.out.find("dev-x"), std::string::npos) << result.out;
  EXPECT_EQ(result.out.find("secret"), std::string::npos);
  std::remove(path.c_str());
  ::rmdir(tmpl);
}

TEST(EdgerundCli, ATransportThatCannotStartExitsNonZero) {
  char tmpl[] = "/tmp/edgerund-cli-XXXXXX";
  ASSERT_NE(mkdtemp(tmpl), nullptr);
  const std::string path = std::string(tmpl) + "/tls.json";
  {
    FILE* f = std::fopen(path.c_str(), "w");
    ASSERT_NE(f, nullptr);
    const std::string text = std::string(R"({"device_id": "dev-tls", "state_dir": ")") + tmpl +
                             R"(", "mqtt": {"url": "mqtts://127.0.0.1:1", "ca_file": "/nonexistent/ca.pem"}})";
    std::fputs(text.c_str(), f);
    std::fclose(f);
  }
  const ProcessResult result = run_process(EDGERUND_PATH, {"--config", path});
  EXPECT_EQ(result.exit_code, 1) << result.err;
  EXPECT_NE(result.err.find("TLS"), std::string::npos) << result.err;
  std::remove(path.c_str());
  ::rmdir(tmpl);
}

TEST(EdgerundCli, VersionAndHelp) {
  ProcessResult result = run_process(EDGERUND_PATH, {"--version"});
  EXPECT_EQ(result.exit_code, 0);
  EXPECT_NE(result.out.find("edgerund"), std::string::npos);
  result = run_process(EDGERUND_PATH, {"--help"});
  EXPECT_EQ(result.exit_code, 0);
  EXPECT_NE(result.out.find("SYNOPSIS"), std::string::npos);
  result = run_process(EDGERUND_PATH, {"--bogus"});
  EXPECT_EQ(result.exit_code, 2);
}

}  // namespace
}  // namespace edgerun::test

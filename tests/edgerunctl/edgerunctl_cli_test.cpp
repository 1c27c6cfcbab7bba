// Integration tests of the real edgerunctl binary against a real mosquitto.
// Each test starts its own broker on a free port; an MqttProbe plays the
// device and answers as PROTOCOL.md says. Every wait is bounded.

#include <cjson/cJSON.h>
#include <gtest/gtest.h>

#include <unistd.h>

#include <chrono>
#include <csignal>
#include <filesystem>
#include <fstream>
#include <memory>
#include <ostream>
#include <regex>
#include <string>
#include <vector>

#include "child_process.hpp"
#include "mosquitto_broker.hpp"
#include "mqtt_probe.hpp"

#ifndef EDGERUNCTL_PATH
#error "EDGERUNCTL_PATH must name the edgerunctl binary"
#endif

namespace edgerun::test {
namespace {

using namespace std::chrono_literals;

constexpr std::chrono::milliseconds kWait = 10s;

struct JsonDeleter {
  void operator()(cJSON* j) const { cJSON_Delete(j); }
};
using Json = std::unique_ptr<cJSON, JsonDeleter>;

Json parse(const std::string& text) { return Json(cJSON_ParseWithLength(text.data(), text.size())); }

const cJSON* member(const cJSON* object, const char* key) { return cJSON_GetObjectItemCaseSensitive(object, key); }

std::string compact(const cJSON* json) {
  char* text = cJSON_PrintUnformatted(json);
  std::string out = text ? text : "";
  cJSON_free(text);
  return out;
}

// The environment for edgerunctl: the test's own, without EDGERUN_MQTT_*,
// so that a developer's settings cannot leak into a test.
SpawnOptions clean_env(std::vector<std::pair<std::string, std::string>> set = {}) {
  SpawnOptions options;
  options.unset_env = {"EDGERUN_MQTT_URL", "EDGERUN_MQTT_USERNAME", "EDGERUN_MQTT_PASSWORD"};
  options.set_env = std::move(set);
  return options;
}

std::string describe(const ProcessResult& r) {
  return "exit " + std::to_string(r.exit_code) + (r.timed_out ? " (timed out)" : "") + "\n--- stdout ---\n" +
         r.out + "--- stderr ---\n" + r.err;
}

class EdgerunctlTest : public ::testing::Test {
 protected:
  void SetUp() override {
    Status started = broker_.start();
    ASSERT_TRUE(started) << started.message;
    Status connected = device_.connect(broker_);
    ASSERT_TRUE(connected) << connected.message;
  }

  // edgerunctl <args> --url <broker>, with a bounded --timeout unless given.
  std::vector<std::string> with_broker(std::vector<std::string> args) const {
    args.push_back("--url");
    args.push_back(broker_.url());
    return args;
  }

  ProcessResult ctl(const std::vector<std::string>& args) {
    return run_process(EDGERUNCTL_PATH, with_broker(args), clean_env(), kWait * 2);
  }

  void start_ctl(ChildProcess& child, const std::vector<std::string>& args) {
    Status s = child.start(EDGERUNCTL_PATH, with_broker(args), clean_env());
    ASSERT_TRUE(s) << s.message;
  }

  // Waits for the submission edgerunctl publishes and parses it.
  Json take_submission(const std::string& topic, ChildProcess& child) {
    auto msg = device_.wait_for_topic(topic, kWait);
    if (!msg) {
      ADD_FAILURE() << "no submission on " << topic << "\n" << describe(child.wait(1s));
      return nullptr;
    }
    Json json = parse(msg->payload);
    EXPECT_TRUE(json) << msg->payload;
    EXPECT_EQ(msg->qos, 1);
    return json;
  }

  void answer(const std::string& device, const std::string& id, const std::string& state,
              const std::string& extra = "") {
    std::string payload = R"({"v":1,"id":")" + id + R"(","device":")" + device + R"(","state":")" + state +
                          R"(","ts":1795315351123)" + extra + "}";
    Status s = device_.publish("edgerun/" + device + "/jobs/" + id + "/status", payload, 1);
    ASSERT_TRUE(s) << s.message;
  }

  // Rejects a submission on <p>/<dev>/jobs/rejected, as a device does with
  // an id it already knows (in flight or finished).
  void reject(const std::string& device, const std::string& id, const std::string& code,
              const std::string& message) {
    std::string payload = R"({"v":1,"id":")" + id + R"(","device":")" + device +
                          R"(","state":"rejected","ts":1795315351123,"error":{"code":")" + code +
                          R"(","message":")" + message + R"("}})";
    Status s = device_.publish("edgerun/" + device + "/jobs/rejected", payload, 1);
    ASSERT_TRUE(s) << s.message;
  }

  MosquittoBroker broker_;
  MqttProbe device_;
};

TEST_F(EdgerunctlTest, SubmitPublishesTypedSubmissionAndPrintsResult) {
  ASSERT_TRUE(device_.subscribe("edgerun/gw-01/jobs/submit"));
  ChildProcess child;
  start_ctl(child, {"submit", "gw-01", "echo", "msg=hi", "n=5", "ratio=0.5", "on=true", "off=false", "nothing=null",
                    "zip=007", "--id", "job-42", "--job-timeout-ms", "5000", "--timeout", "10"});
  Json sub = take_submission("edgerun/gw-01/jobs/submit", child);
  ASSERT_TRUE(sub);
  EXPECT_EQ(member(sub.get(), "v")->valuedouble, 1);
  EXPECT_STREQ(member(sub.get(), "id")->valuestring, "job-42");
  EXPECT_STREQ(member(sub.get(), "type")->valuestring, "echo");
  EXPECT_EQ(member(sub.get(), "timeout_ms")->valuedouble, 5000);
  EXPECT_EQ(compact(member(sub.get(), "params")),
            R"({"msg":"hi","n":5,"ratio":0.5,"on":true,"off":false,"nothing":null,"zip":"007"})");

  answer("gw-01", "job-42", "queued");
  answer("gw-01", "job-42", "running");
  answer("gw-01", "job-42", "succeeded", R"(,"result":{"msg":"hi"})");
  ProcessResult r = child.wait(kWait);
  EXPECT_EQ(r.exit_code, 0) << describe(r);
  EXPECT_EQ(r.out, "job-42 queued\njob-42 running\njob-42 succeeded {\"msg\":\"hi\"}\n") << describe(r);
}

TEST_F(EdgerunctlTest, SubmitWithAnExpirySendsExpiresAtAndReportsTheExpiredEnd) {
  ASSERT_TRUE(device_.subscribe("edgerun/gw-01/jobs/submit"));
  const auto wall_ms = [] {
    return std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::system_clock::now().time_since_epoch())
        .count();
  };
  const std::int64_t before = wall_ms();
  ChildProcess child;
  start_ctl(child, {"submit", "gw-01", "echo", "--id", "job-43", "--expires-in-ms", "60000", "--timeout", "10"});
  Json sub = take_submission("edgerun/gw-01/jobs/submit", child);
  ASSERT_TRUE(sub);
  const double expires_at = member(sub.get(), "expires_at")->valuedouble;
  EXPECT_GE(expires_at, static_cast<double>(before + 60000));
  EXPECT_LE(expires_at, static_cast<double>(wall_ms() + 60000));

  answer("gw-01", "job-43", "queued");
  answer("gw-01", "job-43", "failed",
         R"(,"error":{"code":"expired","message":"the job was not started before its expires_at"})");
  ProcessResult r = child.wait(kWait);
  EXPECT_EQ(r.exit_code, 1) << describe(r);
  EXPECT_NE(r.out.find("expired"), std::string::npos) << describe(r);
}

TEST_F(EdgerunctlTest, SubmitTakesOneJsonObjectAsParams) {
  ASSERT_TRUE(device_.subscribe("edgerun/gw-01/jobs/submit"));
  ChildProcess child;
  start_ctl(child, {"submit", "gw-01", "exec", R"({"argv": ["ls", "-l"], "env": {"A": "1"}})", "--id", "j1"});
  Json sub = take_submission("edgerun/gw-01/jobs/submit", child);
  ASSERT_TRUE(sub);
  EXPECT_EQ(compact(member(sub.get(), "params")), R"({"argv":["ls","-l"],"env":{"A":"1"}})");
  EXPECT_EQ(member(sub.get(), "timeout_ms"), nullptr);
  answer("gw-01", "j1", "succeeded", R"(,"result":{})");
  ProcessResult r = child.wait(kWait);
  EXPECT_EQ(r.exit_code, 0) << describe(r);
}

struct Ending {
  std::string state;
  std::string extra;
  int exit_code;
  std::string last_line;
  // Where the device answers: "status" (queued, then the state, on the
  // job's status topic) or "rejected" (only a duplicate rejection on
  // <p>/<dev>/jobs/rejected, as the protocol has it now).
  std::string topic = "status";
  std::string name = state;
};

void PrintTo(const Ending& e, std::ostream* os) { *os << e.name << " -> exit " << e.exit_code; }

class EdgerunctlEnding : public EdgerunctlTest, public ::testing::WithParamInterface<Ending> {};

TEST_P(EdgerunctlEnding, ExitCodeFollowsTheTerminalState) {
  const Ending& e = GetParam();
  ASSERT_TRUE(device_.subscribe("edgerun/gw-01/jobs/submit"));
  ChildProcess child;
  start_ctl(child, {"submit", "gw-01", "echo", "--id", "job-7", "--timeout", "10"});
  ASSERT_TRUE(take_submission("edgerun/gw-01/jobs/submit", child));
  if (e.topic == "rejected") {
    reject("gw-01", "job-7", "duplicate", "id in flight");
  } else {
    answer("gw-01", "job-7", "queued");
    answer("gw-01", "job-7", e.state, e.extra);
  }
  ProcessResult r = child.wait(kWait);
  EXPECT_EQ(r.exit_code, e.exit_code) << describe(r);
  EXPECT_NE(r.out.find(e.last_line + "\n"), std::string::npos) << describe(r);
}

INSTANTIATE_TEST_SUITE_P(
    States, EdgerunctlEnding,
    ::testing::Values(Ending{"succeeded", R"(,"result":42)", 0, "job-7 succeeded 42"},
                      Ending{"failed", R"(,"error":{"code":"handler_error","message":"boom"})", 1,
                             "job-7 failed handler_error: boom"},
                      Ending{"timed_out", "", 1, "job-7 timed_out"},
                      Ending{"canceled", "", 1, "job-7 canceled"},
                      Ending{"rejected", "", 2, "job-7 rejected duplicate: id in flight", "rejected"},
                      // An older device rejects on the job's status topic.
                      Ending{"rejected", R"(,"error":{"code":"duplicate","message":"id in flight"})", 2,
                             "job-7 rejected duplicate: id in flight", "status", "rejected_on_status_topic"}),
    [](const ::testing::TestParamInfo<Ending>& param_info) { return param_info.param.name; });

TEST_F(EdgerunctlTest, SubmitDuplicateOfAFinishedJobReportsItsStoredOutcome) {
  ASSERT_TRUE(device_.subscribe("edgerun/gw-01/jobs/submit"));
  ChildProcess child;
  start_ctl(child, {"submit", "gw-01", "echo", "--id", "job-7", "--timeout", "10"});
  ASSERT_TRUE(take_submission("edgerun/gw-01/jobs/submit", child));
  reject("gw-01", "job-7", "duplicate", "id recently finished");
  answer("gw-01", "job-7", "succeeded", R"(,"result":42)");  // the stored terminal status, again
  ProcessResult r = child.wait(kWait);
  EXPECT_EQ(r.exit_code, 0) << describe(r);
  EXPECT_EQ(r.out, "job-7 succeeded 42\n") << describe(r);
  EXPECT_NE(r.err.find("note: job-7 was submitted before; this is its stored outcome"), std::string::npos)
      << describe(r);
}

TEST_F(EdgerunctlTest, SubmitJsonDuplicateOfAFinishedJobPrintsOnlyTheStoredStatus) {
  ASSERT_TRUE(device_.subscribe("edgerun/gw-01/jobs/submit"));
  ChildProcess child;
  start_ctl(child, {"--json", "submit", "gw-01", "echo", "--id", "job-8", "--timeout", "10"});
  ASSERT_TRUE(take_submission("edgerun/gw-01/jobs/submit", child));
  reject("gw-01", "job-8", "duplicate", "id recently finished");
  answer("gw-01", "job-8", "failed", R"(,"error":{"code":"handler_error","message":"boom"})");
  ProcessResult r = child.wait(kWait);
  EXPECT_EQ(r.exit_code, 1) << describe(r);
  EXPECT_EQ(r.out,
            R"({"v":1,"id":"job-8","device":"gw-01","state":"failed","ts":1795315351123,)"
            R"("error":{"code":"handler_error","message":"boom"}})"
            "\n")
      << describe(r);
  EXPECT_NE(r.err.find("note: job-8 was submitted before"), std::string::npos) << describe(r);
}

TEST_F(EdgerunctlTest, SubmitToAGroupDuplicateWithoutStoredOutcomeExitsTwo) {
  ASSERT_TRUE(device_.subscribe("$share/cams/edgerun/groups/cams/jobs/submit"));
  ChildProcess child;
  start_ctl(child, {"submit", "--group", "cams", "snapshot", "--id", "snap-2", "--timeout", "10"});
  ASSERT_TRUE(take_submission("edgerun/groups/cams/jobs/submit", child));
  reject("cam-07", "snap-2", "duplicate", "id in flight");
  ProcessResult r = child.wait(kWait);
  EXPECT_EQ(r.exit_code, 2) << describe(r);
  EXPECT_EQ(r.out, "cam-07 snap-2 rejected duplicate: id in flight\n") << describe(r);
  EXPECT_EQ(r.err.find("stored outcome"), std::string::npos) << describe(r);
}

TEST_F(EdgerunctlTest, SubmitDuplicateGraceEndsAtTheTimeout) {
  ASSERT_TRUE(device_.subscribe("edgerun/gw-01/jobs/submit"));
  ChildProcess child;
  // --timeout ends before the grace for the stored outcome: still rejected.
  start_ctl(child, {"submit", "gw-01", "echo", "--id", "job-9", "--timeout", "1"});
  ASSERT_TRUE(take_submission("edgerun/gw-01/jobs/submit", child));
  reject("gw-01", "job-9", "duplicate", "id in flight");
  ProcessResult r = child.wait(kWait);
  EXPECT_EQ(r.exit_code, 2) << describe(r);
  EXPECT_EQ(r.out, "job-9 rejected duplicate: id in flight\n") << describe(r);
}

TEST_F(EdgerunctlTest, SubmitIgnoresRejectionsOfOtherSubmissions) {
  ASSERT_TRUE(device_.subscribe("edgerun/gw-01/jobs/submit"));
  ChildProcess child;
  start_ctl(child, {"submit", "gw-01", "echo", "--id", "job-10", "--timeout", "10"});
  ASSERT_TRUE(take_submission("edgerun/gw-01/jobs/submit", child));
  // Another submitter's duplicate, and a submission whose id could not be read.
  reject("gw-01", "job-1", "duplicate", "id in flight");
  ASSERT_TRUE(device_.publish("edgerun/gw-01/jobs/rejected",
                              R"({"v":1,"device":"gw-01","ts":1,"error":{"code":"bad_json","message":"x"}})", 1));
  // Arrives after them (one publisher, one subscriber, QoS 1: in order) and wins.
  answer("gw-01", "job-10", "succeeded", R"(,"result":{"ok":true})");
  ProcessResult r = child.wait(kWait);
  EXPECT_EQ(r.exit_code, 0) << describe(r);
  EXPECT_EQ(r.out, "job-10 succeeded {\"ok\":true}\n") << describe(r);
  EXPECT_EQ(r.err.find("stored outcome"), std::string::npos) << describe(r);
}

TEST_F(EdgerunctlTest, SubmitJsonPrintsRawStatusPayloads) {
  ASSERT_TRUE(device_.subscribe("edgerun/gw-01/jobs/submit"));
  ChildProcess child;
  start_ctl(child, {"--json", "submit", "gw-01", "echo", "--id", "j2"});
  ASSERT_TRUE(take_submission("edgerun/gw-01/jobs/submit", child));
  answer("gw-01", "j2", "succeeded", R"(,"result":{"x":[1,2]})");
  ProcessResult r = child.wait(kWait);
  EXPECT_EQ(r.exit_code, 0) << describe(r);
  EXPECT_EQ(r.out,
            R"({"v":1,"id":"j2","device":"gw-01","state":"succeeded","ts":1795315351123,"result":{"x":[1,2]}})"
            "\n");
}

TEST_F(EdgerunctlTest, SubmitGeneratesAnIdWhenNoneIsGiven) {
  ASSERT_TRUE(device_.subscribe("edgerun/gw-01/jobs/submit"));
  ChildProcess child;
  start_ctl(child, {"submit", "gw-01", "echo"});
  Json sub = take_submission("edgerun/gw-01/jobs/submit", child);
  ASSERT_TRUE(sub);
  std::string id = member(sub.get(), "id")->valuestring;
  EXPECT_TRUE(std::regex_match(id, std::regex("[A-Za-z0-9._-]{1,64}"))) << id;
  answer("gw-01", id, "succeeded");
  ProcessResult r = child.wait(kWait);
  EXPECT_EQ(r.exit_code, 0) << describe(r);
  EXPECT_EQ(r.out, id + " succeeded\n");
}

TEST_F(EdgerunctlTest, SubmitToAGroupFollowsWhicheverDeviceTookIt) {
  ASSERT_TRUE(device_.subscribe("$share/cams/edgerun/groups/cams/jobs/submit"));
  ChildProcess child;
  start_ctl(child, {"submit", "--group", "cams", "snapshot", "res=720", "--id", "snap-1"});
  Json sub = take_submission("edgerun/groups/cams/jobs/submit", child);
  ASSERT_TRUE(sub);
  EXPECT_EQ(compact(member(sub.get(), "params")), R"({"res":720})");
  answer("cam-07", "snap-1", "running");
  answer("cam-07", "snap-1", "succeeded", R"(,"result":{"file":"a.jpg"})");
  ProcessResult r = child.wait(kWait);
  EXPECT_EQ(r.exit_code, 0) << describe(r);
  EXPECT_EQ(r.out, "cam-07 snap-1 running\ncam-07 snap-1 succeeded {\"file\":\"a.jpg\"}\n");
}

TEST_F(EdgerunctlTest, SubmitGivesUpAfterTimeoutWithExitFive) {
  ASSERT_TRUE(device_.subscribe("edgerun/gw-01/jobs/submit"));
  ChildProcess child;
  start_ctl(child, {"submit", "gw-01", "echo", "--id", "slow", "--timeout", "0.5"});
  ASSERT_TRUE(take_submission("edgerun/gw-01/jobs/submit", child));
  answer("gw-01", "slow", "queued");  // never finishes
  ProcessResult r = child.wait(kWait);
  EXPECT_EQ(r.exit_code, 5) << describe(r);
  EXPECT_EQ(r.out, "slow queued\n");
  EXPECT_NE(r.err.find("no final status for job slow"), std::string::npos) << describe(r);
}

TEST_F(EdgerunctlTest, SubmitNoWaitPrintsTheIdAfterThePuback) {
  ASSERT_TRUE(device_.subscribe("edgerun/gw-01/jobs/submit"));
  ProcessResult r = ctl({"submit", "gw-01", "echo", "--no-wait", "--id", "fire-1"});
  EXPECT_EQ(r.exit_code, 0) << describe(r);
  EXPECT_EQ(r.out, "fire-1\n");
  auto msg = device_.wait_for_topic("edgerun/gw-01/jobs/submit", kWait);
  ASSERT_TRUE(msg);
  EXPECT_NE(msg->payload.find(R"("id":"fire-1")"), std::string::npos);
}

TEST_F(EdgerunctlTest, SubmitWarnsWhenNoDeviceListens) {
  ProcessResult r = ctl({"submit", "nobody", "echo", "--no-wait", "--id", "lost-1"});
  EXPECT_EQ(r.exit_code, 0) << describe(r);
  EXPECT_NE(r.err.find("nothing is subscribed to edgerun/nobody/jobs/submit"), std::string::npos) << describe(r);
}

TEST_F(EdgerunctlTest, SignalWhileWaitingExits130) {
  ASSERT_TRUE(device_.subscribe("edgerun/gw-01/jobs/submit"));
  ChildProcess child;
  start_ctl(child, {"submit", "gw-01", "echo", "--id", "int-1", "--timeout", "30"});
  ASSERT_TRUE(take_submission("edgerun/gw-01/jobs/submit", child));
  child.send_signal(SIGINT);
  ProcessResult r = child.wait(kWait);
  EXPECT_EQ(r.exit_code, 130) << describe(r);
}

TEST_F(EdgerunctlTest, CancelPublishesTheCancelPayload) {
  ASSERT_TRUE(device_.subscribe("edgerun/gw-01/jobs/cancel"));
  ProcessResult r = ctl({"cancel", "gw-01", "job-42"});
  EXPECT_EQ(r.exit_code, 0) << describe(r);
  auto msg = device_.wait_for_topic("edgerun/gw-01/jobs/cancel", kWait);
  ASSERT_TRUE(msg);
  EXPECT_EQ(msg->qos, 1);
  Json json = parse(msg->payload);
  ASSERT_TRUE(json) << msg->payload;
  EXPECT_EQ(compact(json.get()), R"({"id":"job-42"})");
}

TEST_F(EdgerunctlTest, StatusPrintsRetainedPresence) {
  const std::string presence =
      R"({"v":1,"device":"gw-01","state":"online","version":"0.3.1","started_at":1767323045678,)"
      R"("ts":1767323045678,"sysinfo":{"hostname":"gw-01","os":"Linux","release":"6.1.0","arch":"aarch64",)"
      R"("cpu_count":4,"mem_total":1073741824,"mem_available":536870912,"uptime_s":3600},"handlers":["echo"]})";
  ASSERT_TRUE(device_.publish("edgerun/gw-01/status", presence, 1, true));
  ASSERT_TRUE(device_.publish("edgerun/gw-02/status", R"({"v":1,"device":"gw-02","state":"offline"})", 1, true));

  ProcessResult r = ctl({"status"});
  EXPECT_EQ(r.exit_code, 0) << describe(r);
  EXPECT_NE(r.out.find("gw-01  online\n"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("  version     0.3.1\n"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("  started_at  2026-01-02T03:04:05.678Z\n"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("hostname=gw-01 os=Linux release=6.1.0 arch=aarch64 cpu_count=4"), std::string::npos)
      << r.out;
  EXPECT_NE(r.out.find("gw-02  offline\n"), std::string::npos) << r.out;

  ProcessResult one = ctl({"status", "gw-02", "--json"});
  EXPECT_EQ(one.exit_code, 0) << describe(one);
  EXPECT_EQ(one.out, R"({"v":1,"device":"gw-02","state":"offline"})"
                     "\n");
}

TEST_F(EdgerunctlTest, StatusWithoutDevicesExitsOne) {
  ProcessResult r = ctl({"status"});
  EXPECT_EQ(r.exit_code, 1) << describe(r);
  EXPECT_EQ(r.out, "");
  EXPECT_NE(r.err.find("no device found"), std::string::npos) << describe(r);
}

TEST_F(EdgerunctlTest, WatchPrintsTelemetryReadably) {
  ChildProcess child;
  start_ctl(child, {"watch", "gw-01", "--count", "4", "--timeout", "10"});
  // The tool says on stderr when its subscriptions stand; publish after that.
  ASSERT_TRUE(child.wait_for_stderr("watching", kWait)) << child.err();
  ASSERT_TRUE(device_.publish("edgerun/gw-01/telemetry/metrics",
                              R"({"v":1,"device":"gw-01","ts":1,"interval_ms":10000,"metrics":[)"
                              R"({"name":"edgerun_jobs_total","kind":"counter","value":3,"labels":{"state":"succeeded"}}]})",
                              0));
  ASSERT_TRUE(device_.publish("edgerun/gw-01/telemetry/logs",
                              R"({"v":1,"device":"gw-01","ts":1,"dropped":0,"records":[)"
                              R"({"ts":1767323045678,"level":"info","msg":"hello","fields":{"k":"v"}}]})",
                              0));
  ASSERT_TRUE(device_.publish("edgerun/gw-01/telemetry/events",
                              R"({"v":1,"device":"gw-01","ts":1,"type":"door","data":{"open":true}})", 1));
  answer("gw-01", "job-9", "running");
  // Another device's telemetry must not show up.
  ASSERT_TRUE(device_.publish("edgerun/gw-02/telemetry/events", R"({"type":"other"})", 1));

  ProcessResult r = child.wait(kWait);
  EXPECT_EQ(r.exit_code, 0) << describe(r);
  EXPECT_EQ(r.out,
            "gw-01 metric edgerun_jobs_total{state=\"succeeded\"}=3\n"
            "gw-01 log 2026-01-02T03:04:05.678Z info hello {\"k\":\"v\"}\n"
            "gw-01 event door {\"open\":true}\n"
            "gw-01 job-9 running\n")
      << describe(r);
}

TEST_F(EdgerunctlTest, WatchAllDevicesWithJsonAndRetainedPresence) {
  ASSERT_TRUE(device_.publish("edgerun/gw-05/status", R"({"v":1,"device":"gw-05","state":"online"})", 1, true));
  ChildProcess child;
  start_ctl(child, {"watch", "--json", "--count", "2"});
  ASSERT_TRUE(child.wait_for_stderr("watching", kWait)) << child.err();
  ASSERT_TRUE(device_.publish("edgerun/gw-06/jobs/rejected", R"({"v":1,"device":"gw-06","error":{"code":"bad_json"}})", 1));
  ProcessResult r = child.wait(kWait);
  EXPECT_EQ(r.exit_code, 0) << describe(r);
  EXPECT_EQ(r.out,
            R"({"v":1,"device":"gw-05","state":"online"})"
            "\n"
            R"({"v":1,"device":"gw-06","error":{"code":"bad_json"}})"
            "\n");
}

TEST_F(EdgerunctlTest, WatchStopsCleanlyOnSigterm) {
  ChildProcess child;
  start_ctl(child, {"watch", "gw-01"});
  ASSERT_TRUE(child.wait_for_stderr("watching", kWait)) << child.err();
  child.send_signal(SIGTERM);
  ProcessResult r = child.wait(kWait);
  EXPECT_EQ(r.exit_code, 0) << describe(r);
}

TEST_F(EdgerunctlTest, WatchCountNotReachedBeforeTimeoutExitsFive) {
  ProcessResult r = ctl({"watch", "gw-01", "--count", "1", "--timeout", "0.3"});
  EXPECT_EQ(r.exit_code, 5) << describe(r);
}

TEST_F(EdgerunctlTest, UrlComesFromTheEnvironment) {
  ASSERT_TRUE(device_.subscribe("edgerun/gw-01/jobs/cancel"));
  ProcessResult r = run_process(EDGERUNCTL_PATH, {"cancel", "gw-01", "env-1"},
                                clean_env({{"EDGERUN_MQTT_URL", broker_.url()}}), kWait);
  EXPECT_EQ(r.exit_code, 0) << describe(r);
  auto msg = device_.wait_for_topic("edgerun/gw-01/jobs/cancel", kWait);
  ASSERT_TRUE(msg);
  EXPECT_EQ(msg->payload, R"({"id":"env-1"})");
}

TEST_F(EdgerunctlTest, UrlFlagWinsOverTheEnvironment) {
  ASSERT_TRUE(device_.subscribe("edgerun/gw-01/jobs/cancel"));
  ProcessResult r =
      run_process(EDGERUNCTL_PATH, {"cancel", "gw-01", "env-2", "--url", broker_.url()},
                  clean_env({{"EDGERUN_MQTT_URL", "mqtt://127.0.0.1:" + std::to_string(pick_free_port())}}), kWait);
  EXPECT_EQ(r.exit_code, 0) << describe(r);
  ASSERT_TRUE(device_.wait_for_topic("edgerun/gw-01/jobs/cancel", kWait));
}

TEST_F(EdgerunctlTest, PrefixOptionChangesTheTopics) {
  ASSERT_TRUE(device_.subscribe("site1/edgerun/gw-01/jobs/cancel"));
  ProcessResult r = ctl({"--prefix", "site1/edgerun", "cancel", "gw-01", "p-1"});
  EXPECT_EQ(r.exit_code, 0) << describe(r);
  ASSERT_TRUE(device_.wait_for_topic("site1/edgerun/gw-01/jobs/cancel", kWait));
}

TEST_F(EdgerunctlTest, UnreachableBrokerExitsFour) {
  int port = pick_free_port();  // nothing listens there
  ProcessResult r = run_process(EDGERUNCTL_PATH,
                                {"cancel", "gw-01", "j1", "--url", "mqtt://127.0.0.1:" + std::to_string(port)},
                                clean_env(), kWait);
  EXPECT_EQ(r.exit_code, 4) << describe(r);
  EXPECT_NE(r.err.find("cannot connect"), std::string::npos) << describe(r);
}

TEST_F(EdgerunctlTest, BadUsageExitsThreeAndSendsNothing) {
  ASSERT_TRUE(device_.subscribe("edgerun/gw-01/jobs/#"));
  struct Case {
    std::vector<std::string> args;
    std::string message;
  };
  const std::vector<Case> cases = {
      {{"cancel", "gw-01", "bad/id"}, "bad job id"},
      {{"submit", "gw-01", "echo", "--id", "no spaces"}, "bad job id"},
      {{"submit", "gw-01"}, "needs a job type"},
      {{"cancel", "gw-01"}, "needs a device id and a job id"},
      {{"submit", "gw+01", "echo"}, "bad device id"},
      {{"launch"}, "unknown command"},
      {{}, "no command"},
  };
  for (const Case& c : cases) {
    ProcessResult r = ctl(c.args);
    EXPECT_EQ(r.exit_code, 3) << describe(r);
    EXPECT_NE(r.err.find(c.message), std::string::npos) << describe(r);
    EXPECT_NE(r.err.find("--help"), std::string::npos) << describe(r);
  }
  // Had any of them published, its message would arrive before this marker.
  ASSERT_TRUE(device_.publish("edgerun/gw-01/jobs/marker", "{}", 1));
  auto first = device_.wait_for_message([](const MqttMessage&) { return true; }, kWait);
  ASSERT_TRUE(first);
  EXPECT_EQ(first->topic, "edgerun/gw-01/jobs/marker");
}

TEST_F(EdgerunctlTest, HelpExitsZero) {
  ProcessResult general = ctl({"--help"});
  EXPECT_EQ(general.exit_code, 0) << describe(general);
  EXPECT_NE(general.out.find("Usage: edgerunctl"), std::string::npos);
  ProcessResult submit = ctl({"submit", "--help"});
  EXPECT_EQ(submit.exit_code, 0) << describe(submit);
  EXPECT_NE(submit.out.find("--job-timeout-ms"), std::string::npos);
}

// A directory that disappears with the test.
struct TempDir {
  std::string path;
  TempDir() {
    std::string pattern = std::filesystem::temp_directory_path().string() + "/edgerunctl-tls-XXXXXX";
    if (::mkdtemp(pattern.data()) != nullptr) path = pattern;
  }
  ~TempDir() {
    std::error_code ec;
    if (!path.empty()) std::filesystem::remove_all(path, ec);
  }
};

// Runs a helper program to completion; true when it exits 0.
::testing::AssertionResult run_ok(const std::string& program, const std::vector<std::string>& args) {
  ProcessResult r = run_process(program, args, {}, 20s);
  if (r.exit_code == 0) return ::testing::AssertionSuccess();
  return ::testing::AssertionFailure() << program << " failed: " << describe(r);
}

TEST(EdgerunctlTls, MqttsVerifiesTheBrokerAgainstTheGivenCa) {
  const std::string openssl = "/usr/bin/openssl";
  if (::access(openssl.c_str(), X_OK) != 0) GTEST_SKIP() << "no " << openssl << " to make certificates with";
  TempDir dir;
  ASSERT_FALSE(dir.path.empty());
  const std::string ca_key = dir.path + "/ca.key", ca_crt = dir.path + "/ca.crt";
  const std::string key = dir.path + "/server.key", csr = dir.path + "/server.csr", crt = dir.path + "/server.crt";
  const std::string ext = dir.path + "/server.ext";
  {
    std::ofstream out(ext);
    out << "subjectAltName=IP:127.0.0.1\n";
  }
  ASSERT_TRUE(run_ok(openssl, {"req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", ca_key, "-out", ca_crt,
                               "-days", "2", "-subj", "/CN=edgerun test CA"}));
  ASSERT_TRUE(run_ok(openssl, {"req", "-newkey", "rsa:2048", "-nodes", "-keyout", key, "-out", csr, "-subj",
                               "/CN=127.0.0.1"}));
  ASSERT_TRUE(run_ok(openssl, {"x509", "-req", "-in", csr, "-CA", ca_crt, "-CAkey", ca_key, "-CAcreateserial",
                               "-out", crt, "-days", "2", "-extfile", ext}));

  const int tls_port = pick_free_port();
  MosquittoBroker::Options options;
  options.extra_config = "listener " + std::to_string(tls_port) + " 127.0.0.1\ncafile " + ca_crt +
                         "\ncertfile " + crt + "\nkeyfile " + key;
  MosquittoBroker broker(options);
  Status started = broker.start();
  ASSERT_TRUE(started) << started.message;
  MqttProbe device;
  ASSERT_TRUE(device.connect(broker));
  ASSERT_TRUE(device.subscribe("edgerun/gw-01/jobs/cancel"));

  const std::string url = "mqtts://127.0.0.1:" + std::to_string(tls_port);
  ProcessResult trusted =
      run_process(EDGERUNCTL_PATH, {"cancel", "gw-01", "tls-1", "--url", url, "--cafile", ca_crt}, clean_env(), kWait);
  EXPECT_EQ(trusted.exit_code, 0) << describe(trusted) << broker.log_tail();
  auto msg = device.wait_for_topic("edgerun/gw-01/jobs/cancel", kWait);
  ASSERT_TRUE(msg);
  EXPECT_EQ(msg->payload, R"({"id":"tls-1"})");

  // The system's CAs do not know the test CA: the handshake must fail.
  ProcessResult untrusted = run_process(EDGERUNCTL_PATH, {"cancel", "gw-01", "tls-2", "--url", url}, clean_env(), kWait);
  EXPECT_EQ(untrusted.exit_code, 4) << describe(untrusted);
}

}  // namespace
}  // namespace edgerun::test

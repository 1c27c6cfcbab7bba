// Tests of the broker fixture and the probe themselves: if these fail, every
// integration test built on them is suspect.

#include <gtest/gtest.h>

#include <chrono>
#include <csignal>
#include <string>

#include "child_process.hpp"
#include "mosquitto_broker.hpp"
#include "mqtt_probe.hpp"

namespace edgerun::test {
namespace {

using namespace std::chrono_literals;

TEST(MosquittoBroker, StartsOnAFreeLoopbackPort) {
  MosquittoBroker broker;
  ASSERT_TRUE(broker.start()) << broker.log_tail();
  EXPECT_TRUE(broker.running());
  EXPECT_GT(broker.port(), 0);
  EXPECT_EQ(broker.url(), "mqtt://127.0.0.1:" + std::to_string(broker.port()));

  MqttProbe probe;
  Status connected = probe.connect(broker);
  ASSERT_TRUE(connected) << connected.message;
}

TEST(MosquittoBroker, MessagesFlowBetweenProbes) {
  MosquittoBroker broker;
  ASSERT_TRUE(broker.start()) << broker.log_tail();
  MqttProbe sub;
  MqttProbe pub;
  ASSERT_TRUE(sub.connect(broker));
  ASSERT_TRUE(pub.connect(broker));
  Status subscribed = sub.subscribe("t/+/x", 1);
  ASSERT_TRUE(subscribed) << subscribed.message;
  ASSERT_TRUE(pub.publish("t/a/x", "hello", 1));
  auto msg = sub.wait_for_topic("t/a/x");
  ASSERT_TRUE(msg.has_value());
  EXPECT_EQ(msg->payload, "hello");
  EXPECT_EQ(msg->qos, 1);
}

TEST(MosquittoBroker, RetainedMessageReachesLateSubscriber) {
  MosquittoBroker broker;
  ASSERT_TRUE(broker.start()) << broker.log_tail();
  MqttProbe pub;
  ASSERT_TRUE(pub.connect(broker));
  ASSERT_TRUE(pub.publish("r/1", "kept", 1, true));
  MqttProbe sub;
  ASSERT_TRUE(sub.connect(broker));
  ASSERT_TRUE(sub.subscribe("r/#"));
  auto msg = sub.wait_for_topic("r/1");
  ASSERT_TRUE(msg.has_value());
  EXPECT_TRUE(msg->retain);
  EXPECT_EQ(msg->payload, "kept");
}

TEST(MosquittoBroker, WaitForMessageIsBounded) {
  MosquittoBroker broker;
  ASSERT_TRUE(broker.start()) << broker.log_tail();
  MqttProbe sub;
  ASSERT_TRUE(sub.connect(broker));
  ASSERT_TRUE(sub.subscribe("quiet/#"));
  auto start = std::chrono::steady_clock::now();
  EXPECT_FALSE(sub.wait_for_topic("quiet/x", 100ms).has_value());
  EXPECT_LT(std::chrono::steady_clock::now() - start, 2s);
}

TEST(MosquittoBroker, RestartKeepsThePort) {
  MosquittoBroker broker;
  ASSERT_TRUE(broker.start()) << broker.log_tail();
  const int port = broker.port();
  Status restarted = broker.restart();
  ASSERT_TRUE(restarted) << restarted.message;
  EXPECT_EQ(broker.port(), port);
  MqttProbe probe;
  ASSERT_TRUE(probe.connect(broker));
}

TEST(MosquittoBroker, ProbeReconnectsAndResubscribesAfterRestart) {
  MosquittoBroker broker;
  ASSERT_TRUE(broker.start()) << broker.log_tail();
  MqttProbe sub;
  ASSERT_TRUE(sub.connect(broker));
  ASSERT_TRUE(sub.subscribe("again/#"));
  ASSERT_TRUE(broker.restart()) << broker.log_tail();

  // libmosquitto retries once a second; allow several attempts.
  Status back = sub.wait_connected(10s);
  ASSERT_TRUE(back) << back.message << "\n" << broker.log_tail();
  MqttProbe pub;
  ASSERT_TRUE(pub.connect(broker));
  // The resubscription is sent from the CONNACK callback; until its SUBACK
  // the broker may drop a publish, so publish until one arrives, bounded.
  std::optional<MqttMessage> msg;
  for (int attempt = 0; attempt < 50 && !msg; ++attempt) {
    ASSERT_TRUE(pub.publish("again/x", "back", 1));
    msg = sub.wait_for_topic("again/x", 100ms);
  }
  ASSERT_TRUE(msg.has_value()) << broker.log_tail();
  EXPECT_EQ(msg->payload, "back");
}

TEST(MosquittoBroker, PersistentSessionKeepsQueuedMessageAcrossRestart) {
  MosquittoBroker broker;
  ASSERT_TRUE(broker.start()) << broker.log_tail();
  MqttProbe::Options persistent;
  persistent.client_id = "persistent-device";
  persistent.clean_start = false;
  persistent.session_expiry_s = 3600;
  {
    MqttProbe device(persistent);
    ASSERT_TRUE(device.connect(broker));
    ASSERT_TRUE(device.subscribe("edgerun/dev/jobs/submit", 1));
    device.disconnect();
  }
  {
    MqttProbe submitter;
    ASSERT_TRUE(submitter.connect(broker));
    ASSERT_TRUE(submitter.publish("edgerun/dev/jobs/submit", R"({"id":"j1","type":"echo"})", 1));
  }
  Status restarted = broker.restart();
  ASSERT_TRUE(restarted) << restarted.message;

  MqttProbe device(persistent);
  ASSERT_TRUE(device.connect(broker));
  auto msg = device.wait_for_topic("edgerun/dev/jobs/submit");
  ASSERT_TRUE(msg.has_value()) << broker.log_tail();
  EXPECT_EQ(msg->payload, R"({"id":"j1","type":"echo"})");
  EXPECT_EQ(msg->qos, 1);
}

TEST(MosquittoBroker, BadConfigFailsWithTheLog) {
  MosquittoBroker::Options options;
  options.extra_config = "no_such_option 1";
  MosquittoBroker broker(options);
  Status started = broker.start();
  ASSERT_FALSE(started);
  EXPECT_NE(started.message.find("exited during start-up"), std::string::npos) << started.message;
  EXPECT_NE(started.message.find("no_such_option"), std::string::npos) << started.message;
  EXPECT_FALSE(broker.running());
}

TEST(MosquittoBroker, MissingBinaryFails) {
  MosquittoBroker::Options options;
  options.binary = "/nonexistent/mosquitto";
  MosquittoBroker broker(options);
  Status started = broker.start();
  EXPECT_FALSE(started);
  EXPECT_FALSE(broker.running());
}

TEST(ChildProcess, CapturesOutputAndExitCode) {
  SpawnOptions options;
  options.set_env.emplace_back("EDGERUN_TEST_VALUE", "42");
  ProcessResult r = run_process("/usr/bin/env", {}, options, 5s);
  EXPECT_FALSE(r.timed_out);
  EXPECT_EQ(r.exit_code, 0);
  EXPECT_NE(r.out.find("EDGERUN_TEST_VALUE=42"), std::string::npos);
}

TEST(ChildProcess, KillsAProcessThatOutlivesItsTimeout) {
  ProcessResult r = run_process("/bin/sleep", {"30"}, {}, 200ms);
  EXPECT_TRUE(r.timed_out);
  EXPECT_EQ(r.term_signal, SIGKILL);
}

}  // namespace
}  // namespace edgerun::test

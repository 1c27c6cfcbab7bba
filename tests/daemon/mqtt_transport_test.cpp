// MqttTransport as a component: a real Runtime and loop on a thread of the
// test, a real broker, and a handler that emits events (no built-in handler
// of edgerund does, so this is where telemetry/events is checked).
#include "edgerun/mqtt_transport.hpp"

#include <cjson/cJSON.h>
#include <gtest/gtest.h>

#include <thread>

#include "mosquitto_broker.hpp"
#include "mqtt_probe.hpp"

namespace edgerun {
namespace {

using namespace std::chrono_literals;
using test::MosquittoBroker;
using test::MqttMessage;
using test::MqttProbe;

// The runtime's sizes and the transport's options, as a daemon would set them.
struct TransportSetup {
  RuntimeConfig runtime;
  MqttTransportOptions transport;
};

TransportSetup transport_config(const MosquittoBroker& broker, const std::string& device) {
  TransportSetup config;
  config.transport.device_id = device;
  config.transport.mqtt.url = broker.url();
  config.transport.mqtt.host = broker.host();
  config.transport.mqtt.port = static_cast<std::uint16_t>(broker.port());
  config.transport.mqtt.reconnect_min_ms = 50;
  config.transport.mqtt.reconnect_max_ms = 200;
  config.runtime.workers = 1;
  config.runtime.log_to_stderr = false;
  config.runtime.log_flush_interval_ms = 50;
  config.transport.telemetry.interval_ms = 200;
  return config;
}

// Emits one event with the job's params as data.
HandlerResult emitting_handler(JobContext& job) {
  job.emit_event("progress", job.params());
  return HandlerResult::success();
}

class TransportTest : public ::testing::Test {
 protected:
  void SetUp() override { ASSERT_TRUE(broker_.start()); }

  void start(const TransportSetup& config) {
    runtime_ = std::make_unique<Runtime>(config.runtime);
    ASSERT_TRUE(runtime_->register_handler("emit", emitting_handler));
    transport_ = std::make_unique<MqttTransport>(*runtime_, config.transport, "test");
    runtime_->add_component(*transport_);
    runtime_->add_status_sink(*transport_);
    runtime_->add_log_sink(*transport_);
    runtime_->add_event_sink(*transport_);
    ASSERT_TRUE(runtime_->start());
    loop_ = std::thread([this] { run_status_ = runtime_->run(); });
  }

  void TearDown() override {
    if (runtime_) {
      runtime_->shutdown(true, 1000ms);
      if (loop_.joinable()) loop_.join();
      EXPECT_TRUE(run_status_) << run_status_.message();
    }
  }

  MosquittoBroker broker_;
  std::unique_ptr<Runtime> runtime_;
  std::unique_ptr<MqttTransport> transport_;
  std::thread loop_;
  Status run_status_;
};

TEST_F(TransportTest, HandlerEventsArriveOnTelemetryEvents) {
  MqttProbe probe;
  ASSERT_TRUE(probe.connect(broker_));
  ASSERT_TRUE(probe.subscribe("edgerun/dev-c/#", 1));
  start(transport_config(broker_, "dev-c"));
  ASSERT_TRUE(probe.wait_for_topic("edgerun/dev-c/status", 10s)) << "no presence";
  ASSERT_TRUE(probe.publish("edgerun/dev-c/jobs/submit", R"({"v":1,"id":"ev-1","type":"emit","params":{"pct":50}})", 1));
  auto event = probe.wait_for_topic("edgerun/dev-c/telemetry/events", 10s);
  ASSERT_TRUE(event);
  EXPECT_EQ(event->qos, 1);
  cJSON* body = cJSON_Parse(event->payload.c_str());
  ASSERT_NE(body, nullptr) << event->payload;
  EXPECT_STREQ(cJSON_GetStringValue(cJSON_GetObjectItem(body, "type")), "progress");
  EXPECT_STREQ(cJSON_GetStringValue(cJSON_GetObjectItem(body, "device")), "dev-c");
  EXPECT_EQ(cJSON_GetNumberValue(cJSON_GetObjectItem(cJSON_GetObjectItem(body, "data"), "pct")), 50);
  cJSON_Delete(body);
}

TEST_F(TransportTest, EventsEmittedWhileTheBrokerIsAwayArriveAfterItReturns) {
  MqttProbe::Options options;
  options.client_id = "events-persistent";
  options.clean_start = false;
  options.session_expiry_s = 300;
  MqttProbe probe(options);
  ASSERT_TRUE(probe.connect(broker_));
  ASSERT_TRUE(probe.subscribe("edgerun/dev-f/telemetry/events", 1));
  ASSERT_TRUE(probe.subscribe("edgerun/dev-f/status", 1));
  start(transport_config(broker_, "dev-f"));
  ASSERT_TRUE(probe.wait_for_topic("edgerun/dev-f/status", 10s));
  ASSERT_TRUE(broker_.stop());
  const SubmitResult submitted = runtime_->submit_json(R"({"v":1,"id":"ev-2","type":"emit","params":{"pct":77}})");
  ASSERT_TRUE(submitted.accepted) << submitted.message_view();
  ASSERT_TRUE(runtime_->wait_until_all_jobs_finished(5s));
  ASSERT_TRUE(broker_.start());
  ASSERT_TRUE(probe.wait_connected(10s));
  auto event = probe.wait_for_message(
      [](const MqttMessage& m) { return m.topic == "edgerun/dev-f/telemetry/events" && m.payload.find("77") != std::string::npos; },
      10s);
  EXPECT_TRUE(event);
}

TEST_F(TransportTest, ACleanStopPublishesOfflinePresenceAndClosesEveryHandle) {
  MqttProbe probe;
  ASSERT_TRUE(probe.connect(broker_));
  ASSERT_TRUE(probe.subscribe("edgerun/dev-d/status", 1));
  start(transport_config(broker_, "dev-d"));
  ASSERT_TRUE(probe.wait_for_message([](const MqttMessage& m) { return m.payload.find("\"online\"") != std::string::npos; }, 10s));
  runtime_->shutdown(true, 1000ms);
  loop_.join();
  // run() returning success means every handle of the loop was closed.
  EXPECT_TRUE(run_status_) << run_status_.message();
  EXPECT_TRUE(probe.wait_for_message([](const MqttMessage& m) { return m.payload.find("\"offline\"") != std::string::npos; }, 10s));
}

TEST_F(TransportTest, StopsCleanlyWhileTheBrokerIsAway) {
  // Nothing listens on the port: the transport keeps trying to connect.
  TransportSetup config = transport_config(broker_, "dev-e");
  config.transport.mqtt.port = static_cast<std::uint16_t>(test::pick_free_port());
  start(config);
  runtime_->shutdown(false, 0ms);
  loop_.join();
  EXPECT_TRUE(run_status_) << run_status_.message();
}

}  // namespace
}  // namespace edgerun

// MqttTransport as a component: a real Runtime and loop on a thread of the
// test, a real broker, and a handler that emits events (no built-in handler
// of edgerund does, so this is where telemetry/events is checked).
#include "edgerun/mqtt_transport.hpp"

#include <cjson/cJSON.h>
#include <gtest/gtest.h>

#include <cstdint>
#include <optional>
#include <thread>
#include <vector>

#include "edgerun/port/clock.hpp"
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

// Polls `done` until it holds or `timeout` passes: for state the loop thread
// changes and the test can only observe (the runtime's metrics).
template <class Predicate>
bool eventually(Predicate done, std::chrono::milliseconds timeout) {
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  while (!done()) {
    if (std::chrono::steady_clock::now() >= deadline) return false;
    std::this_thread::sleep_for(10ms);
  }
  return true;
}

// What the snapshot tests read from a telemetry/metrics message: when it was
// taken, and the transport's own series as they were then.
struct Snapshot {
  std::int64_t ts = 0;
  double connected = -1;  // edgerun_mqtt_connected
  double dropped = -1;    // edgerun_metric_snapshots_dropped_total
  double buffered = -1;   // edgerun_metric_snapshots_buffered
};

std::optional<Snapshot> parse_snapshot(const std::string& payload) {
  cJSON* body = cJSON_Parse(payload.c_str());
  if (body == nullptr) return std::nullopt;
  Snapshot snapshot;
  snapshot.ts = static_cast<std::int64_t>(cJSON_GetNumberValue(cJSON_GetObjectItem(body, "ts")));
  const cJSON* metric = nullptr;
  cJSON_ArrayForEach(metric, cJSON_GetObjectItem(body, "metrics")) {
    const char* name = cJSON_GetStringValue(cJSON_GetObjectItem(metric, "name"));
    const double value = cJSON_GetNumberValue(cJSON_GetObjectItem(metric, "value"));
    if (name == nullptr) continue;
    const std::string_view n(name);
    if (n == "edgerun_mqtt_connected") snapshot.connected = value;
    if (n == "edgerun_metric_snapshots_dropped_total") snapshot.dropped = value;
    if (n == "edgerun_metric_snapshots_buffered") snapshot.buffered = value;
  }
  cJSON_Delete(body);
  return snapshot;
}

// The next snapshot the probe received, in the order the broker sent them.
std::optional<Snapshot> next_snapshot(MqttProbe& probe, const std::string& topic) {
  const std::optional<MqttMessage> message = probe.wait_for_topic(topic, 10s);
  if (!message) return std::nullopt;
  return parse_snapshot(message->payload);
}

// A probe with a persistent session, so that it also gets what the device
// publishes across a broker restart before the probe itself is back.
MqttProbe::Options persistent_probe(const std::string& client_id) {
  MqttProbe::Options options;
  options.client_id = client_id;
  options.clean_start = false;
  options.session_expiry_s = 300;
  return options;
}

class TransportTest : public ::testing::Test {
 protected:
  void SetUp() override { ASSERT_TRUE(broker_.start()); }

  // After a restart the device may reconnect before a test's probe does: the
  // broker then keeps the device's QoS 0 telemetry for the probe's persistent
  // session, as it does QoS 1 messages.
  static MosquittoBroker::Options broker_options() {
    MosquittoBroker::Options options;
    options.extra_config = "queue_qos0_messages true";
    return options;
  }

  // Any thread: the current value of one of the runtime's series.
  double metric(std::string_view name) const {
    return runtime_->metrics().value(runtime_->metrics().find(name));
  }

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

  MosquittoBroker broker_{broker_options()};
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

TEST_F(TransportTest, SnapshotsTakenWhileTheBrokerIsAwayArriveOldestFirstAfterItReturns) {
  constexpr std::uint32_t kKept = 3;
  const std::string topic = "edgerun/dev-g/telemetry/metrics";
  MqttProbe probe(persistent_probe("snapshots-kept"));
  ASSERT_TRUE(probe.connect(broker_));
  ASSERT_TRUE(probe.subscribe(topic, 1));
  TransportSetup config = transport_config(broker_, "dev-g");
  config.transport.telemetry.interval_ms = 100;
  config.transport.telemetry.buffered_snapshots = kKept;
  start(config);
  ASSERT_TRUE(probe.wait_for_topic(topic, 10s)) << "no snapshot while connected";

  ASSERT_TRUE(broker_.stop());
  const std::int64_t stopped_ms = port::wall_ms();
  // kKept + 2 snapshots taken while away at least: the ring is full and has
  // dropped its two oldest.
  ASSERT_TRUE(eventually([&] { return metric("edgerun_metric_snapshots_dropped_total") >= 2; }, 10s));
  EXPECT_EQ(metric("edgerun_metric_snapshots_buffered"), kKept);
  ASSERT_TRUE(broker_.start());
  ASSERT_TRUE(probe.wait_connected(10s));

  // Skip what went out before the stop; a snapshot taken after it while
  // connected would be a new one overtaking the kept ones.
  std::optional<Snapshot> snapshot;
  do {
    snapshot = next_snapshot(probe, topic);
    ASSERT_TRUE(snapshot) << "no snapshot taken while the broker was away arrived";
  } while (snapshot->connected == 1 && snapshot->ts < stopped_ms);
  std::vector<Snapshot> away;
  while (snapshot->connected == 0) {
    away.push_back(*snapshot);
    snapshot = next_snapshot(probe, topic);
    ASSERT_TRUE(snapshot) << "no snapshot after the kept ones";
  }
  const Snapshot live = *snapshot;
  const double dropped = metric("edgerun_metric_snapshots_dropped_total");

  // The newest kKept, oldest first, each with the ts it was taken at, all
  // before the first one taken after the reconnect.
  ASSERT_EQ(away.size(), kKept) << "the ring was full when the broker came back";
  for (std::size_t i = 1; i < away.size(); ++i) EXPECT_LT(away[i - 1].ts, away[i].ts) << i;
  EXPECT_LT(away.back().ts, live.ts);
  // Every other snapshot taken while away was dropped and counted: the last
  // kept one was taken when all but the kKept + 1 newest were gone.
  EXPECT_GE(dropped, 2);
  EXPECT_EQ(away.back().dropped + 1, dropped);
  EXPECT_EQ(away.back().buffered, kKept);
  EXPECT_EQ(live.dropped, dropped) << "nothing is dropped once connected";
  EXPECT_EQ(live.buffered, 0);
  EXPECT_EQ(metric("edgerun_metric_snapshots_buffered"), 0);
}

TEST_F(TransportTest, WithoutSnapshotBufferSnapshotsTakenWhileTheBrokerIsAwayAreDroppedAndCounted) {
  const std::string topic = "edgerun/dev-h/telemetry/metrics";
  MqttProbe probe(persistent_probe("snapshots-none"));
  ASSERT_TRUE(probe.connect(broker_));
  ASSERT_TRUE(probe.subscribe(topic, 1));
  TransportSetup config = transport_config(broker_, "dev-h");
  config.transport.telemetry.interval_ms = 100;
  config.transport.telemetry.buffered_snapshots = 0;
  start(config);
  ASSERT_TRUE(probe.wait_for_topic(topic, 10s)) << "no snapshot while connected";

  ASSERT_TRUE(broker_.stop());
  const std::int64_t stopped_ms = port::wall_ms();
  ASSERT_TRUE(eventually([&] { return metric("edgerun_metric_snapshots_dropped_total") >= 2; }, 10s));
  EXPECT_EQ(metric("edgerun_metric_snapshots_buffered"), 0);
  ASSERT_TRUE(broker_.start());
  ASSERT_TRUE(probe.wait_connected(10s));

  std::optional<Snapshot> snapshot;
  do {
    snapshot = next_snapshot(probe, topic);
    ASSERT_TRUE(snapshot) << "no snapshot after the reconnect";
  } while (snapshot->connected == 1 && snapshot->ts < stopped_ms);
  // The first snapshot after the stop is one taken after the reconnect, and
  // it counts every snapshot taken while away.
  EXPECT_EQ(snapshot->connected, 1) << "a snapshot taken while away was kept";
  EXPECT_GE(snapshot->ts, stopped_ms);
  EXPECT_EQ(snapshot->dropped, metric("edgerun_metric_snapshots_dropped_total"));
  EXPECT_GE(snapshot->dropped, 2);
  EXPECT_EQ(snapshot->buffered, 0);
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

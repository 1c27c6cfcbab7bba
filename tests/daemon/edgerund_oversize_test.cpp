// edgerund against what is too large for it: cancels beyond their bound and
// packets beyond the Maximum Packet Size the daemon announces on CONNECT.
#include <gtest/gtest.h>

#include <cstdlib>
#include <fstream>
#include <string>

#include "daemon_fixture.hpp"

namespace edgerun::test {
namespace {

using OversizeTest = DaemonTest;

#if defined(__SANITIZE_THREAD__)
constexpr bool kThreadSanitizer = true;
#else
constexpr bool kThreadSanitizer = false;
#endif

// The resident set of `pid` in KiB, from /proc (0 when it cannot be read).
long resident_kib(pid_t pid) {
  std::ifstream status("/proc/" + std::to_string(pid) + "/status");
  std::string line;
  while (std::getline(status, line)) {
    if (line.rfind("VmRSS:", 0) == 0) return std::strtol(line.c_str() + 6, nullptr, 10);
  }
  return 0;
}

// A JSON object of about `bytes` bytes padded with small integers: cheap on
// the wire, one parser node per two bytes.
std::string padded_object(const std::string& head, std::size_t bytes) {
  std::string text = "{" + head + R"(,"pad":[0)";
  text.reserve(bytes + 8);
  while (text.size() < bytes) text += ",0";
  return text + "]}";
}

// The value of counter `name` in a metrics snapshot, if it is there.
std::optional<double> metric_value(const std::string& snapshot, const std::string& name) {
  Json body = parse_json(snapshot);
  const cJSON* metric = nullptr;
  cJSON_ArrayForEach(metric, cJSON_GetObjectItemCaseSensitive(body.get(), "metrics")) {
    if (json_string(metric, "name") == name) return json_number(metric, "value");
  }
  return std::nullopt;
}

TEST_F(OversizeTest, ACancelFloodLeavesMemoryFlatAndCancelStillWorks) {
  // A large payload limit, so that the flood's packets reach the daemon.
  // AddressSanitizer keeps freed blocks in quarantine (256 MiB by default),
  // which would count libmosquitto's freed packet buffers as growth.
  SpawnOptions options;
  const char* asan = std::getenv("ASAN_OPTIONS");
  options.set_env.emplace_back("ASAN_OPTIONS", std::string(asan != nullptr ? asan : "") + ":quarantine_size_mb=1");
  start_daemon("dev-flood", [](cJSON& root) { set_int(root, "jobs", "max_payload_bytes", 65536); }, options);
  const pid_t pid = daemon_->process().pid();
  // Settle: one job through, so start-up allocations are done.
  ASSERT_TRUE(submit(probe_, dev(), "warm-1", "echo"));
  ASSERT_TRUE(wait_state(probe_, dev(), "warm-1", "succeeded")) << daemon_->process().err();
  const long before_kib = resident_kib(pid);
  ASSERT_GT(before_kib, 0);

  // Each would be about 60,000 cJSON nodes, some 4 MiB, if it were parsed.
  constexpr int kFlood = 40;
  const std::string flood = padded_object(R"("id":"nope")", 120 * 1024);
  for (int i = 0; i < kFlood; ++i) ASSERT_TRUE(probe_.publish(daemon_->topic("jobs/cancel"), flood, 1));

  // Cancels are taken in order: once this one works, the flood was handled.
  ASSERT_TRUE(submit(probe_, dev(), "sleep-1", "sleep", R"({"ms":30000})"));
  ASSERT_TRUE(wait_state(probe_, dev(), "sleep-1", "running")) << daemon_->process().err();
  ASSERT_TRUE(probe_.publish(daemon_->topic("jobs/cancel"), R"({"id":"sleep-1"})", 1));
  Json canceled = next_status(probe_, dev(), "sleep-1");
  ASSERT_TRUE(canceled) << daemon_->process().err();
  EXPECT_EQ(json_string(canceled.get(), "state"), "canceled");

  // ThreadSanitizer maps shadow memory for every heap address libmosquitto's
  // packet buffers touch, so its RSS grows with a flood that leaks nothing
  // (35 MiB for this one); the plain and ASan builds check the bound.
  const long growth_kib = resident_kib(pid) - before_kib;
  if (!kThreadSanitizer) {
    EXPECT_LT(growth_kib, 8 * 1024) << "RSS grew by " << growth_kib << " KiB over " << kFlood << " oversized cancels";
  }

  // Every refusal is counted.
  auto snapshot = probe_.wait_for_message(
      [&](const MqttMessage& m) {
        return m.topic == daemon_->topic("telemetry/metrics") &&
               metric_value(m.payload, "edgerun_mqtt_cancels_refused_total") == kFlood;
      },
      10s);
  EXPECT_TRUE(snapshot) << "no metrics snapshot counted " << kFlood << " refused cancels";
}

TEST_F(OversizeTest, APacketOverTheAnnouncedLimitNeverReachesTheDaemon) {
  // jobs.max_payload_bytes is 16384: the daemon takes packets of about twice that.
  start_daemon("dev-big");
  // Over the payload limit but within the packet limit: answered too_large.
  ASSERT_TRUE(submit(probe_, dev(), "mid-1", "echo", R"({"pad":")" + std::string(24 * 1024, 'x') + R"("})"));
  expect_rejected("mid-1", "too_large");

  // Far over the packet limit: the broker does not send it to the daemon.
  ASSERT_TRUE(submit(probe_, dev(), "huge-1", "echo", R"({"pad":")" + std::string(4 << 20, 'x') + R"("})"));
  ASSERT_TRUE(submit(probe_, dev(), "after-1", "echo"));
  ASSERT_TRUE(wait_state(probe_, dev(), "after-1", "succeeded")) << daemon_->process().err();
  // Too large to parse, its id unread, it would have been answered on
  // jobs/rejected, before after-1's statuses.
  const auto answer = probe_.wait_for_message(
      [&](const MqttMessage& m) {
        return m.topic == daemon_->topic("jobs/rejected") || m.topic == daemon_->topic("jobs/huge-1/status");
      },
      200ms);
  EXPECT_FALSE(answer) << "the daemon received a packet larger than its Maximum Packet Size: " << answer->payload;
}

}  // namespace
}  // namespace edgerun::test

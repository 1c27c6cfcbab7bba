// The protocol's names in one place (core/protocol): ids, topic prefixes and
// client ids, topics, and broker URLs, as the daemon, edgerunctl, the tests
// and the benches use them.
#include <gtest/gtest.h>

#include <string>

#include "edgerun/ids.hpp"
#include "edgerun/mqtt_url.hpp"
#include "edgerun/topics.hpp"

namespace edgerun {
namespace {

TEST(Ids, DevicesJobsAndGroupsMatchTheProtocolRule) {
  EXPECT_TRUE(is_valid_id("gw-01"));
  EXPECT_TRUE(is_valid_id("A.b_c-9"));
  EXPECT_TRUE(is_valid_id(std::string(64, 'x')));
  EXPECT_FALSE(is_valid_id(""));
  EXPECT_FALSE(is_valid_id(std::string(65, 'x')));
  for (const char* bad : {"a/b", "a+b", "a#b", "a b", "é", "a\nb"}) EXPECT_FALSE(is_valid_id(bad)) << bad;
}

TEST(Ids, TopicPrefixIsIdsSeparatedBySlashes) {
  EXPECT_TRUE(is_valid_topic_prefix("edgerun"));
  EXPECT_TRUE(is_valid_topic_prefix("site1/edgerun"));
  const std::string longest = std::string(64, 'p') + "/" + std::string(63, 'p');
  EXPECT_TRUE(is_valid_topic_prefix(longest));
  EXPECT_FALSE(is_valid_topic_prefix(longest + "p")) << "over 128 characters";
  EXPECT_FALSE(is_valid_topic_prefix(std::string(65, 'p'))) << "a level is an id";
  for (const char* bad : {"", "/edgerun", "edgerun/", "a//b", "a/+", "#", "$SYS", "a b", "a/\xc3\xa9"}) {
    EXPECT_FALSE(is_valid_topic_prefix(bad)) << bad;
  }
}


TEST(Ids, ClientIdsAreIdCharactersUpTo128) {
  EXPECT_TRUE(is_valid_client_id("edgerun-gw-01"));
  EXPECT_TRUE(is_valid_client_id(std::string(128, 'c')));
  EXPECT_FALSE(is_valid_client_id(std::string(129, 'c')));
  EXPECT_FALSE(is_valid_client_id(""));
  EXPECT_FALSE(is_valid_client_id("a/b"));
}

TEST(Topics, TheTransportsTopics) {
  EXPECT_EQ(metrics_topic("p", "d"), "p/d/telemetry/metrics");
  EXPECT_EQ(logs_topic("p", "d"), "p/d/telemetry/logs");
  EXPECT_EQ(events_topic("p", "d"), "p/d/telemetry/events");
  EXPECT_EQ(group_submit_filter("site/edgerun", "cams"), "$share/cams/site/edgerun/groups/cams/jobs/submit");
  EXPECT_TRUE(is_group_submit_topic("site/edgerun", "site/edgerun/groups/cams/jobs/submit"));
  EXPECT_FALSE(is_group_submit_topic("site/edgerun", "site/edgerun/groups/jobs/submit"));
  EXPECT_FALSE(is_group_submit_topic("site/edgerun", "site/edgerun/groups/a/b/jobs/submit"));
  EXPECT_FALSE(is_group_submit_topic("site/edgerun", "site/edgerun/gw-01/jobs/submit"));
  EXPECT_FALSE(is_group_submit_topic("site", "site/edgerun/groups/cams/jobs/submit"));
}

TEST(Topics, JobStatusTopicIntoABuffer) {
  char buffer[64];
  EXPECT_EQ(write_job_status_topic(buffer, "edgerun", "gw-01", "job-42"), "edgerun/gw-01/jobs/job-42/status");
  EXPECT_EQ(job_status_topic("edgerun", "gw-01", "job-42"), "edgerun/gw-01/jobs/job-42/status");
  char small[16];
  EXPECT_TRUE(write_job_status_topic(small, "edgerun", "gw-01", "job-42").empty()) << "it does not fit";
}

TEST(Topics, Names) {
  EXPECT_EQ(submit_topic("edgerun", "gw-01"), "edgerun/gw-01/jobs/submit");
  EXPECT_EQ(group_submit_topic("edgerun", "cams"), "edgerun/groups/cams/jobs/submit");
  EXPECT_EQ(cancel_topic("edgerun", "gw-01"), "edgerun/gw-01/jobs/cancel");
  EXPECT_EQ(job_status_topic("edgerun", "+", "job-42"), "edgerun/+/jobs/job-42/status");
  EXPECT_EQ(job_status_filter("p", "d"), "p/d/jobs/+/status");
  EXPECT_EQ(rejected_topic("p", "d"), "p/d/jobs/rejected");
  EXPECT_EQ(presence_topic("p", "+"), "p/+/status");
  EXPECT_EQ(telemetry_filter("p", "d"), "p/d/telemetry/#");
}

TEST(Topics, Classify) {
  TopicInfo status = classify_topic("a/b", "a/b/gw-01/jobs/job-42/status");
  EXPECT_EQ(status.kind, TopicKind::job_status);
  EXPECT_EQ(status.device, "gw-01");
  EXPECT_EQ(status.job_id, "job-42");
  EXPECT_EQ(classify_topic("p", "p/d/jobs/rejected").kind, TopicKind::job_rejected);
  EXPECT_EQ(classify_topic("p", "p/d/status").kind, TopicKind::presence);
  EXPECT_EQ(classify_topic("p", "p/d/telemetry/metrics").kind, TopicKind::metrics);
  EXPECT_EQ(classify_topic("p", "p/d/telemetry/logs").kind, TopicKind::logs);
  EXPECT_EQ(classify_topic("p", "p/d/telemetry/events").kind, TopicKind::events);
  EXPECT_EQ(classify_topic("p", "p/d/telemetry/custom").kind, TopicKind::telemetry);
  EXPECT_EQ(classify_topic("p", "p/d/jobs/status").kind, TopicKind::other);
  EXPECT_EQ(classify_topic("p", "p/d/jobs/a/b/status").kind, TopicKind::other);
  EXPECT_EQ(classify_topic("p", "px/d/status").kind, TopicKind::other);
  EXPECT_EQ(classify_topic("p", "q/d/status").kind, TopicKind::other);
}

TEST(MqttUrl, Forms) {
  MqttUrl plain;
  ASSERT_EQ(parse_mqtt_url("mqtt://broker.local", plain), nullptr);
  EXPECT_EQ(plain.host, "broker.local");
  EXPECT_EQ(plain.port, 1883);
  EXPECT_FALSE(plain.tls);

  MqttUrl tls;
  ASSERT_EQ(parse_mqtt_url("mqtts://10.0.0.2:9883/", tls), nullptr);
  EXPECT_EQ(tls.host, "10.0.0.2");
  EXPECT_EQ(tls.port, 9883);
  EXPECT_TRUE(tls.tls);

  MqttUrl v6;
  ASSERT_EQ(parse_mqtt_url("mqtt://[::1]:1884", v6), nullptr);
  EXPECT_EQ(v6.host, "::1");
  EXPECT_EQ(v6.port, 1884);

  for (const char* bad : {"tcp://x:1", "mqtt://", "mqtt://x:", "mqtt://x:0", "mqtt://x:1/path", "mqtt://u@x",
                          "mqtt://[::1", "mqtt://x:12ab", "mqtt://[x]:1"}) {
    MqttUrl out;
    EXPECT_NE(parse_mqtt_url(bad, out), nullptr) << bad;
  }
}

}  // namespace
}  // namespace edgerun

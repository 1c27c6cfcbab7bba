// Unit tests of what edgerunctl puts on the wire: payloads, topics, ids,
// broker URLs. Pure functions, no broker.

#include <gtest/gtest.h>

#include <regex>
#include <string>
#include <vector>

#include "broker_url.hpp"
#include "ids.hpp"
#include "payloads.hpp"
#include "topics.hpp"

namespace edgerun::ctl {
namespace {

std::string params(const std::vector<std::string>& args) {
  Result<std::string> r = build_params(args);
  EXPECT_TRUE(r) << r.error();
  return r ? r.value() : "";
}

TEST(CtlParams, NoneIsAnEmptyObject) { EXPECT_EQ(params({}), "{}"); }

TEST(CtlParams, ScalarsKeepTheirJsonType) {
  EXPECT_EQ(params({"i=5", "neg=-3", "f=1.5", "e=1e3", "t=true", "f2=false", "n=null"}),
            R"({"i":5,"neg":-3,"f":1.5,"e":1000,"t":true,"f2":false,"n":null})");
}

TEST(CtlParams, EverythingElseIsAString) {
  EXPECT_EQ(params({"s=hello", "empty=", "zip=007", "hex=0x1f", "word=True", "spaced=a b", "eq=a=b", "q=\"x\"",
                    "inf=inf", "dot=1.", "plus=+1"}),
            R"({"s":"hello","empty":"","zip":"007","hex":"0x1f","word":"True","spaced":"a b","eq":"a=b",)"
            R"("q":"\"x\"","inf":"inf","dot":"1.","plus":"+1"})");
}

TEST(CtlParams, IntegersBeyondDoublePrecisionStayStrings) {
  EXPECT_EQ(params({"ok=999999999999999", "neg=-999999999999999", "big=9007199254740993",
                    "huge=12345678901234567890"}),
            R"({"ok":999999999999999,"neg":-999999999999999,"big":"9007199254740993",)"
            R"("huge":"12345678901234567890"})");
}

TEST(CtlParams, OneJsonObjectIsTakenAsIs) {
  EXPECT_EQ(params({R"( {"msg": "hi", "list": [1, 2], "nested": {"a": null}} )"}),
            R"({"msg":"hi","list":[1,2],"nested":{"a":null}})");
}

TEST(CtlParams, JsonThatIsNotAnObjectIsRefused) {
  EXPECT_FALSE(build_params({"{1}"}));
  EXPECT_FALSE(build_params({"[1,2]"}));  // not key=value either
}

TEST(CtlPayloads, Submission) {
  EXPECT_EQ(build_submission("job-42", "echo", R"({"msg":"hi"})", 5000),
            R"({"v":1,"id":"job-42","type":"echo","params":{"msg":"hi"},"timeout_ms":5000})");
  EXPECT_EQ(build_submission("j", "t", "{}", std::nullopt), R"({"v":1,"id":"j","type":"t","params":{}})");
}

TEST(CtlPayloads, Cancel) { EXPECT_EQ(build_cancel("job-42"), R"({"id":"job-42"})"); }

TEST(CtlIds, ProtocolRule) {
  EXPECT_TRUE(is_valid_id("gw-01"));
  EXPECT_TRUE(is_valid_id("A.b_c-9"));
  EXPECT_TRUE(is_valid_id(std::string(64, 'x')));
  EXPECT_FALSE(is_valid_id(""));
  EXPECT_FALSE(is_valid_id(std::string(65, 'x')));
  for (const char* bad : {"a/b", "a+b", "a#b", "a b", "é", "a\nb"}) EXPECT_FALSE(is_valid_id(bad)) << bad;
}

TEST(CtlIds, GeneratedIdsAreValidAndDistinct) {
  std::string a = generate_job_id();
  std::string b = generate_job_id();
  EXPECT_TRUE(is_valid_id(a)) << a;
  EXPECT_TRUE(std::regex_match(a, std::regex("ctl-[0-9a-f]+-[0-9a-f]{8}"))) << a;
  EXPECT_NE(a, b);
}

TEST(CtlIds, Prefix) {
  EXPECT_TRUE(is_valid_prefix("edgerun"));
  EXPECT_TRUE(is_valid_prefix("site1/edgerun"));
  for (const char* bad : {"", "/edgerun", "edgerun/", "a//b", "a/+", "#", "$SYS"}) {
    EXPECT_FALSE(is_valid_prefix(bad)) << bad;
  }
}

TEST(CtlTopics, Names) {
  EXPECT_EQ(submit_topic("edgerun", "gw-01"), "edgerun/gw-01/jobs/submit");
  EXPECT_EQ(group_submit_topic("edgerun", "cams"), "edgerun/groups/cams/jobs/submit");
  EXPECT_EQ(cancel_topic("edgerun", "gw-01"), "edgerun/gw-01/jobs/cancel");
  EXPECT_EQ(job_status_topic("edgerun", "+", "job-42"), "edgerun/+/jobs/job-42/status");
  EXPECT_EQ(job_status_filter("p", "d"), "p/d/jobs/+/status");
  EXPECT_EQ(rejected_topic("p", "d"), "p/d/jobs/rejected");
  EXPECT_EQ(presence_topic("p", "+"), "p/+/status");
  EXPECT_EQ(telemetry_filter("p", "d"), "p/d/telemetry/#");
}

TEST(CtlTopics, Classify) {
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

TEST(CtlBrokerUrl, Forms) {
  auto plain = parse_broker_url("mqtt://broker.local");
  ASSERT_TRUE(plain) << plain.error();
  EXPECT_EQ(plain.value().host, "broker.local");
  EXPECT_EQ(plain.value().port, 1883);
  EXPECT_FALSE(plain.value().tls);

  auto tls = parse_broker_url("mqtts://10.0.0.2:9883/");
  ASSERT_TRUE(tls) << tls.error();
  EXPECT_EQ(tls.value().host, "10.0.0.2");
  EXPECT_EQ(tls.value().port, 9883);
  EXPECT_TRUE(tls.value().tls);

  auto v6 = parse_broker_url("mqtt://[::1]:1884");
  ASSERT_TRUE(v6) << v6.error();
  EXPECT_EQ(v6.value().host, "::1");
  EXPECT_EQ(v6.value().port, 1884);

  for (const char* bad : {"tcp://x:1", "mqtt://", "mqtt://x:", "mqtt://x:0", "mqtt://x:1/path", "mqtt://u@x",
                          "mqtt://[::1", "mqtt://x:12ab"}) {
    EXPECT_FALSE(parse_broker_url(bad)) << bad;
  }
}

}  // namespace
}  // namespace edgerun::ctl

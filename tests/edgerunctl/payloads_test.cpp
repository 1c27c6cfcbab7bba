// Unit tests of what edgerunctl puts on the wire: payloads, topics, ids,
// broker URLs. Pure functions, no broker.

#include <gtest/gtest.h>

#include <regex>
#include <string>
#include <vector>

#include "broker_url.hpp"
#include "edgerun/ids.hpp"
#include "ids.hpp"
#include "payloads.hpp"

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
  EXPECT_EQ(build_submission("j", "t", "{}", std::nullopt, 1795315351123),
            R"({"v":1,"id":"j","type":"t","params":{},"expires_at":1795315351123})");
}

TEST(CtlPayloads, Cancel) { EXPECT_EQ(build_cancel("job-42"), R"({"id":"job-42"})"); }

TEST(CtlIds, GeneratedIdsAreValidAndDistinct) {
  std::string a = generate_job_id();
  std::string b = generate_job_id();
  EXPECT_TRUE(edgerun::is_valid_id(a)) << a;
  EXPECT_TRUE(std::regex_match(a, std::regex("ctl-[0-9a-f]+-[0-9a-f]{8}"))) << a;
  EXPECT_NE(a, b);
}

TEST(CtlBrokerUrl, TheProtocolsUrlWithAMessageForTheCommandLine) {
  auto plain = parse_broker_url("mqtt://broker.local");
  ASSERT_TRUE(plain) << plain.error();
  EXPECT_EQ(plain.value().port, 1883);
  auto bad = parse_broker_url("tcp://x:1");
  ASSERT_FALSE(bad);
  EXPECT_EQ(bad.error(), "bad broker URL 'tcp://x:1': expected mqtt://host:port or mqtts://host:port");
}

}  // namespace
}  // namespace edgerun::ctl

// Unit tests of edgerunctl's human-readable output.

#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "format.hpp"
#include "job_states.hpp"
#include "json.hpp"

namespace edgerun::ctl {
namespace {

std::string status_line(const char* payload) {
  JsonPtr json = parse_json(payload);
  EXPECT_TRUE(json) << payload;
  return format_job_status(json.get());
}

std::vector<std::string> lines(const char* topic, const char* payload) {
  return format_message(classify_topic("edgerun", topic), payload);
}

TEST(CtlFormat, JobStatusLines) {
  EXPECT_EQ(status_line(R"({"id":"job-42","state":"queued","ts":1})"), "job-42 queued");
  EXPECT_EQ(status_line(R"({"id":"job-42","state":"succeeded","result":{"msg":"hi"}})"),
            R"(job-42 succeeded {"msg":"hi"})");
  EXPECT_EQ(status_line(R"({"id":"job-42","state":"failed","error":{"code":"handler_error","message":"boom"}})"),
            "job-42 failed handler_error: boom");
  EXPECT_EQ(status_line(R"({"id":"j","state":"failed","error":{"code":"exit_status","message":"exited","exit_code":3}})"),
            "j failed exit_status: exited (exit code 3)");
  EXPECT_EQ(status_line(R"({"id":"j","state":"rejected","error":{"code":"duplicate"}})"), "j rejected duplicate");
  EXPECT_EQ(status_line(R"({"state":"timed_out"})"), "? timed_out");
}

TEST(CtlFormat, JobStatesTable) {
  EXPECT_EQ(exit_code_for(JobState::succeeded), ExitCode::ok);
  EXPECT_EQ(exit_code_for(JobState::failed), ExitCode::job_failed);
  EXPECT_EQ(exit_code_for(JobState::timed_out), ExitCode::job_failed);
  EXPECT_EQ(exit_code_for(JobState::canceled), ExitCode::job_failed);
  EXPECT_EQ(exit_code_for(JobState::rejected), ExitCode::rejected);
  EXPECT_FALSE(is_terminal(JobState::queued));
  EXPECT_FALSE(is_terminal(JobState::running));
  EXPECT_EQ(job_state_from_string("paused"), std::nullopt);
}

TEST(CtlFormat, WatchStatusAndRejection) {
  EXPECT_EQ(lines("edgerun/gw-01/jobs/job-42/status", R"({"id":"job-42","state":"running"})"),
            std::vector<std::string>{"gw-01 job-42 running"});
  EXPECT_EQ(lines("edgerun/gw-01/jobs/rejected", R"({"v":1,"error":{"code":"bad_json","message":"line 1"}})"),
            std::vector<std::string>{"gw-01 rejected bad_json: line 1"});
}

TEST(CtlFormat, WatchMetrics) {
  auto out = lines("edgerun/gw-01/telemetry/metrics",
                   R"({"v":1,"metrics":[)"
                   R"({"name":"edgerun_jobs_total","kind":"counter","value":3,"labels":{"state":"succeeded"}},)"
                   R"({"name":"edgerun_queue_depth","kind":"gauge","value":0.5,"labels":{}},)"
                   R"({"name":"edgerun_job_duration_seconds","kind":"histogram","count":4,"sum":1.25,"buckets":[]}]})");
  EXPECT_EQ(out, (std::vector<std::string>{"gw-01 metric edgerun_jobs_total{state=\"succeeded\"}=3",
                                           "gw-01 metric edgerun_queue_depth=0.5",
                                           "gw-01 metric edgerun_job_duration_seconds count=4 sum=1.25"}));
}

TEST(CtlFormat, WatchLogs) {
  auto out = lines("edgerun/gw-01/telemetry/logs",
                   R"({"v":1,"dropped":2,"records":[)"
                   R"({"ts":1767323045678,"level":"info","msg":"started","fields":{"port":8080}},)"
                   R"({"ts":1767323045679,"level":"warn","msg":"slow","fields":{}}]})");
  EXPECT_EQ(out, (std::vector<std::string>{"gw-01 log 2026-01-02T03:04:05.678Z info started {\"port\":8080}",
                                           "gw-01 log 2026-01-02T03:04:05.679Z warn slow",
                                           "gw-01 log dropped 2 records"}));
}

TEST(CtlFormat, WatchEventsPresenceAndOddities) {
  EXPECT_EQ(lines("edgerun/gw-01/telemetry/events", R"({"type":"door_open","data":{"door":2}})"),
            std::vector<std::string>{R"(gw-01 event door_open {"door":2})"});
  EXPECT_EQ(lines("edgerun/gw-01/status", R"({"state":"offline","version":"0.1.0"})"),
            std::vector<std::string>{"gw-01 presence offline version=0.1.0"});
  EXPECT_EQ(lines("edgerun/gw-01/telemetry/custom", R"({"a":1})"),
            std::vector<std::string>{R"(gw-01 telemetry/custom {"a":1})"});
  EXPECT_EQ(lines("edgerun/gw-01/telemetry/logs", "not json"),
            std::vector<std::string>{"gw-01 telemetry/logs (not a JSON object) not json"});
}

TEST(CtlFormat, PresenceBlock) {
  JsonPtr p = parse_json(R"({"v":1,"device":"gw-01","state":"online","version":"0.1.0",)"
                         R"("started_at":1767323045678,"ts":1767323045678,)"
                         R"("sysinfo":{"hostname":"gw-01","arch":"aarch64","cpu_count":4,"mem_total":1073741824},)"
                         R"("handlers":["echo","exec"]})");
  ASSERT_TRUE(p);
  EXPECT_EQ(format_presence_block("gw-01", p.get()),
            "gw-01  online\n"
            "  version     0.1.0\n"
            "  started_at  2026-01-02T03:04:05.678Z\n"
            "  sysinfo     hostname=gw-01 arch=aarch64 cpu_count=4 mem_total=1.0 GiB\n"
            "  handlers    echo, exec\n"
            "  updated     2026-01-02T03:04:05.678Z\n");
}

TEST(CtlFormat, OneLine) {
  EXPECT_EQ(one_line(R"({"a":1})"), R"({"a":1})");
  EXPECT_EQ(one_line("{\n  \"a\": 1\n}"), R"({"a":1})");
  EXPECT_EQ(one_line("x\ny"), "x y");
}

TEST(CtlFormat, Numbers) {
  EXPECT_EQ(format_number(3), "3");
  EXPECT_EQ(format_number(-2), "-2");
  EXPECT_EQ(format_number(0.25), "0.25");
  EXPECT_EQ(format_number(1795315351123.0), "1795315351123");
}

}  // namespace
}  // namespace edgerun::ctl

// `types.<name>` end to end: the real daemon applies a job type's settings to
// built-in and exec types alike, and refuses a type it does not have, at
// start-up and under --check-config, naming the file, the key and the types
// there are (config/README.md).
#include <gtest/gtest.h>

#include <string>

#include "daemon_fixture.hpp"

namespace edgerun::test {
namespace {

using EdgerundTypesTest = DaemonTest;

// Sets root.types.<type>.timeout_ms.
void set_type_timeout(cJSON& root, const char* type, double timeout_ms) {
  cJSON* types = cJSON_GetObjectItemCaseSensitive(&root, "types");
  if (types == nullptr) types = cJSON_AddObjectToObject(&root, "types");
  cJSON_AddNumberToObject(cJSON_AddObjectToObject(types, type), "timeout_ms", timeout_ms);
}

TEST_F(EdgerundTypesTest, TypeTimeoutEndsABuiltInJobThatGivesNone) {
  start_daemon("dev-types", [](cJSON& root) { set_type_timeout(root, "sleep", 200); });
  // jobs.default_timeout_ms (60 s) would let it sleep its 30 s.
  ASSERT_TRUE(submit(probe_, dev(), "tt-1", "sleep", R"({"ms":30000})"));
  const Json status = wait_state(probe_, dev(), "tt-1", "timed_out", 10s);
  ASSERT_TRUE(status) << daemon_->process().err();
  // Other types keep jobs.default_timeout_ms.
  ASSERT_TRUE(submit(probe_, dev(), "tt-2", "echo", R"({"a":1})"));
  EXPECT_TRUE(wait_state(probe_, dev(), "tt-2", "succeeded")) << daemon_->process().err();
}

TEST_F(EdgerundTypesTest, SettingsForEchoKeepItOnTheLoop) {
  start_daemon("dev-types-loop", [](cJSON& root) {
    cJSON_ReplaceItemInObjectCaseSensitive(&root, "workers", cJSON_CreateNumber(1));
    set_type_timeout(root, "echo", 5000);
  });
  // The only worker sleeps; an echo that had lost runs_on_loop to its
  // types entry would wait behind it for 30 s.
  ASSERT_TRUE(submit(probe_, dev(), "busy", "sleep", R"({"ms":30000})"));
  ASSERT_TRUE(wait_state(probe_, dev(), "busy", "running")) << daemon_->process().err();
  ASSERT_TRUE(submit(probe_, dev(), "on-loop", "echo", R"({"a":1})"));
  EXPECT_TRUE(wait_state(probe_, dev(), "on-loop", "succeeded", 10s)) << daemon_->process().err();
  ASSERT_TRUE(probe_.publish(daemon_->topic("jobs/cancel"), R"({"id":"busy"})", 1));
  EXPECT_TRUE(wait_state(probe_, dev(), "busy", "canceled"));
}

TEST_F(EdgerundTypesTest, TypeTimeoutCapsWhatAJobAsksForOfAnExecType) {
  start_daemon("dev-types-exec", [](cJSON& root) {
    cJSON* slow = add_exec_type(root, "slow", "/bin/sleep", {"30"});
    cJSON_AddNumberToObject(slow, "stop_grace_ms", 100);
    set_type_timeout(root, "slow", 200);
  });
  // The type's limit wins over the job's own, larger one (HandlerOptions).
  ASSERT_TRUE(submit(probe_, dev(), "tx-1", "slow", "{}", R"("timeout_ms":60000)"));
  const Json status = wait_state(probe_, dev(), "tx-1", "timed_out", 10s);
  ASSERT_TRUE(status) << daemon_->process().err();
}

TEST_F(EdgerundTypesTest, UnknownTypeStopsStartUpNamingTheFileKeyAndTypes) {
  Daemon daemon(broker_, "dev-nope", [](cJSON& root) { set_type_timeout(root, "nope", 100); });
  ASSERT_TRUE(daemon.start());
  const ProcessResult result = daemon.process().wait(15s);
  EXPECT_EQ(result.exit_code, 2) << result.err;
  EXPECT_NE(result.err.find("edgerund: " + daemon.config_path() +
                            ": types.nope is not a job type of this daemon; expected one of its job types: "),
            std::string::npos)
      << result.err;
  for (const char* type : {"echo", "sleep", "sysinfo"}) EXPECT_NE(result.err.find(type), std::string::npos) << type;
  EXPECT_EQ(result.err.find("mqtt: connected"), std::string::npos) << "it must not have started";
}

TEST_F(EdgerundTypesTest, CheckConfigKnowsTheExecTypesToo) {
  const auto edit = [](const char* type) {
    return [type](cJSON& root) {
      add_exec_type(root, "hello", "/bin/echo");
      set_type_timeout(root, type, 5000);
    };
  };
  Daemon good(broker_, "dev-check", edit("hello"));
  const ProcessResult ok = run_process(EDGERUND_PATH, {"--check-config", "--config", good.config_path()});
  EXPECT_EQ(ok.exit_code, 0) << ok.err;
  EXPECT_NE(ok.out.find(R"("hello": {)"), std::string::npos) << ok.out;
  EXPECT_NE(ok.out.find(R"("timeout_ms": 5000)"), std::string::npos) << ok.out;

  Daemon bad(broker_, "dev-check", edit("helo"));
  const ProcessResult refused = run_process(EDGERUND_PATH, {"--check-config", "--config", bad.config_path()});
  EXPECT_EQ(refused.exit_code, 2) << refused.out;
  EXPECT_NE(refused.err.find(bad.config_path() + ": types.helo is not a job type of this daemon (did you mean "
                                                 "types.hello?); expected one of its job types: hello, "),
            std::string::npos)
      << refused.err;
}

TEST_F(EdgerundTypesTest, ExecTimeoutOfAnOldConfigSaysWhereItMoved) {
  Daemon daemon(broker_, "dev-old", [](cJSON& root) {
    cJSON* backup = add_exec_type(root, "backup", "/bin/true");
    cJSON_AddNumberToObject(backup, "timeout_ms", 900000);
  });
  ASSERT_TRUE(daemon.start());
  const ProcessResult result = daemon.process().wait(15s);
  EXPECT_EQ(result.exit_code, 2) << result.err;
  EXPECT_NE(result.err.find(daemon.config_path() + ": exec.backup.timeout_ms: moved to types.backup.timeout_ms"),
            std::string::npos)
      << result.err;
}

}  // namespace
}  // namespace edgerun::test

// Runtime::set_handler_options(): per-type settings applied to a type that
// someone else registered (edgerund's `types.<name>` on built-in and exec
// handlers), with the same effect as giving them at registration.
#include <gtest/gtest.h>

#include <string>

#include "runtime_harness.hpp"

namespace edgerun::test {
namespace {

HandlerResult wait_for_cancel(JobContext& job) {
  job.wait_for_cancel(30s);
  return HandlerResult::success();
}

TEST(RuntimeSetHandlerOptions, ReplacesTheOptionsOfARegisteredType) {
  RunningRuntime rt;
  ASSERT_TRUE(rt.runtime.register_handler("slow", wait_for_cancel).ok());
  ASSERT_TRUE(rt.runtime.set_handler_options("slow", HandlerOptions{.timeout_ms = 40}).ok());
  ASSERT_TRUE(rt.start());
  // The type's limit is the default and the cap, as when given at registration.
  ASSERT_TRUE(rt.submit("no-timeout", "slow").accepted);
  ASSERT_TRUE(rt.submit("asks-more", "slow", "", 600000).accepted);
  for (const char* id : {"no-timeout", "asks-more"}) {
    const auto done = rt.recorder.wait_terminal(id);
    ASSERT_TRUE(done) << id;
    EXPECT_EQ(done->state, JobState::timed_out) << id;
  }
}

TEST(RuntimeSetHandlerOptions, RefusesAnUnknownTypeAndAfterStart) {
  RunningRuntime rt;
  ASSERT_TRUE(rt.runtime.register_handler("slow", wait_for_cancel).ok());
  const Status unknown = rt.runtime.set_handler_options("nope", HandlerOptions{.timeout_ms = 40});
  EXPECT_FALSE(unknown.ok());
  EXPECT_STREQ(unknown.message(), "handler 'nope' is not registered");
  ASSERT_TRUE(rt.start());
  const Status late = rt.runtime.set_handler_options("slow", HandlerOptions{.timeout_ms = 40});
  EXPECT_FALSE(late.ok());
  EXPECT_STREQ(late.message(), "handler 'slow': set its options before start()");
}

}  // namespace
}  // namespace edgerun::test

// The loop's inbox: a wake-up from another thread that comes after the loop
// closed (a shutdown request racing with a loop that saw an earlier one)
// sends nothing, where uv_async_send on the closed eventfd would abort.
#include <gtest/gtest.h>
#include <uv.h>

#include "../../core/runtime/src/inbox.hpp"

namespace edgerun::detail {
namespace {

TEST(Inbox, AWakeUpAfterTheLoopClosedSendsNothing) {
  uv_loop_t loop;
  ASSERT_EQ(uv_loop_init(&loop), 0);
  Inbox inbox(4);
  int calls = 0;
  inbox.open(loop, &calls, [](void* count) { ++*static_cast<int*>(count); });
  inbox.wake();
  (void)uv_run(&loop, UV_RUN_NOWAIT);
  EXPECT_GE(calls, 1);

  inbox.close();
  (void)uv_run(&loop, UV_RUN_DEFAULT);
  ASSERT_EQ(uv_loop_close(&loop), 0);
  const int before = calls;
  inbox.wake();
  inbox.add({0, 0, ReportKind::queued}, false);
  EXPECT_EQ(calls, before);
}

}  // namespace
}  // namespace edgerun::detail

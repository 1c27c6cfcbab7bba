// A report pushed into a ring and followed by a wake-up reaches the loop,
// however that wake-up races with the loop clearing the one before it (libuv
// 1.44's uv_async_send can skip its wake-up after a plain load of the pending
// flag; see core/runtime/src/loop_wake.hpp). Many short bursts, each waited for with
// a bound: a report left unseen leaves the loop asleep and the wait times
// out. The race is narrow, so this is a stress test: it fails only now and
// then without the fence, never with it.
#include <gtest/gtest.h>
#include <uv.h>

#include <atomic>
#include <chrono>
#include <cstdint>
#include <thread>

#include "../../core/runtime/src/loop_wake.hpp"
#include "../../core/runtime/src/spsc_ring.hpp"

namespace edgerun::detail {
namespace {

struct Consumer {
  SpscRing<std::uint32_t> ring{4096};
  uv_async_t wake{};
  std::atomic<std::uint64_t> seen{0};
  std::atomic<bool> stop{false};

  static void on_wake(uv_async_t* handle) {
    auto* self = static_cast<Consumer*>(handle->data);
    std::uint32_t item = 0;
    std::uint64_t count = 0;
    while (self->ring.try_pop(item)) ++count;
    self->seen.fetch_add(count);
    if (self->stop.load()) uv_close(reinterpret_cast<uv_handle_t*>(handle), nullptr);
  }
};

TEST(LoopWake, EveryBurstOfReportsReachesTheLoop) {
  uv_loop_t loop{};
  ASSERT_EQ(uv_loop_init(&loop), 0);
  Consumer consumer;
  ASSERT_EQ(uv_async_init(&loop, &consumer.wake, &Consumer::on_wake), 0);
  consumer.wake.data = &consumer;
  std::thread runner([&] { uv_run(&loop, UV_RUN_DEFAULT); });

  constexpr int kBursts = 50000;
  std::uint64_t pushed = 0;
  int unseen_bursts = 0;
  for (int burst = 0; burst < kBursts && unseen_bursts == 0; ++burst) {
    // One to three reports, each with its wake-up: the later ones find the
    // handle pending while the loop may be clearing it.
    for (int i = 0; i <= burst % 3; ++i) {
      ASSERT_TRUE(consumer.ring.try_push(static_cast<std::uint32_t>(pushed)));
      ++pushed;
      wake_loop_after_publishing(consumer.wake);
    }
    const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(2);
    while (consumer.seen.load() != pushed && std::chrono::steady_clock::now() < deadline) std::this_thread::yield();
    if (consumer.seen.load() != pushed) ++unseen_bursts;
  }
  EXPECT_EQ(unseen_bursts, 0) << "a burst's reports stayed in the ring with the loop asleep";

  consumer.stop.store(true);
  wake_loop_after_publishing(consumer.wake);
  runner.join();
  EXPECT_EQ(uv_loop_close(&loop), 0);
}

}  // namespace
}  // namespace edgerun::detail

// The rings that carry workers' reports to the loop: first in, first out,
// exactly the capacity, and nothing lost or repeated between two threads
// (each side reads the other's index only when its last look says full or
// empty).
#include <gtest/gtest.h>

#include <cstdint>
#include <thread>

#include "../../core/runtime/src/spsc_ring.hpp"

namespace edgerun::detail {
namespace {

TEST(SpscRing, HoldsExactlyItsCapacityInOrderRoundAndRound) {
  SpscRing<std::uint32_t> ring(5);
  std::uint32_t next_in = 0;
  std::uint32_t next_out = 0;
  // Fill, drain part, fill again: the indices go round the ring many times
  // and meet each other at every position.
  for (int round = 0; round < 100; ++round) {
    while (ring.try_push(next_in)) ++next_in;
    EXPECT_EQ(next_in - next_out, 5u) << round;
    const int take = 1 + round % 5;
    for (int i = 0; i < take; ++i) {
      std::uint32_t value = 0;
      ASSERT_TRUE(ring.try_pop(value));
      EXPECT_EQ(value, next_out++);
    }
  }
  std::uint32_t value = 0;
  while (ring.try_pop(value)) EXPECT_EQ(value, next_out++);
  EXPECT_EQ(next_out, next_in);
  EXPECT_FALSE(ring.try_pop(value));
}

TEST(SpscRing, TwoThreadsPassEveryItemOnceInOrder) {
  constexpr std::uint32_t kItems = 200000;
  SpscRing<std::uint32_t> ring(64);
  std::thread producer([&] {
    for (std::uint32_t i = 0; i < kItems;) {
      if (ring.try_push(i)) {
        ++i;
      } else {
        std::this_thread::yield();
      }
    }
  });
  std::uint32_t expected = 0;
  bool in_order = true;
  while (expected < kItems) {
    std::uint32_t value = 0;
    if (!ring.try_pop(value)) {
      std::this_thread::yield();
      continue;
    }
    in_order = in_order && value == expected;
    ++expected;
  }
  producer.join();
  EXPECT_TRUE(in_order);
  std::uint32_t extra = 0;
  EXPECT_FALSE(ring.try_pop(extra));
}

}  // namespace
}  // namespace edgerun::detail

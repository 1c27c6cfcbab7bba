// Unit tests of the fixed-capacity FIFO: order, full as a counted result,
// high-water mark, removal that keeps order, and wrap-around.

#include "edgerun/ring_queue.hpp"

#include <gtest/gtest.h>

#include <algorithm>
#include <array>
#include <cstdint>
#include <deque>
#include <vector>

namespace {

using edgerun::OwnedRingQueue;
using edgerun::RingQueue;

std::vector<int> drain(RingQueue<int>& q) {
  std::vector<int> out;
  int v = 0;
  while (q.try_pop(v)) out.push_back(v);
  return out;
}

TEST(RingQueue, FirstInFirstOut) {
  OwnedRingQueue<int> q(4);
  EXPECT_EQ(q.capacity(), 4u);
  EXPECT_TRUE(q.empty());
  for (int i = 1; i <= 3; ++i) EXPECT_TRUE(q.try_push(i));
  EXPECT_EQ(q.size(), 3u);
  EXPECT_FALSE(q.empty());
  EXPECT_FALSE(q.full());
  EXPECT_EQ(drain(q), (std::vector<int>{1, 2, 3}));
  EXPECT_TRUE(q.empty());
  int v = 42;
  EXPECT_FALSE(q.try_pop(v));
  EXPECT_EQ(v, 42) << "a failed pop leaves the output alone";
}

TEST(RingQueue, FullRefusesAndCounts) {
  OwnedRingQueue<int> q(3);
  for (int i = 0; i < 3; ++i) ASSERT_TRUE(q.try_push(i));
  EXPECT_TRUE(q.full());
  EXPECT_EQ(q.refused_total(), 0u);
  EXPECT_FALSE(q.try_push(99));
  EXPECT_FALSE(q.try_push(100));
  EXPECT_EQ(q.refused_total(), 2u);
  EXPECT_EQ(q.size(), 3u);
  EXPECT_EQ(drain(q), (std::vector<int>{0, 1, 2})) << "refused values are not stored";
  EXPECT_TRUE(q.try_push(7));
  EXPECT_EQ(q.refused_total(), 2u);
}

TEST(RingQueue, HighWaterIsTheLargestSizeSeen) {
  OwnedRingQueue<int> q(5);
  EXPECT_EQ(q.high_water(), 0u);
  for (int i = 0; i < 3; ++i) ASSERT_TRUE(q.try_push(i));
  int v = 0;
  ASSERT_TRUE(q.try_pop(v));
  ASSERT_TRUE(q.try_pop(v));
  ASSERT_TRUE(q.try_push(9));
  EXPECT_EQ(q.size(), 2u);
  EXPECT_EQ(q.high_water(), 3u);
  while (q.try_push(1)) {
  }
  EXPECT_EQ(q.high_water(), 5u);
  drain(q);
  EXPECT_EQ(q.high_water(), 5u);
}

TEST(RingQueue, RemoveKeepsTheOrderOfTheRest) {
  OwnedRingQueue<int> q(5);
  for (int i = 1; i <= 5; ++i) ASSERT_TRUE(q.try_push(i));
  EXPECT_TRUE(q.remove(3));
  EXPECT_EQ(q.size(), 4u);
  EXPECT_FALSE(q.remove(3));
  EXPECT_FALSE(q.remove(42));
  EXPECT_TRUE(q.remove(1));  // the head
  EXPECT_TRUE(q.remove(5));  // the tail
  EXPECT_EQ(drain(q), (std::vector<int>{2, 4}));
}

TEST(RingQueue, RemoveTakesOnlyTheFirstEqualElement) {
  OwnedRingQueue<int> q(4);
  for (int v : {7, 1, 7, 2}) ASSERT_TRUE(q.try_push(v));
  EXPECT_TRUE(q.remove(7));
  EXPECT_EQ(drain(q), (std::vector<int>{1, 7, 2}));
}

TEST(RingQueue, RemoveFreesRoomForAPush) {
  OwnedRingQueue<int> q(3);
  for (int i = 0; i < 3; ++i) ASSERT_TRUE(q.try_push(i));
  ASSERT_TRUE(q.remove(1));
  EXPECT_TRUE(q.try_push(3));
  EXPECT_EQ(drain(q), (std::vector<int>{0, 2, 3}));
}

TEST(RingQueue, WrapsAroundTheStorage) {
  OwnedRingQueue<int> q(3);
  ASSERT_TRUE(q.try_push(1));
  ASSERT_TRUE(q.try_push(2));
  ASSERT_TRUE(q.try_push(3));
  int v = 0;
  ASSERT_TRUE(q.try_pop(v));
  ASSERT_TRUE(q.try_pop(v));
  ASSERT_TRUE(q.try_push(4));  // these two wrap to the start of the storage
  ASSERT_TRUE(q.try_push(5));
  EXPECT_FALSE(q.try_push(6));
  EXPECT_TRUE(q.remove(4));  // removal across the wrap
  EXPECT_EQ(drain(q), (std::vector<int>{3, 5}));
}

TEST(RingQueue, MatchesAModelOverManyWraps) {
  OwnedRingQueue<int> q(5);
  std::deque<int> model;
  std::uint64_t refused = 0;
  std::uint32_t state = 12345;
  int next = 0;
  for (int step = 0; step < 5000; ++step) {
    state = state * 1664525u + 1013904223u;  // a fixed LCG: the same steps every run
    const unsigned op = (state >> 24) % 4;
    if (op <= 1) {
      const bool pushed = q.try_push(next);
      ASSERT_EQ(pushed, model.size() < 5) << "step " << step;
      if (pushed) model.push_back(next); else ++refused;
      ++next;
    } else if (op == 2) {
      int v = -1;
      const bool popped = q.try_pop(v);
      ASSERT_EQ(popped, !model.empty()) << "step " << step;
      if (popped) {
        ASSERT_EQ(v, model.front()) << "step " << step;
        model.pop_front();
      }
    } else if (!model.empty()) {
      const int victim = model[(state >> 8) % model.size()];
      ASSERT_TRUE(q.remove(victim));
      model.erase(std::find(model.begin(), model.end(), victim));
    }
    ASSERT_EQ(q.size(), model.size());
  }
  EXPECT_EQ(q.refused_total(), refused);
  std::vector<int> rest(model.begin(), model.end());
  EXPECT_EQ(drain(q), rest);
}

TEST(RingQueue, WorksOverCallerStorage) {
  std::array<int, 3> storage{};
  RingQueue<int> q{std::span<int>(storage)};
  EXPECT_EQ(q.capacity(), 3u);
  ASSERT_TRUE(q.try_push(10));
  ASSERT_TRUE(q.try_push(20));
  EXPECT_EQ(storage[0], 10);
  EXPECT_EQ(storage[1], 20);
  EXPECT_EQ(drain(q), (std::vector<int>{10, 20}));
}

TEST(RingQueue, HoldsStructs) {
  struct Job {
    std::uint32_t slot;
    std::uint32_t generation;
    bool operator==(const Job&) const = default;
  };
  OwnedRingQueue<Job> q(2);
  ASSERT_TRUE(q.try_push({1, 7}));
  ASSERT_TRUE(q.try_push({2, 7}));
  EXPECT_FALSE(q.try_push({3, 7}));
  EXPECT_FALSE(q.remove({1, 8}));
  EXPECT_TRUE(q.remove({1, 7}));
  Job out{};
  ASSERT_TRUE(q.try_pop(out));
  EXPECT_EQ(out, (Job{2, 7}));
}

}  // namespace

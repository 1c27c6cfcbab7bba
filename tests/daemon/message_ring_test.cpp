// MessageRing: the fixed ring the MQTT transport keeps messages in while the
// broker is away.
#include "edgerun/message_ring.hpp"

#include <gtest/gtest.h>

#include <string>

namespace edgerun {
namespace {

TEST(MessageRing, KeepsMessagesInOrder) {
  MessageRing ring(3, 16, 32);
  EXPECT_TRUE(ring.push({"a/1", "one", 1, false, 0}));
  EXPECT_TRUE(ring.push({"a/2", "two", 0, true, 0}));
  ASSERT_EQ(ring.size(), 2u);
  EXPECT_EQ(ring.front().topic, "a/1");
  EXPECT_EQ(ring.front().payload, "one");
  EXPECT_EQ(ring.front().qos, 1);
  ring.pop();
  EXPECT_EQ(ring.front().topic, "a/2");
  EXPECT_TRUE(ring.front().retain);
  ring.pop();
  EXPECT_TRUE(ring.empty());
  EXPECT_EQ(ring.high_water(), 2u);
}

TEST(MessageRing, FullDropsTheOldestAndCountsIt) {
  MessageRing ring(2, 16, 32);
  std::uint64_t lost = 0;
  EXPECT_TRUE(ring.push({"t", "1", 1, false, 5}, &lost));
  EXPECT_TRUE(ring.push({"t", "2", 1, false, 6}, &lost));
  EXPECT_TRUE(ring.push({"t", "3", 1, false, 7}, &lost));
  EXPECT_EQ(lost, 5u);
  EXPECT_EQ(ring.dropped_total(), 1u);
  ASSERT_EQ(ring.size(), 2u);
  EXPECT_EQ(ring.front().payload, "2");
  ring.pop();
  EXPECT_EQ(ring.front().payload, "3");
}

TEST(MessageRing, RefusesWhatDoesNotFitAndZeroCapacity) {
  MessageRing ring(2, 4, 4);
  EXPECT_FALSE(ring.push({"too/long", "x", 1, false, 0}));
  EXPECT_FALSE(ring.push({"t", std::string(5, 'x'), 1, false, 0}));
  EXPECT_EQ(ring.refused_total(), 2u);
  EXPECT_TRUE(ring.empty());
  MessageRing none(0, 4, 4);
  EXPECT_FALSE(none.push({"t", "x", 1, false, 0}));
  EXPECT_EQ(none.refused_total(), 1u);
}

}  // namespace
}  // namespace edgerun

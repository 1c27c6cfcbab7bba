// The id index behind duplicate detection and job lookup: entries stay
// findable through any sequence of inserts and erases, colliding or not.
#include <gtest/gtest.h>

#include <map>
#include <random>

#include "edgerun/id_index.hpp"

namespace edgerun::detail {
namespace {

std::uint32_t find_value(const IdIndex& index, std::uint64_t hash, std::uint32_t value) {
  return index.find(hash, [&](std::uint32_t v) { return v == value; });
}

TEST(IdIndex, RandomInsertsAndErasesKeepEveryLiveEntryFindable) {
  constexpr std::uint32_t kCapacity = 64;
  IdIndex index(kCapacity);
  std::mt19937 random(7);
  std::map<std::uint32_t, std::uint64_t> live;  // value -> hash
  for (int step = 0; step < 20000; ++step) {
    const bool insert = live.size() < kCapacity && (live.empty() || random() % 2 == 0);
    if (insert) {
      std::uint32_t value = random() % 1000;
      while (live.count(value) != 0) value = random() % 1000;
      // Few distinct hashes: long probe runs and many collisions.
      const std::uint64_t hash = random() % 8 * 0x100000001ull;
      index.insert(hash, value);
      live[value] = hash;
    } else {
      auto it = live.begin();
      std::advance(it, random() % live.size());
      index.erase(it->second, it->first);
      EXPECT_EQ(find_value(index, it->second, it->first), IdIndex::kEmpty);
      live.erase(it);
    }
    if (step % 97 == 0) {
      for (const auto& [value, hash] : live) ASSERT_EQ(find_value(index, hash, value), value) << "step " << step;
    }
  }
}

TEST(IdIndex, EraseOfAnAbsentEntryChangesNothing) {
  IdIndex index(4);
  index.insert(5, 1);
  index.erase(5, 2);
  index.erase(6, 1);
  EXPECT_EQ(find_value(index, 5, 1), 1u);
}

TEST(IdIndex, ReplaceRelabelsAnEntryInPlaceAmongCollisions) {
  IdIndex index(8);
  index.insert(3, 10);
  index.insert(3, 11);
  index.insert(3, 12);
  index.replace(3, 11, 21);
  EXPECT_EQ(find_value(index, 3, 11), IdIndex::kEmpty);
  EXPECT_EQ(find_value(index, 3, 21), 21u);
  EXPECT_EQ(find_value(index, 3, 10), 10u);
  EXPECT_EQ(find_value(index, 3, 12), 12u);
  // The relabelled entry erases like any other.
  index.erase(3, 21);
  EXPECT_EQ(find_value(index, 3, 21), IdIndex::kEmpty);
  EXPECT_EQ(find_value(index, 3, 12), 12u);
  index.replace(3, 99, 5);  // absent: nothing changes
  EXPECT_EQ(find_value(index, 3, 5), IdIndex::kEmpty);
}

}  // namespace
}  // namespace edgerun::detail

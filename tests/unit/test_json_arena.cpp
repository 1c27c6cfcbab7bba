// Unit tests of JsonArena and the cJSON hooks: inside a ScopedJsonArena cJSON
// allocates from the arena, outside any scope it uses the heap.

#include "edgerun/json_arena.hpp"

#include <cjson/cJSON.h>
#include <gtest/gtest.h>

#include <cstddef>
#include <cstdint>
#include <cstring>
#include <string>
#include <thread>
#include <vector>

namespace {

using edgerun::install_cjson_arena_hooks;
using edgerun::JsonArena;
using edgerun::ScopedJsonArena;

constexpr std::size_t kAlign = alignof(std::max_align_t);

bool aligned(const void* pointer) { return reinterpret_cast<std::uintptr_t>(pointer) % kAlign == 0; }

constexpr const char* kDocument = R"({"name":"sensor","values":[1,2,3,4.5],"nested":{"ok":true,"text":"hello"}})";

class JsonArenaTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() { install_cjson_arena_hooks(); }

  std::vector<std::byte> memory_ = std::vector<std::byte>(16 * 1024);
  JsonArena arena_{std::span<std::byte>(memory_)};
};

TEST_F(JsonArenaTest, AllocatesInsideItsMemoryUntilFull) {
  EXPECT_EQ(arena_.capacity(), memory_.size());
  EXPECT_EQ(arena_.used(), 0u);
  void* a = arena_.allocate(10);
  void* b = arena_.allocate(100);
  ASSERT_NE(a, nullptr);
  ASSERT_NE(b, nullptr);
  EXPECT_TRUE(arena_.owns(a));
  EXPECT_TRUE(arena_.owns(b));
  EXPECT_GE(static_cast<std::byte*>(b), static_cast<std::byte*>(a) + 10) << "blocks overlap";
  EXPECT_TRUE(aligned(a));
  EXPECT_TRUE(aligned(b));
  EXPECT_GE(arena_.used(), 110u);
  EXPECT_FALSE(arena_.exhausted());
  std::memset(b, 0xab, 100);  // ASan would see a write outside the memory

  EXPECT_EQ(arena_.allocate(memory_.size()), nullptr);
  EXPECT_TRUE(arena_.exhausted());
  const std::size_t high = arena_.high_water();
  EXPECT_GE(high, 110u);

  arena_.reset();
  EXPECT_EQ(arena_.used(), 0u);
  EXPECT_FALSE(arena_.exhausted());
  EXPECT_EQ(arena_.high_water(), high) << "the high-water mark survives a reset";
  // The whole memory is available again.
  EXPECT_NE(arena_.allocate(memory_.size()), nullptr);
  EXPECT_EQ(arena_.used(), memory_.size());
  EXPECT_EQ(arena_.allocate(1), nullptr);
  EXPECT_TRUE(arena_.exhausted());
}

TEST_F(JsonArenaTest, OwnsOnlyItsOwnMemory) {
  int outside = 0;
  EXPECT_FALSE(arena_.owns(&outside));
  EXPECT_TRUE(arena_.owns(memory_.data()));
  EXPECT_TRUE(arena_.owns(memory_.data() + memory_.size() - 1));
  EXPECT_FALSE(arena_.owns(memory_.data() + memory_.size()));
  EXPECT_FALSE(arena_.owns(nullptr));
  JsonArena empty;
  EXPECT_EQ(empty.allocate(1), nullptr);
  EXPECT_TRUE(empty.exhausted());
}

TEST_F(JsonArenaTest, BlocksAreAlignedEvenOnAnOddlyPlacedBuffer) {
  // The runtime carves one arena per worker out of one block, each
  // json_arena_bytes long; validate() accepts any size from 4096, so an arena
  // can start at any address. cJSON nodes hold pointers and doubles.
  JsonArena odd{std::span<std::byte>(memory_.data() + 1, memory_.size() - 1)};
  void* first = odd.allocate(24);
  void* second = odd.allocate(24);
  ASSERT_NE(first, nullptr);
  ASSERT_NE(second, nullptr);
  EXPECT_TRUE(aligned(first)) << first;
  EXPECT_TRUE(aligned(second)) << second;
  EXPECT_TRUE(odd.owns(first));
}

TEST_F(JsonArenaTest, CJsonAllocatesFromTheArenaInsideTheScope) {
  {
    ScopedJsonArena scope(arena_);
    EXPECT_EQ(arena_.used(), 0u);
    cJSON* root = cJSON_Parse(kDocument);
    ASSERT_NE(root, nullptr);
    const std::size_t after_parse = arena_.used();
    EXPECT_GT(after_parse, std::strlen(kDocument)) << "nodes and strings come from the arena";
    EXPECT_TRUE(arena_.owns(root));
    const cJSON* values = cJSON_GetObjectItemCaseSensitive(root, "values");
    ASSERT_TRUE(cJSON_IsArray(values));
    EXPECT_TRUE(arena_.owns(values));
    EXPECT_TRUE(arena_.owns(values->child));
    const cJSON* text = cJSON_GetObjectItemCaseSensitive(cJSON_GetObjectItemCaseSensitive(root, "nested"), "text");
    ASSERT_TRUE(cJSON_IsString(text));
    EXPECT_TRUE(arena_.owns(text->valuestring));
    EXPECT_STREQ(text->valuestring, "hello");

    cJSON* built = cJSON_CreateObject();
    ASSERT_NE(built, nullptr);
    EXPECT_TRUE(arena_.owns(built));
    cJSON* added = cJSON_AddStringToObject(built, "k", "v");
    ASSERT_NE(added, nullptr);
    EXPECT_TRUE(arena_.owns(added));
    EXPECT_GT(arena_.used(), after_parse);

    char* printed = cJSON_PrintUnformatted(built);
    ASSERT_NE(printed, nullptr);
    EXPECT_TRUE(arena_.owns(printed));
    EXPECT_STREQ(printed, R"({"k":"v"})");

    // Deleting arena nodes is harmless: memory comes back only on reset.
    const std::size_t before_delete = arena_.used();
    cJSON_Delete(root);
    cJSON_Delete(built);
    cJSON_free(printed);
    EXPECT_EQ(arena_.used(), before_delete);
    EXPECT_FALSE(arena_.exhausted());
  }
  EXPECT_EQ(arena_.used(), 0u) << "reset on scope exit";
  EXPECT_GT(arena_.high_water(), std::strlen(kDocument));
}

TEST_F(JsonArenaTest, TooSmallArenaIsExhaustedAndParseFailsCleanly) {
  std::vector<std::byte> tiny(96);
  JsonArena small{std::span<std::byte>(tiny)};
  {
    ScopedJsonArena scope(small);
    EXPECT_EQ(cJSON_Parse(kDocument), nullptr);
    EXPECT_TRUE(small.exhausted());
    EXPECT_LE(small.used(), tiny.size());
  }
  EXPECT_FALSE(small.exhausted()) << "reset on scope exit";
  EXPECT_EQ(small.used(), 0u);
}

TEST_F(JsonArenaTest, ScopeResetsTheArenaOnEntry) {
  ASSERT_NE(arena_.allocate(1000), nullptr);
  ASSERT_EQ(arena_.allocate(memory_.size()), nullptr);
  ASSERT_TRUE(arena_.exhausted());
  ScopedJsonArena scope(arena_);
  EXPECT_EQ(arena_.used(), 0u);
  EXPECT_FALSE(arena_.exhausted());
}

TEST_F(JsonArenaTest, OutsideAnyScopeCJsonUsesTheHeap) {
  cJSON* root = cJSON_Parse(kDocument);
  ASSERT_NE(root, nullptr);
  EXPECT_FALSE(arena_.owns(root));
  EXPECT_EQ(arena_.used(), 0u);
  cJSON* copy = cJSON_Duplicate(root, true);
  ASSERT_NE(copy, nullptr);
  EXPECT_TRUE(cJSON_Compare(root, copy, true));
  char* printed = cJSON_PrintUnformatted(copy);
  ASSERT_NE(printed, nullptr);
  EXPECT_STREQ(printed, kDocument);
  cJSON_free(printed);
  cJSON_Delete(copy);
  cJSON_Delete(root);  // heap blocks go back to the heap (ASan/LSan check it)
}

TEST_F(JsonArenaTest, HeapObjectDeletedInsideAScopeGoesBackToTheHeap) {
  cJSON* heap = cJSON_Parse(kDocument);
  ASSERT_NE(heap, nullptr);
  ScopedJsonArena scope(arena_);
  cJSON_Delete(heap);  // must free, not treat it as arena memory (LSan would report a leak)
  EXPECT_EQ(arena_.used(), 0u);
}

TEST_F(JsonArenaTest, NestedScopesRestoreTheOuterArena) {
  std::vector<std::byte> inner_memory(4096);
  JsonArena inner{std::span<std::byte>(inner_memory)};
  ScopedJsonArena outer_scope(arena_);
  {
    ScopedJsonArena inner_scope(inner);
    cJSON* in_inner = cJSON_CreateObject();
    EXPECT_TRUE(inner.owns(in_inner));
    EXPECT_EQ(arena_.used(), 0u);
  }
  EXPECT_EQ(inner.used(), 0u);
  cJSON* in_outer = cJSON_CreateObject();
  EXPECT_TRUE(arena_.owns(in_outer));
  EXPECT_GT(arena_.used(), 0u);
  EXPECT_EQ(inner.used(), 0u);
}

TEST_F(JsonArenaTest, TheScopeBelongsToTheCallingThreadOnly) {
  ScopedJsonArena scope(arena_);
  bool other_owned = true;
  bool other_ok = false;
  std::thread other([&] {
    cJSON* object = cJSON_CreateObject();
    other_ok = object != nullptr;
    other_owned = arena_.owns(object);
    cJSON_Delete(object);
  });
  other.join();
  EXPECT_TRUE(other_ok);
  EXPECT_FALSE(other_owned) << "another thread allocated from this thread's arena";
  EXPECT_EQ(arena_.used(), 0u);
}

TEST_F(JsonArenaTest, InstallingTheHooksTwiceChangesNothing) {
  install_cjson_arena_hooks();
  ScopedJsonArena scope(arena_);
  cJSON* object = cJSON_CreateObject();
  EXPECT_TRUE(arena_.owns(object));
}

}  // namespace

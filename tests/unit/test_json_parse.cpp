// parse_json serialises cJSON's parser across threads. cJSON 1.7.15 writes a
// process-global error state on every parse, so two parses at once race
// inside the library, where ThreadSanitizer cannot see (Debian's libcjson is
// not instrumented). What can be seen from outside is cJSON's allocations:
// this binary installs hooks that note which thread each allocation comes
// from. Under one lock, a parse's allocations are never interleaved with
// another thread's, so the allocating thread changes at most once per parse.
#include "edgerun/json_parse.hpp"

#include <gtest/gtest.h>

#include <atomic>
#include <cstdlib>
#include <latch>
#include <string>
#include <thread>

namespace edgerun {
namespace {

thread_local int t_thread_token = 0;
std::atomic<int> g_last_token{0};
std::atomic<long> g_thread_changes{0};

void* noting_malloc(std::size_t bytes) {
  if (g_last_token.exchange(t_thread_token, std::memory_order_relaxed) != t_thread_token) {
    g_thread_changes.fetch_add(1, std::memory_order_relaxed);
  }
  return std::malloc(bytes);
}

void plain_free(void* pointer) { std::free(pointer); }

class JsonParse : public ::testing::Test {
 protected:
  // The hooks are process-wide, which is why this test has a binary of its own.
  void SetUp() override {
    cJSON_Hooks hooks{noting_malloc, plain_free};
    cJSON_InitHooks(&hooks);
  }
  void TearDown() override { cJSON_InitHooks(nullptr); }
};

TEST_F(JsonParse, ParsesOnTwoThreadsNeverInterleave) {
  // About 200 allocations a parse: one per element and per string.
  std::string document = R"({"id":"job-1","items":[)";
  for (int i = 0; i < 100; ++i) document += std::string(i == 0 ? "" : ",") + R"({"k":"v)" + std::to_string(i) + R"("})";
  document += "]}";
  // A failed parse writes cJSON's error state too: one thread parses text
  // that breaks off at the end.
  const std::string broken = document.substr(0, document.size() - 1);

  constexpr int kParsesPerThread = 1500;
  std::latch start(2);
  std::atomic<int> wrong_results{0};
  const auto parse_many = [&](int token, const std::string& text, bool valid) {
    t_thread_token = token;
    start.arrive_and_wait();
    for (int i = 0; i < kParsesPerThread; ++i) {
      cJSON* root = parse_json(text);
      if ((root != nullptr) != valid) wrong_results.fetch_add(1);
      cJSON_Delete(root);
    }
  };
  std::thread first(parse_many, 1, std::cref(document), true);
  std::thread second(parse_many, 2, std::cref(broken), false);
  first.join();
  second.join();

  EXPECT_EQ(wrong_results.load(), 0);
  // Each parse may start on the other thread's heels: one change per parse
  // at most. Interleaved parses change threads many times within one parse.
  EXPECT_LE(g_thread_changes.load(), 2L * kParsesPerThread)
      << "cJSON allocated for two parses at once: they were not serialised";
}

TEST_F(JsonParse, ReportsWhereAFailedParseStopped) {
  const std::string text = R"({"a": 1, "b": tru})";
  const char* end = nullptr;
  EXPECT_EQ(parse_json(text, &end), nullptr);
  ASSERT_NE(end, nullptr);
  EXPECT_EQ(std::string(end).substr(0, 3), "tru");
}

TEST_F(JsonParse, RequireNullTerminatedRefusesTrailingText) {
  const std::string trailing = R"({"a": 1} x)";
  EXPECT_EQ(parse_json({trailing.c_str(), trailing.size() + 1}, nullptr, true), nullptr);
  cJSON* whole = parse_json({trailing.c_str(), trailing.size() + 1});
  EXPECT_NE(whole, nullptr) << "without the requirement the object alone is parsed";
  cJSON_Delete(whole);
}

}  // namespace
}  // namespace edgerun

#include "edgerun/port/thread.hpp"

#include <gtest/gtest.h>
#include <pthread.h>

#include <array>
#include <cstring>
#include <future>
#include <string>
#include <system_error>

namespace port = edgerun::port;

namespace {

std::string name_of_current_thread() {
  std::array<char, 64> buf{};
  const std::size_t len = port::current_thread_name(buf);
  EXPECT_EQ(len, std::strlen(buf.data()));
  return std::string(buf.data(), len);
}

// The name a thread started by spawn_named_thread reports for itself.
std::string name_inside_spawned(std::string_view name) {
  std::promise<std::string> seen;
  std::thread t = port::spawn_named_thread(name, [&seen] { seen.set_value(name_of_current_thread()); });
  std::string result = seen.get_future().get();
  t.join();
  return result;
}

}  // namespace

TEST(Thread, SpawnedThreadReportsItsName) {
  EXPECT_EQ(name_inside_spawned("er-worker"), "er-worker");
}

TEST(Thread, LongNameIsCutTo15Bytes) {
  static_assert(port::max_thread_name_length == 15);
  EXPECT_EQ(name_inside_spawned("a-very-long-thread-name"), "a-very-long-thr");
  EXPECT_EQ(name_inside_spawned("exactly-15-char"), "exactly-15-char");
}

TEST(Thread, NameEndsAtEmbeddedNul) {
  using namespace std::string_view_literals;
  EXPECT_EQ(name_inside_spawned("io\0junk"sv), "io");
}

TEST(Thread, SetNameAgreesWithPthread) {
  // Run in a plain std::thread so the test runner's own thread keeps its name.
  std::thread t([] {
    port::set_current_thread_name("renamed-by-port-layer");
    std::array<char, 16> raw{};
    ASSERT_EQ(pthread_getname_np(pthread_self(), raw.data(), raw.size()), 0);
    EXPECT_STREQ(raw.data(), "renamed-by-port");
    EXPECT_EQ(name_of_current_thread(), "renamed-by-port");
  });
  t.join();
}

TEST(Thread, CurrentNameIsCutToASmallBuffer) {
  std::thread t([] {
    port::set_current_thread_name("abcdefgh");
    std::array<char, 4> small{'x', 'x', 'x', 'x'};
    EXPECT_EQ(port::current_thread_name(small), 3U);
    EXPECT_STREQ(small.data(), "abc");
    std::array<char, 1> one{'x'};
    EXPECT_EQ(port::current_thread_name(one), 0U);
    EXPECT_EQ(one[0], '\0');
    EXPECT_EQ(port::current_thread_name(std::span<char>()), 0U);
  });
  t.join();
}

TEST(Thread, SpawnRunsTheFunctionAndIsJoinable) {
  int runs = 0;
  std::thread t = port::spawn_named_thread("er-count", [&runs] { ++runs; });
  ASSERT_TRUE(t.joinable());
  t.join();
  EXPECT_EQ(runs, 1);
}

TEST(Thread, SpawnRefusesAnEmptyFunction) {
  try {
    std::thread t = port::spawn_named_thread("er-empty", std::function<void()>{});
    t.join();
    FAIL() << "expected std::system_error";
  } catch (const std::system_error& e) {
    EXPECT_EQ(e.code(), std::make_error_code(std::errc::invalid_argument));
  }
}

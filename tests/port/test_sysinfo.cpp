#include "edgerun/port/sysinfo.hpp"

#include <gtest/gtest.h>
#include <sys/sysinfo.h>
#include <sys/utsname.h>
#include <unistd.h>

#include <atomic>
#include <cmath>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <new>
#include <string>

namespace port = edgerun::port;

// Counts this binary's C++ heap allocations made while counting is on, so a
// test can show that read_sysinfo() allocates nothing. (malloc called from C
// code is not seen; the port layer's own code is C++.)
namespace {
std::atomic<bool> counting{false};
std::atomic<long> allocations{0};
}  // namespace

void* operator new(std::size_t size) {
  if (counting.load(std::memory_order_relaxed)) {
    allocations.fetch_add(1, std::memory_order_relaxed);
  }
  if (void* p = std::malloc(size == 0 ? 1 : size)) {
    return p;
  }
  throw std::bad_alloc();
}
// GCC cannot see that this operator new above is malloc-backed.
#pragma GCC diagnostic ignored "-Wmismatched-new-delete"
void operator delete(void* p) noexcept { std::free(p); }
void operator delete(void* p, std::size_t) noexcept { std::free(p); }

namespace {

std::string str(const auto& array) { return std::string(array.data()); }

bool is_terminated(const auto& array) { return std::memchr(array.data(), '\0', array.size()) != nullptr; }

// PRETTY_NAME from /etc/os-release, parsed independently of the port layer;
// empty when there is none.
std::string pretty_name_from_os_release() {
  std::ifstream in("/etc/os-release");
  if (!in) {
    in.open("/usr/lib/os-release");
  }
  for (std::string line; std::getline(in, line);) {
    if (line.rfind("PRETTY_NAME=", 0) == 0) {
      std::string value = line.substr(12);
      if (value.size() >= 2 && (value.front() == '"' || value.front() == '\'') && value.back() == value.front()) {
        value = value.substr(1, value.size() - 2);
      }
      return value;
    }
  }
  return {};
}

class SysInfoTest : public testing::Test {
 protected:
  void SetUp() override { ASSERT_TRUE(port::read_sysinfo(info)); }
  port::SysInfo info;
};

}  // namespace

TEST_F(SysInfoTest, StringsAreTerminated) {
  EXPECT_TRUE(is_terminated(info.hostname));
  EXPECT_TRUE(is_terminated(info.os));
  EXPECT_TRUE(is_terminated(info.release));
  EXPECT_TRUE(is_terminated(info.arch));
}

TEST_F(SysInfoTest, HostnameMatchesGethostname) {
  char expected[256] = {};
  ASSERT_EQ(gethostname(expected, sizeof expected - 1), 0);
  EXPECT_FALSE(str(info.hostname).empty());
  EXPECT_EQ(str(info.hostname), expected);
}

TEST_F(SysInfoTest, KernelAndArchMatchUname) {
  utsname uts{};
  ASSERT_EQ(uname(&uts), 0);
  EXPECT_EQ(str(info.release), uts.release);
  EXPECT_EQ(str(info.arch), uts.machine);
}

TEST_F(SysInfoTest, OsIsPrettyNameOrSysname) {
  const std::string expected = pretty_name_from_os_release();
  if (expected.empty()) {
    utsname uts{};
    ASSERT_EQ(uname(&uts), 0);
    EXPECT_EQ(str(info.os), uts.sysname);
  } else {
    EXPECT_EQ(str(info.os), expected.substr(0, info.os.size() - 1));
  }
  EXPECT_EQ(str(info.os).find('"'), std::string::npos);
}

TEST_F(SysInfoTest, CpuCountMatchesSysconf) {
  const long expected = sysconf(_SC_NPROCESSORS_ONLN);
  ASSERT_GE(expected, 1);
  EXPECT_EQ(info.cpu_count, static_cast<unsigned>(expected));
  EXPECT_EQ(port::online_cpu_count(), static_cast<unsigned>(expected));
}

TEST_F(SysInfoTest, MemoryMatchesSysinfo) {
  struct sysinfo si {};
  ASSERT_EQ(sysinfo(&si), 0);
  const double expected_total = static_cast<double>(si.totalram) * si.mem_unit;
  ASSERT_GT(expected_total, 0.0);
  EXPECT_LE(std::fabs(static_cast<double>(info.mem_total) - expected_total), expected_total * 0.01);
  EXPECT_GT(info.mem_available, 0U);
  EXPECT_LE(info.mem_available, info.mem_total);
  EXPECT_EQ(info.mem_total % 1024, 0U) << "kB not converted to bytes";
}

TEST_F(SysInfoTest, UptimeMatchesProcUptime) {
  double expected = -1;
  std::ifstream("/proc/uptime") >> expected;
  ASSERT_GE(expected, 0.0);
  EXPECT_LE(std::fabs(static_cast<double>(info.uptime_s) - expected), 2.0);
}

TEST(SysInfo, OverwritesStaleFields) {
  port::SysInfo info;
  info.hostname.fill('x');
  info.os.fill('x');
  info.mem_total = 1;
  ASSERT_TRUE(port::read_sysinfo(info));
  EXPECT_TRUE(is_terminated(info.hostname));
  EXPECT_TRUE(is_terminated(info.os));
  EXPECT_NE(info.mem_total, 1U);
}

TEST(SysInfo, DoesNotAllocate) {
  // Show first that the counter sees an allocation, so a zero means something.
  counting = true;
  // Through a volatile pointer, so the optimizer cannot elide the pair.
  int* volatile probe = new int(1);
  delete probe;
  counting = false;
  ASSERT_EQ(allocations.exchange(0), 1);

  port::SysInfo info;
  counting = true;
  const bool ok = port::read_sysinfo(info);
  counting = false;
  EXPECT_TRUE(ok);
  EXPECT_EQ(allocations.exchange(0), 0);
}

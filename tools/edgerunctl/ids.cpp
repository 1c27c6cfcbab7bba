#include "ids.hpp"

#include <chrono>
#include <cstdint>
#include <cstdio>
#include <random>

namespace edgerun::ctl {
namespace {

constexpr bool is_id_char(char c) {
  return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '.' ||
         c == '_' || c == '-';
}

}  // namespace

bool is_valid_id(std::string_view id) {
  if (id.empty() || id.size() > kMaxIdLength) return false;
  for (char c : id) {
    if (!is_id_char(c)) return false;
  }
  return true;
}

bool is_valid_prefix(std::string_view prefix) {
  if (prefix.empty() || prefix.front() == '$') return false;
  std::size_t level_start = 0;
  for (std::size_t i = 0; i <= prefix.size(); ++i) {
    if (i == prefix.size() || prefix[i] == '/') {
      if (i == level_start) return false;  // empty level: leading, trailing or "//"
      level_start = i + 1;
      continue;
    }
    char c = prefix[i];
    if (c == '+' || c == '#' || c == '\0') return false;
  }
  return true;
}

std::string generate_job_id() {
  using namespace std::chrono;
  auto ms = duration_cast<milliseconds>(system_clock::now().time_since_epoch()).count();
  std::random_device rd;
  char buf[48];
  std::snprintf(buf, sizeof buf, "ctl-%llx-%08x", static_cast<unsigned long long>(ms),
                static_cast<unsigned>(rd()));
  return buf;
}

}  // namespace edgerun::ctl

#include "ids.hpp"

#include <chrono>
#include <cstdint>
#include <cstdio>
#include <random>

namespace edgerun::ctl {
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

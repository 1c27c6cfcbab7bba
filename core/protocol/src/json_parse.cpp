#include "edgerun/json_parse.hpp"

#include <mutex>

namespace edgerun {

namespace {
std::mutex& parse_lock() noexcept {
  static std::mutex lock;
  return lock;
}
}  // namespace

cJSON* parse_json(std::string_view text, const char** parse_end, bool require_null_terminated) noexcept {
  std::lock_guard hold(parse_lock());
  return cJSON_ParseWithLengthOpts(text.data(), text.size(), parse_end, require_null_terminated);
}

}  // namespace edgerun

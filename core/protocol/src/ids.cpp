#include "edgerun/ids.hpp"

#include <algorithm>

namespace edgerun {

bool is_valid_id(std::string_view id) noexcept {
  return !id.empty() && id.size() <= kMaxIdLength && std::all_of(id.begin(), id.end(), is_id_char);
}

bool is_valid_topic_prefix(std::string_view prefix) noexcept {
  if (prefix.empty() || prefix.size() > kMaxTopicPrefixLength) return false;
  while (true) {
    const std::size_t slash = prefix.find('/');
    if (!is_valid_id(prefix.substr(0, slash))) return false;
    if (slash == std::string_view::npos) return true;
    prefix.remove_prefix(slash + 1);
  }
}

bool is_valid_client_id(std::string_view id) noexcept {
  return !id.empty() && id.size() <= kMaxClientIdLength && std::all_of(id.begin(), id.end(), is_id_char);
}

}  // namespace edgerun

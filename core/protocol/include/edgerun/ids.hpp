#pragma once
// The identifier rules of the wire protocol (PROTOCOL.md): device ids, job
// ids and group names match [A-Za-z0-9._-]{1,64}, so that none can smuggle a
// topic level, a wildcard or a NUL into a topic. Every check of an id, a
// topic prefix or an MQTT client id in edgerun is one of these.

#include <cstddef>
#include <string_view>

namespace edgerun {

inline constexpr std::size_t kMaxIdLength = 64;
inline constexpr std::size_t kMaxTopicPrefixLength = 128;
inline constexpr std::size_t kMaxClientIdLength = 128;

// [A-Za-z0-9._-]
constexpr bool is_id_char(char c) noexcept {
  return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '.' || c == '_' ||
         c == '-';
}

// [A-Za-z0-9._-]{1,64}: a device id, job id or group name.
bool is_valid_id(std::string_view id) noexcept;

// The topic prefix <p>: one or more ids separated by '/' ("edgerun",
// "site-1/edgerun"), at most 128 characters. So no wildcard, no empty level
// and no leading '$' (the broker's own topics).
bool is_valid_topic_prefix(std::string_view prefix) noexcept;

// An MQTT client id as edgerun uses them: [A-Za-z0-9._-]{1,128}.
bool is_valid_client_id(std::string_view id) noexcept;

}  // namespace edgerun

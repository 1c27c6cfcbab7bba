#pragma once

// Identifier rules of the wire protocol (PROTOCOL.md): device ids, job ids
// and group names match [A-Za-z0-9._-]{1,64}, so they can never smuggle a
// topic level or a wildcard into a topic.

#include <cstddef>
#include <string>
#include <string_view>

namespace edgerun::ctl {

inline constexpr std::size_t kMaxIdLength = 64;

bool is_valid_id(std::string_view id);

// A topic prefix may have several levels ("site1/edgerun") but no wildcard,
// no empty level and no leading '$' (reserved for the broker).
bool is_valid_prefix(std::string_view prefix);

// "ctl-<ms since epoch, hex>-<32 random bits, hex>": unique enough per
// device, and always a valid id.
std::string generate_job_id();

}  // namespace edgerun::ctl

#pragma once

// Payloads edgerunctl sends (PROTOCOL.md, "Jobs"), as pure functions.

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "result.hpp"

namespace edgerun::ctl {

// The largest integer that survives the trip through cJSON exactly: a
// double holds integers to 2^53, but cJSON prints at most 15 significant
// digits when that reads back "close enough", so 16-digit integers would
// come out rounded.
inline constexpr std::int64_t kMaxExactInteger = 999'999'999'999'999;

// Job params from the command line, as the text of one JSON object. Either
// one argument that is a JSON object, or key=value pairs: a value that is a
// JSON number, true, false or null keeps that type; anything else is a
// string. Numbers follow the strict JSON grammar ("007" and "0x1f" stay
// strings), and integers beyond kMaxExactInteger stay strings so that no
// digit is lost. No arguments give "{}".
Result<std::string> build_params(const std::vector<std::string>& args);

// {"v":1,"id":...,"type":...,"params":{...}[,"timeout_ms":N][,"expires_at":T]}.
// `params_json` must be the text of a JSON object (as build_params makes).
std::string build_submission(std::string_view id, std::string_view type, std::string_view params_json,
                             std::optional<std::int64_t> timeout_ms,
                             std::optional<std::int64_t> expires_at_ms = std::nullopt);

// {"id":...}
std::string build_cancel(std::string_view id);

}  // namespace edgerun::ctl

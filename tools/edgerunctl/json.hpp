#pragma once

// Thin ownership and lookup helpers over cJSON.

#include <cjson/cJSON.h>

#include <memory>
#include <optional>
#include <string>
#include <string_view>

namespace edgerun::ctl {

struct JsonDeleter {
  void operator()(cJSON* json) const { cJSON_Delete(json); }
};
using JsonPtr = std::unique_ptr<cJSON, JsonDeleter>;

// Parses exactly `text` (no trailing garbage). Null when it is not JSON.
JsonPtr parse_json(std::string_view text);
// One line, no insignificant white space.
std::string print_compact(const cJSON* json);

// Member lookups on an object; empty/null when absent or of another type.
std::optional<std::string> json_string(const cJSON* object, const char* key);
std::optional<double> json_number(const cJSON* object, const char* key);
const cJSON* json_object(const cJSON* object, const char* key);
const cJSON* json_array(const cJSON* object, const char* key);

}  // namespace edgerun::ctl

#include "json.hpp"

#include <cstdlib>

namespace edgerun::ctl {

JsonPtr parse_json(std::string_view text) {
  return JsonPtr(cJSON_ParseWithLengthOpts(text.data(), text.size(), nullptr, false));
}

std::string print_compact(const cJSON* json) {
  if (json == nullptr) return "null";
  char* text = cJSON_PrintUnformatted(json);
  if (text == nullptr) return "null";
  std::string out(text);
  cJSON_free(text);
  return out;
}

std::optional<std::string> json_string(const cJSON* object, const char* key) {
  const cJSON* item = cJSON_GetObjectItemCaseSensitive(object, key);
  if (!cJSON_IsString(item) || item->valuestring == nullptr) return std::nullopt;
  return std::string(item->valuestring);
}

std::optional<double> json_number(const cJSON* object, const char* key) {
  const cJSON* item = cJSON_GetObjectItemCaseSensitive(object, key);
  if (!cJSON_IsNumber(item)) return std::nullopt;
  return item->valuedouble;
}

const cJSON* json_object(const cJSON* object, const char* key) {
  const cJSON* item = cJSON_GetObjectItemCaseSensitive(object, key);
  return cJSON_IsObject(item) ? item : nullptr;
}

const cJSON* json_array(const cJSON* object, const char* key) {
  const cJSON* item = cJSON_GetObjectItemCaseSensitive(object, key);
  return cJSON_IsArray(item) ? item : nullptr;
}

}  // namespace edgerun::ctl

#include "payloads.hpp"

#include <cmath>
#include <cstdlib>

#include "json.hpp"

namespace edgerun::ctl {
namespace {

bool is_digit(char c) { return c >= '0' && c <= '9'; }

// The JSON number grammar: -?(0|[1-9][0-9]*)(\.[0-9]+)?([eE][+-]?[0-9]+)?
bool is_json_number(std::string_view s, bool& is_integer) {
  std::size_t i = 0;
  is_integer = true;
  if (i < s.size() && s[i] == '-') ++i;
  if (i >= s.size()) return false;
  if (s[i] == '0') {
    ++i;
  } else if (is_digit(s[i])) {
    while (i < s.size() && is_digit(s[i])) ++i;
  } else {
    return false;
  }
  if (i < s.size() && s[i] == '.') {
    is_integer = false;
    ++i;
    if (i >= s.size() || !is_digit(s[i])) return false;
    while (i < s.size() && is_digit(s[i])) ++i;
  }
  if (i < s.size() && (s[i] == 'e' || s[i] == 'E')) {
    is_integer = false;
    ++i;
    if (i < s.size() && (s[i] == '+' || s[i] == '-')) ++i;
    if (i >= s.size() || !is_digit(s[i])) return false;
    while (i < s.size() && is_digit(s[i])) ++i;
  }
  return i == s.size();
}

// The typed JSON value for one command-line value.
cJSON* typed_value(const std::string& text) {
  if (text == "true") return cJSON_CreateTrue();
  if (text == "false") return cJSON_CreateFalse();
  if (text == "null") return cJSON_CreateNull();
  bool is_integer = false;
  if (is_json_number(text, is_integer)) {
    double value = std::strtod(text.c_str(), nullptr);
    bool exact = !is_integer || std::fabs(value) <= static_cast<double>(kMaxExactInteger);
    if (std::isfinite(value) && exact) return cJSON_CreateNumber(value);
  }
  return cJSON_CreateString(text.c_str());
}

bool looks_like_object(std::string_view arg) {
  std::size_t first = arg.find_first_not_of(" \t\r\n");
  return first != std::string_view::npos && arg[first] == '{';
}

}  // namespace

Result<std::string> build_params(const std::vector<std::string>& args) {
  if (args.empty()) return Result<std::string>::ok("{}");
  if (args.size() == 1 && looks_like_object(args[0])) {
    JsonPtr parsed = parse_json(args[0]);
    if (!parsed || !cJSON_IsObject(parsed.get())) {
      return Result<std::string>::fail("params '" + args[0] + "' is not a valid JSON object");
    }
    return Result<std::string>::ok(print_compact(parsed.get()));
  }
  JsonPtr object(cJSON_CreateObject());
  for (const std::string& arg : args) {
    if (looks_like_object(arg)) {
      return Result<std::string>::fail("a JSON object must be the only parameter; got '" + arg +
                                       "' among others");
    }
    std::size_t eq = arg.find('=');
    if (eq == std::string::npos || eq == 0) {
      return Result<std::string>::fail("parameter '" + arg + "' is not key=value");
    }
    std::string key = arg.substr(0, eq);
    if (cJSON_GetObjectItemCaseSensitive(object.get(), key.c_str()) != nullptr) {
      return Result<std::string>::fail("parameter '" + key + "' given twice");
    }
    cJSON_AddItemToObject(object.get(), key.c_str(), typed_value(arg.substr(eq + 1)));
  }
  return Result<std::string>::ok(print_compact(object.get()));
}

std::string build_submission(std::string_view id, std::string_view type, std::string_view params_json,
                             std::optional<std::int64_t> timeout_ms, std::optional<std::int64_t> expires_at_ms) {
  JsonPtr object(cJSON_CreateObject());
  cJSON_AddNumberToObject(object.get(), "v", 1);
  cJSON_AddStringToObject(object.get(), "id", std::string(id).c_str());
  cJSON_AddStringToObject(object.get(), "type", std::string(type).c_str());
  JsonPtr params = parse_json(params_json);
  cJSON_AddItemToObject(object.get(), "params", params ? params.release() : cJSON_CreateObject());
  if (timeout_ms) cJSON_AddNumberToObject(object.get(), "timeout_ms", static_cast<double>(*timeout_ms));
  if (expires_at_ms) cJSON_AddNumberToObject(object.get(), "expires_at", static_cast<double>(*expires_at_ms));
  return print_compact(object.get());
}

std::string build_cancel(std::string_view id) {
  JsonPtr object(cJSON_CreateObject());
  cJSON_AddStringToObject(object.get(), "id", std::string(id).c_str());
  return print_compact(object.get());
}

}  // namespace edgerun::ctl

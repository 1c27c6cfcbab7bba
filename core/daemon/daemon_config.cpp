#include "edgerun/daemon_config.hpp"

#include <cjson/cJSON.h>

#include <algorithm>
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <memory>
#include <new>
#include <utility>

#include "config_schema.hpp"
#include "edgerun/ids.hpp"
#include "edgerun/json_parse.hpp"
#include "edgerun/mqtt_url.hpp"

namespace edgerun {

namespace {

constexpr std::size_t kMaxFileBytes = 1u << 20;

struct JsonDeleter {
  void operator()(cJSON* json) const noexcept { cJSON_Delete(json); }
};
using JsonPtr = std::unique_ptr<cJSON, JsonDeleter>;

// cJSON reports an error where an object key was expected (`{a: 1}`, a
// trailing comma) one character late; every other error it reports where it
// is. This moves the first case back onto the offending character.
std::size_t error_offset(std::string_view text, std::size_t reported) {
  if (reported == 0 || reported > text.size()) return reported;
  const std::size_t candidate = reported - 1;
  if (text[candidate] == '"') return reported;
  std::vector<char> open;  // the containers enclosing `candidate`
  char last = '\0';        // the last character before it outside strings and whitespace
  bool in_string = false;
  bool escaped = false;
  for (std::size_t i = 0; i < candidate; ++i) {
    const char c = text[i];
    if (in_string) {
      if (escaped) {
        escaped = false;
      } else if (c == '\\') {
        escaped = true;
      } else if (c == '"') {
        in_string = false;
        last = c;
      }
      continue;
    }
    if (c == ' ' || c == '\t' || c == '\r' || c == '\n') continue;
    if (c == '"') in_string = true;
    if (c == '{' || c == '[') open.push_back(c);
    if ((c == '}' || c == ']') && !open.empty()) open.pop_back();
    last = c;
  }
  const bool key_expected = !in_string && !open.empty() && open.back() == '{' && (last == '{' || last == ',');
  return key_expected ? candidate : reported;
}

// Line and column (both from 1; the column counts UTF-8 characters) of byte
// `offset` in `text`.
std::pair<std::size_t, std::size_t> line_and_column(std::string_view text, std::size_t offset) {
  std::size_t line = 1;
  std::size_t column = 1;
  for (std::size_t i = 0; i < offset && i < text.size(); ++i) {
    const auto c = static_cast<unsigned char>(text[i]);
    if (c == '\n') {
      ++line;
      column = 1;
    } else if ((c & 0xC0) != 0x80) {
      ++column;
    }
  }
  return {line, column};
}

// Sets mqtt.url and what it gives: the host, port and TLS.
void use_url(DaemonConfig::Mqtt& mqtt, std::string url, MqttUrl endpoint) {
  mqtt.url = std::move(url);
  mqtt.host = std::move(endpoint.host);
  mqtt.port = endpoint.port;
  mqtt.tls = endpoint.tls;
}

}  // namespace

ConfigLoadResult parse_daemon_config(std::string_view text, std::string_view path, std::string_view default_device_id) {
  const auto failed = [path](const std::string& message) {
    return ConfigLoadResult{std::nullopt, std::string(path) + ": " + message};
  };

  // An editor's UTF-8 byte order mark is not JSON, but harmless.
  std::size_t start = 0;
  if (text.starts_with("\xEF\xBB\xBF")) start = 3;
  if (const std::size_t nul = text.find('\0'); nul != std::string_view::npos) {
    const auto [line, column] = line_and_column(text, nul);
    return failed("line " + std::to_string(line) + ", column " + std::to_string(column) +
                  ": a NUL byte; expected JSON text");
  }
  if (text.find_first_not_of(" \t\r\n", start) == std::string_view::npos) {
    return failed("the file is empty; expected a JSON object (\"{}\" for all defaults)");
  }

  // cJSON wants a terminated string to check that nothing follows the value.
  const std::string terminated(text.substr(start));
  const char* error_at = nullptr;
  const JsonPtr root(parse_json({terminated.c_str(), terminated.size() + 1}, &error_at, true));
  if (root == nullptr) {
    const std::size_t reported = error_at != nullptr ? static_cast<std::size_t>(error_at - terminated.c_str()) : 0;
    const std::size_t offset = start + error_offset(terminated, reported);
    const auto [line, column] = line_and_column(text, offset);
    const bool at_end = text.find_first_not_of(" \t\r\n", offset) == std::string_view::npos;
    return failed("line " + std::to_string(line) + ", column " + std::to_string(column) + ": not valid JSON" +
                  (at_end ? " (the text ends too early)" : ""));
  }

  DaemonConfig c;
  if (std::string error = read_config(root.get(), config_schema(), c); !error.empty()) return failed(error);

  // Defaults that depend on the machine or on other keys. A key given empty
  // was refused by its rule, so empty here means not given.
  if (c.device_id.empty()) {
    if (!is_valid_id(default_device_id)) {
      return failed("device_id is not set and the host name " + quote(default_device_id) +
                    " is not a valid id; expected a device_id in the file, " + kIdExpected);
    }
    c.device_id = std::string(default_device_id);
  }
  if (c.mqtt.client_id.empty()) c.mqtt.client_id = "edgerun-" + c.device_id;
  MqttUrl endpoint;
  if (const char* expected = parse_mqtt_url(c.mqtt.url, endpoint)) {
    return failed("mqtt.url is " + quote(c.mqtt.url) + "; expected " + expected);  // only a bad built-in default
  }
  use_url(c.mqtt, c.mqtt.url, std::move(endpoint));

  if (std::string error = check_relations(c); !error.empty()) return failed(error);
  return ConfigLoadResult{std::move(c), {}};
}

ConfigLoadResult load_daemon_config(const std::string& path, std::string_view default_device_id) {
  const auto failed = [&path](const char* what, int error) {
    return ConfigLoadResult{std::nullopt, path + ": " + what + ": " + std::strerror(error)};
  };
  // "e" (glibc): close-on-exec, as SIGHUP re-reads the file on the loop
  // while workers may be spawning exec programs.
  const std::unique_ptr<std::FILE, int (*)(std::FILE*)> file(std::fopen(path.c_str(), "rbe"), &std::fclose);
  if (file == nullptr) return failed("cannot open", errno);

  std::string text;
  char buffer[4096];
  while (true) {
    const std::size_t n = std::fread(buffer, 1, sizeof buffer, file.get());
    if (n == 0) break;
    text.append(buffer, n);
    if (text.size() > kMaxFileBytes) {
      return ConfigLoadResult{std::nullopt, path + ": is larger than " + std::to_string(kMaxFileBytes) +
                                                " bytes; expected a config file of at most 1 MiB"};
    }
  }
  if (std::ferror(file.get())) return failed("cannot read", errno);
  return parse_daemon_config(text, path, default_device_id);
}

std::string apply_environment(DaemonConfig& config, const std::function<const char*(const char*)>& getenv_fn) {
  if (!getenv_fn) return {};
  DaemonConfig::Mqtt mqtt = config.mqtt;
  if (const char* url = getenv_fn("EDGERUN_MQTT_URL"); url != nullptr) {
    MqttUrl endpoint;
    if (const char* expected = parse_mqtt_url(url, endpoint)) {
      return "EDGERUN_MQTT_URL is " + quote(url) + "; expected " + expected;
    }
    if (!mqtt.ca_file.empty() && !endpoint.tls) {
      return "EDGERUN_MQTT_URL is " + quote(url) + " but mqtt.ca_file is " + quote(mqtt.ca_file) +
             "; expected an mqtts:// url";
    }
    use_url(mqtt, url, std::move(endpoint));
  }
  if (const char* username = getenv_fn("EDGERUN_MQTT_USERNAME"); username != nullptr) mqtt.username = username;
  if (const char* password = getenv_fn("EDGERUN_MQTT_PASSWORD"); password != nullptr) mqtt.password = password;
  config.mqtt = std::move(mqtt);
  return {};
}

std::string describe(const DaemonConfig& c) {
  const JsonPtr root(write_config(config_schema(), c));
  char* printed = cJSON_Print(root.get());
  if (printed == nullptr) throw std::bad_alloc();
  // cJSON indents with tabs and puts one after each ':'. Strings hold none
  // (they are escaped), so every tab is one of those.
  std::string out;
  for (const char* p = printed; *p != '\0'; ++p) {
    if (*p != '\t') {
      out += *p;
    } else if (p != printed && p[-1] == ':') {
      out += ' ';
    } else {
      out += "  ";
    }
  }
  cJSON_free(printed);
  out += '\n';
  return out;
}

std::string check_job_types(const DaemonConfig& config, std::string_view path,
                            std::span<const std::string_view> known) {
  for (const JobTypeSettings& type : config.types) {
    if (std::find(known.begin(), known.end(), type.type) != known.end()) continue;
    std::string message = std::string(path) + ": types." + type.type + " is not a job type of this daemon";
    if (const std::string_view* nearest = nearest_name(type.type, known)) {
      message += " (did you mean types." + std::string(*nearest) + "?)";
    }
    message += "; expected one of its job types:";
    for (std::size_t i = 0; i < known.size(); ++i) message += (i == 0 ? " " : ", ") + std::string(known[i]);
    return message;
  }
  return {};
}

}  // namespace edgerun

namespace edgerun {

MqttTransportOptions transport_options(const DaemonConfig& config) {
  MqttTransportOptions options;
  options.device_id = config.device_id;
  options.groups = config.groups;
  options.report_progress = config.report_progress;
  options.mqtt = config.mqtt;
  options.telemetry = config.telemetry;
  return options;
}

}  // namespace edgerun

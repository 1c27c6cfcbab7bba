#include "format.hpp"

#include <cmath>
#include <cstdint>
#include <cstdio>
#include <ctime>

#include "json.hpp"

namespace edgerun::ctl {
namespace {

// Text is appended in place (out.append(" ").append(part())) rather than as
// out += " " + part(): a literal plus a temporary string inserts at the front
// of the temporary, moving its bytes, and GCC 12 reports that inlined insert
// as an overlapping memcpy (-Wrestrict, a false positive of its own).

// A scalar as a word for key=value output; anything else as compact JSON.
std::string value_text(const cJSON* item) {
  if (cJSON_IsString(item) && item->valuestring != nullptr) return item->valuestring;
  if (cJSON_IsNumber(item)) return format_number(item->valuedouble);
  return print_compact(item);
}

// "code: message (exit code N)" from an error object, or the error as JSON.
std::string error_text(const cJSON* error) {
  if (!cJSON_IsObject(error)) return value_text(error);
  std::string out = json_string(error, "code").value_or("error");
  if (auto message = json_string(error, "message"); message && !message->empty()) out += ": " + *message;
  if (auto code = json_number(error, "exit_code")) out.append(" (exit code ").append(format_number(*code)).append(")");
  return out;
}

std::string time_field(const cJSON* object, const char* key) {
  if (auto ms = json_number(object, key)) return format_timestamp(*ms);
  if (auto text = json_string(object, key)) return *text;
  return "?";
}

std::string format_bytes(double bytes) {
  static constexpr const char* kUnits[] = {"B", "KiB", "MiB", "GiB", "TiB"};
  std::size_t unit = 0;
  while (bytes >= 1024.0 && unit + 1 < std::size(kUnits)) {
    bytes /= 1024.0;
    ++unit;
  }
  char buf[32];
  std::snprintf(buf, sizeof buf, unit == 0 ? "%.0f %s" : "%.1f %s", bytes, kUnits[unit]);
  return buf;
}

std::string labels_text(const cJSON* labels) {
  if (!cJSON_IsObject(labels) || labels->child == nullptr) return "";
  std::string out = "{";
  for (const cJSON* label = labels->child; label != nullptr; label = label->next) {
    if (label != labels->child) out += ",";
    out += std::string(label->string) + "=\"" + value_text(label) + "\"";
  }
  return out + "}";
}

std::string metric_line(const cJSON* metric) {
  std::string out = json_string(metric, "name").value_or("?");
  out += labels_text(cJSON_GetObjectItemCaseSensitive(metric, "labels"));
  if (const cJSON* value = cJSON_GetObjectItemCaseSensitive(metric, "value")) {
    return out + "=" + value_text(value);
  }
  // A histogram: its count and sum say the most in one line.
  if (auto count = json_number(metric, "count")) out.append(" count=").append(format_number(*count));
  if (auto sum = json_number(metric, "sum")) out.append(" sum=").append(format_number(*sum));
  return out;
}

void metrics_lines(const std::string& head, const cJSON* payload, std::vector<std::string>& lines) {
  const cJSON* metrics = json_array(payload, "metrics");
  const cJSON* metric = nullptr;
  cJSON_ArrayForEach(metric, metrics) { lines.push_back(head + "metric " + metric_line(metric)); }
  if (lines.empty()) lines.push_back(head + "metrics (none)");
}

void log_lines(const std::string& head, const cJSON* payload, std::vector<std::string>& lines) {
  const cJSON* record = nullptr;
  cJSON_ArrayForEach(record, json_array(payload, "records")) {
    std::string line = head + "log " + time_field(record, "ts") + " " +
                       json_string(record, "level").value_or("?") + " " + json_string(record, "msg").value_or("");
    if (const cJSON* fields = json_object(record, "fields"); fields && fields->child) {
      line.append(" ").append(print_compact(fields));
    }
    lines.push_back(std::move(line));
  }
  if (auto dropped = json_number(payload, "dropped"); dropped && *dropped > 0) {
    lines.push_back(head + "log dropped " + format_number(*dropped) + " records");
  }
}

std::string presence_line(const cJSON* payload) {
  std::string out = "presence ";
  out += json_string(payload, "state").value_or("?");
  if (auto version = json_string(payload, "version")) out.append(" version=").append(*version);
  if (cJSON_GetObjectItemCaseSensitive(payload, "started_at")) {
    out.append(" started_at=").append(time_field(payload, "started_at"));
  }
  return out;
}

}  // namespace

std::string one_line(std::string_view payload) {
  if (payload.find('\n') == std::string_view::npos && payload.find('\r') == std::string_view::npos) {
    return std::string(payload);
  }
  if (JsonPtr json = parse_json(payload)) return print_compact(json.get());
  std::string out(payload);
  for (char& c : out) {
    if (c == '\n' || c == '\r') c = ' ';
  }
  return out;
}

std::string format_job_status(const cJSON* status) {
  std::string state = json_string(status, "state").value_or("?");
  std::string out = json_string(status, "id").value_or("?") + " " + state;
  const cJSON* result = cJSON_GetObjectItemCaseSensitive(status, "result");
  if (state == "succeeded" && result != nullptr && !cJSON_IsNull(result)) {
    out.append(" ").append(print_compact(result));
  }
  if (const cJSON* error = cJSON_GetObjectItemCaseSensitive(status, "error")) out.append(" ").append(error_text(error));
  return out;
}

std::vector<std::string> format_message(const TopicInfo& topic, std::string_view payload) {
  const std::string head = topic.device.empty() ? "" : topic.device + " ";
  std::vector<std::string> lines;
  JsonPtr json = parse_json(payload);
  if (!json || !cJSON_IsObject(json.get())) {
    lines.push_back(head + topic.rest + " (not a JSON object) " + one_line(payload));
    return lines;
  }
  const cJSON* p = json.get();
  switch (topic.kind) {
    case TopicKind::job_status:
      lines.push_back(head + format_job_status(p));
      break;
    case TopicKind::job_rejected:
      lines.push_back(head + "rejected " + error_text(cJSON_GetObjectItemCaseSensitive(p, "error")));
      break;
    case TopicKind::presence:
      lines.push_back(head + presence_line(p));
      break;
    case TopicKind::metrics:
      metrics_lines(head, p, lines);
      break;
    case TopicKind::logs:
      log_lines(head, p, lines);
      break;
    case TopicKind::events: {
      std::string line = head + "event " + json_string(p, "type").value_or("?");
      if (const cJSON* data = cJSON_GetObjectItemCaseSensitive(p, "data")) line.append(" ").append(print_compact(data));
      lines.push_back(std::move(line));
      break;
    }
    case TopicKind::telemetry:
    case TopicKind::other:
      lines.push_back(head + topic.rest + " " + print_compact(p));
      break;
  }
  return lines;
}

std::string format_presence_block(std::string_view device, const cJSON* presence) {
  std::string out = std::string(device) + "  " + json_string(presence, "state").value_or("?") + "\n";
  out.append("  version     ").append(json_string(presence, "version").value_or("?")).append("\n");
  out.append("  started_at  ").append(time_field(presence, "started_at")).append("\n");
  if (const cJSON* sysinfo = json_object(presence, "sysinfo")) {
    std::string line;
    for (const cJSON* item = sysinfo->child; item != nullptr; item = item->next) {
      std::string key = item->string;
      std::string value = cJSON_IsNumber(item) && key.starts_with("mem_") ? format_bytes(item->valuedouble)
                                                                           : value_text(item);
      line += (line.empty() ? "" : " ") + key + "=" + value;
    }
    out += "  sysinfo     " + line + "\n";
  }
  if (const cJSON* handlers = json_array(presence, "handlers")) {
    std::string line;
    const cJSON* handler = nullptr;
    cJSON_ArrayForEach(handler, handlers) { line.append(line.empty() ? "" : ", ").append(value_text(handler)); }
    out += "  handlers    " + line + "\n";
  }
  if (cJSON_GetObjectItemCaseSensitive(presence, "ts")) {
    out.append("  updated     ").append(time_field(presence, "ts")).append("\n");
  }
  return out;
}

std::string format_timestamp(double ms) {
  if (!std::isfinite(ms) || ms < 0) return format_number(ms);
  auto total_ms = static_cast<std::int64_t>(ms);
  std::time_t seconds = static_cast<std::time_t>(total_ms / 1000);
  std::tm tm{};
  if (gmtime_r(&seconds, &tm) == nullptr) return format_number(ms);
  char buf[64];
  std::snprintf(buf, sizeof buf, "%04d-%02d-%02dT%02d:%02d:%02d.%03dZ", tm.tm_year + 1900, tm.tm_mon + 1,
                tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec, static_cast<int>(total_ms % 1000));
  return buf;
}

std::string format_number(double value) {
  char buf[40];
  if (std::isfinite(value) && value == std::floor(value) && std::fabs(value) < 1e17) {
    std::snprintf(buf, sizeof buf, "%.0f", value);
  } else {
    std::snprintf(buf, sizeof buf, "%.10g", value);
  }
  return buf;
}

}  // namespace edgerun::ctl

#include "edgerun/topics.hpp"

#include <cstring>

namespace edgerun {
namespace {

std::string join(std::string_view a, std::string_view b, std::string_view rest) {
  std::string out;
  out.reserve(a.size() + b.size() + rest.size() + 2);
  out.append(a).append("/").append(b).append("/").append(rest);
  return out;
}

}  // namespace

std::string submit_topic(std::string_view prefix, std::string_view device) {
  return join(prefix, device, "jobs/submit");
}

std::string group_submit_topic(std::string_view prefix, std::string_view group) {
  return join(prefix, "groups", std::string(group) + "/jobs/submit");
}

std::string cancel_topic(std::string_view prefix, std::string_view device) {
  return join(prefix, device, "jobs/cancel");
}

std::string job_status_topic(std::string_view prefix, std::string_view device, std::string_view job_id) {
  std::string topic(prefix.size() + device.size() + job_id.size() + 14, '\0');
  topic.resize(write_job_status_topic(topic, prefix, device, job_id).size());
  return topic;
}

std::string job_status_filter(std::string_view prefix, std::string_view device) {
  return join(prefix, device, "jobs/+/status");
}

std::string rejected_topic(std::string_view prefix, std::string_view device) {
  return join(prefix, device, "jobs/rejected");
}

std::string presence_topic(std::string_view prefix, std::string_view device) {
  return join(prefix, device, "status");
}

std::string telemetry_filter(std::string_view prefix, std::string_view device) {
  return join(prefix, device, "telemetry/#");
}

std::string metrics_topic(std::string_view prefix, std::string_view device) {
  return join(prefix, device, "telemetry/metrics");
}

std::string logs_topic(std::string_view prefix, std::string_view device) {
  return join(prefix, device, "telemetry/logs");
}

std::string events_topic(std::string_view prefix, std::string_view device) {
  return join(prefix, device, "telemetry/events");
}

std::string group_submit_filter(std::string_view prefix, std::string_view group) {
  return "$share/" + std::string(group) + "/" + group_submit_topic(prefix, group);
}

bool is_group_submit_topic(std::string_view prefix, std::string_view topic) {
  constexpr std::string_view kGroups = "/groups/";
  constexpr std::string_view kLeaf = "/jobs/submit";
  if (!topic.starts_with(prefix) || !topic.substr(prefix.size()).starts_with(kGroups)) return false;
  const std::string_view group = topic.substr(prefix.size() + kGroups.size());
  return group.size() > kLeaf.size() && group.ends_with(kLeaf) &&
         group.substr(0, group.size() - kLeaf.size()).find('/') == std::string_view::npos;
}

std::string_view write_job_status_topic(std::span<char> out, std::string_view prefix, std::string_view device,
                                        std::string_view job_id) {
  const std::string_view parts[] = {prefix, "/", device, "/jobs/", job_id, "/status"};
  std::size_t length = 0;
  for (std::string_view part : parts) length += part.size();
  if (length > out.size()) return {};
  char* at = out.data();
  for (std::string_view part : parts) {
    std::memcpy(at, part.data(), part.size());
    at += part.size();
  }
  return {out.data(), length};
}

TopicInfo classify_topic(std::string_view prefix, std::string_view topic) {
  TopicInfo info;
  if (!topic.starts_with(prefix) || topic.size() <= prefix.size() || topic[prefix.size()] != '/') {
    return info;
  }
  std::string_view tail = topic.substr(prefix.size() + 1);
  std::size_t slash = tail.find('/');
  if (slash == std::string_view::npos || slash == 0) return info;
  info.device = std::string(tail.substr(0, slash));
  std::string_view rest = tail.substr(slash + 1);
  info.rest = std::string(rest);

  if (rest == "status") {
    info.kind = TopicKind::presence;
  } else if (rest == "jobs/rejected") {
    info.kind = TopicKind::job_rejected;
  } else if (rest.size() > 12 && rest.starts_with("jobs/") && rest.ends_with("/status")) {
    std::string_view id = rest.substr(5, rest.size() - 12);  // between "jobs/" and "/status"
    if (!id.empty() && id.find('/') == std::string_view::npos) {
      info.kind = TopicKind::job_status;
      info.job_id = std::string(id);
    }
  } else if (rest == "telemetry/metrics") {
    info.kind = TopicKind::metrics;
  } else if (rest == "telemetry/logs") {
    info.kind = TopicKind::logs;
  } else if (rest == "telemetry/events") {
    info.kind = TopicKind::events;
  } else if (rest.starts_with("telemetry/")) {
    info.kind = TopicKind::telemetry;
  }
  return info;
}

}  // namespace edgerun

#pragma once

// Topic names of the wire protocol (PROTOCOL.md), built in one place and
// classified in one place, so that the command code never splices strings.

#include <string>
#include <string_view>

namespace edgerun::ctl {

// `device` may be the single-level wildcard "+" where a filter is built.
std::string submit_topic(std::string_view prefix, std::string_view device);
std::string group_submit_topic(std::string_view prefix, std::string_view group);
std::string cancel_topic(std::string_view prefix, std::string_view device);
std::string job_status_topic(std::string_view prefix, std::string_view device, std::string_view job_id);
std::string job_status_filter(std::string_view prefix, std::string_view device);  // .../jobs/+/status
std::string rejected_topic(std::string_view prefix, std::string_view device);
std::string presence_topic(std::string_view prefix, std::string_view device);
std::string telemetry_filter(std::string_view prefix, std::string_view device);  // .../telemetry/#

enum class TopicKind {
  job_status,   // <p>/<dev>/jobs/<id>/status
  job_rejected, // <p>/<dev>/jobs/rejected
  presence,     // <p>/<dev>/status
  metrics,      // <p>/<dev>/telemetry/metrics
  logs,         // <p>/<dev>/telemetry/logs
  events,       // <p>/<dev>/telemetry/events
  telemetry,    // any other <p>/<dev>/telemetry/...
  other,
};

struct TopicInfo {
  TopicKind kind = TopicKind::other;
  std::string device;
  std::string job_id;  // job_status only
  std::string rest;    // the topic after "<p>/<dev>/"
};

TopicInfo classify_topic(std::string_view prefix, std::string_view topic);

}  // namespace edgerun::ctl

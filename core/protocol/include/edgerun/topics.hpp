#pragma once

// Topic names of the wire protocol (PROTOCOL.md), built in one place and
// classified in one place, so that no other code splices topic strings: the
// MQTT transport, edgerunctl, the tests and the benches use these.

#include <span>
#include <string>
#include <string_view>

namespace edgerun {

// `device` may be the single-level wildcard "+" where a filter is built.
std::string submit_topic(std::string_view prefix, std::string_view device);
std::string group_submit_topic(std::string_view prefix, std::string_view group);
std::string cancel_topic(std::string_view prefix, std::string_view device);
std::string job_status_topic(std::string_view prefix, std::string_view device, std::string_view job_id);
std::string job_status_filter(std::string_view prefix, std::string_view device);  // .../jobs/+/status
std::string rejected_topic(std::string_view prefix, std::string_view device);
std::string presence_topic(std::string_view prefix, std::string_view device);
std::string telemetry_filter(std::string_view prefix, std::string_view device);  // .../telemetry/#
std::string metrics_topic(std::string_view prefix, std::string_view device);
std::string logs_topic(std::string_view prefix, std::string_view device);
std::string events_topic(std::string_view prefix, std::string_view device);
// The MQTT v5 shared subscription of a group member:
// $share/<group>/<p>/groups/<group>/jobs/submit.
std::string group_submit_filter(std::string_view prefix, std::string_view group);
// True for <p>/groups/<any group>/jobs/submit.
bool is_group_submit_topic(std::string_view prefix, std::string_view topic);

// <p>/<dev>/jobs/<id>/status written into `out`, without allocating (for
// every status the runtime publishes). Returns the topic, or an empty view
// when it does not fit.
std::string_view write_job_status_topic(std::span<char> out, std::string_view prefix, std::string_view device,
                                        std::string_view job_id);

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

}  // namespace edgerun

#pragma once

// Human-readable renderings of the protocol's payloads (PROTOCOL.md), as
// pure functions from JSON to text lines. Nothing here writes anywhere.

#include <cjson/cJSON.h>

#include <string>
#include <string_view>
#include <vector>

#include "edgerun/topics.hpp"

namespace edgerun::ctl {

// The payload on one line, for --json: compacted when it is JSON spread
// over several lines, else as received.
std::string one_line(std::string_view payload);

// "job-42 queued", "job-42 succeeded {"msg":"hi"}",
// "job-42 failed exit_status: exited with 3 (exit code 3)".
std::string format_job_status(const cJSON* status);

// The lines `watch` prints for one message, each starting with the device.
std::vector<std::string> format_message(const TopicInfo& topic, std::string_view payload);

// The block `status` prints for one presence message: a header line with
// device and state, then indented version, started_at, sysinfo, handlers.
std::string format_presence_block(std::string_view device, const cJSON* presence);

// Milliseconds since the Unix epoch as "2026-01-02T03:04:05.678Z".
std::string format_timestamp(double ms);
// Integers without a fraction, others with up to 10 significant digits.
std::string format_number(double value);

}  // namespace edgerun::ctl

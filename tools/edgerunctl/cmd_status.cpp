#include <algorithm>
#include <cstdio>
#include <map>

#include "command_support.hpp"
#include "commands.hpp"
#include "format.hpp"
#include "json.hpp"
#include "edgerun/topics.hpp"

namespace edgerun::ctl {
namespace {

constexpr std::chrono::milliseconds kDefaultWait{10'000};
// Retained messages arrive right after the SUBACK, back to back; this long
// a silence means they are all in.
constexpr std::chrono::milliseconds kQuietWindow{500};

}  // namespace

ExitCode run_status(const GlobalOptions& global, const StatusCommand& command) {
  const Deadline deadline = deadline_from(global, kDefaultWait);
  const std::string filter = presence_topic(global.prefix, command.device);

  Session session;
  if (SessionStatus s = connect_session(session, global, deadline); !s) return report_error(s);
  if (SessionStatus s = session.subscribe({filter}, 1, deadline); !s) return report_error(s);

  std::map<std::string, std::string> latest;  // device -> presence payload, sorted by device
  Deadline quiet_until = std::chrono::steady_clock::now() + kQuietWindow;
  for (;;) {
    ReceivedMessage message;
    SessionStatus s = session.next_message(message, std::min(deadline, quiet_until));
    if (s.error == SessionError::timeout) break;
    if (!s) return report_error(s);
    TopicInfo topic = classify_topic(global.prefix, message.topic);
    if (topic.kind != TopicKind::presence) continue;
    // An empty retained message is a cleared presence.
    if (message.payload.empty()) {
      latest.erase(topic.device);
    } else {
      latest[topic.device] = message.payload;
    }
    // One device has one retained presence: nothing more to wait for.
    if (command.device != "+") break;
    quiet_until = std::chrono::steady_clock::now() + kQuietWindow;
  }
  session.disconnect();

  if (latest.empty()) {
    print_note("no device found on " + filter);
    return ExitCode::not_found;
  }
  bool first = true;
  for (const auto& [device, payload] : latest) {
    if (global.json) {
      print_line(one_line(payload));
      continue;
    }
    if (!first) print_line("");
    first = false;
    JsonPtr presence = parse_json(payload);
    if (!presence || !cJSON_IsObject(presence.get())) {
      print_line(device + "  (presence is not a JSON object) " + one_line(payload));
      continue;
    }
    std::string block = format_presence_block(device, presence.get());
    if (!block.empty() && block.back() == '\n') block.pop_back();
    print_line(block);
  }
  return ExitCode::ok;
}

}  // namespace edgerun::ctl

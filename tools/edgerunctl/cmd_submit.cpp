#include <cstdio>

#include "command_support.hpp"
#include "commands.hpp"
#include "format.hpp"
#include "ids.hpp"
#include "job_states.hpp"
#include "json.hpp"
#include "payloads.hpp"
#include "edgerun/topics.hpp"

namespace edgerun::ctl {
namespace {

constexpr std::chrono::milliseconds kDefaultWait{30'000};

std::string seconds_text(std::chrono::milliseconds ms) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "%g s", static_cast<double>(ms.count()) / 1000.0);
  return buf;
}

}  // namespace

ExitCode run_submit(const GlobalOptions& global, const SubmitCommand& command) {
  const Deadline deadline = deadline_from(global, kDefaultWait);
  const std::string id = command.id.empty() ? generate_job_id() : command.id;
  const bool to_group = !command.group.empty();
  const std::string topic =
      to_group ? group_submit_topic(global.prefix, command.group) : submit_topic(global.prefix, command.device);
  // A group job reports under whichever device took it.
  const std::string status_filter = job_status_topic(global.prefix, to_group ? "+" : command.device, id);

  Session session;
  if (SessionStatus s = connect_session(session, global, deadline); !s) return report_error(s);
  // Subscribe before publishing, so that not even the first status is missed.
  if (!command.no_wait) {
    if (SessionStatus s = session.subscribe({status_filter}, 1, deadline); !s) return report_error(s);
  }

  const std::string payload = build_submission(id, command.type, command.params_json, command.job_timeout_ms);
  int reason = 0;
  if (SessionStatus s = session.publish(topic, payload, 1, deadline, &reason); !s) return report_error(s);
  if (reason == kNoMatchingSubscribers) {
    print_note("warning: nothing is subscribed to " + topic + "; is the " +
               (to_group ? "group's device" : "device") + " online?");
  }
  if (command.no_wait) {
    print_line(global.json ? payload : id);
    session.disconnect();
    return ExitCode::ok;
  }

  for (;;) {
    ReceivedMessage message;
    if (SessionStatus s = session.next_message(message, deadline); !s) {
      if (s.error == SessionError::timeout) {
        s.message = "no final status for job " + id + " within " +
                    seconds_text(global.timeout.value_or(kDefaultWait)) + " (see --timeout)";
      }
      return report_error(s, ExitCode::wait_timeout);
    }
    JsonPtr status = parse_json(message.payload);
    if (!status || !cJSON_IsObject(status.get())) {
      print_note("ignoring a status that is not a JSON object on " + message.topic);
      continue;
    }
    if (global.json) {
      print_line(one_line(message.payload));
    } else {
      std::string line = format_job_status(status.get());
      if (to_group) line = classify_topic(global.prefix, message.topic).device + " " + line;
      print_line(line);
    }
    const auto state = job_state_from_string(json_string(status.get(), "state").value_or(""));
    if (state && is_terminal(*state)) {
      session.disconnect();
      return exit_code_for(*state);
    }
  }
}

}  // namespace edgerun::ctl

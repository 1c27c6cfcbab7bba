#include <algorithm>
#include <cstdio>
#include <optional>

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
// After a `duplicate` rejection on <p>/<dev>/jobs/rejected, how long to wait
// for the finished job's stored terminal status, which the device publishes
// again on the status topic (bounded by --timeout too).
constexpr std::chrono::milliseconds kStoredOutcomeGrace{2'000};

std::string seconds_text(std::chrono::milliseconds ms) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "%g s", static_cast<double>(ms.count()) / 1000.0);
  return buf;
}

// A rejection of this submission on <p>/<dev>/jobs/rejected.
struct Rejection {
  ReceivedMessage message;
  JsonPtr json;
  bool duplicate = false;
};

// The rejection for job `id` in a message on the rejected topic, or nothing
// when the message is not one (another submission's, or no id at all).
std::optional<Rejection> rejection_of(ReceivedMessage message, const std::string& id) {
  JsonPtr json = parse_json(message.payload);
  if (!json || !cJSON_IsObject(json.get()) || json_string(json.get(), "id") != id) return std::nullopt;
  // Printed like a status on the status topic, which always has a state.
  if (!json_string(json.get(), "state")) {
    cJSON_DeleteItemFromObjectCaseSensitive(json.get(), "state");
    cJSON_AddStringToObject(json.get(), "state", "rejected");
  }
  const bool duplicate = json_string(json_object(json.get(), "error"), "code") == "duplicate";
  return Rejection{std::move(message), std::move(json), duplicate};
}

}  // namespace

ExitCode run_submit(const GlobalOptions& global, const SubmitCommand& command) {
  const Deadline deadline = deadline_from(global, kDefaultWait);
  const std::string id = command.id.empty() ? generate_job_id() : command.id;
  const bool to_group = !command.group.empty();
  const std::string topic =
      to_group ? group_submit_topic(global.prefix, command.group) : submit_topic(global.prefix, command.device);
  // A group job reports under whichever device took it.
  const std::string_view reporter = to_group ? std::string_view("+") : std::string_view(command.device);
  const std::string status_filter = job_status_topic(global.prefix, reporter, id);
  // Where a device rejects a submission whose id it already knows.
  const std::string rejected_filter = rejected_topic(global.prefix, reporter);

  Session session;
  if (SessionStatus s = connect_session(session, global, deadline); !s) return report_error(s);
  // Subscribe before publishing, so that not even the first status is missed.
  if (!command.no_wait) {
    if (SessionStatus s = session.subscribe({status_filter, rejected_filter}, 1, deadline); !s) {
      return report_error(s);
    }
  }

  std::optional<std::int64_t> expires_at_ms;
  if (command.expires_in_ms) {
    const auto now = std::chrono::system_clock::now().time_since_epoch();
    expires_at_ms = std::chrono::duration_cast<std::chrono::milliseconds>(now).count() + *command.expires_in_ms;
  }
  const std::string payload =
      build_submission(id, command.type, command.params_json, command.job_timeout_ms, expires_at_ms);
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

  // One status or rejection as a line: raw with --json, else readable
  // (for a group, after the device that answered).
  const auto print_status = [&](const ReceivedMessage& message, const cJSON* status) {
    if (global.json) {
      print_line(one_line(message.payload));
    } else {
      std::string line = format_job_status(status);
      if (to_group) line = classify_topic(global.prefix, message.topic).device + " " + line;
      print_line(line);
    }
  };
  const auto finish_rejected = [&](const Rejection& rejection) {
    print_status(rejection.message, rejection.json.get());
    session.disconnect();
    return ExitCode::rejected;
  };

  // A `duplicate` rejection waits here while the device may still publish
  // the finished job's stored outcome on the status topic.
  std::optional<Rejection> duplicate;
  Deadline grace_end = deadline;
  for (;;) {
    ReceivedMessage message;
    if (SessionStatus s = session.next_message(message, duplicate ? grace_end : deadline); !s) {
      if (duplicate && s.error != SessionError::interrupted) {
        // No stored outcome came: the rejection is the answer.
        if (s.error != SessionError::timeout) print_note(s.message);
        return finish_rejected(*duplicate);
      }
      if (s.error == SessionError::timeout) {
        s.message = "no final status for job " + id + " within " +
                    seconds_text(global.timeout.value_or(kDefaultWait)) + " (see --timeout)";
      }
      return report_error(s, ExitCode::wait_timeout);
    }
    if (classify_topic(global.prefix, message.topic).kind == TopicKind::job_rejected) {
      std::optional<Rejection> rejection = rejection_of(std::move(message), id);
      if (!rejection) continue;
      if (!rejection->duplicate) return finish_rejected(*rejection);
      if (!duplicate) {
        grace_end = std::min(deadline, std::chrono::steady_clock::now() + kStoredOutcomeGrace);
        duplicate = std::move(rejection);
      }
      continue;
    }
    JsonPtr status = parse_json(message.payload);
    if (!status || !cJSON_IsObject(status.get())) {
      print_note("ignoring a status that is not a JSON object on " + message.topic);
      continue;
    }
    const auto state = job_state_from_string(json_string(status.get(), "state").value_or(""));
    const bool terminal = state && is_terminal(*state);
    if (terminal && duplicate) print_note("note: " + id + " was submitted before; this is its stored outcome");
    print_status(message, status.get());
    if (terminal) {
      session.disconnect();
      return exit_code_for(*state);
    }
  }
}

}  // namespace edgerun::ctl

#include "command_support.hpp"
#include "commands.hpp"
#include "payloads.hpp"
#include "edgerun/topics.hpp"

namespace edgerun::ctl {
namespace {

constexpr std::chrono::milliseconds kDefaultWait{30'000};

}  // namespace

ExitCode run_cancel(const GlobalOptions& global, const CancelCommand& command) {
  const Deadline deadline = deadline_from(global, kDefaultWait);
  const std::string topic = cancel_topic(global.prefix, command.device);
  const std::string payload = build_cancel(command.id);

  Session session;
  if (SessionStatus s = connect_session(session, global, deadline); !s) return report_error(s);
  int reason = 0;
  if (SessionStatus s = session.publish(topic, payload, 1, deadline, &reason); !s) return report_error(s);
  if (reason == kNoMatchingSubscribers) {
    print_note("warning: nothing is subscribed to " + topic + "; is the device online?");
  }
  print_line(global.json ? payload : command.id + " cancel requested on " + command.device);
  session.disconnect();
  return ExitCode::ok;
}

}  // namespace edgerun::ctl

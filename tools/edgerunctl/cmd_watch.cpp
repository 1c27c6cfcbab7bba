#include <algorithm>

#include "command_support.hpp"
#include "commands.hpp"
#include "format.hpp"
#include "edgerun/topics.hpp"

namespace edgerun::ctl {
namespace {

// Without --timeout, watch runs until stopped; connecting is still bounded.
constexpr std::chrono::milliseconds kConnectWait{30'000};

}  // namespace

ExitCode run_watch(const GlobalOptions& global, const WatchCommand& command) {
  const auto now = std::chrono::steady_clock::now();
  const Deadline deadline = global.timeout ? now + *global.timeout : Deadline::max();
  const Deadline connect_deadline = std::min(deadline, now + kConnectWait);
  const std::string& p = global.prefix;
  const std::string& dev = command.device;

  Session session;
  if (SessionStatus s = connect_session(session, global, connect_deadline); !s) return report_error(s);
  const std::vector<std::string> filters{job_status_filter(p, dev), rejected_topic(p, dev),
                                         telemetry_filter(p, dev), presence_topic(p, dev)};
  if (SessionStatus s = session.subscribe(filters, 1, connect_deadline); !s) return report_error(s);
  // Tells a person (and a test) that from here on nothing is missed.
  print_note("watching " + p + "/" + dev + "/{jobs,telemetry,status} (Ctrl-C to stop)");

  std::uint64_t seen = 0;
  for (;;) {
    ReceivedMessage message;
    SessionStatus s = session.next_message(message, deadline);
    if (s.error == SessionError::interrupted) break;
    if (s.error == SessionError::timeout) {
      if (command.count) {
        print_note("timed out after " + std::to_string(seen) + " of " + std::to_string(*command.count) +
                   " messages");
        return ExitCode::wait_timeout;
      }
      break;
    }
    if (!s) return report_error(s);

    if (global.json) {
      if (!message.payload.empty()) print_line(one_line(message.payload));
    } else {
      for (const std::string& line : format_message(classify_topic(p, message.topic), message.payload)) {
        print_line(line);
      }
    }
    if (command.count && ++seen >= *command.count) break;
  }
  session.disconnect();
  return ExitCode::ok;
}

}  // namespace edgerun::ctl

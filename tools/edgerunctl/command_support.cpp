#include "command_support.hpp"

#include <cstdio>

namespace edgerun::ctl {

Deadline deadline_from(const GlobalOptions& global, std::chrono::milliseconds fallback) {
  return std::chrono::steady_clock::now() + global.timeout.value_or(fallback);
}

SessionStatus connect_session(Session& session, const GlobalOptions& global, Deadline deadline) {
  ConnectSettings settings;
  settings.url = global.url;
  settings.username = global.username;
  settings.password = global.password;
  settings.ca_file = global.ca_file;
  return session.connect(settings, deadline);
}

ExitCode report_error(const SessionStatus& status, ExitCode on_timeout) {
  print_note(status.message);
  switch (status.error) {
    case SessionError::none: return ExitCode::ok;
    case SessionError::timeout: return on_timeout;
    case SessionError::interrupted: return ExitCode::interrupted;
    case SessionError::connect_failed:
    case SessionError::refused:
    case SessionError::lost: return ExitCode::connection;
  }
  return ExitCode::connection;
}

void print_line(std::string_view line) {
  std::fwrite(line.data(), 1, line.size(), stdout);
  std::fputc('\n', stdout);
  std::fflush(stdout);
}

void print_note(std::string_view text) {
  std::fprintf(stderr, "edgerunctl: %.*s\n", static_cast<int>(text.size()), text.data());
}

}  // namespace edgerun::ctl

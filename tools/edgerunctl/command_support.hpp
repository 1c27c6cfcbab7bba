#pragma once

// What every command does the same way: its deadline, its connection, how
// it reports a session error, how it writes lines.

#include <chrono>
#include <string>
#include <string_view>

#include "cli_args.hpp"
#include "exit_codes.hpp"
#include "session.hpp"

namespace edgerun::ctl {

// Now + --timeout, or now + `fallback` when none was given.
Deadline deadline_from(const GlobalOptions& global, std::chrono::milliseconds fallback);

// Connects `session` as the global options say.
SessionStatus connect_session(Session& session, const GlobalOptions& global, Deadline deadline);

// Prints the error to stderr and returns its exit code: `on_timeout` for a
// deadline that passed, 130 for a signal, else a connection error.
ExitCode report_error(const SessionStatus& status, ExitCode on_timeout = ExitCode::connection);

// Writes one line to stdout and flushes it, so a pipe sees it at once.
void print_line(std::string_view line);
// "edgerunctl: <text>" on stderr.
void print_note(std::string_view text);

}  // namespace edgerun::ctl

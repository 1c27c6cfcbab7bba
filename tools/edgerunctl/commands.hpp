#pragma once

#include "cli_args.hpp"
#include "exit_codes.hpp"

namespace edgerun::ctl {

// Each command runs to completion on the calling thread and returns the
// process exit code; it prints results to stdout and problems to stderr.
ExitCode run_submit(const GlobalOptions& global, const SubmitCommand& command);
ExitCode run_cancel(const GlobalOptions& global, const CancelCommand& command);
ExitCode run_watch(const GlobalOptions& global, const WatchCommand& command);
ExitCode run_status(const GlobalOptions& global, const StatusCommand& command);
// Reads files only: the journal in the command's state directory.
ExitCode run_journal(const GlobalOptions& global, const JournalCommand& command);

}  // namespace edgerun::ctl

// `edgerunctl journal verify|show`: reads the journal in an edgerund state
// directory, checks every record against the hash chain, and prints a
// summary or the records. Connects to no broker and never writes the file.

#include <cerrno>
#include <cstdio>
#include <optional>
#include <string>
#include <string_view>

#include "command_support.hpp"
#include "commands.hpp"
#include "edgerun/journal_reader.hpp"
#include "edgerun/journal_record.hpp"
#include "edgerun/port/file.hpp"
#include "journal_format.hpp"
#include "saved_head.hpp"
#include "stop_signal.hpp"

namespace edgerun::ctl {
namespace {

using journal::RecordView;
using journal::ScanOutcome;
using journal::ScanResult;

std::string journal_path(const std::string& state_dir) {
  std::string path = state_dir;
  if (path.back() != '/') path.push_back('/');
  return path.append(journal::kJournalFileName);
}

// The lines about the file name it first, as a compiler's do, so they go
// out without edgerunctl's own prefix.
void print_error_line(std::string_view line) {
  std::fwrite(line.data(), 1, line.size(), stderr);
  std::fputc('\n', stderr);
}

// Scans the journal, handing each good record to `visit`, and stops early
// at SIGINT or SIGTERM (`interrupted` says so).
ScanResult scan(const std::string& path, const journal::RecordVisitor& visit, bool& interrupted) {
  interrupted = false;
  return journal::scan_journal(port::read_only_file_system(), path.c_str(), [&](const RecordView& record) {
    if (stop_requested()) {
      interrupted = true;
      return false;
    }
    return visit(record);
  });
}

// The scan found no file at all, which reads the same as an empty one.
bool no_journal_file(const ScanResult& result, const std::string& path) {
  return result.outcome == ScanOutcome::empty && port::read_only_file_system().exists(path.c_str()) == ENOENT;
}

// Tells what a scan that was not clean found, on stderr, and returns the
// exit status the scan alone gives: damage is 6, a torn last record only a
// note (a crash during an append, which edgerund cuts off at start).
ExitCode report_scan(const std::string& state_dir, const std::string& path, const ScanResult& result) {
  if (no_journal_file(result, path)) {
    print_note("no journal in " + state_dir + " (no file " + path + ")");
    return ExitCode::journal_damaged;
  }
  if (std::string note = format_torn_note(result); !note.empty()) print_error_line(note);
  if (!scan_found_damage(result)) return ExitCode::ok;
  print_error_line(format_scan_damage(path, result));
  return ExitCode::journal_damaged;
}

// Tells whether the journal still holds the saved head; 6 when it does not.
ExitCode report_head(const std::string& path, const HeadCheckResult& head) {
  if (head_lost(head.verdict)) {
    print_error_line(path + ": " + head.message);
    return ExitCode::journal_damaged;
  }
  if (!head.message.empty()) print_error_line("note: " + head.message);
  return ExitCode::ok;
}

ExitCode run_verify(const JournalCommand& command) {
  const std::string path = journal_path(command.state_dir);
  std::optional<SavedHeadCheck> head_check;
  if (command.head) head_check.emplace(*command.head);

  bool interrupted = false;
  const ScanResult result = scan(
      path,
      [&](const RecordView& record) {
        if (head_check) head_check->observe(record);
        return true;
      },
      interrupted);
  if (interrupted) {
    print_note("interrupted");
    return ExitCode::interrupted;
  }

  if (!scan_found_damage(result)) print_line(format_scan_summary(path, result));
  ExitCode code = report_scan(command.state_dir, path, result);
  if (head_check && !no_journal_file(result, path)) {
    if (report_head(path, head_check->finish(result)) != ExitCode::ok) code = ExitCode::journal_damaged;
  }
  return code;
}

ExitCode run_show(const GlobalOptions& global, const JournalCommand& command) {
  const std::string path = journal_path(command.state_dir);
  std::uint64_t shown = 0;
  bool output_failed = false;
  bool interrupted = false;
  const ScanResult result = scan(
      path,
      [&](const RecordView& record) {
        // Checkpoints have no id: a job's records are without them.
        if (!command.job_id.empty() && record.id != command.job_id) return true;
        const std::string line = global.json ? format_record_json(record) : format_record_line(record);
        // Not print_line: a flush per record would make a write(2) per line.
        std::fwrite(line.data(), 1, line.size(), stdout);
        std::fputc('\n', stdout);
        ++shown;
        // A closed pipe: nobody reads the rest.
        output_failed = std::ferror(stdout) != 0;
        return !output_failed;
      },
      interrupted);
  // The records before any note or damage on stderr, in a terminal too.
  std::fflush(stdout);
  if (interrupted) {
    print_note("interrupted");
    return ExitCode::interrupted;
  }
  // main() turns lost output into its exit status.
  if (output_failed) return ExitCode::ok;

  const ExitCode code = report_scan(command.state_dir, path, result);
  if (code == ExitCode::ok && shown == 0 && !command.job_id.empty()) {
    print_note("no record of job " + command.job_id + " in " + path);
  }
  return code;
}

}  // namespace

ExitCode run_journal(const GlobalOptions& global, const JournalCommand& command) {
  switch (command.action) {
    case JournalAction::verify: return run_verify(command);
    case JournalAction::show: return run_show(global, command);
  }
  return ExitCode::usage;
}

}  // namespace edgerun::ctl

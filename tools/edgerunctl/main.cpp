// edgerunctl: submit jobs to edgerun runtimes and watch them over MQTT, and
// check the journals they keep.

#include <mosquitto.h>

#include <cstdio>
#include <cstdlib>
#include <string>
#include <type_traits>
#include <variant>
#include <vector>

#include "cli_args.hpp"
#include "commands.hpp"
#include "exit_codes.hpp"
#include "help.hpp"
#include "stop_signal.hpp"

namespace {

using namespace edgerun::ctl;

ExitCode show_help(const HelpCommand& help) {
  if (help.command.empty()) {
    std::fputs(general_help().data(), stdout);
    return ExitCode::ok;
  }
  if (auto text = command_help(help.command)) {
    std::fwrite(text->data(), 1, text->size(), stdout);
    return ExitCode::ok;
  }
  std::fprintf(stderr, "edgerunctl: no help for '%s': not a command\nTry 'edgerunctl --help'.\n",
               help.command.c_str());
  return ExitCode::usage;
}

ExitCode run(const Invocation& invocation) {
  return std::visit(
      [&](const auto& command) -> ExitCode {
        using T = std::decay_t<decltype(command)>;
        if constexpr (std::is_same_v<T, HelpCommand>) {
          return show_help(command);
        } else if constexpr (std::is_same_v<T, SubmitCommand>) {
          return run_submit(invocation.global, command);
        } else if constexpr (std::is_same_v<T, CancelCommand>) {
          return run_cancel(invocation.global, command);
        } else if constexpr (std::is_same_v<T, WatchCommand>) {
          return run_watch(invocation.global, command);
        } else if constexpr (std::is_same_v<T, StatusCommand>) {
          return run_status(invocation.global, command);
        } else {
          static_assert(std::is_same_v<T, JournalCommand>);
          return run_journal(invocation.global, command);
        }
      },
      invocation.command);
}

}  // namespace

int main(int argc, char** argv) {
  std::vector<std::string> args(argv + 1, argv + argc);
  ParseOutcome parsed = parse_command_line(args, [](const char* name) { return std::getenv(name); });
  if (!parsed.invocation) {
    std::fprintf(stderr, "edgerunctl: %s\nTry 'edgerunctl %s%s--help'.\n", parsed.error.c_str(),
                 parsed.command.c_str(), parsed.command.empty() ? "" : " ");
    return to_int(ExitCode::usage);
  }

  install_stop_handlers();
  mosquitto_lib_init();
  ExitCode code = run(*parsed.invocation);
  mosquitto_lib_cleanup();
  if (std::fflush(stdout) != 0 || std::ferror(stdout)) {
    // A closed pipe or a full disk lost some output: say so in the status.
    if (code == ExitCode::ok) code = ExitCode::job_failed;
  }
  return to_int(code);
}

#pragma once
// What an exec job type is: the program, its fixed argv and its limits. The
// daemon reads these from its config file (`exec.<type>`); a firmware may
// build them itself. The run-time limit of the type's jobs is not here: it is
// a setting of any job type (HandlerOptions, `types.<type>.timeout_ms` in the
// daemon's file), applied where the type is registered.

#include <cstdint>
#include <string>
#include <vector>

namespace edgerun {

// One `exec.<type>` entry of the daemon's config: a job type run as a
// program.
struct ExecProgram {
  std::string type;     // the key under `exec`; an id
  std::string program;  // absolute path; required
  std::vector<std::string> args;
  std::string working_directory;  // absolute path; empty: the daemon's own
  std::uint32_t max_output_bytes = 16384;
  std::uint32_t stop_grace_ms = 2000;  // SIGTERM to SIGKILL on cancel or timeout
  // Job params passed as EDGERUN_PARAM_<NAME> environment variables;
  // names match [A-Za-z0-9_]{1,64}.
  std::vector<std::string> params_env;
  // Names of the daemon's environment variables the program inherits.
  std::vector<std::string> env_passthrough{"PATH"};
};

}  // namespace edgerun

#pragma once
// edgerund: the command line, start-up and the parts that live beside the
// runtime (built-in handlers, signal handling). main() only calls
// daemon_main().

#include <string>

#include "edgerun/daemon_config.hpp"
#include "edgerun/runtime.hpp"

namespace edgerun {

// Runs the daemon; returns the process exit status: 0 after a clean stop or
// for --help, --version and a good --check-config; 2 for a bad command line
// or config; 1 when start-up or the loop failed.
int daemon_main(int argc, char** argv);

// Registers echo, sleep and sysinfo, except a type already registered (an
// exec handler of the config). Before Runtime::start().
Status register_builtin_handlers(Runtime& runtime);

}  // namespace edgerun

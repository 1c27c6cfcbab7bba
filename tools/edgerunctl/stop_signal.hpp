#pragma once

namespace edgerun::ctl {

// Makes SIGINT and SIGTERM request a stop instead of killing the process.
// The handlers are installed without SA_RESTART, so a blocking system call
// (connect, the select inside mosquitto_loop) returns early with EINTR and
// the caller looks at stop_requested(). Call once, from main.
void install_stop_handlers();

// True once SIGINT or SIGTERM arrived. Async-signal-safe.
bool stop_requested();

}  // namespace edgerun::ctl

#pragma once
// Signal set-up of the platform layer.
//
// The runtime handles the process-directed termination signals on the
// event-loop thread only (through libuv signal handles). A process-directed
// signal is delivered to any one thread that does not block it, so every
// other thread must block them; these functions arrange that.

namespace edgerun::port {

// Blocks SIGTERM, SIGINT, SIGHUP, SIGQUIT and SIGCHLD in the calling thread,
// so that they are delivered to the event-loop thread instead. Worker threads
// call this first (spawn_named_thread() does it for them). Any thread may
// call it; it changes only the calling thread's signal mask. It cannot fail:
// pthread_sigmask(3) fails only for an invalid argument.
void block_termination_signals_in_this_thread() noexcept;

// Sets SIGPIPE to ignored for the whole process, so that writing to a closed
// socket or pipe fails with EPIPE instead of killing the process. Call it
// once at start-up, from the main thread, before other threads exist. It
// cannot fail: sigaction(2) fails only for an invalid signal number.
void ignore_sigpipe() noexcept;

// The signals a daemon reacts to, named without the platform's header, so
// code outside port/ can ask libuv to watch them.
enum class ProcessSignal { terminate, interrupt, hangup };
int signal_number(ProcessSignal signal) noexcept;

}  // namespace edgerun::port

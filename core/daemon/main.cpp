#include <cstdio>
#include <cstring>

#include "daemon.hpp"
#include "edgerun/port/process.hpp"

int main(int argc, char** argv) {
  // First, before any secret is read, a thread started or a program spawned:
  // other processes of our user, exec jobs' programs included, must not read
  // our environment (EDGERUN_MQTT_PASSWORD) or memory through /proc.
  //
  // A failure is warned about and start-up goes on. It cannot happen on
  // Linux short of a seccomp filter refusing prctl, and the daemon is
  // usually a device's only way to be managed remotely: refusing to start
  // would turn a missing hardening into a device that is out of reach,
  // while running on leaves it as safe as it was before this call existed.
  if (const int error = edgerun::port::make_process_undumpable(); error != 0) {
    // "<4>warn": a warning for the journal, as the daemon's log lines are.
    std::fprintf(stderr,
                 "<4>warn edgerund: cannot make the process undumpable: %s; other processes of this user "
                 "can read its environment and memory\n",
                 std::strerror(error));
  }
  return edgerun::daemon_main(argc, argv);
}

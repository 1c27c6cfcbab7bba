#pragma once

// A real mosquitto broker on a free loopback port, for integration tests.
//
// Each instance owns one broker process and one temporary directory (config,
// persistence database, log). The broker keeps its port and its directory
// across stop()/start(), so restart() looks to clients like a broker that
// went away and came back, with persistent sessions intact.
//
// Threads: one thread owns an instance. The broker is started with
// PR_SET_PDEATHSIG, so it dies with the thread that called start() — which
// is what makes a test killed by its ctest timeout leave no broker behind.
// Start it from the test's own thread (gtest's main thread), not from a
// helper thread that ends before the test does.

#include <sys/types.h>

#include <chrono>
#include <cstddef>
#include <string>

#include "status.hpp"

namespace edgerun::test {

// Binds 127.0.0.1:0, reads the port the kernel chose and closes the socket.
// Returns 0 if no socket could be bound. Another process may take the port
// before the caller binds it; that race is accepted for tests.
int pick_free_port();

class MosquittoBroker {
 public:
  struct Options {
    std::string binary = "/usr/sbin/mosquitto";
    // How long start() waits for the port to accept connections.
    std::chrono::milliseconds start_timeout{5000};
    // How long stop() waits after SIGTERM before it sends SIGKILL.
    std::chrono::milliseconds stop_timeout{5000};
    // Appended verbatim to the generated mosquitto.conf (global options only,
    // since per_listener_settings is false).
    std::string extra_config;
  };

  MosquittoBroker();
  explicit MosquittoBroker(Options options);
  ~MosquittoBroker();  // stop(), then removes the directory
  MosquittoBroker(const MosquittoBroker&) = delete;
  MosquittoBroker& operator=(const MosquittoBroker&) = delete;

  // The first start() picks the port and creates the directory; later ones
  // reuse both. Fails (with the broker's log tail) when the broker exits or
  // does not accept TCP connections within Options::start_timeout.
  Status start();
  // SIGTERM, bounded wait, then SIGKILL. mosquitto writes its persistence
  // database on SIGTERM, so a clean stop keeps sessions for the next start().
  // Fails if the broker had to be killed or exited with an error.
  Status stop();
  // stop() then start() on the same port and directory.
  Status restart();

  bool running() const { return pid_ > 0; }
  int port() const { return port_; }
  std::string host() const { return "127.0.0.1"; }
  std::string url() const;  // "mqtt://127.0.0.1:<port>"
  const std::string& dir() const { return dir_; }
  // The last lines of the broker's log and of its stdout/stderr.
  std::string log_tail(std::size_t max_lines = 40) const;

 private:
  Status prepare_dir();
  Status write_config() const;
  Status spawn();
  Status wait_until_ready();

  Options options_;
  int port_ = 0;
  pid_t pid_ = -1;
  std::string dir_;
};

}  // namespace edgerun::test

#pragma once
// The service manager's notify protocol (sd_notify(3)): state lines such as
// "READY=1", "STATUS=...", "STOPPING=1" and "WATCHDOG=1" sent as datagrams
// to the socket named by $NOTIFY_SOCKET. Two backends, chosen by the build:
// notify_socket.cpp speaks the protocol itself (no libsystemd needed), and
// notify_none.cpp does nothing, for images without systemd.

#include <array>
#include <chrono>
#include <cstddef>
#include <optional>
#include <string_view>

namespace edgerun::port {

class ServiceNotifier {
 public:
  // Reads NOTIFY_SOCKET, WATCHDOG_USEC and WATCHDOG_PID once. Call at
  // start-up, before threads that may change the environment.
  static ServiceNotifier from_environment() noexcept;

  // For tests and embedders that know the values: `socket` is a path, or
  // starts with '@' for the abstract namespace; empty disables.
  ServiceNotifier(std::string_view socket, std::optional<std::chrono::microseconds> watchdog) noexcept;

  // False when there is no service manager to tell (or the build has none).
  bool enabled() const noexcept { return socket_length_ != 0; }
  // The interval at which the service manager expects WATCHDOG=1, when the
  // watchdog is on for this process.
  std::optional<std::chrono::microseconds> watchdog_interval() const noexcept { return watchdog_; }

  // Sends one datagram of newline-separated assignments. Any thread; does not
  // block. False when disabled or the send failed (the manager is gone).
  bool send(std::string_view state) const noexcept;

 private:
  std::array<char, 108> socket_{};
  std::size_t socket_length_ = 0;
  std::optional<std::chrono::microseconds> watchdog_;
};

}  // namespace edgerun::port

// The notify protocol spoken directly: one AF_UNIX datagram per message.
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdlib>
#include <cstring>

#include "edgerun/port/notify.hpp"

namespace edgerun::port {

namespace {

std::optional<unsigned long long> parse_unsigned(const char* text) noexcept {
  if (text == nullptr || *text == '\0') return std::nullopt;
  char* end = nullptr;
  errno = 0;
  const unsigned long long value = std::strtoull(text, &end, 10);
  if (errno != 0 || *end != '\0') return std::nullopt;
  return value;
}

}  // namespace

ServiceNotifier ServiceNotifier::from_environment() noexcept {
  const char* socket = std::getenv("NOTIFY_SOCKET");
  std::optional<std::chrono::microseconds> watchdog;
  const auto usec = parse_unsigned(std::getenv("WATCHDOG_USEC"));
  const auto pid = parse_unsigned(std::getenv("WATCHDOG_PID"));
  // WATCHDOG_PID names the process the watchdog is for; a child that
  // inherited the environment is not it.
  if (usec && *usec > 0 && (!pid || *pid == static_cast<unsigned long long>(::getpid()))) {
    watchdog = std::chrono::microseconds(*usec);
  }
  return ServiceNotifier(socket == nullptr ? std::string_view() : std::string_view(socket), watchdog);
}

ServiceNotifier::ServiceNotifier(std::string_view socket, std::optional<std::chrono::microseconds> watchdog) noexcept
    : watchdog_(watchdog) {
  // A path must be absolute or abstract ('@'); anything else is not a notify
  // socket, and a path too long for sockaddr_un cannot be used.
  const bool usable = !socket.empty() && (socket[0] == '/' || socket[0] == '@') && socket.size() < socket_.size();
  if (!usable) return;
  std::copy(socket.begin(), socket.end(), socket_.begin());
  socket_length_ = socket.size();
}

bool ServiceNotifier::send(std::string_view state) const noexcept {
  if (!enabled()) return false;
  sockaddr_un address{};
  address.sun_family = AF_UNIX;
  std::memcpy(address.sun_path, socket_.data(), socket_length_);
  if (address.sun_path[0] == '@') address.sun_path[0] = '\0';
  const auto length = static_cast<socklen_t>(offsetof(sockaddr_un, sun_path) + socket_length_);
  const int fd = ::socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
  if (fd < 0) return false;
  const ssize_t sent = ::sendto(fd, state.data(), state.size(), MSG_NOSIGNAL | MSG_DONTWAIT,
                                reinterpret_cast<const sockaddr*>(&address), length);
  ::close(fd);
  return sent == static_cast<ssize_t>(state.size());
}

}  // namespace edgerun::port

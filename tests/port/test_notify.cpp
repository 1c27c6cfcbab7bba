// The notify protocol against a real datagram socket, as systemd listens.
#include <sys/socket.h>
#include <sys/un.h>
#include <poll.h>
#include <unistd.h>

#include <gtest/gtest.h>

#include <cstdlib>
#include <cstring>
#include <string>

#include "edgerun/port/notify.hpp"

namespace edgerun::port {
namespace {

using namespace std::chrono_literals;

// A bound datagram socket standing in for the service manager.
class FakeManager {
 public:
  explicit FakeManager(bool abstract) {
    fd_ = ::socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
    sockaddr_un address{};
    address.sun_family = AF_UNIX;
    name_ = (abstract ? "@edgerun-notify-test-" : "/tmp/edgerun-notify-test-") + std::to_string(::getpid());
    std::memcpy(address.sun_path, name_.data(), name_.size());
    if (abstract) address.sun_path[0] = '\0';
    if (!abstract) ::unlink(name_.c_str());
    bound_ = ::bind(fd_, reinterpret_cast<sockaddr*>(&address),
                    static_cast<socklen_t>(offsetof(sockaddr_un, sun_path) + name_.size())) == 0;
  }
  ~FakeManager() {
    ::close(fd_);
    if (name_[0] == '/') ::unlink(name_.c_str());
  }
  // The next datagram, or "" after a bounded wait.
  std::string receive() {
    pollfd p{fd_, POLLIN, 0};
    if (::poll(&p, 1, 5000) != 1) return "";
    char buffer[512];
    const ssize_t n = ::recv(fd_, buffer, sizeof buffer, 0);
    return n > 0 ? std::string(buffer, static_cast<std::size_t>(n)) : "";
  }
  const std::string& name() const { return name_; }
  bool bound() const { return bound_; }

 private:
  int fd_ = -1;
  std::string name_;
  bool bound_ = false;
};

TEST(ServiceNotifier, SendsEachStateAsOneDatagramToAPathSocket) {
  FakeManager manager(false);
  ASSERT_TRUE(manager.bound());
  ServiceNotifier notifier(manager.name(), std::nullopt);
  ASSERT_TRUE(notifier.enabled());
  EXPECT_TRUE(notifier.send("READY=1\nSTATUS=connected to broker"));
  EXPECT_EQ(manager.receive(), "READY=1\nSTATUS=connected to broker");
  EXPECT_TRUE(notifier.send("STOPPING=1"));
  EXPECT_EQ(manager.receive(), "STOPPING=1");
}

TEST(ServiceNotifier, ReachesAnAbstractSocket) {
  FakeManager manager(true);
  ASSERT_TRUE(manager.bound());
  ServiceNotifier notifier(manager.name(), std::nullopt);
  EXPECT_TRUE(notifier.send("WATCHDOG=1"));
  EXPECT_EQ(manager.receive(), "WATCHDOG=1");
}

TEST(ServiceNotifier, IsDisabledWithoutASocketAndSendsNothing) {
  ServiceNotifier none("", std::nullopt);
  EXPECT_FALSE(none.enabled());
  EXPECT_FALSE(none.send("READY=1"));
  ServiceNotifier relative("run/notify", std::nullopt);
  EXPECT_FALSE(relative.enabled());
}

TEST(ServiceNotifier, ReadsTheEnvironmentIncludingTheWatchdogForThisProcess) {
  FakeManager manager(false);
  ::setenv("NOTIFY_SOCKET", manager.name().c_str(), 1);
  ::setenv("WATCHDOG_USEC", "3000000", 1);
  ::setenv("WATCHDOG_PID", std::to_string(::getpid()).c_str(), 1);
  ServiceNotifier mine = ServiceNotifier::from_environment();
  EXPECT_TRUE(mine.enabled());
  EXPECT_EQ(mine.watchdog_interval(), std::chrono::microseconds(3000000));
  EXPECT_TRUE(mine.send("READY=1"));
  EXPECT_EQ(manager.receive(), "READY=1");

  // The watchdog of another process (an inherited environment) is not ours.
  ::setenv("WATCHDOG_PID", "1", 1);
  EXPECT_FALSE(ServiceNotifier::from_environment().watchdog_interval().has_value());
  ::unsetenv("NOTIFY_SOCKET");
  ::unsetenv("WATCHDOG_USEC");
  ::unsetenv("WATCHDOG_PID");
  EXPECT_FALSE(ServiceNotifier::from_environment().enabled());
}

}  // namespace
}  // namespace edgerun::port

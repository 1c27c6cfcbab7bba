#include "mosquitto_broker.hpp"

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <pwd.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <deque>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <thread>
#include <vector>

namespace edgerun::test {
namespace {

using Clock = std::chrono::steady_clock;

// Nothing signals readiness or exit to us without a pidfd or inotify, so the
// bounded waits below look again after this short pause.
constexpr std::chrono::milliseconds kPollInterval{10};

// mosquitto 2.0 sets a flag in its SIGTERM handler and tests it before each
// epoll_wait(); a signal landing between the test and the wait sleeps until
// the next timer (seconds when idle). Seen in CI as "ignored SIGTERM for
// 5000 ms". Each repeat interrupts the wait, so the flag is seen at once.
constexpr std::chrono::milliseconds kTermRepeat{200};

constexpr const char* kConfigFile = "mosquitto.conf";
constexpr const char* kLogFile = "mosquitto.log";
constexpr const char* kOutputFile = "mosquitto.out";

std::string errno_text(const char* what) {
  return std::string(what) + ": " + std::strerror(errno);
}

sockaddr_in loopback(int port) {
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_port = htons(static_cast<std::uint16_t>(port));
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  return addr;
}

bool tcp_connect_succeeds(int port) {
  int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0) return false;
  sockaddr_in addr = loopback(port);
  // A loopback connect is answered at once (accepted or refused), so a
  // blocking connect cannot hang here.
  bool ok = ::connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) == 0;
  ::close(fd);
  return ok;
}

std::string current_user() {
  std::vector<char> buf(16384);
  passwd pw{};
  passwd* result = nullptr;
  if (::getpwuid_r(::geteuid(), &pw, buf.data(), buf.size(), &result) == 0 && result) {
    return result->pw_name;
  }
  return {};
}

std::string tail_of_file(const std::string& path, std::size_t max_lines) {
  std::ifstream in(path);
  if (!in) return "(no " + path + ")\n";
  std::deque<std::string> lines;
  std::string line;
  while (std::getline(in, line)) {
    lines.push_back(line);
    if (lines.size() > max_lines) lines.pop_front();
  }
  std::string out;
  for (const auto& l : lines) out += "  " + l + "\n";
  return out;
}

// Reaps `pid` if it has exited. Returns true and fills `status` if it has.
bool try_reap(pid_t pid, int& status) {
  pid_t r = ::waitpid(pid, &status, WNOHANG);
  if (r == pid) return true;
  if (r < 0 && errno == ECHILD) {
    status = 0;
    return true;  // someone else reaped it; treat as gone
  }
  return false;
}

std::string describe_exit(int status) {
  if (WIFEXITED(status)) return "exit status " + std::to_string(WEXITSTATUS(status));
  if (WIFSIGNALED(status)) return std::string("signal ") + ::strsignal(WTERMSIG(status));
  return "wait status " + std::to_string(status);
}

}  // namespace

int pick_free_port() {
  int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0) return 0;
  sockaddr_in addr = loopback(0);
  int port = 0;
  socklen_t len = sizeof addr;
  if (::bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) == 0 &&
      ::getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len) == 0) {
    port = ntohs(addr.sin_port);
  }
  ::close(fd);
  return port;
}

MosquittoBroker::MosquittoBroker() : MosquittoBroker(Options{}) {}

MosquittoBroker::MosquittoBroker(Options options) : options_(std::move(options)) {}

MosquittoBroker::~MosquittoBroker() {
  if (running()) (void)stop();
  if (!dir_.empty() && std::getenv("EDGERUN_KEEP_BROKER_DIR") == nullptr) {
    std::error_code ec;
    std::filesystem::remove_all(dir_, ec);
  }
}

std::string MosquittoBroker::url() const { return "mqtt://127.0.0.1:" + std::to_string(port_); }

std::string MosquittoBroker::log_tail(std::size_t max_lines) const {
  if (dir_.empty()) return "(broker never started)\n";
  return "--- " + dir_ + "/" + kLogFile + " ---\n" + tail_of_file(dir_ + "/" + kLogFile, max_lines) +
         "--- " + dir_ + "/" + kOutputFile + " ---\n" + tail_of_file(dir_ + "/" + kOutputFile, max_lines);
}

Status MosquittoBroker::prepare_dir() {
  if (!dir_.empty()) return Status::success();
  const char* tmp = std::getenv("TMPDIR");
  std::string pattern = std::string(tmp && *tmp ? tmp : "/tmp") + "/edgerun-broker-XXXXXX";
  std::vector<char> buf(pattern.begin(), pattern.end());
  buf.push_back('\0');
  if (::mkdtemp(buf.data()) == nullptr) return Status::failure(errno_text("mkdtemp"));
  dir_ = buf.data();
  return Status::success();
}

Status MosquittoBroker::write_config() const {
  std::ofstream conf(dir_ + "/" + kConfigFile, std::ios::trunc);
  if (!conf) return Status::failure("cannot write " + dir_ + "/" + kConfigFile);
  // per_listener_settings must come before any listener.
  conf << "per_listener_settings false\n"
       << "listener " << port_ << " 127.0.0.1\n"
       << "allow_anonymous true\n"
       << "persistence true\n"
       << "persistence_location " << dir_ << "/\n"
       << "log_dest file " << dir_ << "/" << kLogFile << "\n"
       << "log_type all\n"
       << "connection_messages true\n"
       << "set_tcp_nodelay true\n";
  // mosquitto started as root switches to the user "mosquitto", which could
  // not write our 0700 directory; naming ourselves keeps the current user.
  if (std::string user = current_user(); !user.empty()) conf << "user " << user << "\n";
  if (!options_.extra_config.empty()) conf << options_.extra_config << "\n";
  conf.flush();
  if (!conf) return Status::failure("cannot write " + dir_ + "/" + kConfigFile);
  return Status::success();
}

Status MosquittoBroker::spawn() {
  // Everything the child needs is prepared before fork(): after fork() in a
  // threaded process only async-signal-safe calls are allowed.
  std::string conf_path = dir_ + "/" + kConfigFile;
  std::string out_path = dir_ + "/" + kOutputFile;
  std::vector<char*> argv{const_cast<char*>(options_.binary.c_str()), const_cast<char*>("-c"),
                          conf_path.data(), nullptr};
  pid_t parent = ::getpid();

  pid_t pid = ::fork();
  if (pid < 0) return Status::failure(errno_text("fork"));
  if (pid == 0) {
    ::prctl(PR_SET_PDEATHSIG, SIGTERM);
    if (::getppid() != parent) ::_exit(127);
    int out = ::open(out_path.c_str(), O_WRONLY | O_CREAT | O_APPEND, 0644);
    int in = ::open("/dev/null", O_RDONLY);
    if (out < 0 || in < 0) ::_exit(126);
    ::dup2(in, STDIN_FILENO);
    ::dup2(out, STDOUT_FILENO);
    ::dup2(out, STDERR_FILENO);
    ::execv(argv[0], argv.data());
    ::_exit(127);
  }
  pid_ = pid;
  return Status::success();
}

Status MosquittoBroker::wait_until_ready() {
  const auto deadline = Clock::now() + options_.start_timeout;
  for (;;) {
    int status = 0;
    if (try_reap(pid_, status)) {
      pid_ = -1;
      return Status::failure("mosquitto exited during start-up (" + describe_exit(status) + ")\n" +
                             log_tail());
    }
    if (tcp_connect_succeeds(port_)) return Status::success();
    if (Clock::now() >= deadline) {
      (void)stop();
      return Status::failure("mosquitto did not accept connections on 127.0.0.1:" +
                             std::to_string(port_) + " within " +
                             std::to_string(options_.start_timeout.count()) + " ms\n" + log_tail());
    }
    std::this_thread::sleep_for(kPollInterval);
  }
}

Status MosquittoBroker::start() {
  if (running()) return Status::failure("broker already running on port " + std::to_string(port_));
  if (Status s = prepare_dir(); !s) return s;
  if (port_ == 0) {
    port_ = pick_free_port();
    if (port_ == 0) return Status::failure(errno_text("no free loopback port"));
  }
  if (Status s = write_config(); !s) return s;
  if (Status s = spawn(); !s) return s;
  return wait_until_ready();
}

Status MosquittoBroker::stop() {
  if (!running()) return Status::success();
  const pid_t pid = pid_;
  pid_ = -1;
  int status = 0;
  if (try_reap(pid, status)) {
    return Status::failure("mosquitto had already exited (" + describe_exit(status) + ")\n" + log_tail());
  }
  ::kill(pid, SIGTERM);
  const auto deadline = Clock::now() + options_.stop_timeout;
  auto next_term = Clock::now() + kTermRepeat;
  while (!try_reap(pid, status)) {
    if (Clock::now() >= next_term) {
      ::kill(pid, SIGTERM);
      next_term += kTermRepeat;
    }
    if (Clock::now() >= deadline) {
      ::kill(pid, SIGKILL);
      ::waitpid(pid, &status, 0);
      return Status::failure("mosquitto ignored SIGTERM for " +
                             std::to_string(options_.stop_timeout.count()) + " ms and was killed\n" +
                             log_tail());
    }
    std::this_thread::sleep_for(kPollInterval);
  }
  if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) {
    return Status::failure("mosquitto stopped with " + describe_exit(status) + "\n" + log_tail());
  }
  return Status::success();
}

Status MosquittoBroker::restart() {
  if (Status s = stop(); !s) return s;
  return start();
}

}  // namespace edgerun::test

// The config file is open close-on-exec while it is read: SIGHUP re-reads it
// on the loop while workers may be spawning exec programs.
#include <fcntl.h>
#include <gtest/gtest.h>
#include <poll.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <optional>
#include <string>
#include <thread>

#include "edgerun/daemon_config.hpp"

namespace {

// The flags of the descriptor of this process that reads `path`, from
// /proc/self/fdinfo; nullopt when there is none.
std::optional<unsigned long> reader_flags(const std::filesystem::path& path) {
  for (const auto& entry : std::filesystem::directory_iterator("/proc/self/fd")) {
    std::error_code ec;
    if (std::filesystem::read_symlink(entry.path(), ec) != path) continue;
    std::ifstream info("/proc/self/fdinfo/" + entry.path().filename().string());
    std::string key;
    while (info >> key) {
      if (key == "flags:") {
        std::string octal;
        info >> octal;
        const unsigned long flags = std::stoul(octal, nullptr, 8);
        if ((flags & O_ACCMODE) == O_RDONLY) return flags;
        break;
      }
    }
  }
  return std::nullopt;
}

TEST(DaemonConfigFile, IsOpenCloseOnExecWhileRead) {
  // A FIFO holds the loader in the middle of its read, with the file open,
  // for as long as the test keeps the writing end open.
  char dir_template[] = "/tmp/edgerun-cloexec-XXXXXX";
  ASSERT_NE(mkdtemp(dir_template), nullptr);
  const std::filesystem::path fifo = std::filesystem::path(dir_template) / "edgerun.json";
  ASSERT_EQ(mkfifo(fifo.c_str(), 0600), 0);
  // O_RDWR opens a FIFO without waiting for a reader (Linux), so the
  // loader's open does not wait either.
  const int writer = open(fifo.c_str(), O_RDWR | O_NONBLOCK | O_CLOEXEC);
  ASSERT_GE(writer, 0);
  // Fill the pipe with whitespace (valid before a JSON value). It becomes
  // writable again only once the loader has read from it, which it does
  // through the descriptor under test; it then waits for the rest.
  const std::string spaces(4096, ' ');
  while (write(writer, spaces.data(), spaces.size()) > 0) {
  }
  ASSERT_EQ(errno, EAGAIN);
  edgerun::ConfigLoadResult loaded;
  std::thread loader([&] { loaded = edgerun::load_daemon_config(fifo, "gw-01"); });
  pollfd p{writer, POLLOUT, 0};
  const bool read_started = poll(&p, 1, 10000) == 1;
  std::optional<unsigned long> flags;
  if (read_started) flags = reader_flags(fifo);
  // Let the loader finish: the config (it fits in the room the loader's
  // read made), then end of file, as this is the FIFO's only writer.
  const std::string config = R"({"device_id": "gw-01"})";
  (void)write(writer, config.data(), config.size());
  close(writer);
  loader.join();
  std::filesystem::remove_all(dir_template);

  ASSERT_TRUE(read_started) << "the loader did not read within 10 s";
  ASSERT_TRUE(flags.has_value()) << "no descriptor of this process reads " << fifo;
  EXPECT_NE(flags.value() & O_CLOEXEC, 0U) << "the config file is not open close-on-exec";
  ASSERT_TRUE(loaded.config) << loaded.error;
  EXPECT_EQ(loaded.config->device_id, "gw-01");
}

}  // namespace

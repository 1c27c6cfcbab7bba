#include "read_only_file_system.hpp"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <limits>

namespace edgerun::ctl {
namespace {

// Repeats `call` while a signal interrupts it: SIGINT's handler is installed
// without SA_RESTART (stop_signal.hpp), and stopping is the caller's
// decision, not an error of the read.
template <typename Call>
auto retry_on_interrupt(Call call) noexcept {
  for (;;) {
    const auto result = call();
    if (result != -1 || errno != EINTR) return result;
  }
}

class ReadOnlyFileSystem final : public port::FileSystem {
 public:
  int make_directory(const char*) noexcept override { return EROFS; }

  int open(const char* path, bool create, int& handle) noexcept override {
    if (create) return EROFS;
    const int fd = retry_on_interrupt([&] { return ::open(path, O_RDONLY | O_CLOEXEC); });
    if (fd < 0) return errno;
    handle = fd;
    return 0;
  }

  int close(int handle) noexcept override {
    // Not retried: Linux releases the descriptor even on EINTR.
    return ::close(handle) == 0 || errno == EINTR ? 0 : errno;
  }

  int size(int handle, std::uint64_t& bytes) noexcept override {
    struct stat status {};
    if (retry_on_interrupt([&] { return ::fstat(handle, &status); }) != 0) return errno;
    // A directory where the journal should be reads as EISDIR below; its
    // st_size would be mistaken for the file's.
    if (!S_ISREG(status.st_mode)) return S_ISDIR(status.st_mode) ? EISDIR : EINVAL;
    bytes = static_cast<std::uint64_t>(status.st_size);
    return 0;
  }

  int read_at(int handle, std::uint64_t offset, std::span<std::byte> out, std::size_t& read) noexcept override {
    constexpr auto kMaxOffset = static_cast<std::uint64_t>(std::numeric_limits<off_t>::max());
    read = 0;
    // pread may return less than asked before the end: only 0 is the end.
    while (read < out.size()) {
      const std::uint64_t at = offset + read;
      if (at > kMaxOffset || at < offset) return EOVERFLOW;
      const ssize_t got = retry_on_interrupt(
          [&] { return ::pread(handle, out.data() + read, out.size() - read, static_cast<off_t>(at)); });
      if (got < 0) return errno;
      if (got == 0) break;
      read += static_cast<std::size_t>(got);
    }
    return 0;
  }

  int append(int, std::span<const std::byte>) noexcept override { return EROFS; }
  int sync(int) noexcept override { return EROFS; }
  int truncate(int, std::uint64_t) noexcept override { return EROFS; }
  int rename(const char*, const char*) noexcept override { return EROFS; }
  int sync_directory(const char*) noexcept override { return EROFS; }
  int remove(const char*) noexcept override { return EROFS; }

  int exists(const char* path) noexcept override {
    struct stat status {};
    return retry_on_interrupt([&] { return ::stat(path, &status); }) == 0 ? 0 : errno;
  }
};

}  // namespace

port::FileSystem& read_only_file_system() noexcept {
  // Stateless: one object serves every caller.
  static ReadOnlyFileSystem files;
  return files;
}

}  // namespace edgerun::ctl

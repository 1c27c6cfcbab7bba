// Files for Linux through open(2), pread(2), write(2), fdatasync(2) and
// rename(2).
//
// Every descriptor is opened O_CLOEXEC: the daemon spawns job programs, and a
// journal descriptor leaked into one of them would let it write the journal
// and keep the file's space after the daemon removed it.
#include "edgerun/port/file.hpp"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <limits>

// The build sets _FILE_OFFSET_BITS=64; without it off_t is 32 bits on armhf,
// and a journal past 2 GiB would fail with EOVERFLOW or, worse, wrap.
static_assert(sizeof(off_t) == 8, "edgerun needs 64-bit file offsets: build with _FILE_OFFSET_BITS=64");

namespace edgerun::port {

namespace {

// The journal holds job parameters and results: readable by the daemon's
// user only.
constexpr mode_t file_mode = 0600;
constexpr mode_t directory_mode = 0700;
// O_APPEND makes each write land at the end even if another descriptor of
// the same file moved it, so append() needs no offset of its own.
constexpr int file_flags = O_RDWR | O_APPEND | O_CLOEXEC;
// O_EXCL tells a file this call created from one that was there: only the
// former has the mode the umask left, and only the former may be fixed.
constexpr int create_flags = file_flags | O_CREAT | O_EXCL;
constexpr int directory_flags = O_RDONLY | O_DIRECTORY | O_CLOEXEC;
// Creating and removing the same path from another process could make
// open() race forever between "exists" and "does not"; after this many
// rounds it reports what it saw last.
constexpr int max_create_attempts = 16;
constexpr std::uint64_t max_offset = static_cast<std::uint64_t>(std::numeric_limits<off_t>::max());

// Repeats `call` while a signal interrupts it: whether handlers use
// SA_RESTART is up to the embedding program, and EINTR is no failure of the
// file.
template <typename Call>
auto retry_on_interrupt(Call call) noexcept {
  for (;;) {
    const auto result = call();
    if (result != -1 || errno != EINTR) return result;
  }
}

// Not retried on EINTR: Linux releases the descriptor even then, and a retry
// could close a descriptor another thread has just been given.
void close_descriptor(int fd) noexcept { (void)::close(fd); }

// Opens an existing file; errno on failure.
int open_existing(const char* path, int& fd) noexcept {
  fd = retry_on_interrupt([&] { return ::open(path, file_flags); });
  return fd >= 0 ? 0 : errno;
}

// Gives a file this call created the mode asked for: open() applied the
// umask, which may have taken away the owner's own bits.
int fix_created_mode(const char* path, int fd) noexcept {
  if (retry_on_interrupt([&] { return ::fchmod(fd, file_mode); }) == 0) return 0;
  const int error = errno;
  // An empty file with the wrong mode would be found, and kept, by the next
  // open(): better no file.
  close_descriptor(fd);
  (void)::unlink(path);
  return error;
}

int open_or_create(const char* path, int& fd) noexcept {
  int error = 0;
  for (int attempt = 0; attempt < max_create_attempts; ++attempt) {
    fd = retry_on_interrupt([&] { return ::open(path, create_flags, file_mode); });
    if (fd >= 0) return fix_created_mode(path, fd);
    if (errno != EEXIST) return errno;
    error = open_existing(path, fd);
    // ENOENT: it was removed between the two calls; create it again.
    if (error != ENOENT) return error;
  }
  return error;
}

// `read_only`: opens files O_RDONLY and refuses every change with EROFS,
// for tools that read a journal another process owns, or a read-only copy.
class LinuxFileSystem final : public FileSystem {
 public:
  explicit LinuxFileSystem(bool read_only) noexcept : read_only_(read_only) {}

  int make_directory(const char* path) noexcept override {
    if (read_only_) return EROFS;
    if (retry_on_interrupt([&] { return ::mkdir(path, directory_mode); }) == 0) return fix_directory_mode(path);
    if (errno != EEXIST) return errno;
    struct stat status {};
    if (retry_on_interrupt([&] { return ::stat(path, &status); }) != 0) return errno;
    return S_ISDIR(status.st_mode) ? 0 : ENOTDIR;
  }

  int open(const char* path, bool create, int& handle) noexcept override {
    int fd = -1;
    if (read_only_) {
      if (create) return EROFS;
      fd = retry_on_interrupt([&] { return ::open(path, O_RDONLY | O_CLOEXEC); });
      if (fd < 0) return errno;
      handle = fd;
      return 0;
    }
    const int error = create ? open_or_create(path, fd) : open_existing(path, fd);
    if (error == 0) handle = fd;
    return error;
  }

  int close(int handle) noexcept override {
    // EINTR still means closed (see close_descriptor); any other error was
    // about data written earlier, which sync() reports where it matters.
    if (::close(handle) != 0 && errno != EINTR) return errno;
    return 0;
  }

  int size(int handle, std::uint64_t& bytes) noexcept override {
    struct stat status {};
    if (retry_on_interrupt([&] { return ::fstat(handle, &status); }) != 0) return errno;
    bytes = static_cast<std::uint64_t>(status.st_size);
    return 0;
  }

  int read_at(int handle, std::uint64_t offset, std::span<std::byte> out, std::size_t& read) noexcept override {
    read = 0;
    // pread may return less than asked before the end (a signal, a large
    // request), so only 0 means the end of the file.
    while (read < out.size()) {
      const std::uint64_t at = offset + read;
      if (at > max_offset || at < offset) return EOVERFLOW;
      const ssize_t got = retry_on_interrupt(
          [&] { return ::pread(handle, out.data() + read, out.size() - read, static_cast<off_t>(at)); });
      if (got < 0) return errno;
      if (got == 0) break;
      read += static_cast<std::size_t>(got);
    }
    return 0;
  }

  int append(int handle, std::span<const std::byte> bytes) noexcept override {
    if (read_only_) return EROFS;
    std::size_t written = 0;
    // A write may take only part (a signal after some bytes, a disk that
    // filled up): the next round writes the rest or reports why it cannot.
    while (written < bytes.size()) {
      const ssize_t put =
          retry_on_interrupt([&] { return ::write(handle, bytes.data() + written, bytes.size() - written); });
      if (put < 0) return errno;
      // Not seen from regular files, but looping on it would never end.
      if (put == 0) return EIO;
      written += static_cast<std::size_t>(put);
    }
    return 0;
  }

  int sync(int handle) noexcept override {
    if (read_only_) return EROFS;
    // fdatasync and not fsync: appends change the size, which fdatasync
    // writes too; only timestamps are left behind, which nothing reads.
    if (retry_on_interrupt([&] { return ::fdatasync(handle); }) != 0) return errno;
    return 0;
  }

  int truncate(int handle, std::uint64_t bytes) noexcept override {
    if (read_only_) return EROFS;
    if (bytes > max_offset) return EFBIG;
    if (retry_on_interrupt([&] { return ::ftruncate(handle, static_cast<off_t>(bytes)); }) != 0) return errno;
    return 0;
  }

  int rename(const char* from, const char* to) noexcept override {
    if (read_only_) return EROFS;
    if (retry_on_interrupt([&] { return ::rename(from, to); }) != 0) return errno;
    return 0;
  }

  int sync_directory(const char* path) noexcept override {
    if (read_only_) return EROFS;
    // A new, renamed or removed name lives in the directory, not in the
    // file: only syncing the directory makes it survive a power cut.
    const int fd = retry_on_interrupt([&] { return ::open(path, directory_flags); });
    if (fd < 0) return errno;
    const int error = retry_on_interrupt([&] { return ::fsync(fd); }) == 0 ? 0 : errno;
    close_descriptor(fd);
    return error;
  }

  int remove(const char* path) noexcept override {
    if (read_only_) return EROFS;
    // unlink and not remove(3): a directory where a file should be is an
    // error to report, not something to delete.
    if (retry_on_interrupt([&] { return ::unlink(path); }) != 0) return errno;
    return 0;
  }

  int exists(const char* path) noexcept override {
    struct stat status {};
    if (retry_on_interrupt([&] { return ::stat(path, &status); }) != 0) return errno;
    return 0;
  }

 private:
  // Like files, a directory this call created gets its mode whatever the
  // umask: one without the owner's write bit would make every later create
  // in it fail. By path, since a descriptor of it may be impossible to
  // open under a umask that took the owner's read bit too.
  static int fix_directory_mode(const char* path) noexcept {
    if (retry_on_interrupt([&] { return ::chmod(path, directory_mode); }) != 0) return errno;
    return 0;
  }

  const bool read_only_;
};

}  // namespace

FileSystem& system_file_system() noexcept {
  // Stateless, so one object serves every thread; a function-local static
  // is made on first use, with no order-of-initialisation question.
  static LinuxFileSystem files(false);
  return files;
}

FileSystem& read_only_file_system() noexcept {
  static LinuxFileSystem files(true);
  return files;
}

}  // namespace edgerun::port

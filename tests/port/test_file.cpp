#include "edgerun/port/file.hpp"

#include <fcntl.h>
#include <gtest/gtest.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <string>
#include <string_view>
#include <vector>

namespace port = edgerun::port;

namespace {

constexpr std::uint64_t gib = std::uint64_t{1} << 30;

std::vector<std::byte> bytes_of(std::string_view text) {
  std::vector<std::byte> bytes(text.size());
  std::memcpy(bytes.data(), text.data(), text.size());
  return bytes;
}

std::string text_of(std::span<const std::byte> bytes) {
  return {reinterpret_cast<const char*>(bytes.data()), bytes.size()};
}

// The permission bits of `path`, or -1 when it cannot be looked at.
long mode_of(const std::string& path) {
  struct stat status {};
  if (stat(path.c_str(), &status) != 0) return -1;
  return static_cast<long>(status.st_mode & 07777);
}

// Sets the process umask for one test: it is process-wide, and the tests
// after this one expect the one they started with.
class ScopedUmask {
 public:
  explicit ScopedUmask(mode_t mask) : previous_(umask(mask)) {}
  ScopedUmask(const ScopedUmask&) = delete;
  ScopedUmask& operator=(const ScopedUmask&) = delete;
  ~ScopedUmask() { umask(previous_); }

 private:
  mode_t previous_;
};

// Each test in a fresh directory of its own, removed with what is left in
// it, so that runs and tests cannot see each other's files.
class File : public testing::Test {
 protected:
  port::FileSystem& files = port::system_file_system();

  void SetUp() override {
    const char* tmp = std::getenv("TMPDIR");
    std::string pattern = std::string(tmp != nullptr && *tmp != '\0' ? tmp : "/tmp") + "/edgerun-file-XXXXXX";
    ASSERT_NE(mkdtemp(pattern.data()), nullptr) << std::strerror(errno);
    directory_ = pattern;
  }

  void TearDown() override {
    for (const int handle : open_handles_) (void)files.close(handle);
    std::error_code ignored;
    if (!directory_.empty()) std::filesystem::remove_all(directory_, ignored);
  }

  std::string path(std::string_view name) const { return directory_ + "/" + std::string(name); }

  // Opens `name` in the test directory; -1 when it fails (which the test
  // then reports). Closed at the end of the test.
  int open(std::string_view name, bool create) {
    int handle = -1;
    const int error = files.open(path(name).c_str(), create, handle);
    EXPECT_EQ(error, 0) << name << ": " << std::strerror(error);
    if (error != 0) return -1;
    open_handles_.push_back(handle);
    return handle;
  }

  void close(int handle) {
    EXPECT_EQ(files.close(handle), 0);
    std::erase(open_handles_, handle);
  }

  void append(int handle, std::string_view text) {
    const auto bytes = bytes_of(text);
    EXPECT_EQ(files.append(handle, bytes), 0);
  }

  // The whole file as text, read through the port.
  std::string read_all(int handle) {
    std::uint64_t bytes = 0;
    EXPECT_EQ(files.size(handle, bytes), 0);
    std::vector<std::byte> out(static_cast<std::size_t>(bytes));
    std::size_t read = 0;
    EXPECT_EQ(files.read_at(handle, 0, out, read), 0);
    out.resize(read);
    return text_of(out);
  }

  const std::string& directory() const { return directory_; }

 private:
  std::string directory_;
  std::vector<int> open_handles_;
};

}  // namespace

TEST_F(File, CreateGivesMode0600EvenWithUmask0) {
  const ScopedUmask mask(0);
  const int handle = open("journal", true);
  ASSERT_GE(handle, 0);
  EXPECT_EQ(mode_of(path("journal")), 0600L);
}

TEST_F(File, CreateGivesMode0600EvenWithAUmaskThatTakesTheOwnersBits) {
  // 0277 would leave 0400 without the fix, a file its owner cannot append to
  // once it is opened again.
  const ScopedUmask mask(0277);
  const int handle = open("journal", true);
  ASSERT_GE(handle, 0);
  EXPECT_EQ(mode_of(path("journal")), 0600L);
  close(handle);
  EXPECT_GE(open("journal", false), 0);
}

TEST_F(File, OpeningAnExistingFileKeepsItsModeAndBytes) {
  // Only a file that open() itself created gets its mode set: one that was
  // there is the administrator's business.
  const int first = open("journal", true);
  ASSERT_GE(first, 0);
  append(first, "kept");
  close(first);
  ASSERT_EQ(chmod(path("journal").c_str(), 0640), 0);
  const int again = open("journal", true);
  ASSERT_GE(again, 0);
  EXPECT_EQ(mode_of(path("journal")), 0640L);
  EXPECT_EQ(read_all(again), "kept");
}

TEST_F(File, HandlesAreCloseOnExec) {
  // A descriptor leaked into a job program would let it write the journal.
  const int handle = open("journal", true);
  ASSERT_GE(handle, 0);
  const int flags = fcntl(handle, F_GETFD);
  ASSERT_NE(flags, -1) << std::strerror(errno);
  EXPECT_NE(flags & FD_CLOEXEC, 0);
}

TEST_F(File, OpenWithoutCreateOfAMissingFileIsENOENT) {
  int handle = -1;
  EXPECT_EQ(files.open(path("missing").c_str(), false, handle), ENOENT);
  EXPECT_EQ(handle, -1);
  EXPECT_EQ(files.exists(path("missing").c_str()), ENOENT);
}

TEST_F(File, AppendReadSizeAndTruncateRoundTrip) {
  const int handle = open("journal", true);
  ASSERT_GE(handle, 0);
  append(handle, "hello ");
  append(handle, "world");
  std::uint64_t bytes = 0;
  EXPECT_EQ(files.size(handle, bytes), 0);
  EXPECT_EQ(bytes, 11u);
  EXPECT_EQ(read_all(handle), "hello world");

  // A read at an offset, and one that runs into the end reads what is there.
  std::vector<std::byte> out(10);
  std::size_t read = 0;
  EXPECT_EQ(files.read_at(handle, 6, out, read), 0);
  EXPECT_EQ(read, 5u);
  EXPECT_EQ(text_of({out.data(), read}), "world");
  EXPECT_EQ(files.read_at(handle, 100, out, read), 0);
  EXPECT_EQ(read, 0u);

  // Truncate cuts, and the next append lands at the new end: O_APPEND, not
  // an offset of the handle's own.
  EXPECT_EQ(files.truncate(handle, 5), 0);
  EXPECT_EQ(files.size(handle, bytes), 0);
  EXPECT_EQ(bytes, 5u);
  append(handle, "!");
  EXPECT_EQ(files.sync(handle), 0);
  EXPECT_EQ(read_all(handle), "hello!");
}

TEST_F(File, AppendsThroughTwoHandlesBothLandAtTheEnd) {
  const int writer = open("journal", true);
  const int other = open("journal", false);
  ASSERT_GE(writer, 0);
  ASSERT_GE(other, 0);
  append(writer, "one,");
  append(other, "two,");
  append(writer, "three");
  EXPECT_EQ(read_all(writer), "one,two,three");
}

TEST_F(File, OffsetsPast4GiBWork) {
  // A sparse file, so that the test needs no disk space; a file system that
  // cannot hold one is not what this test is about.
  const int handle = open("large", true);
  ASSERT_GE(handle, 0);
  const std::uint64_t hole = 5 * gib;
  if (ftruncate(handle, static_cast<off_t>(hole)) != 0) {
    GTEST_SKIP() << "cannot make a sparse file of 5 GiB here: " << std::strerror(errno);
  }
  append(handle, "tail");
  std::uint64_t bytes = 0;
  EXPECT_EQ(files.size(handle, bytes), 0);
  EXPECT_EQ(bytes, hole + 4);
  std::vector<std::byte> out(6);
  std::size_t read = 0;
  EXPECT_EQ(files.read_at(handle, hole - 2, out, read), 0);
  ASSERT_EQ(read, 6u);
  EXPECT_EQ(text_of(out), std::string("\0\0tail", 6));
  EXPECT_EQ(files.truncate(handle, 4 * gib + 1), 0);
  EXPECT_EQ(files.size(handle, bytes), 0);
  EXPECT_EQ(bytes, 4 * gib + 1);
}

TEST_F(File, RenameReplacesTheTargetAndHandlesFollowTheFile) {
  const int old_file = open("journal", true);
  const int new_file = open("journal.new", true);
  ASSERT_GE(old_file, 0);
  ASSERT_GE(new_file, 0);
  append(old_file, "old");
  append(new_file, "new");
  EXPECT_EQ(files.sync(new_file), 0);

  EXPECT_EQ(files.rename(path("journal.new").c_str(), path("journal").c_str()), 0);
  EXPECT_EQ(files.sync_directory(directory().c_str()), 0);

  EXPECT_EQ(files.exists(path("journal.new").c_str()), ENOENT);
  const int reopened = open("journal", false);
  ASSERT_GE(reopened, 0);
  EXPECT_EQ(read_all(reopened), "new");
  // The handles still name the files they were opened on, renamed or
  // replaced.
  append(new_file, "er");
  EXPECT_EQ(read_all(reopened), "newer");
  EXPECT_EQ(read_all(old_file), "old");
}

TEST_F(File, RenameOfAMissingFileIsENOENT) {
  EXPECT_EQ(files.rename(path("missing").c_str(), path("journal").c_str()), ENOENT);
}

TEST_F(File, RemoveAndExists) {
  const int handle = open("journal", true);
  ASSERT_GE(handle, 0);
  close(handle);
  EXPECT_EQ(files.exists(path("journal").c_str()), 0);
  EXPECT_EQ(files.exists(directory().c_str()), 0);
  EXPECT_EQ(files.remove(path("journal").c_str()), 0);
  EXPECT_EQ(files.exists(path("journal").c_str()), ENOENT);
  EXPECT_EQ(files.remove(path("journal").c_str()), ENOENT);
}

TEST_F(File, RemoveDoesNotRemoveADirectory) {
  ASSERT_EQ(files.make_directory(path("state").c_str()), 0);
  EXPECT_NE(files.remove(path("state").c_str()), 0);
  EXPECT_EQ(files.exists(path("state").c_str()), 0);
}

TEST_F(File, MakeDirectoryTwiceIsFineAndGivesMode0700) {
  EXPECT_EQ(files.make_directory(path("state").c_str()), 0);
  EXPECT_EQ(files.make_directory(path("state").c_str()), 0);
  EXPECT_EQ(mode_of(path("state")), 0700L);
  EXPECT_EQ(files.sync_directory(path("state").c_str()), 0);
}

TEST_F(File, MakeDirectoryGivesMode0700EvenWithAUmaskThatTakesTheOwnersBits) {
  const ScopedUmask mask(0277);
  EXPECT_EQ(files.make_directory(path("state").c_str()), 0);
  EXPECT_EQ(mode_of(path("state")), 0700L);
}

TEST_F(File, MakeDirectoryWhereAFileIsIsENOTDIR) {
  const int handle = open("state", true);
  ASSERT_GE(handle, 0);
  EXPECT_EQ(files.make_directory(path("state").c_str()), ENOTDIR);
}

TEST_F(File, MakeDirectoryWithoutItsParentIsENOENT) {
  EXPECT_EQ(files.make_directory(path("missing/state").c_str()), ENOENT);
}

TEST_F(File, SyncDirectoryOfAMissingDirectoryIsENOENT) {
  EXPECT_EQ(files.sync_directory(path("missing").c_str()), ENOENT);
}

TEST_F(File, ErrorsOfABadHandleAreEBADF) {
  constexpr int not_open = 1 << 20;
  std::uint64_t bytes = 0;
  const auto one = bytes_of("x");
  EXPECT_EQ(files.size(not_open, bytes), EBADF);
  EXPECT_EQ(files.append(not_open, one), EBADF);
  EXPECT_EQ(files.sync(not_open), EBADF);
  EXPECT_EQ(files.close(not_open), EBADF);
}

TEST_F(File, TheReadOnlyFileSystemReadsAndChangesNothing) {
  const int written = open("journal", true);
  ASSERT_GE(written, 0);
  append(written, "records");
  close(written);
  ASSERT_EQ(chmod(path("journal").c_str(), 0400), 0);  // as a read-only copy

  port::FileSystem& reader = port::read_only_file_system();
  int handle = -1;
  ASSERT_EQ(reader.open(path("journal").c_str(), false, handle), 0);
  std::vector<std::byte> out(16);
  std::size_t read = 0;
  EXPECT_EQ(reader.read_at(handle, 0, out, read), 0);
  EXPECT_EQ(text_of({out.data(), read}), "records");
  EXPECT_EQ(reader.append(handle, bytes_of("more")), EROFS);
  EXPECT_EQ(reader.truncate(handle, 0), EROFS);
  EXPECT_EQ(reader.sync(handle), EROFS);
  EXPECT_EQ(reader.close(handle), 0);

  EXPECT_EQ(reader.open(path("new").c_str(), true, handle), EROFS);
  EXPECT_EQ(reader.exists(path("new").c_str()), ENOENT);
  EXPECT_EQ(reader.rename(path("journal").c_str(), path("moved").c_str()), EROFS);
  EXPECT_EQ(reader.remove(path("journal").c_str()), EROFS);
  EXPECT_EQ(reader.make_directory(path("dir").c_str()), EROFS);
  EXPECT_EQ(reader.exists(path("journal").c_str()), 0);
}

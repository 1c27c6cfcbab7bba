#pragma once
// Files of the platform layer: what the journal in state_dir needs, and
// nothing more. Every file access of edgerun's core goes through a
// FileSystem, so that a test can put its own under the journal: one that
// records what was written and what was synced, fills up, or loses power at
// a chosen operation.
//
// Errors are values: each call returns 0 or the errno of the failure
// (ENOSPC for a full disk, EIO after a power cut in a test backend). No call
// throws; the platform's allocates nothing on the heap (a test backend may).
// Paths are
// NUL-terminated; a handle is valid until close(). One FileSystem may be used
// from several threads, but one handle by one thread at a time, except that
// sync() may run on another thread than append() (the journal syncs on a
// thread of its own while the loop appends).
//
// Offsets and sizes are 64-bit on every target: the build sets
// _FILE_OFFSET_BITS=64, so armhf holds files over 2 GiB.

#include <cstddef>
#include <cstdint>
#include <span>

namespace edgerun::port {

class FileSystem {
 public:
  virtual ~FileSystem() = default;

  // Creates the directory `path` with mode 0700 (whatever the umask) if it
  // does not exist (its parent must). 0 when it exists already as a
  // directory, which keeps its mode; ENOTDIR when it is something else.
  virtual int make_directory(const char* path) noexcept = 0;

  // Opens `path` for reading and appending, creating it with mode 0600 (as
  // given, whatever the umask) when `create` is true and it does not exist.
  // On success, `handle` is set and 0 returned. ENOENT when it does not
  // exist and `create` is false.
  virtual int open(const char* path, bool create, int& handle) noexcept = 0;
  virtual int close(int handle) noexcept = 0;

  // The file's size in bytes.
  virtual int size(int handle, std::uint64_t& bytes) noexcept = 0;
  // Reads up to out.size() bytes at `offset`; `read` is what was read, less
  // than asked only at the end of the file.
  virtual int read_at(int handle, std::uint64_t offset, std::span<std::byte> out, std::size_t& read) noexcept = 0;
  // Appends all of `bytes` at the end of the file. On an error, part of them
  // may have been written: the caller truncates back to where it was.
  virtual int append(int handle, std::span<const std::byte> bytes) noexcept = 0;
  // Makes what was appended so far durable (fdatasync): once it returns 0,
  // a power cut keeps it.
  virtual int sync(int handle) noexcept = 0;
  // Cuts the file to `bytes` (a larger size extends it with zeros).
  virtual int truncate(int handle, std::uint64_t bytes) noexcept = 0;

  // Renames `from` to `to`, replacing `to` atomically. Durable once the
  // directory is synced.
  virtual int rename(const char* from, const char* to) noexcept = 0;
  // Makes the directory's entries (created, renamed, removed files) durable.
  virtual int sync_directory(const char* path) noexcept = 0;
  // Removes the file `path`; ENOENT when there is none.
  virtual int remove(const char* path) noexcept = 0;
  // 0 when `path` exists, else the errno (ENOENT when it does not).
  virtual int exists(const char* path) noexcept = 0;
};

// The platform's own file system (POSIX calls, O_CLOEXEC, EINTR retried).
FileSystem& system_file_system() noexcept;
// The same, read only: files open O_RDONLY (so a read-only copy or mount
// reads, and a live journal is never opened for writing) and every change
// fails with EROFS. For tools that read what another process owns.
FileSystem& read_only_file_system() noexcept;

}  // namespace edgerun::port

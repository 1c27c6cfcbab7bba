#pragma once

// An in-memory port::FileSystem for journal tests: it knows what a power cut
// would keep, can cut the power after a chosen number of operations, and can
// fill up.
//
// The model of a disk:
//  - A file has visible bytes, what reads see, and durable bytes, a copy of
//    the visible ones taken at the last successful sync() of any handle of
//    it. A truncate, like an append, is durable only after a sync.
//  - A directory has visible entries (name -> file), changed by creating,
//    renaming and removing, and durable entries, which sync_directory()
//    sets to the visible ones of that directory. A file's directory is the
//    text before the last '/' of its path: "" for a bare name (also called
//    "."), "/" for "/name". Those two always exist; others must be made with
//    make_directory() before files are opened in them, and count as durable
//    at once.
//  - append, sync, truncate, rename, sync_directory and remove are the
//    operations a power cut may fall between: each successful call counts.
//
// Threads: any; one mutex guards everything. The file systems that
// after_power_cut() and an image's boot() make are objects of their own.

#include <cstddef>
#include <cstdint>
#include <limits>
#include <map>
#include <memory>
#include <mutex>
#include <set>
#include <string>
#include <vector>

#include "edgerun/port/file.hpp"

namespace edgerun::test {

class PowerCutFileSystem final : public port::FileSystem {
 public:
  PowerCutFileSystem() = default;
  PowerCutFileSystem(const PowerCutFileSystem&) = delete;
  PowerCutFileSystem& operator=(const PowerCutFileSystem&) = delete;

  // port::FileSystem. After a power cut every one fails with EIO and changes
  // nothing; a handle stays valid until close() or the power cut.
  int make_directory(const char* path) noexcept override;
  int open(const char* path, bool create, int& handle) noexcept override;
  int close(int handle) noexcept override;
  int size(int handle, std::uint64_t& bytes) noexcept override;
  int read_at(int handle, std::uint64_t offset, std::span<std::byte> out, std::size_t& read) noexcept override;
  // With a capacity set, writes what fits and returns ENOSPC for the rest.
  int append(int handle, std::span<const std::byte> bytes) noexcept override;
  int sync(int handle) noexcept override;
  // Past the end it extends with zeros, as ftruncate(2) does.
  int truncate(int handle, std::uint64_t bytes) noexcept override;
  int rename(const char* from, const char* to) noexcept override;
  int sync_directory(const char* path) noexcept override;
  int remove(const char* path) noexcept override;
  int exists(const char* path) noexcept override;

  // The counted operations that succeeded so far.
  std::uint64_t operations() const;
  // Cuts the power once `total` counted operations have succeeded since this
  // file system was made (at once if that many have already): operation
  // total + 1 and every call after it fail with EIO. `total` counts like
  // operations(), not from this call.
  void cut_power_after(std::uint64_t total);
  bool power_is_cut() const;

  // What a reboot would find now: the durable directory entries, each file
  // with its durable bytes and, when `torn_bytes` is not 0, up to that many
  // bytes of its unsynced tail (the visible bytes past the durable ones), as
  // when some pages of an unsynced write reached the disk. Directories and
  // the capacity carry over; the counters start at 0 and the power is on.
  std::unique_ptr<PowerCutFileSystem> after_power_cut(std::size_t torn_bytes = 0) const;

  // A power cut at every boundary of one run, without a run per cut.
  // A cut: right after counted operation `operation` (0: before the first),
  // with up to `torn_bytes` of each unsynced tail kept, as after_power_cut().
  struct Cut {
    std::uint64_t operation;
    std::size_t torn_bytes;
  };
  // A disk a reboot could find, and every cut that leaves it.
  class PowerCutImage {
   public:
    std::vector<Cut> cuts;  // in the order they were taken

    // A new file system on this disk, as after_power_cut() makes; the image
    // stays as it is, so it can boot again.
    std::unique_ptr<PowerCutFileSystem> boot() const;
    // The same names, directories and bytes (and capacity).
    bool operator==(const PowerCutImage& other) const noexcept;

   private:
    friend class PowerCutFileSystem;
    // Each durable name with the bytes a cut keeps of its file; the names
    // of one file share one object.
    std::map<std::string, std::shared_ptr<const std::vector<std::byte>>> files_;
    std::set<std::string> directories_;
    std::uint64_t capacity_ = 0;
  };
  // From now on, right after every counted operation (and once at this
  // call), keeps the image a cut there would leave, for each of
  // `torn_bytes`. An image equal to one a cut at the boundary before left
  // (an append leaves the synced bytes as they were, and after a sync there
  // is no tail to tear) is kept once, with all its cuts: recording costs a
  // copy of the disk for each change of what a power cut would keep.
  void record_power_cuts(std::vector<std::size_t> torn_bytes);
  // Stops recording and hands over the images, oldest first.
  std::vector<PowerCutImage> take_power_cut_images();

  // The most visible bytes all files together may hold (files removed but
  // still open included, as on a disk). Unlimited unless set.
  void set_capacity(std::uint64_t bytes);

  // Successful sync() calls, and bytes that append() wrote (a partial write
  // of a failed call included).
  std::uint64_t sync_count() const;
  std::uint64_t bytes_appended() const;

  // Inspection, which works with the power cut too: the visible bytes of
  // `path` (empty when there is no such file), whether it is a file, and the
  // paths of all files, sorted.
  std::vector<std::byte> contents(const std::string& path) const;
  bool has_file(const std::string& path) const;
  std::vector<std::string> files() const;
  // Damages one byte of `path` at `offset` (xor 0x5A) in the visible and in
  // the durable bytes, each where it is that long: a sector that went bad.
  void corrupt_byte(const std::string& path, std::uint64_t offset);

 private:
  struct File {
    std::vector<std::byte> visible;
    std::vector<std::byte> durable;
  };
  // Shared: a renamed file and its open handles are one object, as an inode.
  using FilePointer = std::shared_ptr<File>;
  using Entries = std::map<std::string, FilePointer>;

  // Under the lock. A file of the handle, or null when it is not open.
  File* file_of(int handle) const noexcept;
  FilePointer visible_file(const std::string& path) const noexcept;
  bool is_directory(const std::string& path) const noexcept;
  std::uint64_t used_bytes() const noexcept;
  // Counts one successful operation, records what a cut right after it
  // would leave, and cuts the power when it was the last.
  void count_operation() noexcept;
  PowerCutImage image_locked(std::size_t torn_bytes) const;
  void record_images_locked();

  mutable std::mutex mutex_;
  Entries visible_entries_;
  Entries durable_entries_;
  std::set<std::string> directories_;
  // Index = handle; null = closed, reused by the next open.
  std::vector<FilePointer> handles_;
  std::uint64_t operations_ = 0;
  std::uint64_t cut_after_ = std::numeric_limits<std::uint64_t>::max();
  bool power_cut_ = false;
  std::uint64_t capacity_ = std::numeric_limits<std::uint64_t>::max();
  std::uint64_t sync_count_ = 0;
  std::uint64_t bytes_appended_ = 0;
  // record_power_cuts(): the torn sizes, the images, and for each torn size
  // the index of the image its last cut left.
  std::vector<std::size_t> recorded_torn_bytes_;
  std::vector<PowerCutImage> images_;
  std::vector<std::size_t> latest_images_;
};

}  // namespace edgerun::test

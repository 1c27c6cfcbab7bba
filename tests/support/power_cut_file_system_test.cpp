#include "power_cut_file_system.hpp"

#include <gtest/gtest.h>

#include <cerrno>
#include <cstring>
#include <limits>
#include <string>
#include <string_view>
#include <thread>
#include <utility>
#include <vector>

using edgerun::test::PowerCutFileSystem;

namespace {

std::vector<std::byte> bytes_of(std::string_view text) {
  std::vector<std::byte> bytes(text.size());
  if (!text.empty()) std::memcpy(bytes.data(), text.data(), text.size());
  return bytes;
}

std::string text_of(const std::vector<std::byte>& bytes) {
  return {reinterpret_cast<const char*>(bytes.data()), bytes.size()};
}

int open_file(PowerCutFileSystem& files, const char* path, bool create = true) {
  int handle = -1;
  EXPECT_EQ(files.open(path, create, handle), 0) << path;
  return handle;
}

int append(PowerCutFileSystem& files, int handle, std::string_view text) {
  return files.append(handle, bytes_of(text));
}

// A file "state/journal" whose name is durable and which holds `synced`
// durably, then `unsynced` visibly only.
void write_journal(PowerCutFileSystem& files, std::string_view synced, std::string_view unsynced) {
  ASSERT_EQ(files.make_directory("state"), 0);
  const int handle = open_file(files, "state/journal");
  ASSERT_EQ(append(files, handle, synced), 0);
  ASSERT_EQ(files.sync(handle), 0);
  ASSERT_EQ(files.sync_directory("state"), 0);
  ASSERT_EQ(append(files, handle, unsynced), 0);
  ASSERT_EQ(files.close(handle), 0);
}

}  // namespace

TEST(PowerCutFileSystem, ReadsSeeWhatWasAppended) {
  PowerCutFileSystem files;
  const int handle = open_file(files, "journal");
  ASSERT_EQ(append(files, handle, "hello world"), 0);
  std::uint64_t bytes = 0;
  EXPECT_EQ(files.size(handle, bytes), 0);
  EXPECT_EQ(bytes, 11u);
  std::vector<std::byte> out(8);
  std::size_t read = 0;
  EXPECT_EQ(files.read_at(handle, 6, out, read), 0);
  ASSERT_EQ(read, 5u);
  out.resize(read);
  EXPECT_EQ(text_of(out), "world");
  EXPECT_EQ(files.truncate(handle, 5), 0);
  EXPECT_EQ(text_of(files.contents("journal")), "hello");
  EXPECT_EQ(files.bytes_appended(), 11u);
}

TEST(PowerCutFileSystem, UnsyncedAppendsAreLostAndSyncedOnesKept) {
  PowerCutFileSystem files;
  write_journal(files, "synced|", "unsynced");
  EXPECT_EQ(text_of(files.contents("state/journal")), "synced|unsynced");
  EXPECT_EQ(files.sync_count(), 1u);

  const auto rebooted = files.after_power_cut();
  EXPECT_EQ(text_of(rebooted->contents("state/journal")), "synced|");
  EXPECT_FALSE(rebooted->power_is_cut());
  EXPECT_EQ(rebooted->operations(), 0u);
  // The directory came along: files can be made in it again.
  EXPECT_EQ(rebooted->exists("state"), 0);
  EXPECT_GE(open_file(*rebooted, "state/other"), 0);
}

TEST(PowerCutFileSystem, TornBytesKeepAPrefixOfTheUnsyncedTail) {
  PowerCutFileSystem files;
  write_journal(files, "synced|", "unsynced");
  EXPECT_EQ(text_of(files.after_power_cut(3)->contents("state/journal")), "synced|uns");
  // Never more than the tail itself.
  EXPECT_EQ(text_of(files.after_power_cut(100)->contents("state/journal")), "synced|unsynced");
}

TEST(PowerCutFileSystem, AnUnsyncedTruncateIsUndone) {
  PowerCutFileSystem files;
  write_journal(files, "synced|", "");
  const int handle = open_file(files, "state/journal", false);
  ASSERT_EQ(files.truncate(handle, 2), 0);
  EXPECT_EQ(text_of(files.after_power_cut()->contents("state/journal")), "synced|");
  ASSERT_EQ(files.sync(handle), 0);
  EXPECT_EQ(text_of(files.after_power_cut()->contents("state/journal")), "sy");
}

TEST(PowerCutFileSystem, ANewFileIsLostUntilItsDirectoryIsSynced) {
  PowerCutFileSystem files;
  ASSERT_EQ(files.make_directory("state"), 0);
  const int handle = open_file(files, "state/journal");
  ASSERT_EQ(append(files, handle, "data"), 0);
  ASSERT_EQ(files.sync(handle), 0);
  EXPECT_FALSE(files.after_power_cut()->has_file("state/journal"));
  ASSERT_EQ(files.sync_directory("state"), 0);
  EXPECT_EQ(text_of(files.after_power_cut()->contents("state/journal")), "data");
}

TEST(PowerCutFileSystem, ARenameIsLostUnlessTheDirectoryIsSynced) {
  PowerCutFileSystem files;
  write_journal(files, "old", "");
  const int handle = open_file(files, "state/journal.new");
  ASSERT_EQ(append(files, handle, "new"), 0);
  ASSERT_EQ(files.sync(handle), 0);
  ASSERT_EQ(files.rename("state/journal.new", "state/journal"), 0);
  EXPECT_EQ(text_of(files.contents("state/journal")), "new");
  EXPECT_FALSE(files.has_file("state/journal.new"));

  const auto lost = files.after_power_cut();
  EXPECT_EQ(text_of(lost->contents("state/journal")), "old");
  EXPECT_FALSE(lost->has_file("state/journal.new"));

  ASSERT_EQ(files.sync_directory("state"), 0);
  const auto kept = files.after_power_cut();
  EXPECT_EQ(text_of(kept->contents("state/journal")), "new");
  EXPECT_EQ(kept->files(), std::vector<std::string>{"state/journal"});
}

TEST(PowerCutFileSystem, ARemoveIsLostUnlessTheDirectoryIsSynced) {
  PowerCutFileSystem files;
  write_journal(files, "old", "");
  ASSERT_EQ(files.remove("state/journal"), 0);
  EXPECT_EQ(files.exists("state/journal"), ENOENT);
  EXPECT_TRUE(files.after_power_cut()->has_file("state/journal"));
  ASSERT_EQ(files.sync_directory("state"), 0);
  EXPECT_FALSE(files.after_power_cut()->has_file("state/journal"));
}

TEST(PowerCutFileSystem, HandlesFollowARenamedFile) {
  PowerCutFileSystem files;
  const int handle = open_file(files, "journal.new");
  ASSERT_EQ(files.rename("journal.new", "journal"), 0);
  ASSERT_EQ(append(files, handle, "after"), 0);
  EXPECT_EQ(text_of(files.contents("journal")), "after");
  EXPECT_EQ(files.files(), std::vector<std::string>{"journal"});
}

TEST(PowerCutFileSystem, SyncDirectoryOfDotSyncsBareNames) {
  PowerCutFileSystem files;
  open_file(files, "journal");
  ASSERT_EQ(files.sync_directory("."), 0);
  EXPECT_TRUE(files.after_power_cut()->has_file("journal"));
}

TEST(PowerCutFileSystem, DirectoriesMustBeMadeBeforeFilesGoInThem) {
  PowerCutFileSystem files;
  int handle = -1;
  EXPECT_EQ(files.open("state/journal", true, handle), ENOENT);
  EXPECT_EQ(files.make_directory("state/deeper"), ENOENT);
  EXPECT_EQ(files.make_directory("state"), 0);
  EXPECT_EQ(files.make_directory("state"), 0);
  EXPECT_EQ(files.open("state/journal", false, handle), ENOENT);
  EXPECT_EQ(files.open("state/journal", true, handle), 0);
  EXPECT_EQ(files.make_directory("state/journal"), ENOTDIR);
  EXPECT_EQ(files.sync_directory("missing"), ENOENT);
}

TEST(PowerCutFileSystem, OperationsCountTheBoundariesBetweenWhichPowerMayFail) {
  PowerCutFileSystem files;
  ASSERT_EQ(files.make_directory("state"), 0);  // not counted
  const int handle = open_file(files, "state/journal");  // not counted
  EXPECT_EQ(files.operations(), 0u);
  ASSERT_EQ(append(files, handle, "a"), 0);
  ASSERT_EQ(files.sync(handle), 0);
  ASSERT_EQ(files.truncate(handle, 0), 0);
  ASSERT_EQ(files.rename("state/journal", "state/j"), 0);
  ASSERT_EQ(files.sync_directory("state"), 0);
  ASSERT_EQ(files.remove("state/j"), 0);
  EXPECT_EQ(files.operations(), 6u);
  // Reads and failed calls are not boundaries.
  std::uint64_t bytes = 0;
  EXPECT_EQ(files.size(handle, bytes), 0);
  EXPECT_EQ(files.remove("state/j"), ENOENT);
  EXPECT_EQ(files.exists("state/j"), ENOENT);
  EXPECT_EQ(files.close(handle), 0);
  EXPECT_EQ(files.operations(), 6u);
}

TEST(PowerCutFileSystem, CutPowerAfterNFailsOperationNPlus1AndEverythingAfter) {
  PowerCutFileSystem files;
  files.cut_power_after(2);
  const int handle = open_file(files, "journal");
  ASSERT_EQ(append(files, handle, "one"), 0);
  EXPECT_FALSE(files.power_is_cut());
  ASSERT_EQ(files.sync(handle), 0);
  EXPECT_TRUE(files.power_is_cut());
  EXPECT_EQ(files.operations(), 2u);

  // Every method fails with EIO, reads and open too, and changes nothing.
  EXPECT_EQ(append(files, handle, "two"), EIO);
  std::uint64_t bytes = 0;
  EXPECT_EQ(files.size(handle, bytes), EIO);
  std::vector<std::byte> out(3);
  std::size_t read = 0;
  EXPECT_EQ(files.read_at(handle, 0, out, read), EIO);
  EXPECT_EQ(files.sync(handle), EIO);
  EXPECT_EQ(files.truncate(handle, 0), EIO);
  EXPECT_EQ(files.rename("journal", "other"), EIO);
  EXPECT_EQ(files.sync_directory("."), EIO);
  EXPECT_EQ(files.remove("journal"), EIO);
  EXPECT_EQ(files.exists("journal"), EIO);
  EXPECT_EQ(files.make_directory("state"), EIO);
  int other = -1;
  EXPECT_EQ(files.open("new", true, other), EIO);
  EXPECT_EQ(files.close(handle), EIO);

  EXPECT_EQ(files.operations(), 2u);
  EXPECT_EQ(files.sync_count(), 1u);
  EXPECT_EQ(files.bytes_appended(), 3u);
  EXPECT_EQ(files.files(), std::vector<std::string>{"journal"});
  EXPECT_EQ(text_of(files.contents("journal")), "one");
  // The name was never made durable.
  EXPECT_TRUE(files.after_power_cut()->files().empty());
}

TEST(PowerCutFileSystem, CutPowerAfterCountsFromTheStart) {
  PowerCutFileSystem files;
  const int handle = open_file(files, "journal");
  ASSERT_EQ(append(files, handle, "a"), 0);
  ASSERT_EQ(append(files, handle, "b"), 0);
  files.cut_power_after(2);
  EXPECT_TRUE(files.power_is_cut());
  EXPECT_EQ(append(files, handle, "c"), EIO);

  PowerCutFileSystem at_once;
  at_once.cut_power_after(0);
  int other = -1;
  EXPECT_EQ(at_once.open("journal", true, other), EIO);
}

TEST(PowerCutFileSystem, AFullDiskWritesWhatFitsAndSaysENOSPC) {
  PowerCutFileSystem files;
  files.set_capacity(10);
  const int handle = open_file(files, "journal");
  ASSERT_EQ(append(files, handle, "123456"), 0);
  EXPECT_EQ(append(files, handle, "789abc"), ENOSPC);
  EXPECT_EQ(text_of(files.contents("journal")), "123456789a");
  EXPECT_EQ(files.bytes_appended(), 10u);
  EXPECT_EQ(files.operations(), 1u);  // the failed append is no boundary

  // The caller cuts the torn record off, which frees its space.
  ASSERT_EQ(files.truncate(handle, 6), 0);
  EXPECT_EQ(append(files, handle, "7890"), 0);
  EXPECT_EQ(append(files, handle, "x"), ENOSPC);
}

TEST(PowerCutFileSystem, CapacityCountsEveryFileAndRemovedOnesWhileOpen) {
  PowerCutFileSystem files;
  files.set_capacity(8);
  const int first = open_file(files, "first");
  const int second = open_file(files, "second");
  ASSERT_EQ(append(files, first, "1234"), 0);
  ASSERT_EQ(files.remove("first"), 0);
  EXPECT_EQ(append(files, second, "56789"), ENOSPC);
  EXPECT_EQ(text_of(files.contents("second")), "5678");
  ASSERT_EQ(files.close(first), 0);
  EXPECT_EQ(append(files, second, "9"), 0);
}

TEST(PowerCutFileSystem, CorruptByteDamagesVisibleAndDurableBytes) {
  PowerCutFileSystem files;
  write_journal(files, "abc", "");
  files.corrupt_byte("state/journal", 1);
  const auto damaged = files.contents("state/journal");
  ASSERT_EQ(damaged.size(), 3u);
  EXPECT_EQ(damaged[1], std::byte{'b'} ^ std::byte{0x5A});
  EXPECT_EQ(files.after_power_cut()->contents("state/journal"), damaged);
}

TEST(PowerCutFileSystem, HandlesAreInvalidAfterClose) {
  PowerCutFileSystem files;
  const int handle = open_file(files, "journal");
  ASSERT_EQ(files.close(handle), 0);
  EXPECT_EQ(append(files, handle, "x"), EBADF);
  EXPECT_EQ(files.close(handle), EBADF);
  EXPECT_EQ(files.close(-1), EBADF);
}

TEST(PowerCutFileSystem, SyncOnAnotherThreadWhileAppending) {
  // As the journal does: its sync thread runs beside the appending loop.
  PowerCutFileSystem files;
  const int handle = open_file(files, "journal");
  constexpr int rounds = 1000;
  std::thread syncer([&] {
    for (int i = 0; i < rounds; ++i) EXPECT_EQ(files.sync(handle), 0);
  });
  for (int i = 0; i < rounds; ++i) EXPECT_EQ(append(files, handle, "x"), 0);
  syncer.join();
  ASSERT_EQ(files.sync(handle), 0);
  ASSERT_EQ(files.sync_directory("."), 0);
  EXPECT_EQ(files.after_power_cut()->contents("journal").size(), static_cast<std::size_t>(rounds));
}

TEST(PowerCutFileSystem, RecordsWhatACutAtEachBoundaryWouldLeaveOnceForEachDistinctImage) {
  using Cut = PowerCutFileSystem::Cut;
  constexpr std::size_t whole = std::numeric_limits<std::size_t>::max();
  PowerCutFileSystem files;
  ASSERT_EQ(files.make_directory("state"), 0);
  const int handle = open_file(files, "state/journal");
  files.record_power_cuts({0, 3, whole});
  ASSERT_EQ(append(files, handle, "abc"), 0);    // operation 1
  ASSERT_EQ(files.sync(handle), 0);               // 2
  ASSERT_EQ(files.sync_directory("state"), 0);    // 3: the name is durable
  ASSERT_EQ(append(files, handle, "defgh"), 0);  // 4
  ASSERT_EQ(files.sync(handle), 0);               // 5
  const auto images = files.take_power_cut_images();
  // Recording stopped: later operations leave no image.
  ASSERT_EQ(append(files, handle, "more"), 0);
  EXPECT_TRUE(files.take_power_cut_images().empty());

  using Cuts = std::vector<std::pair<std::uint64_t, std::size_t>>;
  const auto cuts_of = [](const PowerCutFileSystem::PowerCutImage& image) {
    Cuts cuts;
    for (const Cut& cut : image.cuts) cuts.emplace_back(cut.operation, cut.torn_bytes);
    return cuts;
  };
  const auto journal_of = [](const PowerCutFileSystem::PowerCutImage& image) {
    return text_of(image.boot()->contents("state/journal"));
  };
  ASSERT_EQ(images.size(), 4u);
  // Until the directory is synced a cut leaves no file, torn or not: one
  // image for the 9 cuts up to and including operation 2.
  EXPECT_TRUE(images[0].boot()->files().empty());
  EXPECT_EQ(cuts_of(images[0]),
            (Cuts{{0, 0}, {0, 3}, {0, whole}, {1, 0}, {1, 3}, {1, whole}, {2, 0}, {2, 3}, {2, whole}}));
  EXPECT_EQ(journal_of(images[1]), "abc");
  EXPECT_EQ(cuts_of(images[1]), (Cuts{{3, 0}, {3, 3}, {3, whole}, {4, 0}}));
  // The unsynced append: 3 of its bytes, or all of them, which the sync
  // then makes the only image.
  EXPECT_EQ(journal_of(images[2]), "abcdef");
  EXPECT_EQ(cuts_of(images[2]), (Cuts{{4, 3}}));
  EXPECT_EQ(journal_of(images[3]), "abcdefgh");
  EXPECT_EQ(cuts_of(images[3]), (Cuts{{4, whole}, {5, 0}, {5, 3}, {5, whole}}));

  // An image boots a disk like after_power_cut()'s, as often as asked: what
  // one boot writes, the image and the next boot do not see.
  const auto rebooted = images[3].boot();
  EXPECT_FALSE(rebooted->power_is_cut());
  EXPECT_EQ(rebooted->operations(), 0u);
  EXPECT_EQ(rebooted->exists("state"), 0);
  const int reopened = open_file(*rebooted, "state/journal", false);
  ASSERT_EQ(append(*rebooted, reopened, "!"), 0);
  ASSERT_EQ(rebooted->sync(reopened), 0);
  EXPECT_EQ(text_of(rebooted->after_power_cut()->contents("state/journal")), "abcdefgh!");
  EXPECT_EQ(journal_of(images[3]), "abcdefgh");
}

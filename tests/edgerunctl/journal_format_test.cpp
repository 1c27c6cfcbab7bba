// Unit tests of what `edgerunctl journal` prints: one record as a line and as
// JSON, a scan's summary, damage and torn tail, and the --head check. No
// file: records and scan results are made here.

#include <gtest/gtest.h>

#include <cerrno>
#include <cstring>
#include <string>
#include <string_view>

#include "journal_format.hpp"
#include "json.hpp"
#include "saved_head.hpp"

namespace edgerun::ctl {
namespace {

using journal::Hash;
using journal::RecordKind;
using journal::RecordView;
using journal::ScanOutcome;
using journal::ScanResult;

// 2026-01-02T03:04:05.678Z
constexpr std::int64_t kWallMs = 1767323045678;

Hash hash_of(unsigned char byte) {
  Hash hash;
  hash.fill(std::byte{byte});
  return hash;
}

std::string hex(const Hash& hash) { return journal::to_hex(hash).data(); }

std::span<const std::byte> bytes_of(std::string_view text) {
  return {reinterpret_cast<const std::byte*>(text.data()), text.size()};
}

RecordView record(RecordKind kind, std::uint64_t sequence, std::string_view id, std::string_view data = {}) {
  RecordView view;
  view.kind = kind;
  view.sequence = sequence;
  view.wall_ms = kWallMs;
  view.id = id;
  view.data = bytes_of(data);
  view.hash = hash_of(0x5a);
  return view;
}

constexpr std::string_view kSubmission = R"({"v":1,"id":"job-42","type":"echo","params":{"msg":"hi"}})";
constexpr std::string_view kFailed =
    R"({"v":1,"id":"job-42","state":"failed","error":{"code":"handler_error","message":"boom"}})";

TEST(JournalFormat, AcceptedLineNamesTheJobType) {
  EXPECT_EQ(format_record_line(record(RecordKind::accepted, 2, "job-42", kSubmission)),
            "2 2026-01-02T03:04:05.678Z accepted         job-42 echo");
}

TEST(JournalFormat, EndedLineNamesTheStateAndTheErrorCodeOfAFailure) {
  EXPECT_EQ(format_record_line(record(RecordKind::ended, 7, "job-42", kFailed)),
            "7 2026-01-02T03:04:05.678Z ended            job-42 failed handler_error");
  EXPECT_EQ(record_detail(record(RecordKind::ended, 7, "j", R"({"state":"succeeded","result":{"x":1}})")),
            "succeeded");
  // Only a failure's code: a timeout's says nothing its state does not.
  EXPECT_EQ(record_detail(record(RecordKind::ended, 7, "j", R"({"state":"timed_out","error":{"code":"timeout"}})")),
            "timed_out");
  EXPECT_EQ(record_detail(record(RecordKind::ended, 7, "j", R"({"state":"failed"})")), "failed");
}

TEST(JournalFormat, CheckpointLineNamesWhatItFollows) {
  const auto data = journal::checkpoint_data(41, hash_of(0xab));
  RecordView checkpoint = record(RecordKind::checkpoint, 42, "");
  checkpoint.data = data;
  EXPECT_EQ(format_record_line(checkpoint),
            "42 2026-01-02T03:04:05.678Z checkpoint       - follows 41 abababababababab");
}

TEST(JournalFormat, KindsWithoutDataHaveNoDetail) {
  EXPECT_EQ(format_record_line(record(RecordKind::started, 4, "job-42")),
            "4 2026-01-02T03:04:05.678Z started          job-42");
  EXPECT_EQ(format_record_line(record(RecordKind::cancel_requested, 5, "job-42")),
            "5 2026-01-02T03:04:05.678Z cancel_requested job-42");
  EXPECT_EQ(format_record_line(record(RecordKind::status_acked, 6, "job-42")),
            "6 2026-01-02T03:04:05.678Z status_acked     job-42");
}

TEST(JournalFormat, DataNotAsItsKindHoldsIsShownAsSuch) {
  EXPECT_EQ(record_detail(record(RecordKind::accepted, 2, "j", "nope")), "(not a JSON object: 4 bytes)");
  EXPECT_EQ(record_detail(record(RecordKind::ended, 2, "j", "[1]")), "(not a JSON object: 3 bytes)");
  EXPECT_EQ(record_detail(record(RecordKind::started, 2, "j", "abc")), "(unexpected data: 3 bytes)");
  EXPECT_EQ(record_detail(record(RecordKind::checkpoint, 1, "", "short")), "(a malformed checkpoint: 5 bytes)");
  EXPECT_EQ(record_detail(record(RecordKind::accepted, 2, "j", R"({"v":1})")), "?");
}

TEST(JournalFormat, ALineStaysOneLine) {
  // A record whose hash is good may still come from somewhere else than
  // edgerund: its bytes must not break the line or the terminal.
  EXPECT_EQ(format_record_line(record(RecordKind::accepted, 2, "a b\n\x1b", R"({"type":"x\ny\u001b"})")),
            "2 2026-01-02T03:04:05.678Z accepted         a?b?? x?y?");
}

TEST(JournalFormat, BeforeTheEpochTheTimeIsTheNumber) {
  RecordView early = record(RecordKind::started, 3, "j");
  early.wall_ms = -5;
  EXPECT_EQ(format_record_line(early), "3 -5 started          j");
}

JsonPtr json_of(const RecordView& view) {
  const std::string line = format_record_json(view);
  EXPECT_EQ(line.find('\n'), std::string::npos) << line;
  JsonPtr json = parse_json(line);
  EXPECT_TRUE(json) << line;
  return json;
}

TEST(JournalFormat, JsonOfAnAcceptedRecordHoldsTheSubmission) {
  RecordView accepted = record(RecordKind::accepted, 2, "job-42", kSubmission);
  accepted.flags = 3;
  JsonPtr json = json_of(accepted);
  ASSERT_TRUE(json);
  EXPECT_EQ(json_number(json.get(), "seq"), 2);
  EXPECT_EQ(json_number(json.get(), "ts"), static_cast<double>(kWallMs));
  EXPECT_EQ(json_string(json.get(), "kind"), "accepted");
  EXPECT_EQ(json_string(json.get(), "id"), "job-42");
  EXPECT_EQ(json_number(json.get(), "flags"), 3);
  EXPECT_EQ(json_string(json.get(), "hash"), hex(hash_of(0x5a)));
  EXPECT_EQ(print_compact(json_object(json.get(), "data")), kSubmission);
  EXPECT_EQ(cJSON_GetObjectItemCaseSensitive(json.get(), "data_hex"), nullptr);
}

TEST(JournalFormat, JsonOfAnEndedRecordHoldsTheStatus) {
  JsonPtr json = json_of(record(RecordKind::ended, 7, "job-42", kFailed));
  ASSERT_TRUE(json);
  const cJSON* data = json_object(json.get(), "data");
  EXPECT_EQ(json_string(data, "state"), "failed");
  EXPECT_EQ(json_string(json_object(data, "error"), "code"), "handler_error");
}

TEST(JournalFormat, JsonOfACheckpointHoldsWhatItFollows) {
  const auto data = journal::checkpoint_data(41, hash_of(0xab));
  RecordView checkpoint = record(RecordKind::checkpoint, 42, "");
  checkpoint.data = data;
  JsonPtr json = json_of(checkpoint);
  ASSERT_TRUE(json);
  EXPECT_EQ(json_string(json.get(), "id"), "");
  EXPECT_EQ(json_number(json_object(json.get(), "data"), "seq"), 41);
  EXPECT_EQ(json_string(json_object(json.get(), "data"), "hash"), hex(hash_of(0xab)));
}

TEST(JournalFormat, JsonOfOddDataIsHex) {
  JsonPtr started = json_of(record(RecordKind::started, 4, "job-42"));
  ASSERT_TRUE(started);
  EXPECT_EQ(cJSON_GetObjectItemCaseSensitive(started.get(), "data"), nullptr);
  EXPECT_EQ(cJSON_GetObjectItemCaseSensitive(started.get(), "data_hex"), nullptr);

  JsonPtr not_json = json_of(record(RecordKind::accepted, 2, "j", "nope"));
  ASSERT_TRUE(not_json);
  EXPECT_EQ(cJSON_GetObjectItemCaseSensitive(not_json.get(), "data"), nullptr);
  EXPECT_EQ(json_string(not_json.get(), "data_hex"), "6e6f7065");
}

ScanResult good_scan(std::uint64_t first, std::uint64_t last) {
  ScanResult scan;
  scan.outcome = ScanOutcome::clean;
  scan.version = journal::kFormatVersion;
  scan.records = last - first + 1;
  scan.first_sequence = first;
  scan.first_previous = hash_of(0x11);
  scan.last_sequence = last;
  scan.last_hash = hash_of(0xee);
  return scan;
}

void set_reason(ScanResult& scan, const char* reason) {
  std::snprintf(scan.reason.data(), scan.reason.size(), "%s", reason);
}

TEST(JournalScanText, SummaryNamesCountSequencesAndHead) {
  EXPECT_EQ(format_scan_summary("s/journal", good_scan(1, 11)),
            "s/journal: intact: 11 records, sequence 1..11, head 11:" + hex(hash_of(0xee)));
  EXPECT_EQ(format_scan_summary("s/journal", good_scan(5, 5)),
            "s/journal: intact: 1 record, sequence 5..5, head 5:" + hex(hash_of(0xee)));
  ScanResult header_only;
  header_only.outcome = ScanOutcome::clean;
  EXPECT_EQ(format_scan_summary("s/journal", header_only), "s/journal: intact: 0 records");
}

TEST(JournalScanText, CleanAndTornAreNotDamage) {
  ScanResult torn = good_scan(1, 10);
  torn.outcome = ScanOutcome::torn_tail;
  torn.bad_offset = 900;
  EXPECT_FALSE(scan_found_damage(good_scan(1, 11)));
  EXPECT_FALSE(scan_found_damage(torn));
  EXPECT_EQ(format_scan_damage("s/journal", torn), "");
  EXPECT_EQ(format_torn_note(good_scan(1, 11)), "");
  EXPECT_EQ(format_torn_note(torn),
            "note: a torn last record at offset 900 (a crash during an append; edgerund cuts it off at start)");
}

TEST(JournalScanText, DamageNamesTheRecordAndWhatIsIntact) {
  ScanResult corrupt = good_scan(1, 1);
  corrupt.outcome = ScanOutcome::corrupt;
  corrupt.bad_offset = 143;
  corrupt.bad_sequence = 2;
  set_reason(corrupt, "the record does not match its hash");
  EXPECT_TRUE(scan_found_damage(corrupt));
  EXPECT_EQ(format_scan_damage("s/journal", corrupt),
            "s/journal: damaged: record at offset 143 (sequence 2): the record does not match its hash; "
            "the 1 record before it is intact");

  corrupt = good_scan(1, 6);
  corrupt.outcome = ScanOutcome::corrupt;
  corrupt.bad_offset = 700;
  corrupt.bad_sequence = 7;
  set_reason(corrupt, "a sequence number out of order");
  EXPECT_EQ(format_scan_damage("s/journal", corrupt),
            "s/journal: damaged: record at offset 700 (sequence 7): a sequence number out of order; "
            "the 6 records before it are intact");
}

TEST(JournalScanText, DamageOfTheFirstRecord) {
  ScanResult corrupt;
  corrupt.outcome = ScanOutcome::corrupt;
  corrupt.bad_offset = journal::kFileHeaderBytes;
  set_reason(corrupt, "the file does not start with a checkpoint");
  EXPECT_EQ(format_scan_damage("s/journal", corrupt),
            "s/journal: damaged: record at offset 16 (the file's first): the file does not start with a checkpoint; "
            "there is no record before it");
}

TEST(JournalScanText, UnreadableEmptyAndReadErrors) {
  ScanResult unreadable;
  unreadable.outcome = ScanOutcome::unreadable;
  unreadable.version = 9;
  set_reason(unreadable, "a format version this program does not read");
  EXPECT_EQ(format_scan_damage("s/journal", unreadable),
            "s/journal: damaged: a format version this program does not read (format version 9)");

  ScanResult empty;
  empty.outcome = ScanOutcome::empty;
  empty.file_bytes = 7;
  EXPECT_TRUE(scan_found_damage(empty));
  EXPECT_EQ(format_scan_damage("s/journal", empty), "s/journal: damaged: 7 bytes, not even a whole file header");

  ScanResult open_failed;
  open_failed.outcome = ScanOutcome::read_error;
  open_failed.error = EACCES;
  EXPECT_EQ(format_scan_damage("s/journal", open_failed),
            std::string("s/journal: cannot be read: ") + std::strerror(EACCES));

  ScanResult mid_file = good_scan(1, 3);
  mid_file.outcome = ScanOutcome::read_error;
  mid_file.error = EIO;
  mid_file.bad_offset = 400;
  mid_file.bad_sequence = 4;
  EXPECT_EQ(format_scan_damage("s/journal", mid_file), "s/journal: cannot be read: record at offset 400 (sequence 4): " +
                                                            std::string(std::strerror(EIO)) +
                                                            "; the 3 records before it are intact");
}

SavedHead saved(std::uint64_t sequence, const Hash& hash) { return {sequence, hex(hash)}; }

// Feeds the check the records first..last of good_scan(), record n with
// hash_of(n).
HeadCheckResult check(const SavedHead& head, const ScanResult& scan) {
  SavedHeadCheck checker(head);
  for (std::uint64_t n = scan.first_sequence; n <= scan.last_sequence && scan.records > 0; ++n) {
    RecordView view = record(RecordKind::started, n, "j");
    view.hash = hash_of(static_cast<unsigned char>(n));
    checker.observe(view);
  }
  return checker.finish(scan);
}

TEST(SavedHead, HoldsWhenTheRecordHasTheSavedHash) {
  HeadCheckResult result = check(saved(5, hash_of(5)), good_scan(1, 11));
  EXPECT_EQ(result.verdict, HeadVerdict::holds);
  EXPECT_EQ(result.message, "");
  EXPECT_FALSE(head_lost(result.verdict));
}

TEST(SavedHead, AnotherHashIsARewrite) {
  HeadCheckResult result = check(saved(5, hash_of(0x77)), good_scan(1, 11));
  EXPECT_EQ(result.verdict, HeadVerdict::rewritten);
  EXPECT_TRUE(head_lost(result.verdict));
  EXPECT_EQ(result.message, "the record with sequence 5 has hash " + hex(hash_of(5)) + ", not the saved " +
                                hex(hash_of(0x77)) + ": the history was rewritten");
}

TEST(SavedHead, AJournalEndingBeforeItWasCut) {
  HeadCheckResult result = check(saved(12, hash_of(12)), good_scan(1, 11));
  EXPECT_EQ(result.verdict, HeadVerdict::cut);
  EXPECT_EQ(result.message, "the journal ends at sequence 11, before the saved head 12: it was cut");
}

TEST(SavedHead, PastDamageItCannotBeChecked) {
  ScanResult corrupt = good_scan(1, 6);
  corrupt.outcome = ScanOutcome::corrupt;
  HeadCheckResult result = check(saved(9, hash_of(9)), corrupt);
  EXPECT_EQ(result.verdict, HeadVerdict::unchecked);
  EXPECT_EQ(result.message, "the saved head 9 lies past the damage: it cannot be checked");
}

TEST(SavedHead, CompactedAwayItIsCheckedAgainstTheCheckpointThatFollowsIt) {
  // The file starts at 101 with a checkpoint naming 100 and hash_of(0x11).
  HeadCheckResult holds = check(saved(100, hash_of(0x11)), good_scan(101, 120));
  EXPECT_EQ(holds.verdict, HeadVerdict::holds);
  EXPECT_EQ(holds.message,
            "the record with sequence 100 was compacted away; the checkpoint the file starts with follows it with "
            "the saved hash");

  HeadCheckResult rewritten = check(saved(100, hash_of(0x22)), good_scan(101, 120));
  EXPECT_EQ(rewritten.verdict, HeadVerdict::rewritten);
  EXPECT_EQ(rewritten.message, "the checkpoint the file starts with follows sequence 100, which has hash " +
                                   hex(hash_of(0x11)) + ", not the saved " + hex(hash_of(0x22)) +
                                   ": the history was rewritten");
}

TEST(SavedHead, CompactedFurtherBackItCannotBeChecked) {
  HeadCheckResult result = check(saved(50, hash_of(50)), good_scan(101, 120));
  EXPECT_EQ(result.verdict, HeadVerdict::unchecked);
  EXPECT_FALSE(head_lost(result.verdict));
  EXPECT_EQ(result.message,
            "the record with sequence 50 was compacted away (the file starts at sequence 101, after 100): the saved "
            "head cannot be checked");
}

}  // namespace
}  // namespace edgerun::ctl

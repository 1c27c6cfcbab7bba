// Integration tests of `edgerunctl journal`: the real binary on journals the
// real JournalWriter wrote in a fresh directory, then damaged the way a disk,
// a crash or someone rewriting history would.

#include <cjson/cJSON.h>
#include <gtest/gtest.h>

#include <stdlib.h>

#include <cerrno>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <memory>
#include <regex>
#include <string>
#include <vector>

#include "child_process.hpp"
#include "edgerun/journal_reader.hpp"
#include "edgerun/journal_record.hpp"
#include "edgerun/journal_writer.hpp"
#include "edgerun/port/file.hpp"

#ifndef EDGERUNCTL_PATH
#error "EDGERUNCTL_PATH must name the edgerunctl binary"
#endif

namespace edgerun::test {
namespace {

using namespace std::chrono_literals;
using journal::Hash;
using journal::RecordKind;

constexpr int kDamaged = 6;

struct JsonDeleter {
  void operator()(cJSON* j) const { cJSON_Delete(j); }
};
using Json = std::unique_ptr<cJSON, JsonDeleter>;

const cJSON* member(const cJSON* object, const char* key) { return cJSON_GetObjectItemCaseSensitive(object, key); }

std::string string_of(const cJSON* object, const char* key) {
  const cJSON* item = member(object, key);
  return cJSON_IsString(item) ? item->valuestring : "(not a string)";
}

std::string hex(const Hash& hash) { return journal::to_hex(hash).data(); }

std::vector<std::string> lines_of(const std::string& text) {
  std::vector<std::string> lines;
  std::size_t start = 0;
  while (start < text.size()) {
    std::size_t end = text.find('\n', start);
    if (end == std::string::npos) end = text.size();
    lines.push_back(text.substr(start, end - start));
    start = end + 1;
  }
  return lines;
}

std::string describe(const ProcessResult& r) {
  return "exit " + std::to_string(r.exit_code) + (r.timed_out ? " (timed out)" : "") + "\n--- stdout ---\n" +
         r.out + "--- stderr ---\n" + r.err;
}

std::span<const std::byte> bytes_of(std::string_view text) {
  return {reinterpret_cast<const std::byte*>(text.data()), text.size()};
}

std::string read_file(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  return {std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
}

void write_file(const std::string& path, const std::string& bytes) {
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  out.write(bytes.data(), static_cast<std::streamsize>(bytes.size()));
  ASSERT_TRUE(out.good()) << path;
}

// A record as the reader handed it out: where it lies and its hash.
struct WrittenRecord {
  RecordKind kind;
  std::uint64_t sequence;
  std::string id;
  std::uint64_t offset;
  std::uint32_t length;
  Hash hash;
};

struct Entry {
  RecordKind kind;
  std::string id;
  std::string data;
};

// Three jobs as edgerund journals them: job-1 succeeds (and the broker takes
// its status), job-2 fails, job-3 is canceled. With the checkpoint that
// starts the file, 11 records.
const std::vector<Entry> kJobs = {
    {RecordKind::accepted, "job-1", R"({"v":1,"id":"job-1","type":"echo","params":{"msg":"hi"}})"},
    {RecordKind::accepted, "job-2", R"({"v":1,"id":"job-2","type":"exec","params":{"argv":["false"]}})"},
    {RecordKind::started, "job-1", ""},
    {RecordKind::ended, "job-1",
     R"({"v":1,"id":"job-1","device":"gw-01","state":"succeeded","ts":1795315351123,"result":{"msg":"hi"}})"},
    {RecordKind::started, "job-2", ""},
    {RecordKind::ended, "job-2",
     R"({"v":1,"id":"job-2","device":"gw-01","state":"failed","ts":1795315351124,)"
     R"("error":{"code":"exit_status","message":"exited with 1","exit_code":1}})"},
    {RecordKind::accepted, "job-3", R"({"v":1,"id":"job-3","type":"sleep","params":{"ms":60000}})"},
    {RecordKind::cancel_requested, "job-3", ""},
    {RecordKind::ended, "job-3", R"({"v":1,"id":"job-3","device":"gw-01","state":"canceled","ts":1795315351125})"},
    {RecordKind::status_acked, "job-1", ""},
};

class EdgerunctlJournalTest : public ::testing::Test {
 protected:
  void SetUp() override {
    std::string pattern = (std::filesystem::temp_directory_path() / "edgerunctl-journal-XXXXXX").string();
    ASSERT_NE(::mkdtemp(pattern.data()), nullptr) << std::strerror(errno);
    dir_ = pattern;
  }

  void TearDown() override {
    std::error_code ignored;
    std::filesystem::remove_all(dir_, ignored);
  }

  static std::string journal_in(const std::string& dir) { return dir + "/journal"; }
  std::string journal_path() const { return journal_in(dir_); }

  // A new journal in `dir` holding `entries` after its checkpoint, or, with
  // `follows`, a file that starts after that chain head (a compaction).
  static void write_journal(const std::string& dir, const std::vector<Entry>& entries,
                            const journal::JournalWriter::Head* follows = nullptr) {
    port::FileSystem& files = port::system_file_system();
    const std::string path = journal_in(dir);
    journal::JournalWriter writer(files, path, journal::WriterOptions{journal::SyncMode::none, 10, 64 * 1024});
    const edgerun::Status opened = follows ? writer.open_new(follows->sequence, follows->hash)
                                           : writer.open(journal::scan_journal(files, path.c_str(), {}));
    ASSERT_TRUE(opened) << opened.message();
    for (const Entry& entry : entries) {
      int error = 0;
      ASSERT_NE(writer.append(entry.kind, 0, entry.id, bytes_of(entry.data), error), 0u) << std::strerror(error);
    }
    writer.close();
  }

  // The records of the journal in `dir`, which must be clean.
  static std::vector<WrittenRecord> read_records(const std::string& dir) {
    std::vector<WrittenRecord> records;
    const journal::ScanResult scan =
        journal::scan_journal(port::system_file_system(), journal_in(dir).c_str(), [&](const journal::RecordView& r) {
          records.push_back({r.kind, r.sequence, std::string(r.id), r.offset, r.length, r.hash});
          return true;
        });
    EXPECT_EQ(scan.outcome, journal::ScanOutcome::clean) << journal::to_string(scan.outcome);
    return records;
  }

  // Writes the three jobs into this test's directory and reads them back.
  void write_jobs() {
    ASSERT_NO_FATAL_FAILURE(write_journal(dir_, kJobs));
    records_ = read_records(dir_);
    ASSERT_EQ(records_.size(), kJobs.size() + 1);
  }

  const WrittenRecord& record(std::uint64_t sequence) const { return records_.at(sequence - 1); }

  static ProcessResult ctl(const std::vector<std::string>& args) {
    SpawnOptions options;
    options.unset_env = {"EDGERUN_MQTT_URL", "EDGERUN_MQTT_USERNAME", "EDGERUN_MQTT_PASSWORD"};
    return run_process(EDGERUNCTL_PATH, args, options, 20s);
  }

  std::string head_arg(std::uint64_t sequence, const Hash& hash) const {
    return std::to_string(sequence) + ":" + hex(hash);
  }

  std::string dir_;
  std::vector<WrittenRecord> records_;
};

TEST_F(EdgerunctlJournalTest, VerifyNamesTheRecordCountAndTheHead) {
  ASSERT_NO_FATAL_FAILURE(write_jobs());
  ProcessResult r = ctl({"journal", "verify", dir_});
  EXPECT_EQ(r.exit_code, 0) << describe(r);
  EXPECT_EQ(r.out, journal_path() + ": intact: 11 records, sequence 1..11, head 11:" + hex(record(11).hash) + "\n")
      << describe(r);
  EXPECT_EQ(r.err, "") << describe(r);
}

TEST_F(EdgerunctlJournalTest, AFlippedByteIsDamageAtItsRecord) {
  ASSERT_NO_FATAL_FAILURE(write_jobs());
  // A byte inside the data of record 2 (job-1's submission): its hash no
  // longer matches, and records follow it, so it is no torn tail.
  const WrittenRecord& second = record(2);
  std::string bytes = read_file(journal_path());
  const std::size_t in_data = second.offset + journal::kRecordHeaderBytes + second.id.size() + 5;
  ASSERT_LT(in_data, second.offset + second.length - journal::kHashBytes);
  bytes[in_data] = static_cast<char>(bytes[in_data] ^ 0x01);
  ASSERT_NO_FATAL_FAILURE(write_file(journal_path(), bytes));

  const std::string damage = journal_path() + ": damaged: record at offset " + std::to_string(second.offset) +
                             " (sequence 2): the record does not match its hash; the 1 record before it is intact\n";
  ProcessResult verify = ctl({"journal", "verify", dir_});
  EXPECT_EQ(verify.exit_code, kDamaged) << describe(verify);
  EXPECT_EQ(verify.out, "") << describe(verify);
  EXPECT_EQ(verify.err, damage) << describe(verify);

  // show prints the good records before it, then the same damage.
  ProcessResult show = ctl({"journal", "show", dir_});
  EXPECT_EQ(show.exit_code, kDamaged) << describe(show);
  EXPECT_EQ(lines_of(show.out).size(), 1u) << describe(show);
  EXPECT_EQ(show.err, damage) << describe(show);
}

TEST_F(EdgerunctlJournalTest, ACutLastRecordIsTornNotDamage) {
  ASSERT_NO_FATAL_FAILURE(write_jobs());
  const auto size = std::filesystem::file_size(journal_path());
  std::filesystem::resize_file(journal_path(), size - 10);

  const std::string note = "note: a torn last record at offset " + std::to_string(record(11).offset) +
                           " (a crash during an append; edgerund cuts it off at start)\n";
  ProcessResult verify = ctl({"journal", "verify", dir_});
  EXPECT_EQ(verify.exit_code, 0) << describe(verify);
  EXPECT_EQ(verify.out, journal_path() + ": intact: 10 records, sequence 1..10, head 10:" + hex(record(10).hash) +
                            "\n")
      << describe(verify);
  EXPECT_EQ(verify.err, note) << describe(verify);

  ProcessResult show = ctl({"journal", "show", dir_});
  EXPECT_EQ(show.exit_code, 0) << describe(show);
  EXPECT_EQ(lines_of(show.out).size(), 10u) << describe(show);
  EXPECT_EQ(show.err, note) << describe(show);

  // Reading is all it does: cutting the torn record off is edgerund's.
  EXPECT_EQ(std::filesystem::file_size(journal_path()), size - 10);
}

TEST_F(EdgerunctlJournalTest, ASavedHeadHoldsWhileTheHistoryIsUnchanged) {
  ASSERT_NO_FATAL_FAILURE(write_jobs());
  for (std::uint64_t sequence : {1u, 5u, 11u}) {
    ProcessResult r = ctl({"journal", "verify", dir_, "--head", head_arg(sequence, record(sequence).hash)});
    EXPECT_EQ(r.exit_code, 0) << describe(r);
    EXPECT_EQ(r.err, "") << describe(r);
  }
}

TEST_F(EdgerunctlJournalTest, ASavedHeadWithAnotherHashIsARewrite) {
  ASSERT_NO_FATAL_FAILURE(write_jobs());
  Hash other = record(5).hash;
  other[0] ^= std::byte{0xff};
  ProcessResult r = ctl({"journal", "verify", dir_, "--head", head_arg(5, other)});
  EXPECT_EQ(r.exit_code, kDamaged) << describe(r);
  EXPECT_EQ(r.err, journal_path() + ": the record with sequence 5 has hash " + hex(record(5).hash) +
                       ", not the saved " + hex(other) + ": the history was rewritten\n")
      << describe(r);
}

TEST_F(EdgerunctlJournalTest, ASavedHeadPastTheEndShowsACut) {
  ASSERT_NO_FATAL_FAILURE(write_jobs());
  // The last record removed whole: the chain is good, but the auditor saw
  // record 11.
  std::filesystem::resize_file(journal_path(), record(11).offset);
  ProcessResult r = ctl({"journal", "verify", dir_, "--head", head_arg(11, record(11).hash)});
  EXPECT_EQ(r.exit_code, kDamaged) << describe(r);
  EXPECT_NE(r.out.find("intact: 10 records"), std::string::npos) << describe(r);
  EXPECT_EQ(r.err, journal_path() + ": the journal ends at sequence 10, before the saved head 11: it was cut\n")
      << describe(r);
}

TEST_F(EdgerunctlJournalTest, AfterACompactionTheCheckpointVouchesForTheHeadItFollows) {
  ASSERT_NO_FATAL_FAILURE(write_jobs());
  // A compaction: a new file whose checkpoint follows record 11.
  const std::string compacted = dir_ + "/compacted";
  ASSERT_TRUE(std::filesystem::create_directory(compacted));
  const journal::JournalWriter::Head head{11, record(11).hash};
  ASSERT_NO_FATAL_FAILURE(write_journal(compacted, {kJobs[0], kJobs[2]}, &head));

  ProcessResult holds = ctl({"journal", "verify", compacted, "--head", head_arg(11, record(11).hash)});
  EXPECT_EQ(holds.exit_code, 0) << describe(holds);
  EXPECT_NE(holds.out.find("intact: 3 records, sequence 12..14"), std::string::npos) << describe(holds);
  EXPECT_NE(holds.err.find("note: the record with sequence 11 was compacted away; the checkpoint"), std::string::npos)
      << describe(holds);

  ProcessResult rewritten = ctl({"journal", "verify", compacted, "--head", head_arg(11, record(10).hash)});
  EXPECT_EQ(rewritten.exit_code, kDamaged) << describe(rewritten);
  EXPECT_NE(rewritten.err.find("the history was rewritten"), std::string::npos) << describe(rewritten);

  // Further back, nothing in the file names it: said, not failed.
  ProcessResult unchecked = ctl({"journal", "verify", compacted, "--head", head_arg(5, record(5).hash)});
  EXPECT_EQ(unchecked.exit_code, 0) << describe(unchecked);
  EXPECT_NE(unchecked.err.find("compacted away (the file starts at sequence 12, after 11): the saved head cannot be "
                               "checked"),
            std::string::npos)
      << describe(unchecked);
}

TEST_F(EdgerunctlJournalTest, ShowJsonOfOneJobHasItsRecordsWithTheParsedStatus) {
  ASSERT_NO_FATAL_FAILURE(write_jobs());
  ProcessResult r = ctl({"journal", "show", dir_, "--json", "--job", "job-2"});
  ASSERT_EQ(r.exit_code, 0) << describe(r);
  EXPECT_EQ(r.err, "") << describe(r);
  const std::vector<std::string> lines = lines_of(r.out);
  ASSERT_EQ(lines.size(), 3u) << describe(r);

  const std::uint64_t sequences[] = {3, 6, 7};
  const char* kinds[] = {"accepted", "started", "ended"};
  for (std::size_t i = 0; i < lines.size(); ++i) {
    Json json(cJSON_Parse(lines[i].c_str()));
    ASSERT_TRUE(json) << lines[i];
    EXPECT_EQ(member(json.get(), "seq")->valuedouble, static_cast<double>(sequences[i])) << lines[i];
    EXPECT_TRUE(cJSON_IsNumber(member(json.get(), "ts"))) << lines[i];
    EXPECT_EQ(string_of(json.get(), "kind"), kinds[i]) << lines[i];
    EXPECT_EQ(string_of(json.get(), "id"), "job-2") << lines[i];
    EXPECT_EQ(member(json.get(), "flags")->valuedouble, 0) << lines[i];
    EXPECT_EQ(string_of(json.get(), "hash"), hex(record(sequences[i]).hash)) << lines[i];
  }
  Json accepted(cJSON_Parse(lines[0].c_str()));
  EXPECT_EQ(string_of(member(accepted.get(), "data"), "type"), "exec");
  Json started(cJSON_Parse(lines[1].c_str()));
  EXPECT_EQ(member(started.get(), "data"), nullptr);
  Json ended(cJSON_Parse(lines[2].c_str()));
  const cJSON* status = member(ended.get(), "data");
  EXPECT_EQ(string_of(status, "state"), "failed");
  EXPECT_EQ(string_of(member(status, "error"), "code"), "exit_status");
  EXPECT_EQ(member(member(status, "error"), "exit_code")->valuedouble, 1);
}

TEST_F(EdgerunctlJournalTest, ShowPrintsOneLinePerRecord) {
  ASSERT_NO_FATAL_FAILURE(write_jobs());
  ProcessResult r = ctl({"journal", "show", dir_});
  ASSERT_EQ(r.exit_code, 0) << describe(r);
  EXPECT_EQ(r.err, "") << describe(r);
  const std::vector<std::string> lines = lines_of(r.out);
  ASSERT_EQ(lines.size(), 11u) << describe(r);
  const std::string time = R"(\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z)";
  const std::string expected[] = {
      "1 " + time + " checkpoint +- follows 0 0000000000000000",
      "2 " + time + " accepted +job-1 echo",
      "3 " + time + " accepted +job-2 exec",
      "4 " + time + " started +job-1",
      "5 " + time + " ended +job-1 succeeded",
      "6 " + time + " started +job-2",
      "7 " + time + " ended +job-2 failed exit_status",
      "8 " + time + " accepted +job-3 sleep",
      "9 " + time + " cancel_requested job-3",
      "10 " + time + " ended +job-3 canceled",
      "11 " + time + " status_acked +job-1",
  };
  for (std::size_t i = 0; i < lines.size(); ++i) {
    EXPECT_TRUE(std::regex_match(lines[i], std::regex(expected[i]))) << lines[i] << "\n  !~ " << expected[i];
  }
}

TEST_F(EdgerunctlJournalTest, ShowOfAJobWithoutRecordsSaysSo) {
  ASSERT_NO_FATAL_FAILURE(write_jobs());
  ProcessResult r = ctl({"journal", "show", dir_, "--job", "job-9"});
  EXPECT_EQ(r.exit_code, 0) << describe(r);
  EXPECT_EQ(r.out, "") << describe(r);
  EXPECT_EQ(r.err, "edgerunctl: no record of job job-9 in " + journal_path() + "\n") << describe(r);
}

TEST_F(EdgerunctlJournalTest, NoJournalIsAnError) {
  for (const char* action : {"verify", "show"}) {
    ProcessResult r = ctl({"journal", action, dir_});
    EXPECT_EQ(r.exit_code, kDamaged) << describe(r);
    EXPECT_EQ(r.out, "") << describe(r);
    EXPECT_NE(r.err.find("no journal in " + dir_), std::string::npos) << describe(r);
  }
}

TEST_F(EdgerunctlJournalTest, AFileThatIsNoJournalIsAnError) {
  ASSERT_NO_FATAL_FAILURE(write_file(journal_path(), "not a journal at all, but long enough"));
  ProcessResult r = ctl({"journal", "verify", dir_});
  EXPECT_EQ(r.exit_code, kDamaged) << describe(r);
  EXPECT_EQ(r.err, journal_path() + ": damaged: not an edgerun journal\n") << describe(r);
}

TEST_F(EdgerunctlJournalTest, ReadsAJournalItMayNotWrite) {
  ASSERT_NO_FATAL_FAILURE(write_jobs());
  // A copy on read-only media, or an auditor with read access only. (Run as
  // root, the modes stop nobody; the file's bytes are compared either way.)
  const std::string before = read_file(journal_path());
  std::filesystem::permissions(journal_path(), std::filesystem::perms::owner_read);
  ProcessResult r = ctl({"journal", "verify", dir_});
  EXPECT_EQ(r.exit_code, 0) << describe(r);
  EXPECT_EQ(read_file(journal_path()), before);
}

}  // namespace
}  // namespace edgerun::test

// Unit tests of the log ring (level filter, records, overwrite-oldest with
// exact drop counting, concurrent writers against a draining loop) and of the
// stderr sink's journald line format.

#include "edgerun/log_ring.hpp"

#include <gtest/gtest.h>
#include <unistd.h>

#include <atomic>
#include <charconv>
#include <cstdint>
#include <cstdio>
#include <string>
#include <string_view>
#include <thread>
#include <utility>
#include <vector>

#include "edgerun/log_level.hpp"
#include "edgerun/port/clock.hpp"
#include "edgerun/stderr_log_sink.hpp"

namespace {

using namespace edgerun;

struct Copy {
  std::int64_t ts_ms;
  LogLevel level;
  bool truncated;
  std::string message;
  std::vector<std::pair<std::string, std::string>> fields;
};

Copy copy_of(const LogRecord& record) {
  Copy c{record.ts_ms, record.level, record.truncated, std::string(record.message()), {}};
  for (std::size_t i = 0; i < record.field_count(); ++i) {
    const LogField f = record.field(i);
    c.fields.emplace_back(std::string(f.key), std::string(f.value));
  }
  return c;
}

class CollectingSink final : public LogSink {
 public:
  void write(const LogRecord& record) noexcept override { records.push_back(copy_of(record)); }
  std::vector<std::string> messages() const {
    std::vector<std::string> out;
    for (const Copy& c : records) out.push_back(c.message);
    return out;
  }
  std::vector<Copy> records;
};

std::vector<std::string> numbered(const char* prefix, int from, int to) {
  std::vector<std::string> out;
  for (int i = from; i < to; ++i) out.push_back(std::string(prefix).append(std::to_string(i)));
  return out;
}

TEST(LogRing, RecordsBelowTheLevelAreNotStored) {
  LogRing ring(16, LogLevel::warn);
  EXPECT_EQ(ring.level(), LogLevel::warn);
  EXPECT_FALSE(ring.enabled(LogLevel::info));
  EXPECT_TRUE(ring.enabled(LogLevel::warn));
  EXPECT_TRUE(ring.enabled(LogLevel::error));
  ring.write(LogLevel::trace, "t");
  ring.write(LogLevel::debug, "d");
  ring.write(LogLevel::info, "i");
  ring.write(LogLevel::warn, "w");
  ring.write(LogLevel::error, "e");
  EXPECT_EQ(ring.written_total(), 2u);
  EXPECT_EQ(ring.pending(), 2u);
  CollectingSink sink;
  EXPECT_EQ(ring.drain(sink), 2u);
  ASSERT_EQ(sink.records.size(), 2u);
  EXPECT_EQ(sink.records[0].message, "w");
  EXPECT_EQ(sink.records[0].level, LogLevel::warn);
  EXPECT_EQ(sink.records[1].message, "e");
  EXPECT_EQ(sink.records[1].level, LogLevel::error);
}

TEST(LogRing, LevelChangesAtRunTime) {
  LogRing ring(16, LogLevel::info);
  ring.write(LogLevel::debug, "before");
  ring.set_level(LogLevel::debug);
  EXPECT_EQ(ring.level(), LogLevel::debug);
  ring.write(LogLevel::debug, "after");
  ring.set_level(LogLevel::error);
  ring.write(LogLevel::warn, "filtered");
  ring.write(LogLevel::error, "kept");
  CollectingSink sink;
  ring.drain(sink);
  EXPECT_EQ(sink.messages(), (std::vector<std::string>{"after", "kept"}));
}

TEST(LogRing, DrainDeliversInOrderOnce) {
  LogRing ring(16, LogLevel::trace);
  const std::int64_t before = port::wall_ms();
  for (const std::string& m : numbered("m", 0, 5)) ring.write(LogLevel::info, m);
  const std::int64_t after = port::wall_ms();
  EXPECT_EQ(ring.pending(), 5u);
  CollectingSink sink;
  EXPECT_EQ(ring.drain(sink), 5u);
  EXPECT_EQ(sink.messages(), numbered("m", 0, 5));
  for (const Copy& c : sink.records) {
    EXPECT_GE(c.ts_ms, before);
    EXPECT_LE(c.ts_ms, after);
    EXPECT_FALSE(c.truncated);
  }
  EXPECT_EQ(ring.pending(), 0u);
  EXPECT_EQ(ring.drain(sink), 0u);
  EXPECT_EQ(sink.records.size(), 5u);
  ring.write(LogLevel::info, "later");
  EXPECT_EQ(ring.drain(sink), 1u);
  EXPECT_EQ(sink.records.back().message, "later");
  EXPECT_EQ(ring.dropped_total(), 0u);
  EXPECT_EQ(ring.written_total(), 6u);
}

TEST(LogRing, FieldsRoundTrip) {
  LogRing ring(4, LogLevel::trace);
  ring.write(LogLevel::warn, "job finished",
             {{"id", "job-42"}, {"type", "echo"}, {"ms", "17"}, {"state", "ok"}, {"worker", "3"}, {"empty", ""}});
  CollectingSink sink;
  ASSERT_EQ(ring.drain(sink), 1u);
  const Copy& c = sink.records[0];
  EXPECT_EQ(c.message, "job finished");
  EXPECT_FALSE(c.truncated);
  const std::vector<std::pair<std::string, std::string>> expected{
      {"id", "job-42"}, {"type", "echo"}, {"ms", "17"}, {"state", "ok"}, {"worker", "3"}, {"empty", ""}};
  EXPECT_EQ(c.fields, expected);
}

TEST(LogRing, SeventhFieldIsCutAndSaysSo) {
  LogRecord record;
  record.assign("m", {{"a", "1"}, {"b", "2"}, {"c", "3"}, {"d", "4"}, {"e", "5"}, {"f", "6"}, {"g", "7"}});
  EXPECT_EQ(record.field_count(), LogRecord::kMaxFields);
  EXPECT_TRUE(record.truncated);
  EXPECT_EQ(record.field(5).key, "f");
  EXPECT_EQ(record.field(5).value, "6");
  EXPECT_TRUE(record.field(6).key.empty()) << "a field beyond the count is empty";
  EXPECT_TRUE(record.field(6).value.empty());
}

TEST(LogRing, LongMessageIsCutAndSaysSo) {
  const std::string message(300, 'x');
  LogRecord record;
  record.assign(message, {{"k", "v"}});
  EXPECT_TRUE(record.truncated);
  EXPECT_FALSE(record.message().empty());
  EXPECT_LE(record.message().size(), LogRecord::kTextBytes);
  EXPECT_EQ(record.message(), std::string_view(message).substr(0, record.message().size()));
}

TEST(LogRing, LongFieldIsCutAndEarlierTextIsIntact) {
  const std::string message(150, 'm');
  const std::string value(200, 'v');
  LogRecord record;
  record.assign(message, {{"first", "1"}, {"big", value}});
  EXPECT_TRUE(record.truncated);
  EXPECT_EQ(record.message(), message);
  ASSERT_GE(record.field_count(), 1u);
  EXPECT_EQ(record.field(0).key, "first");
  EXPECT_EQ(record.field(0).value, "1");
  if (record.field_count() == 2) {
    EXPECT_EQ(record.field(1).key, "big");
    EXPECT_LT(record.field(1).value.size(), value.size());
    EXPECT_EQ(record.field(1).value, std::string_view(value).substr(0, record.field(1).value.size()));
  }
}

TEST(LogRing, ReassignClearsTheTruncatedFlag) {
  LogRecord record;
  record.assign(std::string(300, 'x'), {});
  ASSERT_TRUE(record.truncated);
  record.assign("short", {{"k", "v"}});
  EXPECT_FALSE(record.truncated);
  EXPECT_EQ(record.message(), "short");
  EXPECT_EQ(record.field_count(), 1u);
}

TEST(LogRing, OverflowOverwritesTheOldestAndCountsExactly) {
  LogRing ring(8, LogLevel::trace);
  for (const std::string& m : numbered("m", 0, 20)) ring.write(LogLevel::info, m);
  EXPECT_EQ(ring.written_total(), 20u);
  EXPECT_EQ(ring.dropped_total(), 12u);
  EXPECT_EQ(ring.pending(), 8u);
  CollectingSink sink;
  EXPECT_EQ(ring.drain(sink), 8u);
  EXPECT_EQ(sink.messages(), numbered("m", 12, 20));
  EXPECT_EQ(ring.dropped_total(), 12u);
  EXPECT_EQ(ring.pending(), 0u);
}

TEST(LogRing, OverflowAfterADrainCountsOnlyUndrainedRecords) {
  LogRing ring(8, LogLevel::trace);
  CollectingSink sink;
  for (const std::string& m : numbered("m", 0, 5)) ring.write(LogLevel::info, m);
  EXPECT_EQ(ring.drain(sink), 5u);
  for (const std::string& m : numbered("m", 5, 15)) ring.write(LogLevel::info, m);
  EXPECT_EQ(ring.dropped_total(), 2u);
  sink.records.clear();
  EXPECT_EQ(ring.drain(sink), 8u);
  EXPECT_EQ(sink.messages(), numbered("m", 7, 15));
}

TEST(LogRing, RingOfExactlyCapacityDropsNothing) {
  LogRing ring(8, LogLevel::trace);
  for (const std::string& m : numbered("m", 0, 8)) ring.write(LogLevel::info, m);
  EXPECT_EQ(ring.dropped_total(), 0u);
  CollectingSink sink;
  EXPECT_EQ(ring.drain(sink), 8u);
  EXPECT_EQ(sink.messages(), numbered("m", 0, 8));
}

// Four writers and a draining loop. Each record carries its writer and
// sequence both in the message and in fields, so a torn record shows.
class CheckingSink final : public LogSink {
 public:
  static constexpr int kWriters = 4;

  void write(const LogRecord& record) noexcept override {
    ++delivered;
    if (record.field_count() != 2 || record.field(0).key != "w" || record.field(1).key != "s") {
      ++torn;
      return;
    }
    int writer = -1;
    long long seq = -1;
    const std::string_view w = record.field(0).value;
    const std::string_view s = record.field(1).value;
    std::from_chars(w.data(), w.data() + w.size(), writer);
    std::from_chars(s.data(), s.data() + s.size(), seq);
    char expected[64];
    const int n = std::snprintf(expected, sizeof expected, "writer %d record %lld", writer, seq);
    if (writer < 0 || writer >= kWriters || seq < 0 || record.truncated || record.level != LogLevel::info ||
        record.message() != std::string_view(expected, static_cast<std::size_t>(n))) {
      ++torn;
      return;
    }
    if (seq <= last[writer]) ++out_of_order;
    last[writer] = seq;
  }

  std::uint64_t delivered = 0;
  std::uint64_t torn = 0;
  std::uint64_t out_of_order = 0;
  long long last[kWriters] = {-1, -1, -1, -1};
};

struct ConcurrentRun {
  std::uint64_t written;
  std::uint64_t written_total;
  std::uint64_t dropped_total;
  std::uint64_t pending;
  CheckingSink sink;
};

// 4 writers x 10k records into a ring of 1024 while one thread drains
// continuously; a final drain after the writers are done. Bounded: the drain
// loop ends once every writer has finished its fixed number of records.
ConcurrentRun run_concurrent_writers() {
  constexpr int kPerWriter = 10'000;
  LogRing ring(1024, LogLevel::info);
  ConcurrentRun run{};
  std::atomic<int> writers_done{0};
  std::atomic<bool> go{false};

  std::thread drainer([&] {
    while (writers_done.load(std::memory_order_acquire) < CheckingSink::kWriters) {
      ring.drain(run.sink);
      std::this_thread::yield();
    }
    ring.drain(run.sink);
  });
  std::vector<std::thread> writers;
  for (int w = 0; w < CheckingSink::kWriters; ++w) {
    writers.emplace_back([&, w] {
      while (!go.load(std::memory_order_acquire)) std::this_thread::yield();
      const std::string writer = std::to_string(w);
      for (int s = 0; s < kPerWriter; ++s) {
        const std::string seq = std::to_string(s);
        const std::string message = "writer " + writer + " record " + seq;
        ring.write(LogLevel::info, message, {{"w", writer}, {"s", seq}});
        if (s % 64 == 0) ring.write(LogLevel::debug, "filtered");
      }
      writers_done.fetch_add(1, std::memory_order_release);
    });
  }
  go.store(true, std::memory_order_release);
  for (std::thread& t : writers) t.join();
  drainer.join();
  run.written = std::uint64_t{CheckingSink::kWriters} * kPerWriter;
  run.written_total = ring.written_total();
  run.dropped_total = ring.dropped_total();
  run.pending = ring.pending();
  return run;
}

TEST(LogRing, ConcurrentWritersDeliverIntactRecordsInOrder) {
  const ConcurrentRun run = run_concurrent_writers();
  EXPECT_EQ(run.written_total, run.written);
  EXPECT_EQ(run.sink.torn, 0u);
  EXPECT_EQ(run.sink.out_of_order, 0u);
  EXPECT_EQ(run.pending, 0u);
  EXPECT_GT(run.sink.delivered, 0u);
  EXPECT_LE(run.sink.delivered, run.written);
}

TEST(LogRing, ConcurrentWritersDeliveredPlusDroppedIsWritten) {
  const ConcurrentRun run = run_concurrent_writers();
  EXPECT_EQ(run.sink.delivered + run.dropped_total, run.written)
      << "delivered " << run.sink.delivered << ", dropped " << run.dropped_total;
}

// ---------------------------------------------------------------------------
// StderrLogSink

// Captures what is written to file descriptor 2 while it lives.
class StderrCapture {
 public:
  StderrCapture() : file_(std::tmpfile()) {
    std::fflush(stderr);
    saved_ = ::dup(2);
    if (file_ != nullptr && saved_ >= 0) ::dup2(::fileno(file_), 2);
  }
  ~StderrCapture() { restore(); if (file_ != nullptr) std::fclose(file_); }

  bool ok() const { return file_ != nullptr && saved_ >= 0; }

  std::string finish() {
    restore();
    std::string text;
    if (file_ == nullptr) return text;
    std::rewind(file_);
    char chunk[256];
    std::size_t n = 0;
    while ((n = std::fread(chunk, 1, sizeof chunk, file_)) > 0) text.append(chunk, n);
    return text;
  }

 private:
  void restore() {
    if (saved_ < 0) return;
    std::fflush(stderr);
    ::dup2(saved_, 2);
    ::close(saved_);
    saved_ = -1;
  }

  std::FILE* file_;
  int saved_ = -1;
};

std::string sink_line(LogLevel level, std::string_view message, std::initializer_list<LogField> fields) {
  LogRecord record;
  record.level = level;
  record.ts_ms = 1;
  record.assign(message, fields);
  StderrCapture capture;
  EXPECT_TRUE(capture.ok());
  StderrLogSink sink;
  sink.write(record);
  return capture.finish();
}

TEST(StderrLogSink, WritesTheJournaldPriorityLevelMessageAndFields) {
  EXPECT_EQ(sink_line(LogLevel::error, "disk full", {{"path", "/data"}, {"errno", "28"}}),
            "<3>error disk full path=/data errno=28\n");
  EXPECT_EQ(sink_line(LogLevel::warn, "slow", {{"ms", "900"}}), "<4>warn slow ms=900\n");
  EXPECT_EQ(sink_line(LogLevel::info, "started", {}), "<6>info started\n");
  EXPECT_EQ(sink_line(LogLevel::debug, "tick", {{"n", "1"}}), "<7>debug tick n=1\n");
  EXPECT_EQ(sink_line(LogLevel::trace, "detail", {}), "<7>trace detail\n");
}

TEST(StderrLogSink, ALineBreakInTheTextStaysOnOneLine) {
  const std::string line = sink_line(LogLevel::error, "first\nsecond", {{"k", "a\r\nb"}});
  ASSERT_FALSE(line.empty());
  EXPECT_EQ(line.rfind("<3>error first", 0), 0u) << line;
  EXPECT_EQ(line.find('\n'), line.size() - 1) << "exactly one line: " << line;
  EXPECT_EQ(line.find('\r'), std::string::npos) << line;
}

TEST(StderrLogSink, AFullRecordIsOneLine) {
  const std::string big(200, 'x');
  const std::string line = sink_line(LogLevel::error, big, {{"a", big}, {"b", big}, {"c", big}, {"d", big}});
  ASSERT_FALSE(line.empty());
  EXPECT_EQ(line.rfind("<3>error x", 0), 0u) << line;
  EXPECT_EQ(line.back(), '\n');
  EXPECT_EQ(line.find('\n'), line.size() - 1) << "exactly one line";
}

TEST(StderrLogSink, DrainedRecordsReachStderrInOrder) {
  LogRing ring(8, LogLevel::info);
  ring.write(LogLevel::info, "one", {{"k", "1"}});
  ring.write(LogLevel::warn, "two");
  StderrCapture capture;
  ASSERT_TRUE(capture.ok());
  StderrLogSink sink;
  EXPECT_EQ(ring.drain(sink), 2u);
  EXPECT_EQ(capture.finish(), "<6>info one k=1\n<4>warn two\n");
}

}  // namespace

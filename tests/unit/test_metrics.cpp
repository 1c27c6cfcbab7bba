// Unit tests of the metric buffer: registration and its refusals, updates,
// histogram buckets, concurrent updates and the snapshot visitor.

#include "edgerun/metrics.hpp"

#include <gtest/gtest.h>

#include <array>
#include <atomic>
#include <cstdint>
#include <string>
#include <thread>
#include <utility>
#include <vector>

namespace {

using namespace edgerun;

struct Seen {
  std::string name;
  MetricKind kind;
  std::vector<std::pair<std::string, std::string>> labels;
  double value;
  std::vector<double> bounds;
  std::vector<std::uint64_t> buckets;
  double sum;
  std::uint64_t count;
};

std::vector<Seen> snapshot(const Metrics& metrics) {
  std::vector<Seen> out;
  metrics.for_each([&](const MetricView& v) {
    Seen s{std::string(v.name), v.kind, {}, v.value, {}, {}, v.sum, v.count};
    for (const MetricLabel& l : v.labels) s.labels.emplace_back(std::string(l.key), std::string(l.value));
    s.bounds.assign(v.bucket_bounds.begin(), v.bucket_bounds.end());
    s.buckets.assign(v.bucket_counts.begin(), v.bucket_counts.end());
    out.push_back(std::move(s));
  });
  return out;
}

TEST(Metrics, CounterCounts) {
  Metrics m(8);
  const MetricId id = m.counter("edgerun_jobs_total", {{"state", "succeeded"}});
  ASSERT_TRUE(id.valid());
  EXPECT_EQ(m.value(id), 0);
  m.add(id);
  m.add(id);
  m.add(id, 5);
  EXPECT_EQ(m.value(id), 7);
  EXPECT_EQ(m.used(), 1u);
  EXPECT_EQ(m.refused_total(), 0u);
}

// The runtime sets some counters from running totals kept elsewhere (log
// records dropped); set and add act on the same count, and snapshots see it.
TEST(Metrics, ACounterSetFromATotalGoesOnCountingFromIt) {
  Metrics m(8);
  const MetricId id = m.counter("edgerun_log_dropped_total");
  m.set(id, 41);
  m.add(id);
  EXPECT_EQ(m.value(id), 42);
  double seen = -1;
  m.for_each([&](const MetricView& v) { seen = v.value; });
  EXPECT_EQ(seen, 42);
  m.set(id, -3);  // a counter is never negative
  EXPECT_EQ(m.value(id), 0);
}

TEST(Metrics, GaugeSetsAndAdjusts) {
  Metrics m(8);
  const MetricId id = m.gauge("edgerun_queue_depth");
  ASSERT_TRUE(id.valid());
  m.set(id, 5);
  EXPECT_EQ(m.value(id), 5);
  m.adjust(id, -2);
  EXPECT_EQ(m.value(id), 3);
  m.adjust(id, 0.5);
  EXPECT_EQ(m.value(id), 3.5);
  m.set(id, -1);
  EXPECT_EQ(m.value(id), -1);
}

TEST(Metrics, SameNameAndLabelsIsTheSameSeries) {
  Metrics m(8);
  const MetricId a = m.counter("c", {{"k", "v"}});
  const MetricId b = m.counter("c", {{"k", "v"}});
  ASSERT_TRUE(a.valid());
  EXPECT_EQ(a.index(), b.index());
  EXPECT_EQ(m.used(), 1u);
  m.add(a, 2);
  m.add(b, 3);
  EXPECT_EQ(m.value(a), 5);
  EXPECT_EQ(m.find("c", {{"k", "v"}}).index(), a.index());
  const MetricId g1 = m.gauge("g");
  const MetricId g2 = m.gauge("g");
  EXPECT_EQ(g1.index(), g2.index());
  EXPECT_EQ(m.used(), 2u);
}

TEST(Metrics, DifferentLabelsAreDifferentSeries) {
  Metrics m(8);
  const MetricId ok = m.counter("edgerun_jobs_total", {{"state", "succeeded"}});
  const MetricId failed = m.counter("edgerun_jobs_total", {{"state", "failed"}});
  const MetricId bare = m.counter("edgerun_jobs_total");
  const MetricId two = m.counter("edgerun_jobs_total", {{"state", "failed"}, {"type", "echo"}});
  ASSERT_TRUE(ok.valid() && failed.valid() && bare.valid() && two.valid());
  EXPECT_NE(ok.index(), failed.index());
  EXPECT_NE(ok.index(), bare.index());
  EXPECT_NE(failed.index(), two.index());
  EXPECT_EQ(m.used(), 4u);
  m.add(ok, 3);
  m.add(failed, 1);
  EXPECT_EQ(m.value(ok), 3);
  EXPECT_EQ(m.value(failed), 1);
  EXPECT_EQ(m.value(bare), 0);
  EXPECT_EQ(m.value(two), 0);
  EXPECT_FALSE(m.find("edgerun_jobs_total", {{"state", "canceled"}}).valid());
  EXPECT_FALSE(m.find("unknown").valid());
}

TEST(Metrics, SameNameAndLabelsWithAnotherKindIsRefused) {
  Metrics m(8);
  const MetricId c = m.counter("x", {{"k", "v"}});
  ASSERT_TRUE(c.valid());
  EXPECT_FALSE(m.gauge("x", {{"k", "v"}}).valid());
  EXPECT_EQ(m.refused_total(), 1u);
  const std::array<double, 2> bounds{1, 2};
  EXPECT_FALSE(m.histogram("x", bounds, {{"k", "v"}}).valid());
  EXPECT_EQ(m.refused_total(), 2u);
  EXPECT_EQ(m.used(), 1u);
  EXPECT_TRUE(m.counter("x", {{"k", "v"}}).valid()) << "the first kind still registers";
}

TEST(Metrics, NameWithAnotherKindUnderOtherLabelsIsRefused) {
  // metrics.hpp: refused when "the name exists with another kind". A series
  // family with mixed kinds cannot be exported (Prometheus has one TYPE per name).
  Metrics m(8);
  ASSERT_TRUE(m.counter("edgerun_jobs", {{"state", "ok"}}).valid());
  EXPECT_FALSE(m.gauge("edgerun_jobs", {{"state", "bad"}}).valid());
  const std::array<double, 1> bounds{1};
  EXPECT_FALSE(m.histogram("edgerun_jobs", bounds).valid());
  EXPECT_EQ(m.refused_total(), 2u);
  EXPECT_EQ(m.used(), 1u);
}

TEST(Metrics, FullBufferRefusesAndCounts) {
  Metrics m(3);
  EXPECT_EQ(m.capacity(), 3u);
  ASSERT_TRUE(m.counter("a").valid());
  ASSERT_TRUE(m.gauge("b").valid());
  ASSERT_TRUE(m.counter("c").valid());
  EXPECT_FALSE(m.counter("d").valid());
  EXPECT_EQ(m.refused_total(), 1u);
  EXPECT_FALSE(m.gauge("a", {{"k", "v"}}).valid());
  EXPECT_EQ(m.refused_total(), 2u);
  EXPECT_EQ(m.used(), 3u);
  // Existing series are still found when full.
  const MetricId b = m.gauge("b");
  EXPECT_TRUE(b.valid());
  EXPECT_EQ(m.refused_total(), 2u);
}

TEST(Metrics, TooLongOrTooManyIsRefused) {
  Metrics m(16);
  EXPECT_TRUE(m.counter(std::string(Metrics::kNameBytes - 1, 'n')).valid());
  EXPECT_FALSE(m.counter(std::string(Metrics::kNameBytes + 1, 'n')).valid());
  EXPECT_EQ(m.refused_total(), 1u);
  EXPECT_FALSE(m.counter("").valid());
  EXPECT_EQ(m.refused_total(), 2u);

  const std::string ok_label(Metrics::kLabelBytes - 1, 'l');
  const std::string long_label(Metrics::kLabelBytes + 1, 'l');
  const MetricId fits = m.counter("l", {{ok_label, ok_label}});
  ASSERT_TRUE(fits.valid());
  EXPECT_EQ(m.refused_total(), 2u);
  EXPECT_FALSE(m.counter("l", {{long_label, "v"}}).valid());
  EXPECT_FALSE(m.counter("l", {{"k", long_label}}).valid());
  EXPECT_EQ(m.refused_total(), 4u);
  EXPECT_FALSE(m.counter("l", {{"a", "1"}, {"b", "2"}, {"c", "3"}}).valid()) << "more than kMaxLabels labels";
  EXPECT_EQ(m.refused_total(), 5u);

  std::vector<double> bounds;
  for (std::size_t i = 0; i <= Metrics::kMaxBuckets; ++i) bounds.push_back(static_cast<double>(i));
  EXPECT_FALSE(m.histogram("h", bounds).valid()) << "more than kMaxBuckets buckets";
  EXPECT_EQ(m.refused_total(), 6u);
  bounds.pop_back();
  EXPECT_TRUE(m.histogram("h", bounds).valid());

  const std::array<double, 3> unsorted{1, 3, 2};
  EXPECT_FALSE(m.histogram("u", unsorted).valid());
  EXPECT_EQ(m.refused_total(), 7u);

  // The label text is kept, not the caller's view of it.
  std::string key = "state";
  std::string value = "succeeded";
  const MetricId copied = m.counter("copied", {{key, value}});
  key.assign("xxxxx");
  value.assign("xxxxxxxxx");
  EXPECT_EQ(m.find("copied", {{"state", "succeeded"}}).index(), copied.index());
}

TEST(Metrics, HistogramBucketsAreCumulativeWithSumAndCount) {
  Metrics m(4);
  const std::array<double, 3> bounds{0.1, 0.5, 1.0};
  const MetricId h = m.histogram("edgerun_job_duration_seconds", bounds);
  ASSERT_TRUE(h.valid());
  // A value on a bound belongs to that bound's bucket (le, "less or equal").
  for (const double v : {0.05, 0.1, 0.3, 0.5, 1.0, 2.0, 0.0}) m.observe(h, v);
  const std::vector<Seen> seen = snapshot(m);
  ASSERT_EQ(seen.size(), 1u);
  EXPECT_EQ(seen[0].kind, MetricKind::histogram);
  EXPECT_EQ(seen[0].bounds, (std::vector<double>{0.1, 0.5, 1.0}));
  // <=0.1: 0.05, 0.1, 0.0; <=0.5: +0.3, 0.5; <=1.0: +1.0; +Inf: +2.0
  EXPECT_EQ(seen[0].buckets, (std::vector<std::uint64_t>{3, 5, 6, 7}));
  EXPECT_EQ(seen[0].count, 7u);
  EXPECT_DOUBLE_EQ(seen[0].sum, 3.95);
}

TEST(Metrics, ObservationsCountedElsewhereAddToAHistogram) {
  Metrics m(4);
  const std::array<double, 2> bounds{0.1, 1.0};
  const MetricId h = m.histogram("h", bounds);
  const MetricId c = m.counter("c");
  m.observe(h, 0.5);
  // Per bucket, not cumulative: two values up to 0.1, none up to 1, one above.
  const std::array<std::uint64_t, 3> counted{2, 0, 1};
  EXPECT_TRUE(m.add_observations(h, counted, 5.25));
  // The wrong number of buckets, or not a histogram: refused, nothing added.
  const std::array<std::uint64_t, 2> too_few{1, 1};
  EXPECT_FALSE(m.add_observations(h, too_few, 1.0));
  EXPECT_FALSE(m.add_observations(c, counted, 1.0));
  const std::vector<Seen> seen = snapshot(m);
  ASSERT_EQ(seen.size(), 2u);
  EXPECT_EQ(seen[0].buckets, (std::vector<std::uint64_t>{2, 3, 4}));
  EXPECT_EQ(seen[0].count, 4u);
  EXPECT_DOUBLE_EQ(seen[0].sum, 5.75);
  EXPECT_EQ(seen[1].value, 0);
}

TEST(Metrics, UpdatesOfTheWrongKindDoNothing) {
  Metrics m(4);
  const MetricId c = m.counter("c");
  const MetricId g = m.gauge("g");
  const std::array<double, 1> bounds{1};
  const MetricId h = m.histogram("h", bounds);
  m.add(c, 1);
  m.set(g, 1);
  m.add(g, 10);      // not a counter
  m.adjust(c, 10);   // not a gauge
  m.observe(c, 10);  // not a histogram
  m.add(h, 10);
  m.adjust(h, 10);
  EXPECT_EQ(m.value(c), 1);
  EXPECT_EQ(m.value(g), 1);
  const std::vector<Seen> seen = snapshot(m);
  ASSERT_EQ(seen.size(), 3u);
  EXPECT_EQ(seen[2].count, 0u);
  EXPECT_EQ(seen[2].buckets, (std::vector<std::uint64_t>{0, 0}));
}

TEST(Metrics, InvalidIdUpdatesAreNoOps) {
  Metrics m(4);
  const MetricId c = m.counter("c");
  m.add(c, 4);
  for (const MetricId bad : {MetricId{}, MetricId(1), MetricId(3), MetricId(4), MetricId(1000)}) {
    EXPECT_FALSE(bad.valid() && bad.index() < m.used());
    m.add(bad, 100);
    m.set(bad, 100);
    m.adjust(bad, 100);
    m.observe(bad, 100);
    EXPECT_EQ(m.value(bad), 0);
  }
  EXPECT_FALSE(MetricId{}.valid());
  EXPECT_EQ(m.value(c), 4);
  EXPECT_EQ(m.used(), 1u);
  // A later registration into a slot once targeted by a bad id starts at zero.
  const MetricId d = m.counter("d");
  ASSERT_EQ(d.index(), 1u);
  EXPECT_EQ(m.value(d), 0);
}

TEST(Metrics, ConcurrentUpdatesLoseNothing) {
  constexpr int kThreads = 4;
  constexpr int kPerThread = 50'000;
  Metrics m(8);
  const MetricId c = m.counter("c");
  const MetricId g = m.gauge("g");
  const std::array<double, 2> bounds{1, 2};
  const MetricId h = m.histogram("h", bounds);
  std::atomic<bool> go{false};
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&] {
      while (!go.load(std::memory_order_acquire)) std::this_thread::yield();
      for (int i = 0; i < kPerThread; ++i) {
        m.add(c);
        m.adjust(g, 1);
        m.observe(h, static_cast<double>(i % 3) + 0.5);
      }
    });
  }
  go.store(true, std::memory_order_release);
  for (std::thread& t : threads) t.join();
  EXPECT_EQ(m.value(c), double{kThreads} * kPerThread);
  EXPECT_EQ(m.value(g), double{kThreads} * kPerThread);
  const std::vector<Seen> seen = snapshot(m);
  ASSERT_EQ(seen.size(), 3u);
  const std::uint64_t total = std::uint64_t{kThreads} * kPerThread;
  EXPECT_EQ(seen[2].count, total);
  ASSERT_EQ(seen[2].buckets.size(), 3u);
  EXPECT_EQ(seen[2].buckets[2], total);
  // i % 3 == 0 -> 0.5 (<=1), 1 -> 1.5 (<=2), 2 -> 2.5 (+Inf)
  EXPECT_EQ(seen[2].buckets[0], std::uint64_t{kThreads} * ((kPerThread + 2) / 3));
}

TEST(Metrics, ConcurrentRegistrationOfOneSeriesGivesOneId) {
  constexpr int kThreads = 4;
  Metrics m(64);
  std::array<std::vector<std::uint32_t>, kThreads> ids;
  std::atomic<bool> go{false};
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&, t] {
      while (!go.load(std::memory_order_acquire)) std::this_thread::yield();
      for (int i = 0; i < 16; ++i) {
        ids[t].push_back(m.counter("shared", {{"n", std::to_string(i)}}).index());
        m.add(MetricId(ids[t].back()));
      }
    });
  }
  go.store(true, std::memory_order_release);
  for (std::thread& t : threads) t.join();
  EXPECT_EQ(m.used(), 16u);
  for (int t = 1; t < kThreads; ++t) EXPECT_EQ(ids[t], ids[0]);
  for (int i = 0; i < 16; ++i) EXPECT_EQ(m.value(m.find("shared", {{"n", std::to_string(i)}})), kThreads);
}

TEST(Metrics, ForEachVisitsEverySeriesInRegistrationOrder) {
  Metrics m(8);
  const MetricId a = m.counter("edgerun_jobs_total", {{"state", "succeeded"}});
  const MetricId b = m.gauge("edgerun_queue_depth");
  const std::array<double, 2> bounds{0.5, 5};
  const MetricId c = m.histogram("edgerun_job_duration_seconds", bounds, {{"type", "echo"}});
  const MetricId d = m.counter("edgerun_jobs_total", {{"state", "failed"}});
  m.add(a, 3);
  m.set(b, 2);
  m.observe(c, 1);
  m.add(d, 1);
  const std::vector<Seen> seen = snapshot(m);
  ASSERT_EQ(seen.size(), 4u);

  EXPECT_EQ(seen[0].name, "edgerun_jobs_total");
  EXPECT_EQ(seen[0].kind, MetricKind::counter);
  EXPECT_EQ(seen[0].labels, (std::vector<std::pair<std::string, std::string>>{{"state", "succeeded"}}));
  EXPECT_EQ(seen[0].value, 3);
  EXPECT_TRUE(seen[0].buckets.empty());

  EXPECT_EQ(seen[1].name, "edgerun_queue_depth");
  EXPECT_EQ(seen[1].kind, MetricKind::gauge);
  EXPECT_TRUE(seen[1].labels.empty());
  EXPECT_EQ(seen[1].value, 2);

  EXPECT_EQ(seen[2].name, "edgerun_job_duration_seconds");
  EXPECT_EQ(seen[2].kind, MetricKind::histogram);
  EXPECT_EQ(seen[2].labels, (std::vector<std::pair<std::string, std::string>>{{"type", "echo"}}));
  EXPECT_EQ(seen[2].bounds, (std::vector<double>{0.5, 5}));
  EXPECT_EQ(seen[2].buckets, (std::vector<std::uint64_t>{0, 1, 1}));
  EXPECT_EQ(seen[2].count, 1u);
  EXPECT_EQ(seen[2].sum, 1);

  EXPECT_EQ(seen[3].name, "edgerun_jobs_total");
  EXPECT_EQ(seen[3].labels, (std::vector<std::pair<std::string, std::string>>{{"state", "failed"}}));
  EXPECT_EQ(seen[3].value, 1);

  EXPECT_EQ(to_string(MetricKind::counter), "counter");
  EXPECT_EQ(to_string(MetricKind::gauge), "gauge");
  EXPECT_EQ(to_string(MetricKind::histogram), "histogram");
}

TEST(Metrics, ForEachOnAnEmptyBufferVisitsNothing) {
  Metrics m(4);
  int visits = 0;
  m.for_each([&](const MetricView&) { ++visits; });
  EXPECT_EQ(visits, 0);
}

}  // namespace

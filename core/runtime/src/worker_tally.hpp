#pragma once
// What a worker counts of the jobs it runs, its busy time and the job
// duration histogram, on cache lines no other thread writes. One writer per
// tally, so a job costs a plain load and store per field, where a shared
// counter cost a locked add (and the histogram's sum a compare-and-swap loop
// on a double) on lines both workers wrote. The loop folds the tallies into
// the metric buffer when it refreshes the metrics.

#include <array>
#include <atomic>
#include <cstdint>
#include <span>

#include "edgerun/metrics.hpp"

namespace edgerun::detail {

// Job duration buckets, seconds: from a trivial handler to a long exec job.
inline constexpr std::array<double, 12> kJobDurationBounds{0.0001, 0.0005, 0.001, 0.005, 0.01, 0.05,
                                                           0.1,    0.5,    1,     5,     30,   300};

// Totals over every worker, or what the loop has folded so far.
struct TallyTotals {
  std::uint64_t busy_ns = 0;  // also the duration histogram's sum
  std::array<std::uint64_t, kJobDurationBounds.size() + 1> duration_buckets{};  // not cumulative; +Inf last

  // What was counted after `earlier`, a total taken before this one.
  TallyTotals since(const TallyTotals& earlier) const noexcept {
    TallyTotals added;
    added.busy_ns = busy_ns - earlier.busy_ns;
    for (std::size_t b = 0; b < duration_buckets.size(); ++b) {
      added.duration_buckets[b] = duration_buckets[b] - earlier.duration_buckets[b];
    }
    return added;
  }
};

struct alignas(64) WorkerTally {
  std::atomic<std::uint64_t> busy_ns{0};
  std::array<std::atomic<std::uint64_t>, kJobDurationBounds.size() + 1> duration_buckets{};

  // The owning worker, once per job.
  void record(std::uint64_t ran_ns) noexcept {
    Metrics::SoleWriterCounter::add_as_sole_writer(busy_ns, ran_ns);
    Metrics::SoleWriterCounter::add_as_sole_writer(
        duration_buckets[histogram_bucket(kJobDurationBounds, static_cast<double>(ran_ns) / 1e9)], 1);
  }

  static TallyTotals sum(std::span<const WorkerTally> tallies) noexcept {
    TallyTotals totals;
    for (const WorkerTally& tally : tallies) {
      totals.busy_ns += tally.busy_ns.load(std::memory_order_relaxed);
      for (std::size_t b = 0; b < totals.duration_buckets.size(); ++b) {
        totals.duration_buckets[b] += tally.duration_buckets[b].load(std::memory_order_relaxed);
      }
    }
    return totals;
  }
};

}  // namespace edgerun::detail

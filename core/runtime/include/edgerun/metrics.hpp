#pragma once
// The metric buffer: a fixed number of series (name + labels), each a counter,
// a gauge or a histogram with fixed buckets. Registration takes a lock and is
// meant for start-up (or the first use of a handler's metric); updates are
// lock-free atomics that any thread may make. A full buffer refuses a new
// series and counts the refusal; updating an invalid MetricId does nothing.

#include <array>
#include <atomic>
#include <cstdint>
#include <initializer_list>
#include <memory>
#include <mutex>
#include <span>
#include <string_view>

#include "edgerun/telemetry_view.hpp"

namespace edgerun {

// The bucket of a histogram with these upper bounds that `value` falls in:
// the first bound at least the value ("less or equal"), or bounds.size() for
// the implicit +Inf bucket.
inline std::size_t histogram_bucket(std::span<const double> bounds, double value) noexcept {
  std::size_t bucket = 0;
  while (bucket < bounds.size() && value > bounds[bucket]) ++bucket;
  return bucket;
}

class MetricId {
 public:
  constexpr MetricId() noexcept = default;
  constexpr explicit MetricId(std::uint32_t index) noexcept : index_(index) {}
  constexpr bool valid() const noexcept { return index_ != kInvalid; }
  constexpr std::uint32_t index() const noexcept { return index_; }

 private:
  static constexpr std::uint32_t kInvalid = 0xFFFFFFFFu;
  std::uint32_t index_ = kInvalid;
};

class Metrics {
 public:
  static constexpr std::size_t kMaxLabels = 2;
  static constexpr std::size_t kNameBytes = 64;
  static constexpr std::size_t kLabelBytes = 32;
  static constexpr std::size_t kMaxBuckets = 12;

  // Allocates `capacity` series (once).
  explicit Metrics(std::uint32_t capacity);

  // Any thread. The same name and labels return the same id. Refused (invalid
  // id, counted) when the buffer is full, a name or label is too long, more
  // than kMaxLabels labels or kMaxBuckets buckets are given, or the name exists
  // with another kind.
  MetricId counter(std::string_view name, std::initializer_list<MetricLabel> labels = {}) noexcept;
  MetricId gauge(std::string_view name, std::initializer_list<MetricLabel> labels = {}) noexcept;
  MetricId histogram(std::string_view name, std::span<const double> bucket_bounds,
                     std::initializer_list<MetricLabel> labels = {}) noexcept;

  // Any thread, lock-free.
  void add(MetricId id, std::uint64_t delta = 1) noexcept;  // counter
  void set(MetricId id, double value) noexcept;              // gauge
  void adjust(MetricId id, double delta) noexcept;           // gauge
  void observe(MetricId id, double value) noexcept;          // histogram
  // Adds to a histogram observations counted elsewhere (a thread's own
  // tally): bucket_counts[i] more values in bucket i, not cumulative, the
  // last one +Inf, whose values add up to sum. False, and nothing added, if
  // the id is not a histogram or the number of buckets differs from its own.
  bool add_observations(MetricId id, std::span<const std::uint64_t> bucket_counts, double sum) noexcept;

  // Any thread: the current value of a counter or gauge (tests, derived values).
  double value(MetricId id) const noexcept;
  // Finds a registered series (tests, handlers without a stored id).
  MetricId find(std::string_view name, std::initializer_list<MetricLabel> labels = {}) const noexcept;

  // Any thread. Calls visit(const MetricView&) for every series in the order of
  // registration. Values are read one by one, not as one atomic picture.
  template <class Visitor>
  void for_each(Visitor&& visit) const;

  std::uint32_t capacity() const noexcept { return capacity_; }
  std::uint32_t used() const noexcept { return used_.load(std::memory_order_acquire); }
  std::uint64_t refused_total() const noexcept { return refused_.load(std::memory_order_relaxed); }

 private:
  struct Series {
    std::array<char, kNameBytes> name{};
    std::uint8_t name_len = 0;
    MetricKind kind = MetricKind::counter;
    std::uint8_t label_count = 0;
    std::array<std::array<char, kLabelBytes>, kMaxLabels * 2> label_text{};
    std::array<MetricLabel, kMaxLabels> labels{};
    std::atomic<double> value{0};          // gauge
    std::atomic<std::uint64_t> total{0};  // counter: an integer add, where a double needs a CAS loop
    std::uint8_t bucket_count = 0;
    std::array<double, kMaxBuckets> bounds{};
    std::array<std::atomic<std::uint64_t>, kMaxBuckets + 1> buckets{};
    std::atomic<double> sum{0};  // the count is the buckets' total

    double current() const noexcept {
      return kind == MetricKind::counter ? static_cast<double>(total.load(std::memory_order_relaxed))
                                         : value.load(std::memory_order_relaxed);
    }
  };

  MetricId add_series(std::string_view name, MetricKind kind, std::span<const double> bounds,
                      std::initializer_list<MetricLabel> labels) noexcept;
  MetricId find_locked(std::string_view name, std::initializer_list<MetricLabel> labels) const noexcept;
  void visit_series(const Series& series, void (*call)(void*, const MetricView&), void* context) const noexcept;
  Series* series(MetricId id) const noexcept;

  std::uint32_t capacity_;
  std::unique_ptr<Series[]> series_;
  std::atomic<std::uint32_t> used_{0};
  std::atomic<std::uint64_t> refused_{0};
  mutable std::mutex register_mutex_;
};

template <class Visitor>
void Metrics::for_each(Visitor&& visit) const {
  const std::uint32_t count = used();
  for (std::uint32_t i = 0; i < count; ++i) {
    visit_series(
        series_[i], [](void* context, const MetricView& view) { (*static_cast<Visitor*>(context))(view); },
        const_cast<void*>(static_cast<const void*>(&visit)));
  }
}

}  // namespace edgerun

#include "edgerun/metrics.hpp"

#include <algorithm>
#include <cstring>

namespace edgerun {

namespace {

bool same_labels(std::span<const MetricLabel> a, std::initializer_list<MetricLabel> b) noexcept {
  if (a.size() != b.size()) return false;
  std::size_t i = 0;
  for (const MetricLabel& label : b) {
    if (a[i].key != label.key || a[i].value != label.value) return false;
    ++i;
  }
  return true;
}

}  // namespace

Metrics::Metrics(std::uint32_t capacity) : capacity_(capacity), series_(new Series[capacity]) {}

Metrics::Series* Metrics::series(MetricId id) const noexcept {
  if (!id.valid() || id.index() >= used()) return nullptr;
  return &series_[id.index()];
}

MetricId Metrics::find_locked(std::string_view name, std::initializer_list<MetricLabel> labels) const noexcept {
  const std::uint32_t count = used();
  for (std::uint32_t i = 0; i < count; ++i) {
    const Series& s = series_[i];
    if (std::string_view(s.name.data(), s.name_len) == name &&
        same_labels(std::span<const MetricLabel>(s.labels.data(), s.label_count), labels)) {
      return MetricId(i);
    }
  }
  return {};
}

MetricId Metrics::find(std::string_view name, std::initializer_list<MetricLabel> labels) const noexcept {
  // Series are published by used_ after they are complete and never change
  // afterwards, so reading them needs no lock.
  return find_locked(name, labels);
}

MetricId Metrics::add_series(std::string_view name, MetricKind kind, std::span<const double> bounds,
                             std::initializer_list<MetricLabel> labels) noexcept {
  const bool fits = !name.empty() && name.size() < kNameBytes && labels.size() <= kMaxLabels &&
                    bounds.size() <= kMaxBuckets &&
                    std::all_of(labels.begin(), labels.end(), [](const MetricLabel& l) {
                      return l.key.size() < kLabelBytes && l.value.size() < kLabelBytes;
                    });
  if (!fits) {
    refused_.fetch_add(1, std::memory_order_relaxed);
    return {};
  }
  std::lock_guard lock(register_mutex_);
  if (MetricId existing = find_locked(name, labels); existing.valid() && series_[existing.index()].kind == kind) {
    return existing;
  }
  // One kind per name, whatever the labels: exporters give a name one type.
  for (std::uint32_t i = 0; i < used_.load(std::memory_order_relaxed); ++i) {
    if (std::string_view(series_[i].name.data(), series_[i].name_len) == name && series_[i].kind != kind) {
      refused_.fetch_add(1, std::memory_order_relaxed);
      return {};
    }
  }
  const std::uint32_t index = used_.load(std::memory_order_relaxed);
  if (index == capacity_) {
    refused_.fetch_add(1, std::memory_order_relaxed);
    return {};
  }
  Series& s = series_[index];
  std::memcpy(s.name.data(), name.data(), name.size());
  s.name_len = static_cast<std::uint8_t>(name.size());
  s.kind = kind;
  std::size_t i = 0;
  for (const MetricLabel& label : labels) {
    auto& key = s.label_text[i * 2];
    auto& value = s.label_text[i * 2 + 1];
    std::copy_n(label.key.data(), label.key.size(), key.data());
    std::copy_n(label.value.data(), label.value.size(), value.data());
    s.labels[i] = {std::string_view(key.data(), label.key.size()), std::string_view(value.data(), label.value.size())};
    ++i;
  }
  s.label_count = static_cast<std::uint8_t>(labels.size());
  std::copy(bounds.begin(), bounds.end(), s.bounds.begin());
  s.bucket_count = static_cast<std::uint8_t>(bounds.size());
  used_.store(index + 1, std::memory_order_release);
  return MetricId(index);
}

MetricId Metrics::counter(std::string_view name, std::initializer_list<MetricLabel> labels) noexcept {
  return add_series(name, MetricKind::counter, {}, labels);
}

MetricId Metrics::gauge(std::string_view name, std::initializer_list<MetricLabel> labels) noexcept {
  return add_series(name, MetricKind::gauge, {}, labels);
}

MetricId Metrics::histogram(std::string_view name, std::span<const double> bucket_bounds,
                            std::initializer_list<MetricLabel> labels) noexcept {
  if (!std::is_sorted(bucket_bounds.begin(), bucket_bounds.end())) {
    refused_.fetch_add(1, std::memory_order_relaxed);
    return {};
  }
  return add_series(name, MetricKind::histogram, bucket_bounds, labels);
}

void Metrics::add(MetricId id, std::uint64_t delta) noexcept {
  if (Series* s = series(id); s != nullptr && s->kind == MetricKind::counter) {
    s->total.fetch_add(delta, std::memory_order_relaxed);
  }
}

void Metrics::set(MetricId id, double value) noexcept {
  Series* s = series(id);
  if (s == nullptr || s->kind == MetricKind::histogram) return;
  if (s->kind == MetricKind::counter) {
    // A counter set from a running total elsewhere (log records dropped...).
    s->total.store(value > 0 ? static_cast<std::uint64_t>(value) : 0, std::memory_order_relaxed);
  } else {
    s->value.store(value, std::memory_order_relaxed);
  }
}

void Metrics::adjust(MetricId id, double delta) noexcept {
  if (Series* s = series(id); s != nullptr && s->kind == MetricKind::gauge) {
    s->value.fetch_add(delta, std::memory_order_relaxed);
  }
}

void Metrics::observe(MetricId id, double value) noexcept {
  Series* s = series(id);
  if (s == nullptr || s->kind != MetricKind::histogram) return;
  s->buckets[histogram_bucket({s->bounds.data(), s->bucket_count}, value)].fetch_add(1, std::memory_order_relaxed);
  s->sum.fetch_add(value, std::memory_order_relaxed);
}

bool Metrics::add_observations(MetricId id, std::span<const std::uint64_t> bucket_counts, double sum) noexcept {
  Series* s = series(id);
  if (s == nullptr || s->kind != MetricKind::histogram || bucket_counts.size() != s->bucket_count + 1u) return false;
  for (std::size_t bucket = 0; bucket < bucket_counts.size(); ++bucket) {
    if (bucket_counts[bucket] != 0) s->buckets[bucket].fetch_add(bucket_counts[bucket], std::memory_order_relaxed);
  }
  s->sum.fetch_add(sum, std::memory_order_relaxed);
  return true;
}

double Metrics::value(MetricId id) const noexcept {
  const Series* s = series(id);
  return s == nullptr ? 0.0 : s->current();
}

void Metrics::visit_series(const Series& s, void (*call)(void*, const MetricView&), void* context) const noexcept {
  std::array<std::uint64_t, kMaxBuckets + 1> cumulative{};
  std::uint64_t running = 0;
  for (std::size_t i = 0; i <= s.bucket_count; ++i) {
    running += s.buckets[i].load(std::memory_order_relaxed);
    cumulative[i] = running;
  }
  const MetricView view{
      .name = std::string_view(s.name.data(), s.name_len),
      .kind = s.kind,
      .labels = std::span<const MetricLabel>(s.labels.data(), s.label_count),
      .value = s.current(),
      .bucket_bounds = std::span<const double>(s.bounds.data(), s.bucket_count),
      .bucket_counts = std::span<const std::uint64_t>(cumulative.data(), s.kind == MetricKind::histogram ? s.bucket_count + 1u : 0u),
      .sum = s.sum.load(std::memory_order_relaxed),
      .count = s.kind == MetricKind::histogram ? running : 0,
  };
  call(context, view);
}

}  // namespace edgerun

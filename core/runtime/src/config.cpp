#include "edgerun/config.hpp"

#include "edgerun/port/sysinfo.hpp"

namespace edgerun {

std::uint32_t effective_workers(const RuntimeConfig& config) noexcept {
  return config.workers != 0 ? config.workers : port::online_cpu_count();
}

Status check_relation(FieldRelation::Bound bound, std::uint32_t factor, std::string_view name, std::uint64_t value,
                      std::string_view other_name, std::uint64_t other_value) noexcept {
  const std::uint64_t limit = factor * other_value;
  const bool at_least = bound == FieldRelation::at_least;
  if (at_least ? value >= limit : value <= limit) return {};
  const auto n = static_cast<int>(name.size());
  const auto o = static_cast<int>(other_name.size());
  const char* const word = at_least ? "least" : "most";
  const auto v = static_cast<unsigned long long>(value);
  const auto ov = static_cast<unsigned long long>(other_value);
  if (factor == 1) {
    return Status::error("%.*s is %llu; expected at %s %.*s (%llu)", n, name.data(), v, word, o, other_name.data(), ov);
  }
  return Status::error("%.*s is %llu; expected at %s %u * %.*s (%llu) = %llu", n, name.data(), v, word, factor, o,
                       other_name.data(), ov, static_cast<unsigned long long>(limit));
}

Status validate(const RuntimeConfig& c) noexcept {
  for (const FieldLimit& limit : kFieldLimits) {
    const std::uint32_t value = c.*limit.field;
    if (value < limit.low || value > limit.high) {
      return Status::error("%s is %u; expected an integer from %u to %u", limit.name, value, limit.low, limit.high);
    }
  }
  const auto name_of = [](std::uint32_t RuntimeConfig::*field) {
    for (const FieldLimit& limit : kFieldLimits) {
      if (limit.field == field) return limit.name;
    }
    return "?";
  };
  for (const FieldRelation& r : kFieldRelations) {
    Status s = check_relation(r.bound, r.factor, name_of(r.field), c.*r.field, name_of(r.other), c.*r.other);
    if (!s) return s;
  }
  return {};
}

}  // namespace edgerun

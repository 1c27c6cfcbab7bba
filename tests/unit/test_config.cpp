// Unit tests of RuntimeConfig validation: the defaults pass, every size out of
// range is named with its value, relations between sizes name both fields.

#include "edgerun/config.hpp"

#include <gtest/gtest.h>
#include <unistd.h>

#include <cstdint>
#include <string>
#include <vector>

namespace {

using edgerun::RuntimeConfig;

bool contains(const char* text, const std::string& part) { return std::string(text).find(part) != std::string::npos; }

TEST(Config, DefaultsAreValid) {
  const RuntimeConfig config;
  const edgerun::Status status = validate(config);
  EXPECT_TRUE(status.ok()) << status.message();
  EXPECT_TRUE(static_cast<bool>(status));
}

TEST(Config, DefaultsMatchTheProtocol) {
  // PROTOCOL.md, "Configuration keys the protocol relies on".
  const RuntimeConfig config;
  EXPECT_EQ(config.queue_capacity, 64u);
  EXPECT_EQ(config.max_payload_bytes, 16384u);
  EXPECT_EQ(config.default_timeout_ms, 60000u);
  EXPECT_EQ(config.workers, 0u) << "0: one per CPU";
}

struct FieldCase {
  const char* field;
  std::uint32_t RuntimeConfig::*member;
  std::uint32_t bad;
};

void PrintTo(const FieldCase& c, std::ostream* os) { *os << c.field << "=" << c.bad; }

class ConfigField : public ::testing::TestWithParam<FieldCase> {};

TEST_P(ConfigField, OutOfRangeNamesTheFieldAndTheValue) {
  const FieldCase& c = GetParam();
  RuntimeConfig config;
  config.*c.member = c.bad;
  const edgerun::Status status = validate(config);
  ASSERT_FALSE(status.ok()) << c.field << " = " << c.bad << " was accepted";
  EXPECT_TRUE(contains(status.message(), c.field)) << status.message();
  EXPECT_TRUE(contains(status.message(), std::to_string(c.bad))) << status.message();
}

INSTANTIATE_TEST_SUITE_P(
    Ranges, ConfigField,
    ::testing::Values(FieldCase{"workers", &RuntimeConfig::workers, 100000},
                      FieldCase{"queue_capacity", &RuntimeConfig::queue_capacity, 0},
                      FieldCase{"queue_capacity", &RuntimeConfig::queue_capacity, 70000},
                      FieldCase{"max_payload_bytes", &RuntimeConfig::max_payload_bytes, 123},
                      FieldCase{"max_result_bytes", &RuntimeConfig::max_result_bytes, 33},
                      FieldCase{"default_timeout_ms", &RuntimeConfig::default_timeout_ms, 0},
                      FieldCase{"default_timeout_ms", &RuntimeConfig::default_timeout_ms, 4000000000u},
                      FieldCase{"finished_ids", &RuntimeConfig::finished_ids, 0},
                      FieldCase{"finished_ids", &RuntimeConfig::finished_ids, 3000000},
                      FieldCase{"finished_id_ttl_ms", &RuntimeConfig::finished_id_ttl_ms, 0},
                      FieldCase{"finished_id_ttl_ms", &RuntimeConfig::finished_id_ttl_ms, 4000000000u},
                      FieldCase{"json_arena_bytes", &RuntimeConfig::json_arena_bytes, 4095},
                      FieldCase{"log_records", &RuntimeConfig::log_records, 1},
                      FieldCase{"log_records", &RuntimeConfig::log_records, 3000000},
                      FieldCase{"log_flush_interval_ms", &RuntimeConfig::log_flush_interval_ms, 0},
                      FieldCase{"log_flush_interval_ms", &RuntimeConfig::log_flush_interval_ms, 3600001},
                      FieldCase{"metric_capacity", &RuntimeConfig::metric_capacity, 7},
                      FieldCase{"metric_capacity", &RuntimeConfig::metric_capacity, 1000000},
                      FieldCase{"event_records", &RuntimeConfig::event_records, 0},
                      FieldCase{"event_records", &RuntimeConfig::event_records, 1000000},
                      FieldCase{"event_max_bytes", &RuntimeConfig::event_max_bytes, 3}),
    [](const ::testing::TestParamInfo<FieldCase>& param_info) {
      return std::string(param_info.param.field) + "_" + std::to_string(param_info.param.bad);
    });

TEST(Config, InRangeEdgesAreAccepted) {
  RuntimeConfig config;
  config.workers = 0;
  EXPECT_TRUE(validate(config).ok());
  config.workers = 1;
  config.queue_capacity = 1;
  config.log_records = 2;
  config.default_timeout_ms = 1;
  config.finished_ids = 1;
  config.event_records = 1;
  const edgerun::Status status = validate(config);
  EXPECT_TRUE(status.ok()) << status.message();
}

TEST(Config, ArenaSmallerThanFourPayloadsNamesBothFields) {
  RuntimeConfig config;
  config.max_payload_bytes = 65536;
  config.json_arena_bytes = 4 * 65536 - 1;
  const edgerun::Status status = validate(config);
  ASSERT_FALSE(status.ok());
  EXPECT_TRUE(contains(status.message(), "json_arena_bytes")) << status.message();
  EXPECT_TRUE(contains(status.message(), "max_payload_bytes")) << status.message();
  EXPECT_TRUE(contains(status.message(), "262143")) << status.message();
  EXPECT_TRUE(contains(status.message(), "65536")) << status.message();

  config.json_arena_bytes = 4 * 65536;
  const edgerun::Status fits = validate(config);
  EXPECT_TRUE(fits.ok()) << fits.message();
}

TEST(Config, EventLargerThanTheArenaNamesBothFields) {
  RuntimeConfig config;
  config.max_payload_bytes = 1024;
  config.json_arena_bytes = 8192;
  config.event_max_bytes = 8193;
  const edgerun::Status status = validate(config);
  ASSERT_FALSE(status.ok());
  EXPECT_TRUE(contains(status.message(), "event_max_bytes")) << status.message();
  EXPECT_TRUE(contains(status.message(), "json_arena_bytes")) << status.message();
}

// validate() checks every limit of kFieldLimits, the table edgerund's config
// file takes its ranges from: both ends pass, one beyond either fails with
// the field, the value and the range. The base satisfies every relation even
// at the limits of the field under test.
TEST(Config, EveryFieldLimitIsWhatValidateChecks) {
  for (const edgerun::FieldLimit& limit : edgerun::kFieldLimits) {
    RuntimeConfig config;
    config.max_payload_bytes = 256;
    config.json_arena_bytes = 256u << 20;
    config.event_max_bytes = 16;
    for (const std::uint32_t good : {limit.low, limit.high}) {
      config.*limit.field = good;
      const edgerun::Status status = validate(config);
      EXPECT_TRUE(status.ok()) << limit.name << " = " << good << ": " << status.message();
    }
    std::vector<std::uint32_t> bad{limit.high + 1};
    if (limit.low > 0) bad.push_back(limit.low - 1);
    for (const std::uint32_t value : bad) {
      config.*limit.field = value;
      EXPECT_EQ(std::string(validate(config).message()),
                std::string(limit.name) + " is " + std::to_string(value) + "; expected an integer from " +
                    std::to_string(limit.low) + " to " + std::to_string(limit.high));
    }
  }
}

TEST(Config, RelationMessagesNameBothValues) {
  using edgerun::FieldRelation;
  EXPECT_TRUE(edgerun::check_relation(FieldRelation::at_least, 4, "a", 400, "b", 100).ok());
  EXPECT_STREQ(edgerun::check_relation(FieldRelation::at_least, 4, "a", 399, "b", 100).message(),
               "a is 399; expected at least 4 * b (100) = 400");
  EXPECT_TRUE(edgerun::check_relation(FieldRelation::at_most, 1, "a", 100, "b", 100).ok());
  EXPECT_STREQ(edgerun::check_relation(FieldRelation::at_most, 1, "x.a", 101, "y.b", 100).message(),
               "x.a is 101; expected at most y.b (100)");
}

TEST(Config, EffectiveWorkersResolvesZeroToOnlineCpus) {
  RuntimeConfig config;
  config.workers = 0;
  const long online = ::sysconf(_SC_NPROCESSORS_ONLN);
  const std::uint32_t workers = effective_workers(config);
  EXPECT_GE(workers, 1u);
  if (online >= 1) {
    EXPECT_EQ(workers, static_cast<std::uint32_t>(online));
  }
  config.workers = 3;
  EXPECT_EQ(effective_workers(config), 3u);
}

}  // namespace

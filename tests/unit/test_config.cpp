// Unit tests of RuntimeConfig validation: the defaults pass, every size out of
// range is named with its value, relations between sizes name both fields.

#include "edgerun/config.hpp"

#include <gtest/gtest.h>
#include <unistd.h>

#include <cstdint>
#include <string>

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

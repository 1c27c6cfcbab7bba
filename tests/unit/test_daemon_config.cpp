// Unit tests of the daemon's config file (config/README.md): every default,
// every key, the shipped config files, and an error for each kind of mistake
// that names the file, the key, the value and what was expected.

#include <cjson/cJSON.h>
#include <gtest/gtest.h>

#include <cstdint>
#include <filesystem>
#include <fstream>
#include <functional>
#include <map>
#include <memory>
#include <sstream>
#include <string>
#include <string_view>
#include <vector>

#include "edgerun/config.hpp"
#include "edgerun/daemon_config.hpp"
#include "edgerun/log_level.hpp"

namespace {

using edgerun::ConfigLoadResult;
using edgerun::DaemonConfig;
using edgerun::LogLevel;
using edgerun::RuntimeConfig;

constexpr std::string_view kPath = "/etc/edgerun/edgerun.json";
constexpr std::string_view kHost = "gw-01";

// The repository's config/ directory, found from this file's own path (the
// build passes sources by absolute path).
std::filesystem::path config_dir() {
  return std::filesystem::path(__FILE__).parent_path().parent_path().parent_path() / "config";
}

std::string read_text(const std::filesystem::path& path) {
  std::ifstream in(path, std::ios::binary);
  std::ostringstream text;
  text << in.rdbuf();
  return text.str();
}

ConfigLoadResult parse(std::string_view text, std::string_view host = kHost) {
  return edgerun::parse_daemon_config(text, kPath, host);
}

// Parses text that must be valid; on failure the test fails with the message.
DaemonConfig parse_ok(std::string_view text) {
  ConfigLoadResult result = parse(text);
  EXPECT_TRUE(result.config.has_value()) << text << "\n-> " << result.error;
  EXPECT_EQ(result.error, "");
  return result.config ? *result.config : DaemonConfig{};
}

// Parses text that must be refused; returns the message, which must start with
// the file's path.
std::string parse_error(std::string_view text, std::string_view host = kHost) {
  const ConfigLoadResult result = parse(text, host);
  EXPECT_FALSE(result.config.has_value()) << text << " was accepted";
  EXPECT_TRUE(result.error.starts_with(std::string(kPath) + ": ")) << result.error;
  return result.error;
}

bool contains(const std::string& text, std::string_view part) { return text.find(part) != std::string::npos; }

TEST(DaemonConfig, EmptyObjectGivesTheProtocolDefaults) {
  const DaemonConfig c = parse_ok("{}");
  // PROTOCOL.md, "Configuration keys the protocol relies on".
  EXPECT_EQ(c.device_id, "gw-01");
  EXPECT_EQ(c.mqtt.url, "mqtt://127.0.0.1:1883");
  EXPECT_EQ(c.mqtt.topic_prefix, "edgerun");
  EXPECT_TRUE(c.groups.empty());
  EXPECT_EQ(c.runtime.workers, 0u) << "0: one per CPU";
  EXPECT_EQ(c.runtime.queue_capacity, 64u);
  EXPECT_EQ(c.runtime.max_payload_bytes, 16384u);
  EXPECT_EQ(c.runtime.default_timeout_ms, 60000u);
  EXPECT_TRUE(c.report_progress);
  EXPECT_EQ(c.telemetry.interval_ms, 10000u);
  EXPECT_EQ(c.state_dir, "/var/lib/edgerun");
}

TEST(DaemonConfig, EmptyObjectGivesEveryOtherDefault) {
  const DaemonConfig c = parse_ok("{}");
  EXPECT_EQ(c.mqtt.host, "127.0.0.1");
  EXPECT_EQ(c.mqtt.port, 1883);
  EXPECT_FALSE(c.mqtt.tls);
  EXPECT_EQ(c.mqtt.username, "");
  EXPECT_EQ(c.mqtt.password, "");
  EXPECT_EQ(c.mqtt.client_id, "edgerun-gw-01");
  EXPECT_EQ(c.mqtt.keepalive_s, 30u);
  EXPECT_EQ(c.mqtt.session_expiry_s, 86400u);
  EXPECT_EQ(c.mqtt.reconnect_min_ms, 500u);
  EXPECT_EQ(c.mqtt.reconnect_max_ms, 30000u);
  EXPECT_EQ(c.mqtt.ca_file, "");
  EXPECT_EQ(c.mqtt.outbox_messages, 1024u);
  EXPECT_EQ(c.telemetry.log_forward_level, LogLevel::info);
  EXPECT_EQ(c.telemetry.log_batch_records, 100u);
  EXPECT_EQ(c.telemetry.presence_interval_s, 300u);
  EXPECT_EQ(c.telemetry.buffered_batches, 16u);
  EXPECT_EQ(c.telemetry.buffered_snapshots, 8u);
  EXPECT_EQ(c.shutdown_grace_ms, 10000u);
  EXPECT_TRUE(c.exec.empty());

  // The runtime's sizes are RuntimeConfig's own defaults.
  const RuntimeConfig defaults;
  EXPECT_EQ(c.runtime.max_result_bytes, defaults.max_result_bytes);
  EXPECT_EQ(c.runtime.finished_ids, defaults.finished_ids);
  EXPECT_EQ(c.runtime.finished_id_ttl_ms, defaults.finished_id_ttl_ms);
  EXPECT_EQ(c.runtime.log_level, defaults.log_level);
  EXPECT_EQ(c.runtime.log_records, defaults.log_records);
  EXPECT_EQ(c.runtime.log_to_stderr, defaults.log_to_stderr);
  EXPECT_EQ(c.runtime.json_arena_bytes, defaults.json_arena_bytes);
  EXPECT_EQ(c.runtime.metric_capacity, defaults.metric_capacity);
  EXPECT_EQ(c.runtime.event_records, defaults.event_records);
  EXPECT_EQ(c.runtime.event_max_bytes, defaults.event_max_bytes);
}

TEST(DaemonConfig, ExecEntryDefaults) {
  const DaemonConfig c = parse_ok(R"({"exec": {"backup": {"program": "/usr/bin/backup"}}})");
  ASSERT_EQ(c.exec.size(), 1u);
  const DaemonConfig::ExecHandler& h = c.exec[0];
  EXPECT_EQ(h.type, "backup");
  EXPECT_EQ(h.program, "/usr/bin/backup");
  EXPECT_TRUE(h.args.empty());
  EXPECT_EQ(h.working_directory, "");
  EXPECT_TRUE(c.types.empty()) << "no settings of its type: no run-time limit of its own";
  EXPECT_EQ(h.max_output_bytes, 16384u);
  EXPECT_EQ(h.stop_grace_ms, 2000u);
  EXPECT_TRUE(h.params_env.empty());
  EXPECT_EQ(h.env_passthrough, std::vector<std::string>{"PATH"});
}

constexpr const char* kEveryKey = R"({
  "device_id": "gw-07",
  "groups": ["lab", "site-1.north"],
  "workers": 3,
  "state_dir": "/data/edgerun",
  "mqtt": {
    "url": "mqtts://broker.example.com",
    "username": "gw",
    "password": "s3cret",
    "topic_prefix": "acme/edgerun",
    "client_id": "gw-07-client",
    "keepalive_s": 45,
    "session_expiry_s": 3600,
    "reconnect_min_ms": 250,
    "reconnect_max_ms": 60000,
    "ca_file": "/etc/ssl/certs/acme.pem",
    "outbox_messages": 500
  },
  "jobs": {
    "queue_capacity": 32,
    "max_payload_bytes": 8192,
    "max_result_bytes": 4096,
    "default_timeout_ms": 120000,
    "report_progress": false,
    "finished_ids": 256,
    "finished_id_ttl_ms": 300000
  },
  "telemetry": {
    "interval_ms": 5000,
    "log_forward_level": "warn",
    "log_batch_records": 50,
    "presence_interval_s": 60,
    "buffered_batches": 4,
    "buffered_snapshots": 2
  },
  "log": {"level": "debug", "records": 512, "stderr": false},
  "memory": {"json_arena_bytes": 65536, "metric_capacity": 96, "event_records": 32, "event_max_bytes": 1024},
  "shutdown": {"grace_ms": 15000},
  "exec": {
    "backup": {
      "program": "/usr/bin/backup",
      "args": ["--fast", "--to", "/mnt/backup"],
      "working_directory": "/var/tmp",
      "max_output_bytes": 4000,
      "stop_grace_ms": 5000,
      "params_env": ["TARGET", "level_2"],
      "env_passthrough": ["PATH", "HOME", "LANG"]
    },
    "reboot": {"program": "/sbin/reboot"}
  },
  "types": {
    "backup": {"timeout_ms": 900000},
    "echo": {"timeout_ms": 0}
  }
})";

TEST(DaemonConfig, EveryKeySet) {
  const DaemonConfig c = parse_ok(kEveryKey);
  EXPECT_EQ(c.device_id, "gw-07");
  EXPECT_EQ(c.groups, (std::vector<std::string>{"lab", "site-1.north"}));
  EXPECT_EQ(c.runtime.workers, 3u);
  EXPECT_EQ(c.state_dir, "/data/edgerun");

  EXPECT_EQ(c.mqtt.url, "mqtts://broker.example.com");
  EXPECT_EQ(c.mqtt.host, "broker.example.com");
  EXPECT_EQ(c.mqtt.port, 8883) << "the mqtts default port";
  EXPECT_TRUE(c.mqtt.tls);
  EXPECT_EQ(c.mqtt.username, "gw");
  EXPECT_EQ(c.mqtt.password, "s3cret");
  EXPECT_EQ(c.mqtt.topic_prefix, "acme/edgerun");
  EXPECT_EQ(c.mqtt.client_id, "gw-07-client");
  EXPECT_EQ(c.mqtt.keepalive_s, 45u);
  EXPECT_EQ(c.mqtt.session_expiry_s, 3600u);
  EXPECT_EQ(c.mqtt.reconnect_min_ms, 250u);
  EXPECT_EQ(c.mqtt.reconnect_max_ms, 60000u);
  EXPECT_EQ(c.mqtt.ca_file, "/etc/ssl/certs/acme.pem");
  EXPECT_EQ(c.mqtt.outbox_messages, 500u);

  EXPECT_EQ(c.runtime.queue_capacity, 32u);
  EXPECT_EQ(c.runtime.max_payload_bytes, 8192u);
  EXPECT_EQ(c.runtime.max_result_bytes, 4096u);
  EXPECT_EQ(c.runtime.default_timeout_ms, 120000u);
  EXPECT_FALSE(c.report_progress);
  EXPECT_EQ(c.runtime.finished_ids, 256u);
  EXPECT_EQ(c.runtime.finished_id_ttl_ms, 300000u);

  EXPECT_EQ(c.telemetry.interval_ms, 5000u);
  EXPECT_EQ(c.telemetry.log_forward_level, LogLevel::warn);
  EXPECT_EQ(c.telemetry.log_batch_records, 50u);
  EXPECT_EQ(c.telemetry.presence_interval_s, 60u);
  EXPECT_EQ(c.telemetry.buffered_batches, 4u);
  EXPECT_EQ(c.telemetry.buffered_snapshots, 2u);

  EXPECT_EQ(c.runtime.log_level, LogLevel::debug);
  EXPECT_EQ(c.runtime.log_records, 512u);
  EXPECT_FALSE(c.runtime.log_to_stderr);

  EXPECT_EQ(c.runtime.json_arena_bytes, 65536u);
  EXPECT_EQ(c.runtime.metric_capacity, 96u);
  EXPECT_EQ(c.runtime.event_records, 32u);
  EXPECT_EQ(c.runtime.event_max_bytes, 1024u);

  EXPECT_EQ(c.shutdown_grace_ms, 15000u);

  ASSERT_EQ(c.exec.size(), 2u);
  const DaemonConfig::ExecHandler& backup = c.exec[0];
  EXPECT_EQ(backup.type, "backup");
  EXPECT_EQ(backup.program, "/usr/bin/backup");
  EXPECT_EQ(backup.args, (std::vector<std::string>{"--fast", "--to", "/mnt/backup"}));
  EXPECT_EQ(backup.working_directory, "/var/tmp");
  EXPECT_EQ(backup.max_output_bytes, 4000u);
  EXPECT_EQ(backup.stop_grace_ms, 5000u);
  EXPECT_EQ(backup.params_env, (std::vector<std::string>{"TARGET", "level_2"}));
  EXPECT_EQ(backup.env_passthrough, (std::vector<std::string>{"PATH", "HOME", "LANG"}));
  EXPECT_EQ(c.exec[1].type, "reboot") << "exec entries keep the file's order";
  EXPECT_EQ(c.exec[1].program, "/sbin/reboot");

  ASSERT_EQ(c.types.size(), 2u);
  EXPECT_EQ(c.types[0].type, "backup");
  EXPECT_EQ(c.types[0].handler.timeout_ms, 900000u);
  EXPECT_EQ(c.types[1].type, "echo") << "types entries keep the file's order";
  EXPECT_EQ(c.types[1].handler.timeout_ms, 0u);
}

TEST(DaemonConfig, UrlForms) {
  struct Case {
    const char* url;
    const char* host;
    std::uint16_t port;
    bool tls;
  };
  const Case cases[] = {
      {"mqtt://broker", "broker", 1883, false},
      {"mqtts://broker", "broker", 8883, true},
      {"mqtt://10.0.0.2:1884", "10.0.0.2", 1884, false},
      {"mqtts://broker.local:443/", "broker.local", 443, true},
      {"mqtt://[::1]:1885", "::1", 1885, false},
      {"mqtt://[fe80::1%eth0]", "fe80::1%eth0", 1883, false},
      {"mqtt://h:65535", "h", 65535, false},
  };
  for (const Case& c : cases) {
    const DaemonConfig config = parse_ok(std::string(R"({"mqtt": {"url": ")") + c.url + "\"}}");
    EXPECT_EQ(config.mqtt.url, c.url);
    EXPECT_EQ(config.mqtt.host, c.host) << c.url;
    EXPECT_EQ(config.mqtt.port, c.port) << c.url;
    EXPECT_EQ(config.mqtt.tls, c.tls) << c.url;
  }
}

TEST(DaemonConfig, ShippedConfigsParse) {
  for (const char* name : {"edgerun.json", "edgerun-dev.json"}) {
    const std::filesystem::path path = config_dir() / name;
    const ConfigLoadResult result = edgerun::load_daemon_config(path.string(), kHost);
    EXPECT_TRUE(result.config.has_value()) << path << ": " << result.error;
  }
}

TEST(DaemonConfig, GatewayConfigDocumentsTheDefaults) {
  // config/edgerun.json spells out the defaults; it must not drift from them.
  const ConfigLoadResult shipped = edgerun::load_daemon_config((config_dir() / "edgerun.json").string(), kHost);
  ASSERT_TRUE(shipped.config.has_value()) << shipped.error;
  EXPECT_EQ(edgerun::describe(*shipped.config), edgerun::describe(parse_ok("{}")));
}

TEST(DaemonConfig, DevConfigUsesALocalBrokerAndTmp) {
  const ConfigLoadResult dev = edgerun::load_daemon_config((config_dir() / "edgerun-dev.json").string(), kHost);
  ASSERT_TRUE(dev.config.has_value()) << dev.error;
  EXPECT_EQ(dev.config->mqtt.host, "127.0.0.1");
  EXPECT_EQ(dev.config->mqtt.port, 1883);
  EXPECT_FALSE(dev.config->mqtt.tls);
  EXPECT_TRUE(dev.config->state_dir.starts_with("/tmp/")) << dev.config->state_dir;
}

// Every key describe() writes (so every key the parser reads) is documented
// in config/README.md as `dotted.key`, exec and types entries as
// `exec.<type>.key`.
bool keyed_by_type(const std::string& prefix) { return prefix == "exec" || prefix == "types"; }

void collect_keys(const cJSON* object, const std::string& prefix, std::vector<std::string>& keys) {
  for (const cJSON* member = object->child; member != nullptr; member = member->next) {
    const std::string path =
        keyed_by_type(prefix) ? prefix + ".<type>" : (prefix.empty() ? "" : prefix + ".") + member->string;
    if (cJSON_IsObject(member)) {
      if (!keyed_by_type(prefix)) keys.push_back(path);
      collect_keys(member, path, keys);
    } else {
      keys.push_back(path);
    }
  }
}

TEST(DaemonConfig, ReadmeDocumentsEveryKey) {
  const DaemonConfig c = parse_ok(kEveryKey);
  const std::string described = edgerun::describe(c);
  const std::unique_ptr<cJSON, void (*)(cJSON*)> json(cJSON_Parse(described.c_str()), cJSON_Delete);
  ASSERT_NE(json, nullptr) << described;
  std::vector<std::string> keys;
  collect_keys(json.get(), "", keys);
  EXPECT_GT(keys.size(), 40u);
  const std::string readme = read_text(config_dir() / "README.md");
  ASSERT_FALSE(readme.empty());
  for (const std::string& key : keys) {
    EXPECT_TRUE(contains(readme, "`" + key + "`")) << key << " is not documented in config/README.md";
  }
}

TEST(DaemonConfig, DescribeHidesThePasswordAndParsesBack) {
  const DaemonConfig c = parse_ok(kEveryKey);
  const std::string described = edgerun::describe(c);
  EXPECT_FALSE(contains(described, "s3cret")) << described;
  EXPECT_TRUE(contains(described, R"("password": "***")")) << described;
  EXPECT_TRUE(contains(described, R"("username": "gw")")) << described;

  // The description is itself a valid config describing the same settings.
  const DaemonConfig again = parse_ok(described);
  EXPECT_EQ(edgerun::describe(again), described);

  // No password: nothing to hide, and nothing pretends there is one.
  EXPECT_TRUE(contains(edgerun::describe(parse_ok("{}")), R"("password": "")"));
}

// ---- Errors -----------------------------------------------------------------

TEST(DaemonConfigErrors, ExamplesFromTheDesign) {
  EXPECT_EQ(parse_error(R"({"jobs": {"queue_capacity": -3}})"),
            "/etc/edgerun/edgerun.json: jobs.queue_capacity is -3; expected an integer from 1 to 65536");
  EXPECT_EQ(parse_error(R"({"mqtt": {"url": "tcp://x"}})"),
            "/etc/edgerun/edgerun.json: mqtt.url is \"tcp://x\"; expected mqtt://host:port or mqtts://host:port");
  EXPECT_EQ(parse_error("{\n  \"jobs\": {\n    \"queue_capacity\": 64,\n  }\n}"),
            "/etc/edgerun/edgerun.json: line 4, column 3: not valid JSON");
}

TEST(DaemonConfigErrors, NotJsonGivesLineAndColumn) {
  EXPECT_TRUE(contains(parse_error("{\n  \"a\": 1,\n  \"b\" 2\n}"), "line 3, column 7: not valid JSON"));
  EXPECT_TRUE(contains(parse_error("{} {}"), "line 1, column 4: not valid JSON")) << "trailing text";
  // Columns count characters, not bytes.
  EXPECT_TRUE(contains(parse_error("{\"device_id\": \"\xC3\xA9\xC3\xA9\" x}"), "line 1, column 20"));
  // Where a key was expected: unquoted keys and trailing commas.
  EXPECT_TRUE(contains(parse_error("{\"mqtt\": {url: 1}}"), "line 1, column 11: not valid JSON")) << "the u";
  EXPECT_TRUE(contains(parse_error("{\"groups\": [\"a\",], \"x\": 1}"), "line 1, column 17: not valid JSON"))
      << "the ]";
  EXPECT_TRUE(contains(parse_error("{\"a\": [1,2x]}"), "line 1, column 11: not valid JSON")) << "the x";
  EXPECT_TRUE(contains(parse_error("{\"a,{\": {,}}"), "line 1, column 10: not valid JSON")) << "the ,";
  EXPECT_TRUE(contains(parse_error("{\"mqtt\": {"), "not valid JSON (the text ends too early)"));
  EXPECT_TRUE(contains(parse_error("{\"a\": \"abc"), "line 1, column 8: not valid JSON")) << "in the string";
  EXPECT_TRUE(contains(parse_error(""), "the file is empty; expected a JSON object"));
  EXPECT_TRUE(contains(parse_error(" \n "), "the file is empty"));
  EXPECT_TRUE(contains(parse_error(std::string_view("{}\0", 3)), "line 1, column 3: a NUL byte"));
  EXPECT_TRUE(contains(parse_error("[1, 2]"), "the top level is [1,2] (an array); expected a JSON object"));
  EXPECT_TRUE(contains(parse_error("null"), "the top level is null; expected a JSON object"));
  // An editor's byte order mark is tolerated.
  parse_ok("\xEF\xBB\xBF{}");
}

struct ErrorCase {
  const char* name;
  const char* json;
  std::vector<std::string> parts;  // each must appear in the message
};

void PrintTo(const ErrorCase& c, std::ostream* os) { *os << c.name; }

class DaemonConfigError : public ::testing::TestWithParam<ErrorCase> {};

TEST_P(DaemonConfigError, NamesFileFieldValueAndExpectation) {
  const ErrorCase& c = GetParam();
  const std::string message = parse_error(c.json);
  for (const std::string& part : c.parts)
    EXPECT_TRUE(contains(message, part)) << "missing: " << part << "\nin: " << message;
}

INSTANTIATE_TEST_SUITE_P(
    Kinds, DaemonConfigError,
    ::testing::Values(
        // Unknown keys list the known keys of their object.
        ErrorCase{"UnknownTopLevelKey",
                  R"({"devce_id": "gw"})",
                  {"devce_id is not a known key", "(did you mean device_id?)",
                   "expected one of: device_id, groups, workers, state_dir, journal, mqtt, jobs, telemetry, log, "
                   "memory, shutdown, exec"}},
        ErrorCase{"UnknownNestedKey",
                  R"({"mqtt": {"hots": "x"}})",
                  {"mqtt.hots is not a known key", "expected one of: url, username, password, topic_prefix"}},
        ErrorCase{"UnknownKeyInExecEntry",
                  R"({"exec": {"backup": {"program": "/bin/true", "argz": []}}})",
                  {"exec.backup.argz is not a known key", "(did you mean exec.backup.args?)",
                   "expected one of: program, args, working_directory, max_output_bytes"}},
        ErrorCase{"UnknownKeyPrefixOfKnown",
                  R"({"exec": {"backup": {"program": "/bin/true", "stop_grace": 5}}})",
                  {"exec.backup.stop_grace is not a known key (did you mean exec.backup.stop_grace_ms?)"}},
        // A typo of a key that moved points at its new place.
        ErrorCase{"UnknownKeyPrefixOfMoved",
                  R"({"exec": {"backup": {"program": "/bin/true", "timeout": 5}}})",
                  {"exec.backup.timeout is not a known key (did you mean types.backup.timeout_ms?)"}},
        ErrorCase{"ExecTimeoutMoved",
                  R"({"exec": {"backup": {"program": "/usr/bin/backup", "timeout_ms": 900000}}})",
                  {"/etc/edgerun/edgerun.json: exec.backup.timeout_ms: moved to types.backup.timeout_ms"}},
        ErrorCase{"UnknownKeyInTypesEntry",
                  R"({"types": {"backup": {"timeout": 5}}})",
                  {"types.backup.timeout is not a known key (did you mean types.backup.timeout_ms?)",
                   "expected one of: timeout_ms"}},
        ErrorCase{"BadTypeName",
                  R"({"types": {"back up": {}}})",
                  {R"(types has the key "back up"; expected job types that are ids)"}},
        ErrorCase{"TypesEntryNotAnObject",
                  R"({"types": {"backup": 5}})",
                  {"types.backup is 5 (a number); expected an object"}},
        ErrorCase{"DuplicateKey",
                  R"({"jobs": {"queue_capacity": 8, "queue_capacity": 9}})",
                  {"jobs.queue_capacity appears twice; expected each key once"}},
        // Wrong types name the type given.
        ErrorCase{"StringForInteger",
                  R"({"jobs": {"queue_capacity": "64"}})",
                  {R"(jobs.queue_capacity is "64" (a string); expected an integer from 1 to 65536)"}},
        ErrorCase{"NumberForBoolean",
                  R"({"jobs": {"report_progress": 1}})",
                  {"jobs.report_progress is 1 (a number); expected true or false"}},
        ErrorCase{"ArrayForSection", R"({"mqtt": []})", {"mqtt is [] (an array); expected an object"}},
        ErrorCase{"NullForString", R"({"state_dir": null})", {"state_dir is null; expected an absolute path"}},
        ErrorCase{"StringForArray",
                  R"({"groups": "lab"})",
                  {R"(groups is "lab" (a string); expected an array of strings, each an id)"}},
        ErrorCase{"PasswordOfWrongTypeIsNotShown",
                  R"({"mqtt": {"password": ["hunter2"]}})",
                  {"mqtt.password is an array, not shown; expected a string"}},
        ErrorCase{"NumberInArgs",
                  R"({"exec": {"x": {"program": "/bin/x", "args": ["-v", 3]}}})",
                  {"exec.x.args[1] is 3 (a number); expected a string"}},
        ErrorCase{"BadLogLevel",
                  R"({"log": {"level": "verbose"}})",
                  {R"(log.level is "verbose"; expected a log level: trace, debug, info, warn or error)"}},
        ErrorCase{"BadForwardLevel",
                  R"({"telemetry": {"log_forward_level": 3}})",
                  {"telemetry.log_forward_level is 3 (a number); expected a log level"}},
        // Out of range.
        ErrorCase{"BelowRange", R"({"workers": -1})", {"workers is -1; expected an integer from 0 to 256"}},
        ErrorCase{"AboveRange",
                  R"({"memory": {"metric_capacity": 70000}})",
                  {"memory.metric_capacity is 70000; expected an integer from 64 to 65536"}},
        ErrorCase{"NotAnInteger",
                  R"({"jobs": {"default_timeout_ms": 1.5}})",
                  {"jobs.default_timeout_ms is 1.5; expected an integer from 1 to 604800000"}},
        ErrorCase{"HugeNumber",
                  R"({"mqtt": {"keepalive_s": 1e999}})",
                  {"mqtt.keepalive_s is a number too large to hold; expected an integer from 5 to 65535"}},
        ErrorCase{"TypeTimeoutAboveRange",
                  R"({"types": {"backup": {"timeout_ms": 604800001}}})",
                  {"types.backup.timeout_ms is 604800001; expected an integer from 0 to 604800000"}},
        ErrorCase{"KeepaliveBelowRange",
                  R"({"mqtt": {"keepalive_s": 2}})",
                  {"mqtt.keepalive_s is 2; expected an integer from 5 to 65535"}},
        // URLs.
        ErrorCase{"UrlWithoutHost",
                  R"({"mqtt": {"url": "mqtt://:1883"}})",
                  {R"(mqtt.url is "mqtt://:1883"; expected a host name)"}},
        ErrorCase{"UrlPortZero",
                  R"({"mqtt": {"url": "mqtt://h:0"}})",
                  {R"(mqtt.url is "mqtt://h:0"; expected a port from 1 to 65535)"}},
        ErrorCase{"UrlPortTooLarge",
                  R"({"mqtt": {"url": "mqtt://h:65536"}})",
                  {R"(mqtt.url is "mqtt://h:65536"; expected a port from 1 to 65535)"}},
        ErrorCase{"UrlEmptyPort", R"({"mqtt": {"url": "mqtt://h:"}})", {"expected a port from 1 to 65535"}},
        ErrorCase{"UrlWithUser",
                  R"({"mqtt": {"url": "mqtt://user@h:1883"}})",
                  {R"(mqtt.url is "mqtt://user@h:1883"; expected)", "no user, path or query"}},
        ErrorCase{"UrlWithPath", R"({"mqtt": {"url": "mqtt://h:1883/x"}})", {"expected a port from 1 to 65535"}},
        ErrorCase{"UrlNotAString",
                  R"({"mqtt": {"url": 1883}})",
                  {"mqtt.url is 1883 (a number); expected mqtt://host:port or mqtts://host:port"}},
        // Ids and names.
        ErrorCase{"BadDeviceId",
                  R"({"device_id": "gw/01"})",
                  {R"(device_id is "gw/01"; expected an id matching [A-Za-z0-9._-]{1,64})"}},
        ErrorCase{"LongDeviceId",
                  R"({"device_id": "a123456789a123456789a123456789a123456789a123456789a123456789abcde"})",
                  {"device_id is \"a1234", "expected an id matching [A-Za-z0-9._-]{1,64}"}},
        ErrorCase{"EmptyDeviceId", R"({"device_id": ""})", {R"(device_id is ""; expected an id)"}},
        ErrorCase{"BadGroupId",
                  R"({"groups": ["lab", "site #2"]})",
                  {R"(groups[1] is "site #2"; expected an id matching [A-Za-z0-9._-]{1,64})"}},
        ErrorCase{"DuplicateGroup",
                  R"({"groups": ["lab", "x", "lab"]})",
                  {R"(groups[2] is "lab"; expected each entry once (it is also groups[0]))"}},
        ErrorCase{"BadTopicPrefix",
                  R"({"mqtt": {"topic_prefix": "edgerun/+"}})",
                  {R"(mqtt.topic_prefix is "edgerun/+"; expected ids)"}},
        ErrorCase{"TopicPrefixTrailingSlash",
                  R"({"mqtt": {"topic_prefix": "edgerun/"}})",
                  {R"(mqtt.topic_prefix is "edgerun/")"}},
        ErrorCase{"BadClientId", R"({"mqtt": {"client_id": "a b"}})", {R"(mqtt.client_id is "a b"; expected)"}},
        ErrorCase{"BadExecType",
                  R"({"exec": {"back up": {"program": "/bin/true"}}})",
                  {R"(exec has the key "back up"; expected job types that are ids)"}},
        ErrorCase{"BadParamName",
                  R"({"exec": {"b": {"program": "/bin/b", "params_env": ["ok", "not-ok"]}}})",
                  {R"(exec.b.params_env[1] is "not-ok"; expected a param name matching [A-Za-z0-9_]{1,64})"}},
        ErrorCase{"BadEnvName",
                  R"({"exec": {"b": {"program": "/bin/b", "env_passthrough": ["PATH", "1X"]}}})",
                  {R"(exec.b.env_passthrough[1] is "1X"; expected an environment variable name)"}},
        // Paths.
        ErrorCase{"RelativeExecProgram",
                  R"({"exec": {"backup": {"program": "bin/backup"}}})",
                  {R"(exec.backup.program is "bin/backup"; expected an absolute path)"}},
        ErrorCase{"MissingExecProgram",
                  R"({"exec": {"backup": {"args": []}}})",
                  {"exec.backup.program is missing; expected the absolute path"}},
        ErrorCase{"ExecEntryNotAnObject",
                  R"({"exec": {"backup": "/usr/bin/backup"}})",
                  {R"(exec.backup is "/usr/bin/backup" (a string); expected an object)"}},
        ErrorCase{"RelativeWorkingDirectory",
                  R"({"exec": {"b": {"program": "/bin/b", "working_directory": "tmp"}}})",
                  {R"(exec.b.working_directory is "tmp"; expected an absolute path or "")"}},
        ErrorCase{"RelativeStateDir",
                  R"({"state_dir": "var/lib/edgerun"})",
                  {R"(state_dir is "var/lib/edgerun"; expected an absolute path)"}},
        // Relations name both keys.
        ErrorCase{"ReconnectMinAboveMax",
                  R"({"mqtt": {"reconnect_min_ms": 5000, "reconnect_max_ms": 1000}})",
                  {"mqtt.reconnect_min_ms is 5000; expected at most mqtt.reconnect_max_ms (1000)"}},
        ErrorCase{"BatchAboveLogRecords",
                  R"({"log": {"records": 64}, "telemetry": {"log_batch_records": 100}})",
                  {"telemetry.log_batch_records is 100; expected at most log.records (64)"}},
        ErrorCase{"CaFileWithoutTls",
                  R"({"mqtt": {"url": "mqtt://h", "ca_file": "/etc/ca.pem"}})",
                  {R"(mqtt.ca_file is "/etc/ca.pem" but mqtt.url is "mqtt://h"; expected an mqtts://)"}},
        // From validate(), rewritten to the file's keys.
        ErrorCase{"ArenaBelowFourPayloads",
                  R"({"memory": {"json_arena_bytes": 65536}, "jobs": {"max_payload_bytes": 32768}})",
                  {"/etc/edgerun/edgerun.json: memory.json_arena_bytes is 65536; expected at least 4 * "
                   "jobs.max_payload_bytes (32768) = 131072"}},
        ErrorCase{
            "EventAboveArena",
            R"({"memory": {"json_arena_bytes": 8192, "event_max_bytes": 16384}, "jobs": {"max_payload_bytes": 1024}})",
            {"memory.event_max_bytes is 16384; expected at most memory.json_arena_bytes (8192)"}}),
    [](const ::testing::TestParamInfo<ErrorCase>& param_info) { return std::string(param_info.param.name); });

TEST(DaemonConfigErrors, InvalidHostNameNeedsADeviceId) {
  const std::string message = parse_error("{}", "my host");
  EXPECT_TRUE(contains(message, R"(device_id is not set and the host name "my host" is not a valid id)")) << message;
  // A device_id in the file makes the host name irrelevant.
  EXPECT_TRUE(parse(R"({"device_id": "gw-01"})", "my host").config.has_value());
}

// ---- types.<name> against the daemon's job types -------------------------------

TEST(DaemonConfigTypes, UnknownTypeNamesTheFileTheKeyAndTheKnownTypes) {
  const DaemonConfig c = parse_ok(R"({"types": {"sleep": {"timeout_ms": 200}, "slep": {}}})");
  const std::string_view known[] = {"hello", "echo", "sleep", "sysinfo"};
  EXPECT_EQ(edgerun::check_job_types(c, kPath, known),
            "/etc/edgerun/edgerun.json: types.slep is not a job type of this daemon (did you mean types.sleep?); "
            "expected one of its job types: hello, echo, sleep, sysinfo");
  const std::string_view with_slep[] = {"sleep", "slep"};
  EXPECT_EQ(edgerun::check_job_types(c, kPath, with_slep), "");
  EXPECT_EQ(edgerun::check_job_types(parse_ok("{}"), kPath, {}), "") << "no types: nothing to check";
}

TEST(DaemonConfigErrors, LongValuesAreShortened) {
  const std::string long_path(300, 'a');
  const std::string message = parse_error(R"({"state_dir": ")" + long_path + "\"}");
  EXPECT_LT(message.size(), 200u) << message;
  EXPECT_TRUE(contains(message, "...")) << message;
}

// ---- Ranges agree with validate() --------------------------------------------

// The parser repeats validate()'s ranges so that it can name the key; both
// must take the same values. A base config satisfies every relation even at
// the limits of the field under test.
struct RangeCase {
  const char* section;  // "" for a top-level key
  const char* key;
  std::uint32_t RuntimeConfig::*member;
  std::uint32_t low, high;
};

void PrintTo(const RangeCase& c, std::ostream* os) { *os << c.section << "." << c.key; }

std::string json_with(const RangeCase& c, std::uint64_t value) {
  std::map<std::string, std::map<std::string, std::string>> sections = {
      {"jobs", {{"max_payload_bytes", "256"}}},
      {"memory", {{"json_arena_bytes", "268435456"}, {"event_max_bytes", "16"}}},
      {"telemetry", {{"log_batch_records", "1"}}},
  };
  sections[c.section][c.key] = std::to_string(value);
  std::string json = "{";
  for (const auto& [section, keys] : sections) {
    std::string members;
    for (const auto& [key, text] : keys) members += (members.empty() ? "" : ", ") + ("\"" + key + "\": " + text);
    if (section.empty()) {
      json += members;
    } else {
      json += "\"" + section + "\": {" + members + "}";
    }
    json += ", ";
  }
  json.resize(json.size() - 2);
  return json + "}";
}

RuntimeConfig runtime_with(const RangeCase& c, std::uint32_t value) {
  RuntimeConfig config;
  config.max_payload_bytes = 256;
  config.json_arena_bytes = 256u << 20;
  config.event_max_bytes = 16;
  config.*c.member = value;
  return config;
}

class DaemonConfigRange : public ::testing::TestWithParam<RangeCase> {};

TEST_P(DaemonConfigRange, ParserAndValidateAgree) {
  const RangeCase& c = GetParam();
  for (const std::uint32_t good : {c.low, c.high}) {
    const ConfigLoadResult result = parse(json_with(c, good));
    EXPECT_TRUE(result.config.has_value()) << json_with(c, good) << " -> " << result.error;
    EXPECT_TRUE(validate(runtime_with(c, good)).ok()) << c.key << " = " << good;
  }
  std::vector<std::uint32_t> bad{c.high + 1};
  if (c.low > 0) bad.push_back(c.low - 1);
  for (const std::uint32_t value : bad) {
    const std::string message = parse_error(json_with(c, value));
    const std::string key = std::string(c.section).empty() ? c.key : std::string(c.section) + "." + c.key;
    EXPECT_TRUE(contains(message, key + " is " + std::to_string(value) + "; expected an integer from " +
                                      std::to_string(c.low) + " to " + std::to_string(c.high)))
        << message;
    EXPECT_FALSE(validate(runtime_with(c, value)).ok()) << c.key << " = " << value << " passes validate()";
  }
}

constexpr std::uint32_t kWeekMs = 7u * 24 * 3600 * 1000;

INSTANTIATE_TEST_SUITE_P(
    RuntimeKeys, DaemonConfigRange,
    ::testing::Values(RangeCase{"", "workers", &RuntimeConfig::workers, 0, 256},
                      RangeCase{"jobs", "queue_capacity", &RuntimeConfig::queue_capacity, 1, 1u << 16},
                      RangeCase{"jobs", "max_payload_bytes", &RuntimeConfig::max_payload_bytes, 256, 16u << 20},
                      RangeCase{"jobs", "max_result_bytes", &RuntimeConfig::max_result_bytes, 64, 16u << 20},
                      RangeCase{"jobs", "default_timeout_ms", &RuntimeConfig::default_timeout_ms, 1, kWeekMs},
                      RangeCase{"jobs", "finished_ids", &RuntimeConfig::finished_ids, 1, 1u << 20},
                      RangeCase{"jobs", "finished_id_ttl_ms", &RuntimeConfig::finished_id_ttl_ms, 1, kWeekMs},
                      RangeCase{"log", "records", &RuntimeConfig::log_records, 2, 1u << 20},
                      RangeCase{"memory", "json_arena_bytes", &RuntimeConfig::json_arena_bytes, 4096, 256u << 20},
                      RangeCase{"memory", "metric_capacity", &RuntimeConfig::metric_capacity, 64, 1u << 16},
                      RangeCase{"memory", "event_records", &RuntimeConfig::event_records, 1, 1u << 16},
                      RangeCase{"memory", "event_max_bytes", &RuntimeConfig::event_max_bytes, 16, 1u << 20}),
    [](const ::testing::TestParamInfo<RangeCase>& param_info) {
      const std::string section = param_info.param.section;
      return section + (section.empty() ? "" : "_") + param_info.param.key;
    });

// ---- Loading files -------------------------------------------------------------

TEST(DaemonConfigLoad, MissingFileNamesFileAndReason) {
  const ConfigLoadResult result = edgerun::load_daemon_config("/nonexistent-edgerun/edgerun.json", kHost);
  EXPECT_FALSE(result.config.has_value());
  EXPECT_EQ(result.error, "/nonexistent-edgerun/edgerun.json: cannot open: No such file or directory");
}

TEST(DaemonConfigLoad, DirectoryIsNotAConfigFile) {
  const std::string dir = ::testing::TempDir();
  const ConfigLoadResult result = edgerun::load_daemon_config(dir, kHost);
  EXPECT_FALSE(result.config.has_value());
  EXPECT_TRUE(result.error.starts_with(dir + ": ")) << result.error;
  EXPECT_TRUE(contains(result.error, "Is a directory")) << result.error;
}

TEST(DaemonConfigLoad, ReadsAFileAndNamesItInErrors) {
  const std::filesystem::path path = std::filesystem::path(::testing::TempDir()) / "edgerun-daemon-config-test.json";
  {
    std::ofstream out(path, std::ios::binary | std::ios::trunc);
    out << "{\n  \"jobs\": {\"queue_capacity\": 0}\n}\n";
  }
  ConfigLoadResult result = edgerun::load_daemon_config(path.string(), kHost);
  EXPECT_EQ(result.error, path.string() + ": jobs.queue_capacity is 0; expected an integer from 1 to 65536");
  {
    std::ofstream out(path, std::ios::binary | std::ios::trunc);
    out << R"({"jobs": {"queue_capacity": 7}})";
  }
  result = edgerun::load_daemon_config(path.string(), kHost);
  ASSERT_TRUE(result.config.has_value()) << result.error;
  EXPECT_EQ(result.config->runtime.queue_capacity, 7u);
  {
    std::ofstream out(path, std::ios::binary | std::ios::trunc);
    out << std::string((1u << 20) + 1, ' ');
  }
  result = edgerun::load_daemon_config(path.string(), kHost);
  EXPECT_TRUE(contains(result.error, "expected a config file of at most 1 MiB")) << result.error;
  std::filesystem::remove(path);
}

// ---- Environment ---------------------------------------------------------------

std::function<const char*(const char*)> fake_env(std::map<std::string, std::string> values) {
  auto env = std::make_shared<std::map<std::string, std::string>>(std::move(values));
  return [env](const char* name) -> const char* {
    const auto it = env->find(name);
    return it == env->end() ? nullptr : it->second.c_str();
  };
}

TEST(DaemonConfigEnvironment, OverridesWinOverTheFile) {
  DaemonConfig c = parse_ok(R"({"mqtt": {"url": "mqtt://file-broker:1883", "username": "file", "password": "pw"}})");
  EXPECT_EQ(edgerun::apply_environment(c, fake_env({{"EDGERUN_MQTT_URL", "mqtts://env-broker:8884"},
                                                    {"EDGERUN_MQTT_USERNAME", "env-user"},
                                                    {"EDGERUN_MQTT_PASSWORD", "env-pw"}})),
            "");
  EXPECT_EQ(c.mqtt.url, "mqtts://env-broker:8884");
  EXPECT_EQ(c.mqtt.host, "env-broker");
  EXPECT_EQ(c.mqtt.port, 8884);
  EXPECT_TRUE(c.mqtt.tls);
  EXPECT_EQ(c.mqtt.username, "env-user");
  EXPECT_EQ(c.mqtt.password, "env-pw");
}

TEST(DaemonConfigEnvironment, UnsetVariablesLeaveTheFile) {
  DaemonConfig c = parse_ok(R"({"mqtt": {"url": "mqtt://file-broker:1884", "username": "file", "password": "pw"}})");
  EXPECT_EQ(edgerun::apply_environment(c, fake_env({})), "");
  EXPECT_EQ(edgerun::apply_environment(c, nullptr), "");
  EXPECT_EQ(c.mqtt.url, "mqtt://file-broker:1884");
  EXPECT_EQ(c.mqtt.port, 1884);
  EXPECT_EQ(c.mqtt.username, "file");
  EXPECT_EQ(c.mqtt.password, "pw");
  // Set but empty overrides: no password at all.
  EXPECT_EQ(edgerun::apply_environment(c, fake_env({{"EDGERUN_MQTT_PASSWORD", ""}})), "");
  EXPECT_EQ(c.mqtt.password, "");
  EXPECT_EQ(c.mqtt.username, "file");
}

TEST(DaemonConfigEnvironment, BadUrlNamesTheVariableAndChangesNothing) {
  DaemonConfig c = parse_ok("{}");
  const std::string error =
      edgerun::apply_environment(c, fake_env({{"EDGERUN_MQTT_URL", "tcp://x"}, {"EDGERUN_MQTT_USERNAME", "u"}}));
  EXPECT_EQ(error, "EDGERUN_MQTT_URL is \"tcp://x\"; expected mqtt://host:port or mqtts://host:port");
  EXPECT_EQ(c.mqtt.url, "mqtt://127.0.0.1:1883");
  EXPECT_EQ(c.mqtt.username, "");

  EXPECT_TRUE(contains(edgerun::apply_environment(c, fake_env({{"EDGERUN_MQTT_URL", "mqtt://h:0"}})),
                       "EDGERUN_MQTT_URL is \"mqtt://h:0\"; expected a port from 1 to 65535"));
}

TEST(DaemonConfigEnvironment, PlainUrlConflictsWithACaFile) {
  DaemonConfig c = parse_ok(R"({"mqtt": {"url": "mqtts://h", "ca_file": "/etc/ca.pem"}})");
  const std::string error = edgerun::apply_environment(c, fake_env({{"EDGERUN_MQTT_URL", "mqtt://h"}}));
  EXPECT_TRUE(contains(error, "EDGERUN_MQTT_URL is \"mqtt://h\" but mqtt.ca_file is \"/etc/ca.pem\"")) << error;
  EXPECT_TRUE(c.mqtt.tls);
}

TEST(DaemonConfigEnvironment, DescribeShowsTheOverride) {
  DaemonConfig c = parse_ok("{}");
  ASSERT_EQ(edgerun::apply_environment(c, fake_env({{"EDGERUN_MQTT_PASSWORD", "hunter2"}})), "");
  const std::string described = edgerun::describe(c);
  EXPECT_FALSE(contains(described, "hunter2")) << described;
  EXPECT_TRUE(contains(described, R"("password": "***")")) << described;
}

}  // namespace

// The config schema (core/daemon/config_schema.hpp) drives the loader: every
// key of the table is accepted at its default and at the ends of its range,
// refused beyond them and with the wrong type, each with the file, the key,
// the value and what was expected. config/README.md's key tables are the
// ones the schema generates. test_daemon_config.cpp holds the hand-written
// cases these table-driven ones stand on.

#include "config_schema.hpp"

#include <cjson/cJSON.h>
#include <gtest/gtest.h>

#include <cstdio>
#include <filesystem>
#include <fstream>
#include <map>
#include <memory>
#include <sstream>
#include <string>
#include <string_view>
#include <vector>

#include "edgerun/daemon_config.hpp"

namespace {

using edgerun::DaemonConfig;
using edgerun::Key;
using edgerun::Shape;

constexpr std::string_view kPath = "/etc/edgerun/edgerun.json";

using Json = std::unique_ptr<cJSON, void (*)(cJSON*)>;
Json parse_json(const std::string& text) { return Json(cJSON_Parse(text.c_str()), cJSON_Delete); }
std::string print(const cJSON* json) {
  char* text = cJSON_PrintUnformatted(json);
  std::string out(text);
  cJSON_free(text);
  return out;
}

// Relations hold at both ends of every range with these.
constexpr const char* kBase = R"({
  "jobs": {"max_payload_bytes": 256},
  "memory": {"json_arena_bytes": 268435456, "event_max_bytes": 16},
  "log": {"records": 1048576},
  "telemetry": {"log_batch_records": 1},
  "mqtt": {"reconnect_min_ms": 10, "reconnect_max_ms": 3600000}
})";

// A good value for each required key, given whenever an entry is made.
const std::map<std::string_view, std::string> kRequired = {{"exec.<type>.program", R"("/bin/true")"}};

std::vector<std::string> split(std::string_view path) {
  std::vector<std::string> parts;
  for (std::size_t dot; (dot = path.find('.')) != std::string_view::npos; path.remove_prefix(dot + 1)) {
    parts.emplace_back(path.substr(0, dot));
  }
  parts.emplace_back(path);
  return parts;
}

std::string parent_of(std::string_view path) {
  const std::size_t dot = path.rfind('.');
  return dot == std::string_view::npos ? "" : std::string(path.substr(0, dot));
}

// The key as messages name it: map entries are "t", list entries the first.
std::string actual(std::string_view pattern) {
  std::string out;
  for (const std::string& part : split(pattern)) {
    std::string shown = part.starts_with('<') ? "t" : part;
    if (shown.ends_with("[]")) shown.insert(shown.end() - 1, '0');
    out += (out.empty() ? "" : ".") + shown;
  }
  return out;
}

cJSON* member(cJSON* object, const std::string& name, bool array = false) {
  cJSON* item = cJSON_GetObjectItemCaseSensitive(object, name.c_str());
  if (item == nullptr) item = array ? cJSON_AddArrayToObject(object, name.c_str()) : cJSON_AddObjectToObject(object, name.c_str());
  return item;
}

// A new entry gets its required keys.
void fill_required(cJSON* entry, const std::string& pattern) {
  for (const Key& key : edgerun::config_schema()) {
    if (key.required.empty() || parent_of(key.path) != pattern) continue;
    const auto sample = kRequired.find(key.path);
    EXPECT_NE(sample, kRequired.end()) << key.path << " is required: give kRequired a good value for it";
    if (sample == kRequired.end()) continue;
    const std::string name = split(key.path).back();
    if (!cJSON_HasObjectItem(entry, name.c_str())) cJSON_AddItemToObject(entry, name.c_str(), cJSON_Parse(sample->second.c_str()));
  }
}

// `base` with `value` (JSON text) at the key `path`, and the entries on the way.
std::string config_with(std::string_view path, const std::string& value, const std::string& base = kBase) {
  const Json root = parse_json(base);
  cJSON* at = root.get();
  std::string pattern;
  const std::vector<std::string> parts = split(path);
  for (std::size_t i = 0; i + 1 < parts.size(); ++i) {
    const std::string& part = parts[i];
    pattern += (pattern.empty() ? "" : ".") + part;
    if (part.ends_with("[]")) {
      cJSON* array = member(at, part.substr(0, part.size() - 2), true);
      if (cJSON_GetArraySize(array) == 0) cJSON_AddItemToArray(array, cJSON_CreateObject());
      at = cJSON_GetArrayItem(array, 0);
      fill_required(at, pattern);
    } else if (part.starts_with('<')) {
      at = member(at, "t");
      fill_required(at, pattern);
    } else {
      at = member(at, part);
    }
  }
  cJSON_DeleteItemFromObjectCaseSensitive(at, parts.back().c_str());
  cJSON* item = cJSON_Parse(value.c_str());
  EXPECT_NE(item, nullptr) << value;
  cJSON_AddItemToObject(at, parts.back().c_str(), item);
  return print(root.get());
}

edgerun::ConfigLoadResult parse(const std::string& text) { return edgerun::parse_daemon_config(text, kPath, "gw-01"); }

// The leaves of describe()'s output that differ between two configs.
void differing(const cJSON* a, const cJSON* b, const std::string& path, std::vector<std::string>& out) {
  if (cJSON_IsObject(a) && cJSON_IsObject(b)) {
    for (const cJSON* m = a->child; m != nullptr; m = m->next) {
      differing(m, cJSON_GetObjectItemCaseSensitive(b, m->string), path.empty() ? m->string : path + "." + m->string,
                out);
    }
    for (const cJSON* m = b->child; m != nullptr; m = m->next) {
      if (!cJSON_HasObjectItem(a, m->string)) out.push_back(path + "." + m->string);
    }
  } else if (b == nullptr || !cJSON_Compare(a, b, true)) {
    out.push_back(path);
  }
}

std::vector<const Key*> value_keys(Shape shape = Shape::value) {
  std::vector<const Key*> keys;
  for (const Key& key : edgerun::config_schema()) {
    if (key.shape == shape) keys.push_back(&key);
  }
  return keys;
}

bool is_integer(const Key& key) {
  DaemonConfig scratch;
  std::vector<std::size_t> entry;
  if (key.runtime != nullptr) return true;
  // Entries on the way, so that the accessor has one to point into.
  scratch.exec.emplace_back();
  scratch.types.emplace_back();
  entry.push_back(0);
  return std::holds_alternative<std::uint32_t*>(key.at(scratch, entry));
}

// kBase with an entry of each map.
std::string base_with_entries() {
  return config_with("types.<type>.timeout_ms", "0", config_with("exec.<type>.args", "[]"));
}

TEST(ConfigSchema, IntegersAreAcceptedAtTheirLimitsAndLandInTheirKey) {
  const std::string base_text = base_with_entries();
  const auto base = parse(base_text);
  ASSERT_TRUE(base.config) << base.error;
  const Json base_json = parse_json(edgerun::describe(*base.config));
  std::size_t checked = 0;
  for (const Key* key : value_keys()) {
    if (!is_integer(*key)) continue;
    ++checked;
    // The range as the loader states it, read from a refusal below.
    const std::string text = parse(config_with(key->path, "-1", base_text)).error;
    const std::size_t from = text.find("an integer from ");
    ASSERT_NE(from, std::string::npos) << key->path << ": " << text;
    unsigned long long low = 0, high = 0;
    ASSERT_EQ(std::sscanf(text.c_str() + from, "an integer from %llu to %llu", &low, &high), 2) << text;
    for (const unsigned long long good : {low, high}) {
      const auto result = parse(config_with(key->path, std::to_string(good), base_text));
      ASSERT_TRUE(result.config) << key->path << " = " << good << ": " << result.error;
      const Json json = parse_json(edgerun::describe(*result.config));
      std::vector<std::string> changed;
      differing(base_json.get(), json.get(), "", changed);
      // Only the key itself (or nothing, at its default) changed: no two keys share a field.
      for (const std::string& path : changed) EXPECT_EQ(path, actual(key->path)) << key->path << " = " << good;
    }
    std::vector<unsigned long long> bad{high + 1};
    if (low > 0) bad.push_back(low - 1);
    for (const unsigned long long value : bad) {
      EXPECT_EQ(parse(config_with(key->path, std::to_string(value))).error,
                std::string(kPath) + ": " + actual(key->path) + " is " + std::to_string(value) +
                    "; expected an integer from " + std::to_string(low) + " to " + std::to_string(high));
    }
    EXPECT_EQ(parse(config_with(key->path, "1.5")).error,
              std::string(kPath) + ": " + actual(key->path) + " is 1.5; expected an integer from " +
                  std::to_string(low) + " to " + std::to_string(high));
  }
  EXPECT_GE(checked, 25u);
}

TEST(ConfigSchema, EveryKeyTakesItsDefault) {
  // describe() of a config with an entry of each map writes every key at its
  // default; each alone must be accepted.
  const auto base = parse(base_with_entries());
  ASSERT_TRUE(base.config) << base.error;
  const std::string described = edgerun::describe(*base.config);
  const Json all = parse_json(described);
  std::size_t checked = 0;
  for (const Key* key : value_keys()) {
    cJSON* value = all.get();
    for (const std::string& part : split(actual(key->path))) value = cJSON_GetObjectItemCaseSensitive(value, part.c_str());
    ASSERT_NE(value, nullptr) << key->path << " is not in\n" << described;
    ++checked;
    const auto result = parse(config_with(key->path, print(value)));
    ASSERT_TRUE(result.config) << key->path << " = " << print(value) << ": " << result.error;
  }
  EXPECT_GT(checked, 40u);
}

TEST(ConfigSchema, EveryKeyRefusesTheWrongType) {
  for (const Key* key : value_keys()) {
    const std::string error = parse(config_with(key->path, "{}")).error;
    const std::string shown = key->secret ? " is an object, not shown; expected " : " is {} (an object); expected ";
    EXPECT_TRUE(error.starts_with(std::string(kPath) + ": " + actual(key->path) + shown)) << key->path << ": " << error;
  }
}

TEST(ConfigSchema, EveryObjectRefusesAnUnknownKeyAndListsItsOwn) {
  std::vector<std::string> patterns{""};
  for (const Key& key : edgerun::config_schema()) {
    if (key.shape == Shape::object) patterns.emplace_back(key.path);
    if (key.shape == Shape::value && parent_of(key.path).ends_with(">")) patterns.push_back(parent_of(key.path));
  }
  for (const std::string& pattern : patterns) {
    std::string known;
    for (const Key& key : edgerun::config_schema()) {
      if (parent_of(key.path) != pattern || key.shape == Shape::moved) continue;
      known += (known.empty() ? "" : ", ") + split(key.path).back();
    }
    const std::string path = pattern.empty() ? "zzzz" : pattern + ".zzzz";
    const std::string shown = pattern.empty() ? "zzzz" : actual(pattern) + ".zzzz";
    EXPECT_EQ(parse(config_with(path, "1")).error,
              std::string(kPath) + ": " + shown + " is not a known key; expected one of: " + known);
  }
}

TEST(ConfigSchema, MovedKeysSayWhereTheyWent) {
  std::size_t checked = 0;
  for (const Key* key : value_keys(Shape::moved)) {
    ++checked;
    std::string target(key->moved_to);
    target.replace(target.find('<'), target.find('>') - target.find('<') + 1, 1, 't');
    EXPECT_EQ(parse(config_with(key->path, "1")).error,
              std::string(kPath) + ": " + actual(key->path) + ": moved to " + target);
  }
  EXPECT_EQ(checked, 1u) << "exec.<type>.timeout_ms";
}

// ---- Lists of objects, with a schema of the test's own ----------------------------

using edgerun::entry_field;
using edgerun::ExecProgram;
using edgerun::kListEntries;

constexpr Key kListSchema[] = {
    {.path = "programs", .shape = Shape::list, .entries = &kListEntries<&DaemonConfig::exec>,
     .meaning = "programs"},
    {.path = "programs[].type", .at = entry_field<&DaemonConfig::exec, &ExecProgram::type>, .required = "a name",
     .meaning = "its name"},
    {.path = "programs[].args", .at = entry_field<&DaemonConfig::exec, &ExecProgram::args>, .meaning = "arguments"},
    {.path = "programs[].grace_ms", .at = entry_field<&DaemonConfig::exec, &ExecProgram::stop_grace_ms>,
     .range = {0, 10}, .meaning = "a grace"},
};

std::string read_list(const std::string& text, DaemonConfig& config) {
  const Json json = parse_json(text);
  EXPECT_NE(json, nullptr) << text;
  return edgerun::read_config(json.get(), kListSchema, config);
}

TEST(ConfigSchemaList, ReadsEachElementInOrderAndWritesThemBack) {
  DaemonConfig c;
  const std::string text = R"({"programs":[{"type":"a","args":["x"],"grace_ms":2000},{"type":"b","args":[],"grace_ms":3}]})";
  // 2000 is the built-in default of stop_grace_ms, beyond this schema's range.
  ASSERT_EQ(read_list(text, c), "programs[0].grace_ms is 2000; expected an integer from 0 to 10");
  c = DaemonConfig{};
  const std::string good = R"({"programs":[{"type":"a","args":["x"],"grace_ms":7},{"type":"b","args":[],"grace_ms":3}]})";
  ASSERT_EQ(read_list(good, c), "");
  ASSERT_EQ(c.exec.size(), 2u);
  EXPECT_EQ(c.exec[0].type, "a");
  EXPECT_EQ(c.exec[0].args, std::vector<std::string>{"x"});
  EXPECT_EQ(c.exec[0].stop_grace_ms, 7u);
  EXPECT_EQ(c.exec[1].type, "b");
  EXPECT_EQ(c.exec[1].stop_grace_ms, 3u);
  const Json written(edgerun::write_config(kListSchema, c), cJSON_Delete);
  EXPECT_EQ(print(written.get()), good);
}

TEST(ConfigSchemaList, ErrorsNameTheElement) {
  DaemonConfig c;
  EXPECT_EQ(read_list(R"({"programs": {}})", c), "programs is {} (an object); expected an array of objects");
  EXPECT_EQ(read_list(R"({"programs": [5]})", c), "programs[0] is 5 (a number); expected an object");
  EXPECT_EQ(read_list(R"({"programs": [{"type": "a"}, {}]})", c), "programs[1].type is missing; expected a name");
  EXPECT_EQ(read_list(R"({"programs": [{"type": "a", "args": [1]}]})", c),
            "programs[0].args[0] is 1 (a number); expected a string");
  EXPECT_EQ(read_list(R"({"programs": [{"type": "a", "grac_ms": 1}]})", c),
            "programs[0].grac_ms is not a known key (did you mean programs[0].grace_ms?); expected one of: type, "
            "args, grace_ms");
}

TEST(ConfigSchemaList, IsDocumentedAsATableOfItsOwn) {
  const std::string reference = edgerun::config_reference(kListSchema);
  EXPECT_NE(reference.find("| `programs` | array of objects | `[]` | programs | |"), std::string::npos) << reference;
  EXPECT_NE(reference.find("\n### `programs`\n"), std::string::npos) << reference;
  EXPECT_NE(reference.find("| `programs[].type` | string | required | its name | |"), std::string::npos) << reference;
  EXPECT_NE(reference.find("| `programs[].grace_ms` | integer 0..10 | 2000 | a grace | |"), std::string::npos)
      << reference;
}

// ---- config/README.md -----------------------------------------------------------

std::filesystem::path config_dir() {
  return std::filesystem::path(__FILE__).parent_path().parent_path().parent_path() / "config";
}

TEST(ConfigSchema, ReadmeKeyTablesAreTheGeneratedOnes) {
  std::ostringstream text;
  text << std::ifstream(config_dir() / "README.md", std::ios::binary).rdbuf();
  const std::string readme = text.str();
  const std::string expected = edgerun::with_reference(readme, edgerun::config_reference(edgerun::config_schema()));
  ASSERT_FALSE(expected.empty()) << "config/README.md lacks the lines around the generated tables";
  EXPECT_EQ(readme, expected) << "config/README.md's key tables differ from the schema: run "
                                 "`edgerun_config_reference --update config/README.md` (built in core/daemon)";
}

TEST(ConfigSchema, ReferenceDocumentsEveryKeyWithItsRange) {
  const std::string reference = edgerun::config_reference(edgerun::config_schema());
  for (const Key& key : edgerun::config_schema()) {
    EXPECT_NE(reference.find("| `" + std::string(key.path) + "` |"), std::string::npos) << key.path;
  }
  // A few rows by hand, so that the generator is not only checked against itself.
  for (const char* row : {
           "| `jobs.queue_capacity` | integer 1..65536 | 64 | jobs that may wait for a worker in memory.",
           "| `mqtt.keepalive_s` | integer 5..65535 | 30 |",
           "| `log.level` | `trace` `debug` `info` `warn` `error` | `info` |",
           "| `exec.<type>.program` | absolute path | required |",
           "| `exec.<type>.env_passthrough` | array of names `[A-Za-z_][A-Za-z0-9_]{0,127}` | `[\"PATH\"]` |",
           "| `exec.<type>.timeout_ms` | | | moved to `types.<type>.timeout_ms`; here it is an error | |",
           "| `types.<type>.timeout_ms` | integer 0..604800000 | 0 |",
           "| `groups` | array of ids | `[]` |",
           "| `mqtt.password` | string | `\"\"` |",
       }) {
    EXPECT_NE(reference.find(row), std::string::npos) << row;
  }
}

}  // namespace

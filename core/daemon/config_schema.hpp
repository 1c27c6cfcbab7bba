#pragma once
// The schema of edgerund's config file: every key once, in one table
// (config_schema.cpp), with its type, range, default, meaning and memory
// cost. The loader, describe() (`--check-config`) and the key tables of
// config/README.md (`--config-reference`) all walk this table, so a key added
// here is read, checked, printed and documented, and cannot be one without
// the others.
//
// A key is a dotted path: `jobs.queue_capacity`. Entries of a map keyed by
// name stand as `exec.<type>.program`, entries of an array of objects as
// `hooks[].program`; in messages the placeholder becomes the entry's name or
// index (`exec.backup.program`, `hooks[2].program`). The keys of an object
// follow it in the table in the order the file lists them.
//
// Set-up code: everything here allocates freely and runs on the thread that
// loads the config.

#include <cstddef>
#include <cstdint>
#include <span>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

#include "edgerun/daemon_config.hpp"

struct cJSON;

namespace edgerun {

// Which entry of each map or list on the way to a key: for
// `exec.<type>.args`, the index of the exec entry.
using EntryPath = std::span<const std::size_t>;

// Where a key's value lives. Its C++ type is what the file must hold: an
// integer, true / false, a string, an array of strings, a log level name.
using ValuePtr = std::variant<std::uint32_t*, bool*, std::string*, std::vector<std::string>*, LogLevel*>;

struct Range {
  std::uint32_t low, high;
};

// What a string, each string of an array, or each name of a map must be.
struct StringRule {
  const char* expected;  // for messages: "an id matching [A-Za-z0-9._-]{1,64}"
  const char* type;      // README's type of a string key: "string (id)"
  const char* types;     // README's type of an array of them: "array of ids"
  // nullptr when `value` is good, else what was expected (usually `expected`).
  const char* (*problem)(std::string_view value);
};

// The entries of a map or list: how to add one (returning its index), count
// them and, for a map, name one.
struct Entries {
  std::size_t (*add)(DaemonConfig& config, EntryPath parent, std::string_view name);
  std::size_t (*count)(const DaemonConfig& config, EntryPath parent);
  std::string_view (*name)(const DaemonConfig& config, EntryPath entry);
};

enum class Shape : std::uint8_t {
  value,   // an integer, boolean, string, array of strings or log level
  object,  // fixed keys, which follow it in the table
  map,     // entries keyed by a name (`exec.<type>`)
  list,    // an array of objects (`hooks[]`)
  moved,   // a key that moved to `moved_to`: naming it is an error that says where
};

struct Key {
  std::string_view path;
  Shape shape = Shape::value;
  // Value keys: where the value lives. A size of the runtime gives its field
  // instead, and its range is the runtime's own (kFieldLimits).
  ValuePtr (*at)(DaemonConfig& config, EntryPath entry) = nullptr;
  std::uint32_t RuntimeConfig::*runtime = nullptr;
  Range range{};                     // integers not of the runtime
  const StringRule* rule = nullptr;  // strings, arrays of strings, names of a map
  const Entries* entries = nullptr;  // maps and lists
  bool unique = false;               // arrays of strings: each entry at most once
  bool secret = false;               // shown neither in messages nor by describe() ("***")
  std::string_view required;         // non-empty: the key must be given; what it is, for the message
  std::string_view moved_to;         // Shape::moved
  std::string_view default_text;     // README's default when the built-in one is computed at start
  std::string_view meaning;          // README's meaning
  std::string_view cost;             // README's memory cost
  std::string_view about;            // objects, maps and lists at the top: the text under their README heading
};

// edgerund's schema.
std::span<const Key> config_schema() noexcept;

// Reads the file's top-level object `root` into `config` (which holds the
// defaults) by `schema`: unknown, duplicate and missing keys, types, ranges
// and string rules, naming the key. Returns "" or the first error,
// "<key> is <value>; expected ..." (without the file's name). Relations
// between keys are check_relations()'s.
std::string read_config(const cJSON* root, std::span<const Key> schema, DaemonConfig& config);

// Checks the relations between keys of a config read by read_config(); ""
// or the error naming both keys.
std::string check_relations(const DaemonConfig& config);

// `config` as a JSON object in the layout of the file, every key of `schema`
// written out, secret ones as "***" when set. The caller owns the result.
cJSON* write_config(std::span<const Key> schema, const DaemonConfig& config);

// The key tables of config/README.md as Markdown: a table of the top-level
// keys, then one heading and table for each object, map and list at the top.
std::string config_reference(std::span<const Key> schema);

// The lines of config/README.md around the generated tables.
inline constexpr std::string_view kReferenceBegin =
    "<!-- The tables from here to the line below are generated from the schema (core/daemon/config_schema.cpp) by "
    "`edgerun_config_reference --update config/README.md`: edit the schema, not the tables. -->";
inline constexpr std::string_view kReferenceEnd = "<!-- End of the generated tables. -->";

// `readme` with the text between its kReferenceBegin and kReferenceEnd lines
// replaced by `reference`; "" when it lacks them.
std::string with_reference(std::string_view readme, std::string_view reference);

// Helpers of the loader's messages.

inline constexpr const char* kIdExpected = "an id matching [A-Za-z0-9._-]{1,64}";

// `text` as a JSON string literal, shortened to a length a message can show.
std::string quote(std::string_view text);

// The candidate nearest to `name` when it is near enough to be a typo, else
// nullptr.
const std::string_view* nearest_name(std::string_view name, std::span<const std::string_view> candidates);

// ---- Accessors for the schema's rows ---------------------------------------

// The value at config.*m1.*m2...: field<&DaemonConfig::mqtt, &MqttOptions::url>.
template <auto... Members>
ValuePtr field(DaemonConfig& config, EntryPath) {
  return &(config .* ... .* Members);
}

// A value in an entry of a map or list held by a vector of DaemonConfig:
// entry_field<&DaemonConfig::exec, &ExecProgram::program>. The entries of a
// map or list nested in an entry would need an accessor of their own.
template <auto Vector, auto... Members>
ValuePtr entry_field(DaemonConfig& config, EntryPath entry) {
  return &((config.*Vector)[entry.back()] .* ... .* Members);
}

// The entries of a map held by a vector of DaemonConfig whose elements keep
// their name in `Name`.
template <auto Vector, auto Name>
inline constexpr Entries kMapEntries{
    [](DaemonConfig& config, EntryPath, std::string_view name) {
      auto& entries = config.*Vector;
      entries.emplace_back().*Name = std::string(name);
      return entries.size() - 1;
    },
    [](const DaemonConfig& config, EntryPath) { return (config.*Vector).size(); },
    [](const DaemonConfig& config, EntryPath entry) -> std::string_view {
      return (config.*Vector)[entry.back()].*Name;
    },
};

// The entries of a list held by a vector of DaemonConfig.
template <auto Vector>
inline constexpr Entries kListEntries{
    [](DaemonConfig& config, EntryPath, std::string_view) {
      auto& entries = config.*Vector;
      entries.emplace_back();
      return entries.size() - 1;
    },
    [](const DaemonConfig& config, EntryPath) { return (config.*Vector).size(); },
    nullptr,
};

}  // namespace edgerun

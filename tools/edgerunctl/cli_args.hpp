#pragma once

// The command line of edgerunctl, parsed and checked completely before
// anything touches the network: a usage error never sends a message.

#include <chrono>
#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <variant>
#include <vector>

#include "broker_url.hpp"

namespace edgerun::ctl {

inline constexpr const char* kDefaultUrl = "mqtt://127.0.0.1:1883";
inline constexpr const char* kDefaultPrefix = "edgerun";

struct GlobalOptions {
  std::string url_text = kDefaultUrl;
  BrokerUrl url;
  std::string username;                // empty: anonymous
  std::optional<std::string> password;
  std::string prefix = kDefaultPrefix;
  // --cafile: the CA certificate(s) an mqtts:// broker's certificate must
  // chain to. Empty: the system's CAs in /etc/ssl/certs.
  std::string ca_file;
  // --timeout: how long to wait at most (submit, cancel, status) or to run
  // (watch). Empty: the command's own default.
  std::optional<std::chrono::milliseconds> timeout;
  bool json = false;
};

struct SubmitCommand {
  std::string device;  // empty with a group
  std::string group;
  std::string type;
  std::string params_json = "{}";
  std::string id;      // empty: generate one
  std::optional<std::int64_t> job_timeout_ms;
  // The job ends failed/expired unless started within this (expires_at).
  std::optional<std::int64_t> expires_in_ms;
  bool no_wait = false;
};

struct CancelCommand {
  std::string device;
  std::string id;
};

struct WatchCommand {
  std::string device = "+";
  std::optional<std::uint64_t> count;
};

struct StatusCommand {
  std::string device = "+";
};

// `journal verify` and `journal show` read the journal in an edgerund state
// directory: files only, no broker.
enum class JournalAction { verify, show };

// A chain head an auditor saved from an earlier `journal verify`: the record
// with this sequence must still have this hash.
struct SavedHead {
  std::uint64_t sequence = 0;
  std::string hash_hex;  // 64 lower-case hex digits
};

struct JournalCommand {
  JournalAction action = JournalAction::verify;
  std::string state_dir;
  std::optional<SavedHead> head;  // verify only
  std::string job_id;             // show only; empty: every record
};

struct HelpCommand {
  std::string command;  // empty: general help
};

using Command =
    std::variant<HelpCommand, SubmitCommand, CancelCommand, WatchCommand, StatusCommand, JournalCommand>;

struct Invocation {
  GlobalOptions global;
  Command command;
};

struct ParseOutcome {
  std::optional<Invocation> invocation;
  std::string error;    // set when invocation is empty
  std::string command;  // the command the error belongs to, if known
};

// Reads an environment variable; null when unset. Injected for tests.
using EnvLookup = std::function<const char*(const char*)>;

// `args` excludes argv[0]. Global options may come before or after the
// command; command options after it; "--" ends option parsing.
// EDGERUN_MQTT_URL, EDGERUN_MQTT_USERNAME and EDGERUN_MQTT_PASSWORD give
// defaults for --url, --username and --password; the flags win. `journal`
// talks to no broker, so the broker options are not checked for it.
ParseOutcome parse_command_line(const std::vector<std::string>& args, const EnvLookup& env);

}  // namespace edgerun::ctl

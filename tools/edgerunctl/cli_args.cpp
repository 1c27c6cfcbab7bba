#include "cli_args.hpp"

#include <algorithm>
#include <charconv>
#include <cmath>
#include <cstdlib>
#include <string_view>

#include "edgerun/ids.hpp"
#include "ids.hpp"
#include "payloads.hpp"

namespace edgerun::ctl {
namespace {

constexpr const char* kCommands[] = {"submit", "cancel", "watch", "status", "journal", "help"};

// Longest --timeout accepted: beyond a few months it is surely a typo.
constexpr double kMaxTimeoutSeconds = 1e7;

enum class Opt {
  url, username, password, prefix, cafile, timeout, json, id, job_timeout_ms, expires_in_ms, no_wait, group, count, head, job
};

struct OptionSpec {
  std::string_view name;
  Opt opt;
  bool takes_value;
  std::string_view command;  // empty: global, valid with every command
};

constexpr OptionSpec kOptions[] = {
    {"url", Opt::url, true, ""},
    {"username", Opt::username, true, ""},
    {"password", Opt::password, true, ""},
    {"prefix", Opt::prefix, true, ""},
    {"cafile", Opt::cafile, true, ""},
    {"timeout", Opt::timeout, true, ""},
    {"json", Opt::json, false, ""},
    {"id", Opt::id, true, "submit"},
    {"job-timeout-ms", Opt::job_timeout_ms, true, "submit"},
    {"expires-in-ms", Opt::expires_in_ms, true, "submit"},
    {"no-wait", Opt::no_wait, false, "submit"},
    {"group", Opt::group, true, "submit"},
    {"count", Opt::count, true, "watch"},
    {"head", Opt::head, true, "journal"},
    {"job", Opt::job, true, "journal"},
};

const OptionSpec* find_option(std::string_view name, std::string_view command) {
  for (const OptionSpec& spec : kOptions) {
    if (spec.name == name && (spec.command.empty() || spec.command == command)) return &spec;
  }
  return nullptr;
}

bool is_command(std::string_view word) {
  return std::find(std::begin(kCommands), std::end(kCommands), word) != std::end(kCommands);
}

std::optional<std::int64_t> parse_integer(std::string_view text, std::int64_t min, std::int64_t max) {
  std::int64_t value = 0;
  auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), value);
  if (ec != std::errc() || end != text.data() + text.size() || value < min || value > max) {
    return std::nullopt;
  }
  return value;
}

std::optional<std::chrono::milliseconds> parse_seconds(const std::string& text) {
  if (text.empty()) return std::nullopt;
  char* end = nullptr;
  double seconds = std::strtod(text.c_str(), &end);
  if (end != text.c_str() + text.size() || !std::isfinite(seconds) || seconds <= 0 ||
      seconds > kMaxTimeoutSeconds) {
    return std::nullopt;
  }
  return std::chrono::milliseconds(static_cast<std::int64_t>(std::ceil(seconds * 1000.0)));
}

bool is_hex_digit(char c) { return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F'); }

// "SEQ:HEX" as `journal verify` prints the head: a positive sequence and the
// 64 hex digits of its hash, in either case.
std::optional<SavedHead> parse_saved_head(std::string_view text) {
  constexpr std::size_t kHashHexDigits = 64;
  const std::size_t colon = text.find(':');
  if (colon == std::string_view::npos) return std::nullopt;
  const std::string_view sequence_text = text.substr(0, colon);
  const std::string_view hash_text = text.substr(colon + 1);
  SavedHead head;
  auto [end, ec] = std::from_chars(sequence_text.data(), sequence_text.data() + sequence_text.size(), head.sequence);
  if (ec != std::errc() || end != sequence_text.data() + sequence_text.size() || head.sequence == 0) {
    return std::nullopt;
  }
  if (hash_text.size() != kHashHexDigits || !std::all_of(hash_text.begin(), hash_text.end(), is_hex_digit)) {
    return std::nullopt;
  }
  head.hash_hex.reserve(kHashHexDigits);
  for (char c : hash_text) head.hash_hex.push_back(c >= 'A' && c <= 'F' ? static_cast<char>(c - 'A' + 'a') : c);
  return head;
}

// Command options seen on the line, checked once the command is known.
struct CommandOptions {
  std::optional<std::string> id;
  std::optional<std::string> job_timeout_ms;
  std::optional<std::string> expires_in_ms;
  std::optional<std::string> group;
  std::optional<std::string> count;
  std::optional<std::string> head;
  std::optional<std::string> job;
  bool no_wait = false;
};

class Parser {
 public:
  Parser(const std::vector<std::string>& args, const EnvLookup& env) : args_(args) {
    if (const char* v = env("EDGERUN_MQTT_URL"); v && *v) global_.url_text = v;
    if (const char* v = env("EDGERUN_MQTT_USERNAME"); v && *v) global_.username = v;
    if (const char* v = env("EDGERUN_MQTT_PASSWORD"); v) global_.password = v;
  }

  ParseOutcome run() {
    if (!scan()) return failure();
    if (help_ || command_ == "help") return help();
    if (command_.empty()) return fail_usage("no command given (submit, cancel, watch, status or journal)");
    // The journal is read from files: a broker URL in the environment,
    // good or bad, is none of its business.
    if (command_ == "journal") return journal();
    if (!check_global()) return failure();
    if (command_ == "submit") return submit();
    if (command_ == "cancel") return cancel();
    if (command_ == "watch") return watch();
    return status();
  }

 private:
  bool fail(std::string message) {
    error_ = std::move(message);
    return false;
  }

  ParseOutcome failure() const {
    ParseOutcome out;
    out.error = error_;
    out.command = command_;
    return out;
  }

  ParseOutcome success(Command command) const {
    ParseOutcome out;
    out.invocation = Invocation{global_, std::move(command)};
    return out;
  }

  // Splits the line into command, options and positional arguments.
  bool scan() {
    bool options_ended = false;
    for (std::size_t i = 0; i < args_.size(); ++i) {
      const std::string& arg = args_[i];
      if (options_ended) {
        positional_.push_back(arg);
      } else if (arg == "--") {
        options_ended = true;
      } else if (arg == "-h" || arg == "--help") {
        help_ = true;
      } else if (arg.starts_with("--")) {
        if (!option(arg, i)) return false;
      } else if (arg.size() > 1 && arg.front() == '-') {
        return fail("unknown option '" + arg + "'");
      } else if (command_.empty()) {
        if (!is_command(arg)) return fail("unknown command '" + arg + "'");
        command_ = arg;
      } else {
        positional_.push_back(arg);
      }
    }
    return true;
  }

  bool option(const std::string& arg, std::size_t& i) {
    std::string_view body = std::string_view(arg).substr(2);
    std::optional<std::string> value;
    if (std::size_t eq = body.find('='); eq != std::string_view::npos) {
      value = std::string(body.substr(eq + 1));
      body = body.substr(0, eq);
    }
    const OptionSpec* spec = find_option(body, command_);
    if (spec == nullptr) {
      std::string where = command_.empty() ? "" : " for '" + command_ + "'";
      return fail("unknown option '--" + std::string(body) + "'" + where);
    }
    if (spec->takes_value && !value) {
      if (i + 1 >= args_.size()) return fail("option '--" + std::string(body) + "' needs a value");
      value = args_[++i];
    }
    if (!spec->takes_value && value) return fail("option '--" + std::string(body) + "' takes no value");

    switch (spec->opt) {
      case Opt::url: global_.url_text = *value; break;
      case Opt::username: global_.username = *value; break;
      case Opt::password: global_.password = *value; break;
      case Opt::prefix: global_.prefix = *value; break;
      case Opt::cafile: global_.ca_file = *value; break;
      case Opt::json: global_.json = true; break;
      case Opt::timeout:
        global_.timeout = parse_seconds(*value);
        if (!global_.timeout) return fail("--timeout wants a positive number of seconds, not '" + *value + "'");
        break;
      case Opt::id: command_options_.id = value; break;
      case Opt::job_timeout_ms: command_options_.job_timeout_ms = value; break;
      case Opt::expires_in_ms: command_options_.expires_in_ms = value; break;
      case Opt::no_wait: command_options_.no_wait = true; break;
      case Opt::group: command_options_.group = value; break;
      case Opt::count: command_options_.count = value; break;
      case Opt::head: command_options_.head = value; break;
      case Opt::job: command_options_.job = value; break;
    }
    return true;
  }

  bool check_global() {
    Result<BrokerUrl> url = parse_broker_url(global_.url_text);
    if (!url) return fail(url.error());
    global_.url = url.value();
    if (!is_valid_topic_prefix(global_.prefix)) {
      return fail("bad topic prefix '" + global_.prefix +
                  "': expected one or more ids ([A-Za-z0-9._-]{1,64}) separated by '/', at most 128 characters");
    }
    if (!global_.ca_file.empty() && !global_.url.tls) return fail("--cafile needs an mqtts:// broker URL");
    if (global_.password && global_.username.empty()) {
      return fail("a password needs a username (--username or EDGERUN_MQTT_USERNAME)");
    }
    return true;
  }

  bool check_id(const std::string& what, const std::string& value) {
    if (is_valid_id(value)) return true;
    return fail("bad " + what + " '" + value + "': it must match [A-Za-z0-9._-]{1,64}");
  }

  bool check_device_or_all(const std::string& value) {
    return value == "+" || check_id("device id", value);
  }

  bool at_most(std::size_t n) {
    if (positional_.size() <= n) return true;
    return fail("unexpected argument '" + positional_[n] + "'");
  }

  ParseOutcome help() const {
    ParseOutcome out;
    std::string topic = command_;
    if (command_ == "help") topic = positional_.empty() ? "" : positional_.front();
    out.invocation = Invocation{global_, HelpCommand{topic}};
    return out;
  }

  ParseOutcome submit() {
    SubmitCommand cmd;
    std::size_t next = 0;
    if (command_options_.group) {
      cmd.group = *command_options_.group;
      if (!check_id("group name", cmd.group)) return failure();
    } else {
      if (positional_.empty()) return fail_usage("submit needs a device id and a job type");
      cmd.device = positional_[next++];
      if (!check_id("device id", cmd.device)) return failure();
    }
    if (positional_.size() <= next) return fail_usage("submit needs a job type");
    cmd.type = positional_[next++];
    if (cmd.type.empty()) return fail_usage("the job type must not be empty");

    std::vector<std::string> params(positional_.begin() + static_cast<std::ptrdiff_t>(next), positional_.end());
    Result<std::string> params_json = build_params(params);
    if (!params_json) return fail_usage(params_json.error());
    cmd.params_json = params_json.value();

    if (command_options_.id) {
      cmd.id = *command_options_.id;
      if (!check_id("job id", cmd.id)) return failure();
    }
    if (command_options_.job_timeout_ms) {
      auto ms = parse_integer(*command_options_.job_timeout_ms, 1, kMaxExactInteger);
      if (!ms) return fail_usage("--job-timeout-ms wants a positive integer, not '" + *command_options_.job_timeout_ms + "'");
      cmd.job_timeout_ms = *ms;
    }
    if (command_options_.expires_in_ms) {
      auto ms = parse_integer(*command_options_.expires_in_ms, 1, kMaxExactInteger);
      if (!ms) return fail_usage("--expires-in-ms wants a positive integer, not '" + *command_options_.expires_in_ms + "'");
      cmd.expires_in_ms = *ms;
    }
    cmd.no_wait = command_options_.no_wait;
    return success(std::move(cmd));
  }

  ParseOutcome cancel() {
    if (positional_.size() < 2) return fail_usage("cancel needs a device id and a job id");
    if (!at_most(2)) return failure();
    CancelCommand cmd{positional_[0], positional_[1]};
    if (!check_id("device id", cmd.device) || !check_id("job id", cmd.id)) return failure();
    return success(std::move(cmd));
  }

  ParseOutcome watch() {
    if (!at_most(1)) return failure();
    WatchCommand cmd;
    if (!positional_.empty()) cmd.device = positional_[0];
    if (!check_device_or_all(cmd.device)) return failure();
    if (command_options_.count) {
      auto n = parse_integer(*command_options_.count, 1, kMaxExactInteger);
      if (!n) return fail_usage("--count wants a positive integer, not '" + *command_options_.count + "'");
      cmd.count = static_cast<std::uint64_t>(*n);
    }
    return success(std::move(cmd));
  }

  ParseOutcome status() {
    if (!at_most(1)) return failure();
    StatusCommand cmd;
    if (!positional_.empty()) cmd.device = positional_[0];
    if (!check_device_or_all(cmd.device)) return failure();
    return success(std::move(cmd));
  }

  ParseOutcome journal() {
    if (positional_.empty()) return fail_usage("journal needs an action (verify or show) and a state directory");
    const std::string& action = positional_[0];
    JournalCommand cmd;
    if (action == "verify") {
      cmd.action = JournalAction::verify;
    } else if (action == "show") {
      cmd.action = JournalAction::show;
    } else {
      return fail_usage("unknown journal action '" + action + "': expected verify or show");
    }
    if (positional_.size() < 2) {
      return fail_usage("journal " + action + " needs a state directory (edgerund's state_dir)");
    }
    if (!at_most(2)) return failure();
    cmd.state_dir = positional_[1];
    if (cmd.state_dir.empty()) return fail_usage("the state directory must not be empty");

    if (command_options_.head) {
      if (cmd.action != JournalAction::verify) return fail_usage("--head goes with journal verify");
      cmd.head = parse_saved_head(*command_options_.head);
      if (!cmd.head) {
        return fail_usage("--head wants SEQ:HEX, a sequence number and the 64 hex digits of its hash, not '" +
                          *command_options_.head + "'");
      }
    }
    if (command_options_.job) {
      if (cmd.action != JournalAction::show) return fail_usage("--job goes with journal show");
      cmd.job_id = *command_options_.job;
      if (!check_id("job id", cmd.job_id)) return failure();
    }
    if (global_.json && cmd.action != JournalAction::show) return fail_usage("--json goes with journal show");
    return success(std::move(cmd));
  }

  ParseOutcome fail_usage(std::string message) {
    fail(std::move(message));
    return failure();
  }

  const std::vector<std::string>& args_;
  GlobalOptions global_;
  CommandOptions command_options_;
  std::string command_;
  std::vector<std::string> positional_;
  bool help_ = false;
  std::string error_;
};

}  // namespace

ParseOutcome parse_command_line(const std::vector<std::string>& args, const EnvLookup& env) {
  return Parser(args, env).run();
}

}  // namespace edgerun::ctl

// The exec job handler: see edgerun/exec_handler.hpp.
#include "edgerun/exec_handler.hpp"

#include <cjson/cJSON.h>

#include <algorithm>
#include <array>
#include <cmath>
#include <cstdio>
#include <cstring>
#include <limits>
#include <optional>

#include "edgerun/ids.hpp"
#include "edgerun/port/spawn.hpp"

namespace edgerun {

namespace {

constexpr std::string_view kIdVarPrefix = "EDGERUN_JOB_ID=";
constexpr std::string_view kTypeVarPrefix = "EDGERUN_JOB_TYPE=";
constexpr std::string_view kParamVarPrefix = "EDGERUN_PARAM_";
// Job ids are at most 64 bytes by the protocol; leave room for more rather
// than depend on that here.
constexpr std::size_t kJobIdMaxBytes = 255;
// The part of stderr's last line that goes into a failure message.
constexpr std::size_t kMessageLineBytes = 150;
constexpr std::string_view kReplacement = "\xEF\xBF\xBD";  // U+FFFD
constexpr std::size_t kNoLimit = std::numeric_limits<std::size_t>::max();
// The success result without its two strings' contents, and room for the two
// cut counts however cJSON prints them (%1.15g or %1.17g: at most 24 bytes).
constexpr std::string_view kResultFrame =
    R"({"exit_code":0,"stdout":"","stderr":"","stdout_cut_bytes":,"stderr_cut_bytes":})";
constexpr std::size_t kResultOverhead = kResultFrame.size() + 2 * 24;

bool is_continuation(unsigned char c) noexcept { return c >= 0x80 && c <= 0xBF; }

// The length of the valid UTF-8 sequence starting at in[i], or 0 when the
// byte there does not start one (or is NUL, which a C string cannot hold).
std::size_t valid_sequence_length(std::string_view in, std::size_t i) noexcept {
  const auto at = [&](std::size_t k) { return static_cast<unsigned char>(in[k]); };
  const unsigned char c = at(i);
  const std::size_t left = in.size() - i;
  if (c == 0) return 0;
  if (c < 0x80) return 1;
  if (c >= 0xC2 && c <= 0xDF) return left >= 2 && is_continuation(at(i + 1)) ? 2 : 0;
  if (c >= 0xE0 && c <= 0xEF) {
    if (left < 3) return 0;
    const unsigned char c1 = at(i + 1);
    // E0 excludes overlong forms, ED the UTF-16 surrogates.
    const unsigned char lo = c == 0xE0 ? 0xA0 : 0x80;
    const unsigned char hi = c == 0xED ? 0x9F : 0xBF;
    return c1 >= lo && c1 <= hi && is_continuation(at(i + 2)) ? 3 : 0;
  }
  if (c >= 0xF0 && c <= 0xF4) {
    if (left < 4) return 0;
    const unsigned char c1 = at(i + 1);
    // F0 excludes overlong forms, F4 everything above U+10FFFF.
    const unsigned char lo = c == 0xF0 ? 0x90 : 0x80;
    const unsigned char hi = c == 0xF4 ? 0x8F : 0xBF;
    return c1 >= lo && c1 <= hi && is_continuation(at(i + 2)) && is_continuation(at(i + 3)) ? 4 : 0;
  }
  return 0;
}

// The bytes cJSON prints for one byte of a string: the two-byte escapes, a
// \u00XX for the other control characters, the byte itself otherwise.
std::size_t json_escaped_size(unsigned char c) noexcept {
  switch (c) {
    case '"': case '\\': case '\b': case '\f': case '\n': case '\r': case '\t': return 2;
    default: return c < 0x20 ? 6 : 1;
  }
}

// One unit of input: a valid sequence copied as is, or one bad byte that
// becomes U+FFFD; with what it costs in the output and printed as JSON.
struct Unit {
  std::size_t in_bytes;
  std::size_t out_bytes;
  std::size_t json_bytes;
};

Unit unit_at(std::string_view in, std::size_t i) noexcept {
  const std::size_t n = valid_sequence_length(in, i);
  if (n == 0) return Unit{1, kReplacement.size(), kReplacement.size()};
  return Unit{n, n, n == 1 ? json_escaped_size(static_cast<unsigned char>(in[i])) : n};
}

struct Size {
  std::size_t out_bytes = 0;
  std::size_t json_bytes = 0;
};

// What sanitizing all of `in` writes, and what that costs printed as JSON.
Size measure(std::string_view in) noexcept {
  Size size;
  for (std::size_t i = 0; i < in.size();) {
    const Unit u = unit_at(in, i);
    size.out_bytes += u.out_bytes;
    size.json_bytes += u.json_bytes;
    i += u.in_bytes;
  }
  return size;
}

// sanitize_utf8() with a second limit: what the written text may cost printed
// as a JSON string (without its quotes).
std::size_t sanitize(std::string_view in, std::span<char> out, bool keep_end, std::size_t json_budget,
                     std::size_t& dropped) noexcept {
  dropped = 0;
  if (out.empty()) {
    dropped = in.size();
    return 0;
  }
  const std::size_t room = out.size() - 1;
  std::size_t begin = 0;
  if (keep_end) {
    Size total = measure(in);
    // Units found from the start stay the same units when decoding starts at
    // any unit boundary, so dropping whole units from the front is exact.
    while (total.out_bytes > room || total.json_bytes > json_budget) {
      const Unit u = unit_at(in, begin);
      total.out_bytes -= u.out_bytes;
      total.json_bytes -= u.json_bytes;
      begin += u.in_bytes;
    }
  }
  std::size_t written = 0;
  std::size_t json = 0;
  std::size_t i = begin;
  while (i < in.size()) {
    const Unit u = unit_at(in, i);
    if (written + u.out_bytes > room || json + u.json_bytes > json_budget) break;  // Only when !keep_end.
    if (u.in_bytes == u.out_bytes) {  // A valid sequence; a bad byte is {1, 3}.
      std::memcpy(out.data() + written, in.data() + i, u.in_bytes);
    } else {
      std::memcpy(out.data() + written, kReplacement.data(), kReplacement.size());
    }
    written += u.out_bytes;
    json += u.json_bytes;
    i += u.in_bytes;
  }
  out[written] = '\0';
  dropped = begin + (in.size() - i);
  return written;
}

// A message built into a JobError-sized buffer; every piece is cut at a
// character boundary so the message stays valid UTF-8.
class Message {
 public:
  Message& operator<<(std::string_view text) noexcept {
    std::size_t dropped = 0;
    length_ += sanitize_utf8(text, std::span<char>(buffer_).subspan(length_), false, dropped);
    return *this;
  }
  Message& operator<<(long long value) noexcept {
    std::array<char, 24> digits{};
    const int n = std::snprintf(digits.data(), digits.size(), "%lld", value);
    return *this << std::string_view(digits.data(), static_cast<std::size_t>(std::max(n, 0)));
  }
  std::string_view view() const noexcept { return {buffer_.data(), length_}; }

 private:
  std::array<char, sizeof(JobError::message)> buffer_{};
  std::size_t length_ = 0;
};

// The last non-empty line of `text`, without its line end.
std::string_view last_line(std::string_view text) noexcept {
  while (!text.empty() && (text.back() == '\n' || text.back() == '\r')) text.remove_suffix(1);
  const std::size_t newline = text.rfind('\n');
  if (newline != std::string_view::npos) text.remove_prefix(newline + 1);
  return text;
}

char ascii_upper(char c) noexcept { return c >= 'a' && c <= 'z' ? static_cast<char>(c - 'a' + 'A') : c; }

bool is_name_char(char c) noexcept {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_';
}

}  // namespace

std::size_t sanitize_utf8(std::string_view in, std::span<char> out, bool keep_end, std::size_t& dropped) noexcept {
  return sanitize(in, out, keep_end, kNoLimit, dropped);
}

// ---------------------------------------------------------------------------

class ExecHandler::Impl {
 public:
  // The memory one worker's jobs use, allocated once.
  struct Scratch {
    std::vector<char> out_bytes;
    std::vector<char> err_bytes;
    std::optional<port::OutputTail> out;
    std::optional<port::OutputTail> err;
    // UTF-8-clean, NUL-terminated copies of the tails that the result's
    // strings reference.
    std::vector<char> out_clean;
    std::vector<char> err_clean;
    // "EDGERUN_JOB_ID=<id>".
    std::vector<char> id_var;
    // One slot per params_env name: "EDGERUN_PARAM_<NAME>=" written at
    // construction, the value after it per job.
    std::vector<char> param_vars;
    // The child's environment, NULL-terminated.
    std::vector<const char*> envp;
  };

  Impl(const ExecProgram& spec, std::uint32_t workers,
       const std::function<const char*(const char*)>& getenv_fn, std::uint32_t max_result_bytes)
      : spec_(spec), workers_(workers), max_result_bytes_(max_result_bytes) {
    argv_.reserve(spec_.args.size() + 2);
    argv_.push_back(spec_.program.c_str());
    for (const std::string& arg : spec_.args) argv_.push_back(arg.c_str());
    argv_.push_back(nullptr);

    type_var_.assign(kTypeVarPrefix);
    type_var_ += spec_.type;

    for (const std::string& name : spec_.env_passthrough) {
      const char* value = getenv_fn ? getenv_fn(name.c_str()) : nullptr;
      if (value != nullptr) passthrough_vars_.push_back(name + "=" + value);
    }

    // Each param slot: prefix, up to kExecParamMaxBytes of value, NUL.
    std::size_t param_bytes = 0;
    for (const std::string& name : spec_.params_env) {
      param_offsets_.push_back(param_bytes);
      std::string prefix(kParamVarPrefix);
      for (char c : name) prefix += ascii_upper(c);
      prefix += '=';
      param_prefix_lengths_.push_back(prefix.size());
      param_prefixes_.push_back(std::move(prefix));
      param_bytes += param_prefixes_.back().size() + kExecParamMaxBytes + 1;
    }

    const std::size_t output_bytes = std::max<std::size_t>(spec_.max_output_bytes, 1);
    scratch_ = std::make_unique<Scratch[]>(workers_);
    for (std::uint32_t w = 0; w < workers_; ++w) {
      Scratch& s = scratch_[w];
      s.out_bytes.resize(output_bytes);
      s.err_bytes.resize(output_bytes);
      s.out.emplace(std::span<char>(s.out_bytes));
      s.err.emplace(std::span<char>(s.err_bytes));
      s.out_clean.resize(output_bytes + 1);
      s.err_clean.resize(output_bytes + 1);
      s.id_var.resize(kIdVarPrefix.size() + kJobIdMaxBytes + 1);
      std::memcpy(s.id_var.data(), kIdVarPrefix.data(), kIdVarPrefix.size());
      s.param_vars.resize(param_bytes);
      for (std::size_t k = 0; k < param_prefixes_.size(); ++k) {
        std::memcpy(s.param_vars.data() + param_offsets_[k], param_prefixes_[k].data(), param_prefixes_[k].size());
      }
      s.envp.resize(2 + param_prefixes_.size() + passthrough_vars_.size() + 1);
    }
  }

  HandlerResult run(JobContext& job) noexcept {
    const std::uint32_t worker = job.worker_index();
    if (worker >= workers_) {
      return HandlerResult::failure("exec handler built for fewer workers than the runtime has");
    }
    Scratch& s = scratch_[worker];

    // The environment: our own variables first, so that a passthrough
    // variable of the same name cannot shadow them.
    std::size_t n = 0;
    const std::string_view id = job.id();
    if (id.size() > kJobIdMaxBytes) return HandlerResult::failure("job id too long for EDGERUN_JOB_ID");
    std::memcpy(s.id_var.data() + kIdVarPrefix.size(), id.data(), id.size());
    s.id_var[kIdVarPrefix.size() + id.size()] = '\0';
    s.envp[n++] = s.id_var.data();
    s.envp[n++] = type_var_.c_str();
    for (std::size_t k = 0; k < spec_.params_env.size(); ++k) {
      const cJSON* param = cJSON_GetObjectItemCaseSensitive(job.params(), spec_.params_env[k].c_str());
      if (param == nullptr) continue;  // Not given: not set.
      char* slot = s.param_vars.data() + param_offsets_[k];
      char* value = slot + param_prefix_lengths_[k];
      if (!format_param(param, value)) {
        Message m;
        m << "param " << spec_.params_env[k]
          << (cJSON_IsString(param) ? " is longer than 4096 bytes" : " must be a string, number or boolean");
        return HandlerResult::failure(m.view());
      }
      s.envp[n++] = slot;
    }
    for (const std::string& var : passthrough_vars_) s.envp[n++] = var.c_str();
    s.envp[n] = nullptr;

    s.out->clear();
    s.err->clear();
    port::SpawnRequest request;
    request.program = spec_.program.c_str();
    request.argv = argv_.data();
    request.envp = s.envp.data();
    request.working_directory = spec_.working_directory.empty() ? nullptr : spec_.working_directory.c_str();
    request.stop_grace = std::chrono::milliseconds(spec_.stop_grace_ms);
    // A lambda holding one reference fits std::function's inline storage, so
    // this allocates nothing.
    const port::ProcessResult ended =
        port::run_process(request, *s.out, *s.err, [&job] { return job.cancel_requested(); });

    // The runtime already decided the terminal state (canceled or timed_out)
    // and ignores what we return.
    if (ended.stopped || job.cancel_requested()) return HandlerResult::failure("stopped");

    switch (ended.end) {
      case port::ProcessEnd::spawn_failed: {
        Message m;
        m << "cannot start " << spec_.program << ": " << std::strerror(ended.spawn_errno);
        return HandlerResult::failure(m.view());
      }
      case port::ProcessEnd::signaled: {
        Message m;
        // strsignal comes from <cstring> (POSIX); it names the signal
        // without a platform header in core/.
        const char* name = ::strsignal(ended.signal);
        m << "killed by signal " << static_cast<long long>(ended.signal) << " (" << (name ? name : "unknown") << ")";
        return HandlerResult::failure(m.view(), ErrorCode::exit_status, 128 + ended.signal);
      }
      case port::ProcessEnd::exited:
        break;
    }
    if (ended.exit_code < 0) {
      return HandlerResult::failure(
          "the exit status was lost: something else reaped the process (SIGCHLD ignored, or waitpid(-1))");
    }
    if (ended.exit_code != 0) {
      Message m;
      m << "exited with status " << static_cast<long long>(ended.exit_code);
      const std::string_view line = last_line(s.err->text());
      if (!line.empty()) {
        std::array<char, kMessageLineBytes + 1> cut{};
        std::size_t dropped = 0;
        const std::size_t length = sanitize_utf8(line, cut, false, dropped);
        m << ": " << std::string_view(cut.data(), length);
      }
      return HandlerResult::failure(m.view(), ErrorCode::exit_status, ended.exit_code);
    }

    // Both tails, shortened at their front when the whole result would not
    // fit max_result_bytes: a stream that needs less than half of the room
    // keeps all of it and the other gets the rest.
    std::uint64_t out_cut = 0;
    std::uint64_t err_cut = 0;
    const std::string_view out_text = whole_characters(*s.out, out_cut);
    const std::string_view err_text = whole_characters(*s.err, err_cut);
    std::size_t out_budget = kNoLimit;
    std::size_t err_budget = kNoLimit;
    if (max_result_bytes_ > 0) {
      const std::size_t room = max_result_bytes_ > kResultOverhead ? max_result_bytes_ - kResultOverhead : 0;
      const std::size_t out_json = measure(out_text).json_bytes;
      const std::size_t err_json = measure(err_text).json_bytes;
      if (out_json + err_json > room) {
        const std::size_t half = room / 2;
        if (err_json <= half) {
          out_budget = room - err_json;
        } else if (out_json <= half) {
          err_budget = room - out_json;
        } else {
          out_budget = half;
          err_budget = room - half;
        }
      }
    }
    std::size_t dropped = 0;
    sanitize(out_text, s.out_clean, true, out_budget, dropped);
    out_cut += dropped;
    sanitize(err_text, s.err_clean, true, err_budget, dropped);
    err_cut += dropped;

    // String references: the text stays in this worker's buffers, which the
    // runtime prints the result from before this worker takes another job.
    cJSON* result = cJSON_CreateObject();
    cJSON_AddNumberToObject(result, "exit_code", 0);
    cJSON_AddItemToObject(result, "stdout", cJSON_CreateStringReference(s.out_clean.data()));
    cJSON_AddItemToObject(result, "stderr", cJSON_CreateStringReference(s.err_clean.data()));
    cJSON_AddNumberToObject(result, "stdout_cut_bytes", static_cast<double>(out_cut));
    cJSON_AddNumberToObject(result, "stderr_cut_bytes", static_cast<double>(err_cut));
    return HandlerResult::success(result);
  }

  const ExecProgram& spec() const noexcept { return spec_; }

 private:
  // Writes a param's value, NUL-terminated, into `value` (room for
  // kExecParamMaxBytes + 1). False for a wrong type or a string too long.
  static bool format_param(const cJSON* param, char* value) noexcept {
    if (cJSON_IsString(param)) {
      const std::size_t length = std::strlen(param->valuestring);
      if (length > kExecParamMaxBytes) return false;
      std::memcpy(value, param->valuestring, length + 1);
      return true;
    }
    if (cJSON_IsBool(param)) {
      std::memcpy(value, cJSON_IsTrue(param) ? "true" : "false", cJSON_IsTrue(param) ? 5 : 6);
      return true;
    }
    if (cJSON_IsNumber(param)) {
      const double v = param->valuedouble;
      // Integral values within the exactly representable range print as
      // integers ("3", not "3.0" or "3e+00").
      if (std::trunc(v) == v && std::fabs(v) < 9007199254740992.0) {
        std::snprintf(value, kExecParamMaxBytes + 1, "%lld", static_cast<long long>(v));
      } else {
        std::snprintf(value, kExecParamMaxBytes + 1, "%.17g", v);
      }
      return true;
    }
    return false;
  }

  // The kept tail without the continuation bytes it starts with when the
  // first bytes of that character were cut; `cut` counts what is not shown.
  static std::string_view whole_characters(port::OutputTail& tail, std::uint64_t& cut) noexcept {
    std::string_view text = tail.text();
    cut = tail.cut_bytes();
    if (cut > 0) {
      for (int k = 0; k < 3 && !text.empty() && is_continuation(static_cast<unsigned char>(text.front())); ++k) {
        text.remove_prefix(1);
        ++cut;
      }
    }
    return text;
  }

  const ExecProgram spec_;
  const std::uint32_t workers_;
  const std::uint32_t max_result_bytes_;
  std::vector<const char*> argv_;
  std::string type_var_;
  std::vector<std::string> passthrough_vars_;
  std::vector<std::string> param_prefixes_;
  std::vector<std::size_t> param_prefix_lengths_;
  std::vector<std::size_t> param_offsets_;
  std::unique_ptr<Scratch[]> scratch_;
};

ExecHandler::ExecHandler(const ExecProgram& spec, std::uint32_t workers,
                         const std::function<const char*(const char*)>& getenv_fn,
                         std::uint32_t max_result_bytes)
    : impl_(std::make_unique<Impl>(spec, workers, getenv_fn, max_result_bytes)) {}

ExecHandler::~ExecHandler() = default;

HandlerResult ExecHandler::operator()(JobContext& job) noexcept { return impl_->run(job); }

const ExecProgram& ExecHandler::spec() const noexcept { return impl_->spec(); }

Status validate_exec_spec(const ExecProgram& spec) noexcept {
  const auto type = spec.type.c_str();
  if (!is_valid_id(spec.type)) {
    return Status::error("exec type \"%.80s\" is not an id ([A-Za-z0-9._-]{1,64})", type);
  }
  if (spec.program.empty() || spec.program.front() != '/') {
    return Status::error("exec.%s.program \"%.120s\" is not an absolute path", type, spec.program.c_str());
  }
  if (!spec.working_directory.empty() && spec.working_directory.front() != '/') {
    return Status::error("exec.%s.working_directory \"%.120s\" is not an absolute path", type,
                         spec.working_directory.c_str());
  }
  if (spec.max_output_bytes == 0) return Status::error("exec.%s.max_output_bytes must be at least 1", type);
  for (std::size_t i = 0; i < spec.params_env.size(); ++i) {
    const std::string& name = spec.params_env[i];
    if (name.empty() || name.size() > 64 || !std::all_of(name.begin(), name.end(), is_name_char)) {
      return Status::error("exec.%s.params_env[%zu] \"%.80s\" is not a name ([A-Za-z0-9_]{1,64})", type, i,
                           name.c_str());
    }
    for (std::size_t j = 0; j < i; ++j) {
      const std::string& other = spec.params_env[j];
      const bool same = other.size() == name.size() &&
                        std::equal(name.begin(), name.end(), other.begin(),
                                   [](char a, char b) { return ascii_upper(a) == ascii_upper(b); });
      if (same) {
        return Status::error("exec.%s.params_env[%zu] \"%s\" and [%zu] \"%s\" name the same variable", type, j,
                             other.c_str(), i, name.c_str());
      }
    }
  }
  return {};
}

Status register_exec_handlers(Runtime& runtime, const std::vector<ExecProgram>& specs,
                              const std::function<const char*(const char*)>& getenv_fn) {
  for (const ExecProgram& spec : specs) {
    if (Status valid = validate_exec_spec(spec); !valid) return valid;
    auto handler = std::make_shared<ExecHandler>(spec, runtime.worker_count(), getenv_fn,
                                                 runtime.config().max_result_bytes);
    Status registered = runtime.register_handler(spec.type, [handler](JobContext& job) { return (*handler)(job); });
    if (!registered) return Status::error("exec.%s: %s", spec.type.c_str(), registered.message());
  }
  return {};
}

}  // namespace edgerun

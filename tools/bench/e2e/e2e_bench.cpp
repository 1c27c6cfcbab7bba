// edgerun_e2e_bench: end-to-end job throughput and latency through a real
// MQTT broker, as a submitter sees it (PROTOCOL.md, "Jobs").
//
// It subscribes to <p>/<dev>/jobs/+/status (and, with --wait-online, to the
// retained presence <p>/<dev>/status), and only after the broker has
// acknowledged those subscriptions submits jobs at QoS 1 (type echo unless
// --type says otherwise; params {"i":<i>}, or with --params-bytes B an
// object of exactly B bytes), keeping a window of K jobs in flight: a new job
// is submitted each time one reaches a terminal state. A warm-up of W jobs
// runs to completion first and is not measured. Latency is publish ->
// terminal status on steady_clock.
//
// CPU per job: with --device-pid (and --broker-pid) it reads that process's
// user + system CPU time, all threads, and the CPU time of its children that
// it has reaped (an exec job's program), from /proc/<pid>/stat just before
// the first measured publish and again when the last measured terminal status
// arrives, and divides the difference by the measured jobs. Start-up and the
// warm-up are not counted. Its own CPU comes from getrusage over the same
// window.
//
// Writes per job: with --device-pid it also reads, at the same two moments,
// that process's /proc/<pid>/io: wchar (bytes passed to write(2) and the
// like, sockets included: the MQTT traffic too) and write_bytes (bytes it
// sent toward the storage layer, counted by the kernel as pages dirtied, 4
// KiB each: a page written again after an fsync counts again; nothing on
// tmpfs; the filesystem's own journal not included). Reaped children are
// included.
//
// fsyncs: with --count-syncs (and --device-pid) the kernel counts the
// fsync(2) and fdatasync(2) calls of the device's threads in the window: one
// perf counter (perf_event_open) on the tracepoints syscalls:sys_enter_fsync
// and syscalls:sys_enter_fdatasync per thread that exists when the window
// starts. Needs tracefs (/sys/kernel/tracing) and the right to trace the
// process (root, or perf_event_paranoid <= 1 and the same user). While a
// syscall tracepoint is enabled every system call on the machine takes the
// kernel's slower traced path, for every process alike.
//
// Threading: everything runs on the main thread. main() drives libmosquitto
// with drive_once() (poll, mosquitto_loop_read/_write/_misc), and all
// bookkeeping happens in the callbacks, which libmosquitto calls from inside
// mosquitto_loop_read() on this same thread. So no state is shared between
// threads and nothing needs a lock.
//
// Exit status: 0 all jobs succeeded; 1 some job ended in another terminal
// state; 2 timeout, connection or protocol failure; 64 bad usage.

#include "e2e_common.hpp"

#include <cjson/cJSON.h>
#include <mosquitto.h>
#include <mqtt_protocol.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <cinttypes>
#include <csignal>
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <initializer_list>
#include <map>
#include <memory>
#include <string>
#include <string_view>
#include <dirent.h>
#include <linux/perf_event.h>
#include <sys/ioctl.h>
#include <sys/resource.h>
#include <sys/syscall.h>
#include <sys/types.h>
#include <unistd.h>
#include <vector>

namespace {

using namespace edgerun;
using namespace edgerun::bench::e2e;
using Clock = std::chrono::steady_clock;

constexpr int kExitOk = 0;
constexpr int kExitNotSucceeded = 1;
constexpr int kExitFailure = 2;
constexpr int kExitUsage = 64;

volatile std::sig_atomic_t g_interrupted = 0;
extern "C" void on_signal(int) { g_interrupted = 1; }

struct Options {
  std::string url;
  std::string prefix = "edgerun";
  std::string device;
  std::string run_id;  // empty: derived from time and pid
  std::string type = "echo";
  long long params_bytes = 0;  // 0: params {"i":<i>}
  std::string params;          // empty: params {"i":<i>} (or --params-bytes)
  long long jobs = 20000;
  long long window = 64;
  long long warmup = 500;
  long long timeout_s = 120;
  long long online_timeout_s = 10;
  bool wait_online = true;
  bool json = false;
  bool count_syncs = false;  // --count-syncs
  pid_t device_pid = 0;  // --device-pid; 0: its CPU is not measured
  pid_t broker_pid = 0;  // --broker-pid; 0: its CPU is not measured
};

void usage(std::FILE* out) {
  std::fputs(
      "usage: edgerun_e2e_bench --url mqtt://HOST:PORT --device DEV [options]\n"
      "  --url URL              broker (mqtt://host:port)\n"
      "  --prefix P             topic prefix (default edgerun)\n"
      "  --device DEV           device id to submit to (required)\n"
      "  --jobs N               measured jobs (default 20000)\n"
      "  --window K             jobs in flight (default 64)\n"
      "  --warmup N             unmeasured jobs run first (default 500)\n"
      "  --timeout-s S          fail (exit 2) if not all done in S seconds (default 120)\n"
      "  --wait-online          wait for the retained presence \"state\":\"online\" on\n"
      "                         <p>/<dev>/status before submitting (default)\n"
      "  --no-wait-online       submit as soon as the subscriptions are acknowledged\n"
      "  --online-timeout-s S   bound on --wait-online (default 10)\n"
      "  --run ID               run id in job ids b-<run>-<i> (default from time and pid)\n"
      "  --type T               job type (default echo)\n"
      "  --params-bytes B       params {\"pad\":\"xx..\"} of exactly B bytes (at least 10)\n"
      "                         instead of {\"i\":<i>}\n"
      "  --params JSON          these params, as given, for every job (e.g. {\"ms\":0}\n"
      "                         with --type sleep, a job that runs on a worker)\n"
      "  --device-pid PID       report the CPU per measured job of process PID (the device:\n"
      "                         edgerund or edgerun_e2e_ceiling), all threads and reaped\n"
      "                         children, from /proc\n"
      "  --broker-pid PID       the same for the broker process\n"
      "                         (with --device-pid, the device's wchar and write_bytes\n"
      "                         per measured job are read from /proc/PID/io too)\n"
      "  --count-syncs          count the device's fsync and fdatasync calls in the\n"
      "                         window (perf tracepoints; needs --device-pid)\n"
      "  --json                 print one JSON object on stdout (the text line goes to stderr)\n",
      out);
}

// Returns nullopt after printing the problem; the caller exits kExitUsage.
std::optional<Options> parse_args(int argc, char** argv) {
  Options o;
  for (int i = 1; i < argc; ++i) {
    const std::string_view a = argv[i];
    auto value = [&]() -> const char* { return i + 1 < argc ? argv[++i] : nullptr; };
    auto count = [&](long long& out, long long min, long long max) {
      const char* v = value();
      const auto n = parse_count(v, max);
      if (!n || *n < min) {
        std::fprintf(stderr, "edgerun_e2e_bench: %.*s needs an integer from %lld to %lld\n", static_cast<int>(a.size()),
                     a.data(), min, max);
        return false;
      }
      out = *n;
      return true;
    };
    if (a == "--help" || a == "-h") {
      usage(stdout);
      std::exit(kExitOk);
    } else if (a == "--url" || a == "--prefix" || a == "--device" || a == "--run" || a == "--type") {
      const char* v = value();
      if (v == nullptr) {
        std::fprintf(stderr, "edgerun_e2e_bench: %s needs a value\n", argv[i]);
        return std::nullopt;
      }
      (a == "--url"      ? o.url
       : a == "--prefix" ? o.prefix
       : a == "--device" ? o.device
       : a == "--run"    ? o.run_id
                         : o.type) = v;
    } else if (a == "--params") {
      const char* v = value();
      if (v == nullptr || v[0] != '{') {
        std::fprintf(stderr, "edgerun_e2e_bench: --params needs a JSON object\n");
        return std::nullopt;
      }
      o.params = v;
    } else if (a == "--params-bytes") {
      if (!count(o.params_bytes, 10, 16'777'216)) return std::nullopt;
    } else if (a == "--jobs") {
      if (!count(o.jobs, 1, 100'000'000)) return std::nullopt;
    } else if (a == "--window") {
      if (!count(o.window, 1, 65535)) return std::nullopt;
    } else if (a == "--warmup") {
      if (!count(o.warmup, 0, 100'000'000)) return std::nullopt;
    } else if (a == "--timeout-s") {
      if (!count(o.timeout_s, 1, 86400)) return std::nullopt;
    } else if (a == "--online-timeout-s") {
      if (!count(o.online_timeout_s, 1, 86400)) return std::nullopt;
    } else if (a == "--device-pid" || a == "--broker-pid") {
      long long pid = 0;
      if (!count(pid, 1, 4'194'304)) return std::nullopt;  // PID_MAX_LIMIT
      (a == "--device-pid" ? o.device_pid : o.broker_pid) = static_cast<pid_t>(pid);
    } else if (a == "--wait-online") {
      o.wait_online = true;
    } else if (a == "--no-wait-online") {
      o.wait_online = false;
    } else if (a == "--json") {
      o.json = true;
    } else if (a == "--count-syncs") {
      o.count_syncs = true;
    } else {
      std::fprintf(stderr, "edgerun_e2e_bench: unknown argument '%s'\n", argv[i]);
      usage(stderr);
      return std::nullopt;
    }
  }
  if (o.url.empty() || o.device.empty()) {
    std::fputs("edgerun_e2e_bench: --url and --device are required\n", stderr);
    usage(stderr);
    return std::nullopt;
  }
  if (!is_valid_id(o.device)) {
    std::fprintf(stderr, "edgerun_e2e_bench: --device '%s' is not an id ([A-Za-z0-9._-]{1,64})\n", o.device.c_str());
    return std::nullopt;
  }
  if (o.count_syncs && o.device_pid == 0) {
    std::fputs("edgerun_e2e_bench: --count-syncs needs --device-pid\n", stderr);
    return std::nullopt;
  }
  if (!o.params.empty() && o.params_bytes > 0) {
    std::fputs("edgerun_e2e_bench: give --params or --params-bytes, not both\n", stderr);
    return std::nullopt;
  }
  if (!is_valid_id(o.type)) {
    std::fprintf(stderr, "edgerun_e2e_bench: --type '%s' is not an id ([A-Za-z0-9._-]{1,64})\n", o.type.c_str());
    return std::nullopt;
  }
  if (o.prefix.empty() || o.prefix.find_first_of("+#") != std::string::npos) {
    std::fprintf(stderr, "edgerun_e2e_bench: --prefix '%s' is empty or has a wildcard\n", o.prefix.c_str());
    return std::nullopt;
  }
  if (o.run_id.empty()) {
    char buf[32];
    std::snprintf(buf, sizeof buf, "%" PRIx64 "%x", static_cast<std::uint64_t>(unix_ms()) & 0xffffffffu,
                  static_cast<unsigned>(getpid()) & 0xffffu);
    o.run_id = buf;
  }
  // "b-" + run + "-" + up to 9 digits must stay a valid id.
  if (!is_valid_id(o.run_id) || o.run_id.size() > kMaxIdLength - 2 - 1 - 9) {
    std::fprintf(stderr, "edgerun_e2e_bench: --run '%s' is not an id of at most 52 characters\n", o.run_id.c_str());
    return std::nullopt;
  }
  return o;
}

// CPU time, in clock ticks, that a process has used so far.
struct CpuTicks {
  // User + system, all its threads together, threads that have exited
  // included (fields 14 and 15 of /proc/<pid>/stat).
  unsigned long long self = 0;
  // User + system of its children that it has waited for (fields 16 and 17,
  // cutime and cstime): an exec job's program, once edgerund has reaped it.
  // A child still running, or ended but not yet reaped, is not in it.
  unsigned long long children = 0;
};

// The CPU ticks of process `pid`; nullopt if they cannot be read. A tick is
// 1/sysconf(_SC_CLK_TCK) s, 10 ms on Linux, so a window of a few seconds reads
// to within a percent or two.
std::optional<CpuTicks> process_cpu_ticks(pid_t pid) {
  char path[64];
  std::snprintf(path, sizeof path, "/proc/%d/stat", static_cast<int>(pid));
  std::FILE* f = std::fopen(path, "re");
  if (f == nullptr) return std::nullopt;
  char buf[1024];
  const std::size_t n = std::fread(buf, 1, sizeof buf - 1, f);
  std::fclose(f);
  buf[n] = '\0';
  // Field 2, the command name, is in parentheses and may hold spaces and
  // parentheses itself: the fields after it start after the last ')'.
  const char* p = std::strrchr(buf, ')');
  if (p == nullptr) return std::nullopt;
  ++p;
  // Skip fields 3 (state) to 13 (cmajflt).
  for (int field = 3; field <= 13; ++field) {
    while (*p == ' ') ++p;
    while (*p != ' ' && *p != '\0') ++p;
  }
  // Fields 14 to 17: utime, stime, cutime, cstime.
  unsigned long long v[4];
  for (unsigned long long& field : v) {
    char* end = nullptr;
    field = std::strtoull(p, &end, 10);
    if (end == p) return std::nullopt;
    p = end;
  }
  return CpuTicks{v[0] + v[1], v[2] + v[3]};
}

// This process's own user + system CPU time in seconds (microsecond steps).
double self_cpu_s() {
  rusage ru{};
  getrusage(RUSAGE_SELF, &ru);
  return static_cast<double>(ru.ru_utime.tv_sec + ru.ru_stime.tv_sec) +
         static_cast<double>(ru.ru_utime.tv_usec + ru.ru_stime.tv_usec) * 1e-6;
}

// CPU readings at the start and the end of the measured window.
struct CpuWindow {
  pid_t pid = 0;  // 0: not measured
  std::optional<CpuTicks> start, end;

  void sample_start() {
    if (pid != 0) start = process_cpu_ticks(pid);
  }
  void sample_end() {
    if (pid != 0) end = process_cpu_ticks(pid);
  }
  // Seconds of CPU in the window, the process's own plus its reaped
  // children's; nullopt if not measured or unreadable.
  std::optional<double> seconds() const {
    if (!start || !end || end->self < start->self || end->children < start->children) return std::nullopt;
    return ticks_to_s((end->self - start->self) + (end->children - start->children));
  }
  // Of which its reaped children's.
  std::optional<double> children_seconds() const {
    if (!seconds()) return std::nullopt;
    return ticks_to_s(end->children - start->children);
  }

 private:
  static double ticks_to_s(unsigned long long ticks) {
    static const long ticks_per_s = sysconf(_SC_CLK_TCK);
    return static_cast<double>(ticks) / static_cast<double>(ticks_per_s);
  }
};

// Write counters of a process from /proc/<pid>/io.
struct IoCounters {
  unsigned long long wchar = 0, write_bytes = 0;
};

std::optional<IoCounters> process_io(pid_t pid) {
  char path[64];
  std::snprintf(path, sizeof path, "/proc/%d/io", static_cast<int>(pid));
  std::FILE* f = std::fopen(path, "re");
  if (f == nullptr) return std::nullopt;
  IoCounters io;
  int found = 0;
  char key[32];
  unsigned long long value = 0;
  while (std::fscanf(f, "%31s %llu", key, &value) == 2) {
    if (std::strcmp(key, "wchar:") == 0) {
      io.wchar = value;
      ++found;
    } else if (std::strcmp(key, "write_bytes:") == 0) {
      io.write_bytes = value;
      ++found;
    }
  }
  std::fclose(f);
  if (found != 2) return std::nullopt;
  return io;
}

// The /proc/<pid>/io readings at the start and the end of the window.
struct IoWindow {
  pid_t pid = 0;  // 0: not measured
  std::optional<IoCounters> start, end;

  void sample_start() {
    if (pid != 0) start = process_io(pid);
  }
  void sample_end() {
    if (pid != 0) end = process_io(pid);
  }
  bool measured() const { return start && end && end->wchar >= start->wchar && end->write_bytes >= start->write_bytes; }
};

// The fsync(2) and fdatasync(2) calls of a process's threads, counted by the
// kernel from when start() opens the counters: a perf counter on each
// tracepoint for each thread in /proc/<pid>/task then (a thread started
// later is not counted).
class SyncCounter {
 public:
  SyncCounter() = default;
  SyncCounter(const SyncCounter&) = delete;
  SyncCounter& operator=(const SyncCounter&) = delete;
  ~SyncCounter() { close_all(); }

  // False, with `why` set, when nothing could be counted.
  bool start(pid_t pid, std::string& why) {
    std::vector<unsigned long long> ids;
    for (const char* name : {"sys_enter_fsync", "sys_enter_fdatasync"}) {
      const std::optional<unsigned long long> id = tracepoint_id(name);
      if (!id) {
        why = std::string("no tracepoint syscalls:") + name + " (is tracefs mounted at /sys/kernel/tracing?)";
        return false;
      }
      ids.push_back(*id);
    }
    char path[64];
    std::snprintf(path, sizeof path, "/proc/%d/task", static_cast<int>(pid));
    DIR* dir = opendir(path);
    if (dir == nullptr) {
      why = std::string(path) + ": " + std::strerror(errno);
      return false;
    }
    while (const dirent* entry = readdir(dir)) {
      if (entry->d_name[0] < '0' || entry->d_name[0] > '9') continue;
      const auto tid = static_cast<pid_t>(std::strtol(entry->d_name, nullptr, 10));
      for (unsigned long long id : ids) {
        perf_event_attr attr{};
        attr.type = PERF_TYPE_TRACEPOINT;
        attr.size = sizeof attr;
        attr.config = id;
        const long fd = syscall(SYS_perf_event_open, &attr, tid, -1, -1, PERF_FLAG_FD_CLOEXEC);
        // A thread that has just exited is no loss; anything else is.
        if (fd < 0 && errno != ESRCH) {
          why = std::string("perf_event_open: ") + std::strerror(errno);
          closedir(dir);
          close_all();  // a part of the threads would count a part of the calls
          return false;
        }
        if (fd >= 0) fds_.push_back(static_cast<int>(fd));
      }
    }
    closedir(dir);
    if (fds_.empty()) why = "no threads";
    return !fds_.empty();
  }

  // The calls counted so far; nullopt if not counting.
  std::optional<unsigned long long> read_total() const {
    if (fds_.empty()) return std::nullopt;
    unsigned long long total = 0;
    for (int fd : fds_) {
      unsigned long long value = 0;
      if (::read(fd, &value, sizeof value) != static_cast<ssize_t>(sizeof value)) return std::nullopt;
      total += value;
    }
    return total;
  }

 private:
  static std::optional<unsigned long long> tracepoint_id(const char* name) {
    for (const char* root : {"/sys/kernel/tracing", "/sys/kernel/debug/tracing"}) {
      const std::string path = std::string(root) + "/events/syscalls/" + name + "/id";
      std::FILE* f = std::fopen(path.c_str(), "re");
      if (f == nullptr) continue;
      unsigned long long id = 0;
      const bool ok = std::fscanf(f, "%llu", &id) == 1;
      std::fclose(f);
      if (ok) return id;
    }
    return std::nullopt;
  }

  void close_all() {
    for (int fd : fds_) ::close(fd);
    fds_.clear();
  }

  std::vector<int> fds_;
};

enum class Phase { connecting, subscribing, waiting_online, warmup, measured, done, failed };

struct JsonDeleter {
  void operator()(cJSON* j) const { cJSON_Delete(j); }
};
using JsonPtr = std::unique_ptr<cJSON, JsonDeleter>;

class Bench {
 public:
  Bench(const Options& opt, mosquitto* mosq)
      : opt_(opt),
        mosq_(mosq),
        total_(static_cast<std::size_t>(opt.warmup + opt.jobs)),
        published_at_(total_),
        finished_(total_, 0) {
    device_cpu_.pid = opt.device_pid;
    broker_cpu_.pid = opt.broker_pid;
    device_io_.pid = opt.device_pid;
    submit_topic_ = submit_topic(opt.prefix, opt.device);
    status_filter_ = job_status_filter(opt.prefix, opt.device);
    presence_topic_ = presence_topic(opt.prefix, opt.device);
    id_prefix_ = "b-" + opt.run_id + "-";
    latencies_ms_.reserve(static_cast<std::size_t>(opt.jobs));
    if (opt.params_bytes > 0) {
      // {"pad":"<x...>"}: 10 bytes of frame, the rest padding.
      params_text_ = R"({"pad":")" + std::string(static_cast<std::size_t>(opt.params_bytes) - 10, 'x') + R"("})";
    } else {
      params_text_ = opt.params;
    }
    payload_.reserve(params_text_.size() + 256);
  }

  // libmosquitto callbacks (trampolines below). All run on the main thread.
  void on_connect(int rc) {
    if (phase_ != Phase::connecting) {
      fail("the broker connection was re-established mid-run; in-flight jobs may be lost");
      return;
    }
    if (rc != 0) {
      fail(std::string("connect refused: ") + mosquitto_reason_string(rc));
      return;
    }
    phase_ = Phase::subscribing;
    // Statuses first: no job is submitted before both SUBACKs are in.
    if (!subscribe(status_filter_)) return;
    if (opt_.wait_online && !subscribe(presence_topic_)) return;
  }

  void on_subscribe(int mid, int qos_count, const int* granted) {
    if (phase_ != Phase::subscribing) return;
    for (int i = 0; i < qos_count; ++i) {
      if (granted[i] >= 0x80) {
        fail("the broker refused a subscription (reason " + std::to_string(granted[i]) + ")");
        return;
      }
    }
    auto it = std::find(pending_subs_.begin(), pending_subs_.end(), mid);
    if (it == pending_subs_.end()) return;
    pending_subs_.erase(it);
    if (!pending_subs_.empty()) return;
    if (opt_.wait_online && !online_) {
      phase_ = Phase::waiting_online;
      return;
    }
    start_warmup();
  }

  void on_message(const mosquitto_message* msg) {
    if (phase_ == Phase::done || phase_ == Phase::failed) return;
    JsonPtr root(cJSON_ParseWithLength(static_cast<const char*>(msg->payload), static_cast<std::size_t>(msg->payloadlen)));
    const cJSON* state = root ? cJSON_GetObjectItemCaseSensitive(root.get(), "state") : nullptr;
    const char* state_str = cJSON_IsString(state) ? state->valuestring : nullptr;

    if (presence_topic_ == msg->topic) {
      online_ = state_str != nullptr && std::strcmp(state_str, "online") == 0;
      if (online_ && phase_ == Phase::waiting_online) start_warmup();
      return;
    }

    const cJSON* id = root ? cJSON_GetObjectItemCaseSensitive(root.get(), "id") : nullptr;
    if (!cJSON_IsString(id) || state_str == nullptr) {
      ++malformed_;
      return;
    }
    const std::optional<std::size_t> index = job_index(id->valuestring);
    if (!index || *index >= next_to_submit_) {
      ++foreign_;  // another submitter's job, or an earlier run's
      return;
    }
    const std::string_view st = state_str;
    const std::optional<JobState> job_state = job_state_from_string(st);
    if (!job_state || !is_terminal(*job_state)) {
      if (job_state) {
        ++progress_;
      } else {
        ++unknown_state_;
      }
      return;
    }
    if (finished_[*index] != 0) {
      ++duplicates_;  // QoS 1 may deliver twice; PROTOCOL.md allows one terminal status only
      return;
    }
    const Clock::time_point now = Clock::now();
    finished_[*index] = 1;
    --in_flight_;
    ++finished_in_phase_;
    if (phase_ == Phase::measured) {
      latencies_ms_.push_back(std::chrono::duration<double, std::milli>(now - published_at_[*index]).count());
      measure_end_ = now;
    }
    if (*job_state != JobState::succeeded) {
      ++non_succeeded_;
      ++non_succeeded_by_state_[std::string(st)];
      if (first_error_.empty()) {
        const cJSON* err = cJSON_GetObjectItemCaseSensitive(root.get(), "error");
        char* text = err != nullptr ? cJSON_PrintUnformatted(err) : nullptr;
        first_error_ = std::string(id->valuestring) + " " + std::string(st) + (text ? std::string(" ") + text : "");
        cJSON_free(text);
      }
    }
    if (next_to_submit_ < phase_end_) {
      submit_next();
    } else if (in_flight_ == 0) {
      if (phase_ == Phase::warmup) {
        start_measured();
      } else if (phase_ == Phase::measured) {
        phase_ = Phase::done;
        // At once, before anything else this process does: the window ends
        // with the last status.
        device_cpu_.sample_end();
        broker_cpu_.sample_end();
        self_cpu_end_s_ = self_cpu_s();
        device_io_.sample_end();
        syncs_end_ = syncs_.read_total();
      }
    }
  }

  void fail(std::string why) {
    if (phase_ == Phase::failed) return;
    phase_ = Phase::failed;
    error_ = std::move(why);
  }

  Phase phase() const { return phase_; }
  const std::string& error() const { return error_; }
  std::size_t finished_total() const { return static_cast<std::size_t>(std::count(finished_.begin(), finished_.end(), 1)); }
  std::size_t submitted() const { return next_to_submit_; }
  std::size_t in_flight() const { return in_flight_; }

  // Prints the result and returns the exit status.
  int report() {
    std::sort(latencies_ms_.begin(), latencies_ms_.end());
    const double elapsed_s = std::chrono::duration<double>(measure_end_ - measure_start_).count();
    const double rate = elapsed_s > 0 ? static_cast<double>(latencies_ms_.size()) / elapsed_s : 0.0;
    double sum = 0;
    for (double v : latencies_ms_) sum += v;
    const double mean = latencies_ms_.empty() ? 0.0 : sum / static_cast<double>(latencies_ms_.size());
    const double p50 = percentile(0.50), p99 = percentile(0.99), max = latencies_ms_.empty() ? 0.0 : latencies_ms_.back();
    const double jobs = static_cast<double>(latencies_ms_.size());
    const std::optional<double> device_cpu_s = device_cpu_.seconds(), broker_cpu_s = broker_cpu_.seconds();
    const double self_cpu = self_cpu_end_s_ - self_cpu_start_s_;
    auto us_per_job = [&](std::optional<double> cpu_s) -> std::optional<double> {
      if (!cpu_s || jobs == 0) return std::nullopt;
      return *cpu_s * 1e6 / jobs;
    };
    const std::optional<double> device_us = us_per_job(device_cpu_s), broker_us = us_per_job(broker_cpu_s);
    const double self_us = jobs == 0 ? 0.0 : self_cpu * 1e6 / jobs;
    // Bytes written per job, and the fsyncs: nullopt when not measured.
    auto per_job = [&](std::optional<double> v) -> std::optional<double> {
      if (!v || jobs == 0) return std::nullopt;
      return *v / jobs;
    };
    std::optional<double> device_wchar, device_write_bytes, device_fsyncs;
    if (device_io_.measured()) {
      device_wchar = static_cast<double>(device_io_.end->wchar - device_io_.start->wchar);
      device_write_bytes = static_cast<double>(device_io_.end->write_bytes - device_io_.start->write_bytes);
    }
    if (syncs_start_ && syncs_end_ && *syncs_end_ >= *syncs_start_) {
      device_fsyncs = static_cast<double>(*syncs_end_ - *syncs_start_);
    }
    const std::optional<double> wchar_per_job = per_job(device_wchar), write_bytes_per_job = per_job(device_write_bytes);
    std::optional<double> fsyncs_per_s;
    if (device_fsyncs && elapsed_s > 0) fsyncs_per_s = *device_fsyncs / elapsed_s;
    auto us_text = [](std::optional<double> us) {
      if (!us) return std::string("-");
      char buf[32];
      std::snprintf(buf, sizeof buf, "%.1f", *us);
      return std::string(buf);
    };

    std::FILE* text_out = opt_.json ? stderr : stdout;
    std::fprintf(text_out,
                 "edgerun_e2e_bench: %s/%s: %zu jobs (window %lld, warmup %lld) in %.3f s: %.0f jobs/s; "
                 "latency ms p50 %.3f p99 %.3f max %.3f; CPU us/job device %s broker %s submitter %.1f; "
                 "non-succeeded %" PRIu64 "\n",
                 opt_.prefix.c_str(), opt_.device.c_str(), latencies_ms_.size(), opt_.window, opt_.warmup, elapsed_s, rate,
                 p50, p99, max, us_text(device_us).c_str(), us_text(broker_us).c_str(), self_us, non_succeeded_);
    if (opt_.device_pid != 0 && !device_us) {
      std::fprintf(stderr, "edgerun_e2e_bench: could not read /proc/%d/stat at both ends of the window\n",
                   static_cast<int>(opt_.device_pid));
    }
    if (opt_.device_pid != 0) {
      if (!device_io_.measured()) {
        std::fprintf(stderr, "edgerun_e2e_bench: could not read /proc/%d/io at both ends of the window\n",
                     static_cast<int>(opt_.device_pid));
      } else {
        std::fprintf(text_out, "edgerun_e2e_bench: device writes per job: wchar %.0f B, write_bytes %.0f B", *wchar_per_job,
                     *write_bytes_per_job);
        if (fsyncs_per_s) std::fprintf(text_out, "; fsyncs %.0f (%.1f/s)", *device_fsyncs, *fsyncs_per_s);
        std::fputc('\n', text_out);
      }
    }
    if (opt_.broker_pid != 0 && !broker_us) {
      std::fprintf(stderr, "edgerun_e2e_bench: could not read /proc/%d/stat at both ends of the window\n",
                   static_cast<int>(opt_.broker_pid));
    }
    if (non_succeeded_ != 0) std::fprintf(stderr, "edgerun_e2e_bench: first non-succeeded: %s\n", first_error_.c_str());
    if (duplicates_ + malformed_ + unknown_state_ != 0) {
      std::fprintf(stderr,
                   "edgerun_e2e_bench: anomalies: %" PRIu64 " duplicate terminal, %" PRIu64 " malformed, %" PRIu64
                   " unknown state\n",
                   duplicates_, malformed_, unknown_state_);
    }

    if (opt_.json) {
      JsonPtr o(cJSON_CreateObject());
      cJSON_AddStringToObject(o.get(), "prefix", opt_.prefix.c_str());
      cJSON_AddStringToObject(o.get(), "device", opt_.device.c_str());
      cJSON_AddStringToObject(o.get(), "run", opt_.run_id.c_str());
      cJSON_AddNumberToObject(o.get(), "jobs", static_cast<double>(latencies_ms_.size()));
      cJSON_AddNumberToObject(o.get(), "window", static_cast<double>(opt_.window));
      cJSON_AddStringToObject(o.get(), "type", opt_.type.c_str());
      // 0: params {"i":<i>}.
      cJSON_AddNumberToObject(o.get(), "params_bytes", static_cast<double>(opt_.params_bytes));
      cJSON_AddNumberToObject(o.get(), "warmup", static_cast<double>(opt_.warmup));
      cJSON_AddNumberToObject(o.get(), "elapsed_s", elapsed_s);
      cJSON_AddNumberToObject(o.get(), "jobs_per_s", rate);
      cJSON_AddNumberToObject(o.get(), "p50_ms", p50);
      cJSON_AddNumberToObject(o.get(), "p99_ms", p99);
      cJSON_AddNumberToObject(o.get(), "max_ms", max);
      cJSON_AddNumberToObject(o.get(), "mean_ms", mean);
      // CPU per measured job, in microseconds; null when not measured.
      auto add_optional = [&](const char* key, std::optional<double> v) {
        if (v) {
          cJSON_AddNumberToObject(o.get(), key, *v);
        } else {
          cJSON_AddNullToObject(o.get(), key);
        }
      };
      add_optional("cpu_us_per_job", device_us);
      add_optional("device_cpu_s", device_cpu_s);
      add_optional("device_children_cpu_s", device_cpu_.children_seconds());
      add_optional("broker_cpu_us_per_job", broker_us);
      add_optional("broker_cpu_s", broker_cpu_s);
      // The device's writes in the window (/proc/<pid>/io) and its fsync +
      // fdatasync calls (--count-syncs); null when not measured.
      add_optional("device_wchar", device_wchar);
      add_optional("device_write_bytes", device_write_bytes);
      add_optional("wchar_per_job", wchar_per_job);
      add_optional("write_bytes_per_job", write_bytes_per_job);
      add_optional("device_fsyncs", device_fsyncs);
      add_optional("fsyncs_per_job", per_job(device_fsyncs));
      add_optional("fsyncs_per_s", fsyncs_per_s);
      cJSON_AddNumberToObject(o.get(), "submitter_cpu_us_per_job", self_us);
      cJSON_AddNumberToObject(o.get(), "submitter_cpu_s", self_cpu);
      cJSON_AddNumberToObject(o.get(), "non_succeeded", static_cast<double>(non_succeeded_));
      cJSON* by_state = cJSON_AddObjectToObject(o.get(), "non_succeeded_by_state");
      for (const auto& [state, n] : non_succeeded_by_state_) cJSON_AddNumberToObject(by_state, state.c_str(), static_cast<double>(n));
      cJSON_AddNumberToObject(o.get(), "progress_messages", static_cast<double>(progress_));
      cJSON_AddNumberToObject(o.get(), "duplicate_terminal", static_cast<double>(duplicates_));
      cJSON_AddNumberToObject(o.get(), "malformed", static_cast<double>(malformed_));
      cJSON_AddNumberToObject(o.get(), "unknown_state", static_cast<double>(unknown_state_));
      cJSON_AddNumberToObject(o.get(), "foreign", static_cast<double>(foreign_));
      char* text = cJSON_PrintUnformatted(o.get());
      std::printf("%s\n", text != nullptr ? text : "{}");
      cJSON_free(text);
    }
    std::fflush(stdout);
    return non_succeeded_ == 0 ? kExitOk : kExitNotSucceeded;
  }

 private:
  bool subscribe(const std::string& topic) {
    int mid = 0;
    const int rc = mosquitto_subscribe_v5(mosq_, &mid, topic.c_str(), 1, 0, nullptr);
    if (rc != MOSQ_ERR_SUCCESS) {
      fail("subscribe " + topic + ": " + mosquitto_strerror(rc));
      return false;
    }
    pending_subs_.push_back(mid);
    return true;
  }

  void start_warmup() {
    phase_ = Phase::warmup;
    start_phase(static_cast<std::size_t>(opt_.warmup));
    if (phase_ == Phase::warmup && opt_.warmup == 0) start_measured();
  }

  void start_measured() {
    phase_ = Phase::measured;
    // Before the clock starts, so that reading /proc is not in the window.
    if (opt_.count_syncs) {
      std::string why;
      if (syncs_.start(opt_.device_pid, why)) {
        syncs_start_ = syncs_.read_total();
      } else {
        std::fprintf(stderr, "edgerun_e2e_bench: fsyncs not counted: %s\n", why.c_str());
      }
    }
    device_io_.sample_start();
    device_cpu_.sample_start();
    broker_cpu_.sample_start();
    self_cpu_start_s_ = self_cpu_s();
    measure_start_ = Clock::now();
    measure_end_ = measure_start_;
    start_phase(total_);
  }

  // Opens the window for jobs [next_to_submit_, end).
  void start_phase(std::size_t end) {
    phase_end_ = end;
    finished_in_phase_ = 0;
    const std::size_t burst = std::min(static_cast<std::size_t>(opt_.window), end - next_to_submit_);
    for (std::size_t i = 0; i < burst && phase_ != Phase::failed; ++i) submit_next();
  }

  void submit_next() {
    const std::size_t i = next_to_submit_++;
    // Built in a buffer reserved up front, so a large params costs a copy per
    // job but no allocation.
    char number[24];
    const int digits = std::snprintf(number, sizeof number, "%zu", i);
    payload_.assign(R"({"v":1,"id":")").append(id_prefix_).append(number, static_cast<std::size_t>(digits));
    payload_.append(R"(","type":")").append(opt_.type).append(R"(","params":)");
    if (params_text_.empty()) {
      payload_.append(R"({"i":)").append(number, static_cast<std::size_t>(digits)).append("}");
    } else {
      payload_.append(params_text_);
    }
    payload_.append("}");
    published_at_[i] = Clock::now();
    ++in_flight_;
    const int rc = mosquitto_publish_v5(mosq_, nullptr, submit_topic_.c_str(), static_cast<int>(payload_.size()),
                                        payload_.data(), 1, false, nullptr);
    if (rc != MOSQ_ERR_SUCCESS) fail(std::string("publish: ") + mosquitto_strerror(rc));
  }

  // "b-<run>-<i>" -> i, for ids of this run only.
  std::optional<std::size_t> job_index(std::string_view id) const {
    if (id.size() <= id_prefix_.size() || id.substr(0, id_prefix_.size()) != id_prefix_) return std::nullopt;
    std::size_t v = 0;
    for (char c : id.substr(id_prefix_.size())) {
      if (c < '0' || c > '9' || v > total_) return std::nullopt;
      v = v * 10 + static_cast<std::size_t>(c - '0');
    }
    return v;
  }

  // Nearest-rank percentile of the sorted latencies.
  double percentile(double p) const {
    if (latencies_ms_.empty()) return 0.0;
    const double rank = p * static_cast<double>(latencies_ms_.size());
    std::size_t k = static_cast<std::size_t>(rank);
    if (static_cast<double>(k) < rank) ++k;
    return latencies_ms_[std::clamp<std::size_t>(k, 1, latencies_ms_.size()) - 1];
  }

  const Options& opt_;
  mosquitto* mosq_;
  std::string submit_topic_, status_filter_, presence_topic_, id_prefix_;
  std::string params_text_;  // empty: {"i":<i>}
  std::string payload_;      // the submission being built
  Phase phase_ = Phase::connecting;
  std::vector<int> pending_subs_;
  bool online_ = false;

  const std::size_t total_;  // warm-up + measured
  std::vector<Clock::time_point> published_at_;
  std::vector<std::uint8_t> finished_;
  std::size_t next_to_submit_ = 0;
  std::size_t phase_end_ = 0;
  std::size_t in_flight_ = 0;
  std::size_t finished_in_phase_ = 0;

  Clock::time_point measure_start_{}, measure_end_{};
  CpuWindow device_cpu_, broker_cpu_;
  IoWindow device_io_;
  SyncCounter syncs_;
  std::optional<unsigned long long> syncs_start_, syncs_end_;
  double self_cpu_start_s_ = 0, self_cpu_end_s_ = 0;
  std::vector<double> latencies_ms_;
  std::uint64_t non_succeeded_ = 0, progress_ = 0, duplicates_ = 0, malformed_ = 0, foreign_ = 0, unknown_state_ = 0;
  std::map<std::string, std::uint64_t> non_succeeded_by_state_;
  std::string first_error_;
  std::string error_;
};

extern "C" void connect_cb(mosquitto*, void* obj, int rc, int, const mosquitto_property*) {
  static_cast<Bench*>(obj)->on_connect(rc);
}
extern "C" void subscribe_cb(mosquitto*, void* obj, int mid, int qos_count, const int* granted, const mosquitto_property*) {
  static_cast<Bench*>(obj)->on_subscribe(mid, qos_count, granted);
}
extern "C" void message_cb(mosquitto*, void* obj, const mosquitto_message* msg, const mosquitto_property*) {
  static_cast<Bench*>(obj)->on_message(msg);
}
extern "C" void disconnect_cb(mosquitto*, void* obj, int rc, const mosquitto_property*) {
  auto* bench = static_cast<Bench*>(obj);
  if (bench->phase() != Phase::done) bench->fail(std::string("disconnected: ") + mosquitto_reason_string(rc));
}

}  // namespace

int main(int argc, char** argv) {
  const std::optional<Options> parsed = parse_args(argc, argv);
  if (!parsed) return kExitUsage;
  const Options& opt = *parsed;
  MqttUrl broker;
  if (parse_mqtt_url(opt.url, broker) != nullptr || broker.tls) {
    std::fprintf(stderr, "edgerun_e2e_bench: --url '%s' is not mqtt://host[:port]\n", opt.url.c_str());
    return kExitUsage;
  }
  for (const pid_t pid : {opt.device_pid, opt.broker_pid}) {
    if (pid != 0 && !process_cpu_ticks(pid)) {
      std::fprintf(stderr, "edgerun_e2e_bench: cannot read the CPU time of pid %d from /proc/%d/stat\n",
                   static_cast<int>(pid), static_cast<int>(pid));
      return kExitUsage;
    }
  }

  struct sigaction sa {};
  sa.sa_handler = on_signal;
  sigemptyset(&sa.sa_mask);
  sigaction(SIGINT, &sa, nullptr);
  sigaction(SIGTERM, &sa, nullptr);

  MosquittoLib lib;
  const std::string client_id = "e2e-bench-" + opt.run_id;
  mosquitto* mosq = mosquitto_new(client_id.c_str(), true, nullptr);
  if (mosq == nullptr) {
    std::perror("edgerun_e2e_bench: mosquitto_new");
    return kExitFailure;
  }
  Bench bench(opt, mosq);
  mosquitto_user_data_set(mosq, &bench);
  mosquitto_connect_v5_callback_set(mosq, connect_cb);
  mosquitto_subscribe_v5_callback_set(mosq, subscribe_cb);
  mosquitto_message_v5_callback_set(mosq, message_cb);
  mosquitto_disconnect_v5_callback_set(mosq, disconnect_cb);

  int rc = set_client_options(mosq) ? MOSQ_ERR_SUCCESS : MOSQ_ERR_INVAL;
  if (rc == MOSQ_ERR_SUCCESS) rc = mosquitto_connect_bind_v5(mosq, broker.host.c_str(), broker.port, 30, nullptr, nullptr);
  if (rc != MOSQ_ERR_SUCCESS) {
    std::fprintf(stderr, "edgerun_e2e_bench: connect %s: %s\n", opt.url.c_str(),
                 rc == MOSQ_ERR_ERRNO ? std::strerror(errno) : mosquitto_strerror(rc));
    mosquitto_destroy(mosq);
    return kExitFailure;
  }

  const Clock::time_point start = Clock::now();
  const Clock::time_point deadline = start + std::chrono::seconds(opt.timeout_s);
  const Clock::time_point online_deadline = start + std::chrono::seconds(opt.online_timeout_s);
  while (bench.phase() != Phase::done && bench.phase() != Phase::failed) {
    const Clock::time_point now = Clock::now();
    if (g_interrupted != 0) {
      bench.fail("interrupted");
    } else if (now >= deadline) {
      bench.fail("timed out after " + std::to_string(opt.timeout_s) + " s");
    } else if (bench.phase() == Phase::waiting_online && now >= online_deadline) {
      bench.fail("no \"online\" presence on " + opt.prefix + "/" + opt.device + "/status within " +
                 std::to_string(opt.online_timeout_s) + " s");
    } else if (bench.phase() == Phase::connecting && now >= online_deadline) {
      bench.fail("no CONNACK within " + std::to_string(opt.online_timeout_s) + " s");
    } else {
      rc = drive_once(mosq, 50);
      if (rc != MOSQ_ERR_SUCCESS && bench.phase() != Phase::done) {
        bench.fail(std::string("connection lost: ") + (rc == MOSQ_ERR_ERRNO ? std::strerror(errno) : mosquitto_strerror(rc)));
      }
    }
  }

  int status = kExitFailure;
  if (bench.phase() == Phase::done) {
    status = bench.report();
  } else {
    std::fprintf(stderr, "edgerun_e2e_bench: %s (submitted %zu, finished %zu, in flight %zu of %lld + %lld warm-up)\n",
                 bench.error().c_str(), bench.submitted(), bench.finished_total(), bench.in_flight(), opt.jobs, opt.warmup);
  }
  mosquitto_disconnect_v5(mosq, 0, nullptr);
  mosquitto_destroy(mosq);
  return status;
}

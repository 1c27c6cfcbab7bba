// edgerun_journal_bench: what the journal in state_dir (core/journal) costs,
// on a real disk: its files are in a temporary directory under --dir=PATH
// (default /var/tmp; not tmpfs, where an fsync costs nothing), through
// port::system_file_system(), as in edgerund.
//
//   BM_Recovery/N   Journal::recover() of a journal holding N jobs accepted
//                   and not ended (submissions of 100 bytes): read and check
//                   the file, rewrite the live records into a new one, fsync
//                   it (journal.sync batch, the default), rename it in place
//                   and hand the N jobs to a JournalRecovery that counts
//                   them. The start-up of a daemon that stopped with N jobs
//                   queued. The journal is built once; before each iteration
//                   (not timed) its file is copied back, since recovery
//                   rewrites it, and synced, so it is in the page cache, as
//                   after a restart of the daemon rather than of the machine.
//   BM_Append/MODE/wait_durable
//                   one job's accepted record (a 100-byte submission) and
//                   ended record (a 150-byte status) per iteration, under
//                   journal.sync MODE, and the wait until the ended record is
//                   durable (wait_durable): what a job's terminal status
//                   waits for at window 1. Under `none` a record counts as
//                   durable once written, so there is no wait variant.
//   BM_Append/MODE/no_wait
//                   the same appends without waiting (the fsyncs run on the
//                   journal's own thread meanwhile): the appending thread's
//                   throughput.
// A job of edgerund writes these two records, plus a started record before a
// handler that is not idempotent and a status-acknowledged record, not waited
// for, when the broker acknowledges its terminal status.
//
// Counters of BM_Append, per job (iteration): appended_bytes (the two
// records as the file holds them), wchar (bytes this process passed to
// write(2), /proc/self/io: the records and any rewrite of the file past
// journal.max_bytes), write_bytes (bytes it sent toward the disk, counted by
// the kernel as 4 KiB pages dirtied: a page written again after an fsync
// counts again) and fsyncs (the journal's own count).
//
// Run (Release build directory):
//   build/bench/tools/bench/edgerun_journal_bench [--dir=PATH] [--benchmark_filter=...]
#include <fcntl.h>
#include <sys/vfs.h>
#include <unistd.h>

#include <benchmark/benchmark.h>

#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "edgerun/codec.hpp"
#include "edgerun/journal.hpp"
#include "edgerun/journal_record.hpp"
#include "edgerun/json_writer.hpp"
#include "edgerun/log_ring.hpp"
#include "edgerun/port/file.hpp"

namespace {

using namespace edgerun;
using namespace edgerun::journal;
namespace fs = std::filesystem;

constexpr std::size_t kSubmissionBytes = 100;
constexpr std::size_t kStatusBytes = 150;
constexpr std::string_view kDevice = "bench-01";

// --dir: where the benchmarks' temporary directories go.
std::string g_base = "/var/tmp";

// A directory of its own under g_base, removed with everything in it.
class TempDir {
 public:
  TempDir() {
    std::string pattern = g_base + "/edgerun-journal-bench.XXXXXX";
    if (mkdtemp(pattern.data()) == nullptr) {
      std::perror(("edgerun_journal_bench: mkdtemp " + pattern).c_str());
      std::exit(1);
    }
    path_ = pattern;
  }
  ~TempDir() {
    std::error_code ignored;
    fs::remove_all(path_, ignored);
  }
  TempDir(const TempDir&) = delete;
  TempDir& operator=(const TempDir&) = delete;
  const std::string& path() const { return path_; }

 private:
  std::string path_;
};

JournalOptions journal_options(const std::string& directory, SyncMode sync, std::uint32_t max_pending) {
  JournalOptions options;
  options.directory = directory + "/state";
  options.sync = sync;
  options.max_pending = max_pending;
  options.device = std::string(kDevice);
  return options;
}

std::string job_id(std::uint64_t i) {
  char id[32];
  std::snprintf(id, sizeof id, "job-%08llu", static_cast<unsigned long long>(i));
  return id;
}

// A submission of exactly kSubmissionBytes.
std::string submission(std::string_view id) {
  std::string text = R"({"v":1,"id":")" + std::string(id) + R"(","type":"echo","params":{"pad":")";
  const std::string tail = "\"}}";
  text.append(kSubmissionBytes - text.size() - tail.size(), 'x');
  return text + tail;
}

// The result of a status that the journal stores as kStatusBytes.
std::string result_for_status(std::string_view id) {
  const std::string result_start = R"({"pad":")", result_end = "\"}";
  char buffer[512];
  JsonWriter json({buffer, sizeof buffer});
  const std::string empty_result = result_start + result_end;
  encode_status(json, kDevice, JobStatusView{.id = id, .type = "echo", .state = JobState::succeeded,
                                             .ts_ms = 1'760'000'000'000, .result_json = empty_result});
  return result_start + std::string(kStatusBytes - json.view().size(), 'x') + result_end;
}

// Counts what recovery hands over.
class CountingRecovery final : public JournalRecovery {
 public:
  void pending(std::string_view, std::string_view submission, bool, bool, std::uint64_t) noexcept override {
    ++pending_jobs;
    submission_bytes += submission.size();
  }
  void finished(std::string_view, JobState, bool) noexcept override { ++finished_jobs; }
  std::uint64_t pending_jobs = 0, finished_jobs = 0, submission_bytes = 0;
};

// This process's write counters, from /proc/self/io.
struct ProcessIo {
  std::uint64_t wchar = 0, write_bytes = 0;
  static ProcessIo now() {
    ProcessIo io;
    std::ifstream in("/proc/self/io");
    std::string key;
    std::uint64_t value = 0;
    while (in >> key >> value) {
      if (key == "wchar:") io.wchar = value;
      if (key == "write_bytes:") io.write_bytes = value;
    }
    return io;
  }
};

// Copies `from` over `to` and syncs the copy, so that its writeback is not
// left to the timed part.
void copy_synced(const std::string& from, const std::string& to) {
  fs::copy_file(from, to, fs::copy_options::overwrite_existing);
  const int fd = ::open(to.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0 || ::fsync(fd) != 0) {
    std::perror(("edgerun_journal_bench: sync " + to).c_str());
    std::exit(1);
  }
  ::close(fd);
}

void BM_Recovery(benchmark::State& state) {
  const auto jobs = static_cast<std::uint32_t>(state.range(0));
  port::FileSystem& files = port::system_file_system();
  LogRing log(64, LogLevel::warn);
  TempDir dir;
  const JournalOptions options = journal_options(dir.path(), SyncMode::batch, jobs);
  const std::string path = options.directory + "/" + std::string(kJournalFileName);
  const std::string pristine = dir.path() + "/journal.pristine";

  // The journal to recover: `jobs` accepted, none ended.
  {
    Journal journal(files, options, log);
    CountingRecovery none;
    if (Status recovered = journal.recover(none); !recovered) {
      state.SkipWithError(recovered.message());
      return;
    }
    for (std::uint32_t i = 0; i < jobs; ++i) {
      const std::string id = job_id(i);
      int error = 0;
      if (journal.accepted(id, submission(id), error) == 0) {
        state.SkipWithError(std::strerror(error));
        return;
      }
    }
    journal.close();
  }
  fs::copy_file(path, pristine);

  for (auto _ : state) {
    state.PauseTiming();
    copy_synced(pristine, path);
    auto journal = std::make_unique<Journal>(files, options, log);
    CountingRecovery counted;
    state.ResumeTiming();

    const Status recovered = journal->recover(counted);

    state.PauseTiming();
    if (!recovered || counted.pending_jobs != jobs || counted.submission_bytes != jobs * kSubmissionBytes) {
      state.SkipWithError(recovered ? "recovery handed over other jobs than were written" : recovered.message());
      break;
    }
    journal.reset();  // closes: stops its sync thread
    state.ResumeTiming();
  }
  state.counters["jobs"] = jobs;
  state.counters["file_bytes"] = static_cast<double>(fs::file_size(pristine));
  state.SetItemsProcessed(static_cast<std::int64_t>(state.iterations()) * jobs);
}
BENCHMARK(BM_Recovery)->Arg(1000)->Arg(10000)->Unit(benchmark::kMillisecond)->UseRealTime();

void BM_Append(benchmark::State& state, SyncMode sync, bool wait) {
  port::FileSystem& files = port::system_file_system();
  LogRing log(64, LogLevel::warn);
  TempDir dir;
  Journal journal(files, journal_options(dir.path(), sync, 1024), log);
  CountingRecovery none;
  if (Status recovered = journal.recover(none); !recovered) {
    state.SkipWithError(recovered.message());
    return;
  }
  // Ids and submissions made up front; the ids repeat every kIds jobs, long
  // after the journal has forgotten them (finished_ids 1024).
  constexpr std::size_t kIds = 4096;
  std::vector<std::string> ids, submissions;
  for (std::size_t i = 0; i < kIds; ++i) {
    ids.push_back(job_id(i));
    submissions.push_back(submission(ids.back()));
  }
  const std::string result = result_for_status(ids[0]);
  const std::uint64_t appended_per_job =
      record_bytes(ids[0].size(), kSubmissionBytes) + record_bytes(ids[0].size(), kStatusBytes);

  const ProcessIo io_start = ProcessIo::now();
  const std::uint64_t syncs_start = journal.stats().syncs;
  std::size_t next = 0;
  JobJournal::Ticket last = 0;
  for (auto _ : state) {
    const std::string& id = ids[next];
    int error = 0;
    const bool appended = journal.accepted(id, submissions[next], error) != 0 &&
                          (last = journal.ended(JobStatusView{.id = id, .type = "echo", .state = JobState::succeeded,
                                                              .ts_ms = 1'760'000'000'000, .result_json = result},
                                                error)) != 0;
    if (!appended) {
      state.SkipWithError(std::strerror(error));
      break;
    }
    if (wait && !journal.wait_durable(last)) {
      state.SkipWithError("the journal failed");
      break;
    }
    next = (next + 1) % kIds;
  }
  // Not timed: what the last iterations left to the sync thread.
  if (last != 0) (void)journal.wait_durable(last);
  const ProcessIo io_end = ProcessIo::now();
  const auto jobs = static_cast<double>(state.iterations());
  if (jobs > 0) {
    state.counters["appended_bytes"] = static_cast<double>(appended_per_job);
    state.counters["wchar"] = static_cast<double>(io_end.wchar - io_start.wchar) / jobs;
    state.counters["write_bytes"] = static_cast<double>(io_end.write_bytes - io_start.write_bytes) / jobs;
    state.counters["fsyncs"] = static_cast<double>(journal.stats().syncs - syncs_start) / jobs;
  }
  state.SetItemsProcessed(static_cast<std::int64_t>(state.iterations()));
}

void register_benchmarks() {
  struct Variant {
    const char* name;
    SyncMode sync;
    bool wait;
  };
  for (const Variant& v : {Variant{"BM_Append/none", SyncMode::none, false},
                           Variant{"BM_Append/batch/wait_durable", SyncMode::batch, true},
                           Variant{"BM_Append/always/wait_durable", SyncMode::always, true},
                           Variant{"BM_Append/batch/no_wait", SyncMode::batch, false},
                           Variant{"BM_Append/always/no_wait", SyncMode::always, false}}) {
    benchmark::RegisterBenchmark(v.name, BM_Append, v.sync, v.wait)->Unit(benchmark::kMicrosecond)->UseRealTime();
  }
}

// Takes --dir=PATH out of argv.
bool take_dir_flag(int& argc, char** argv) {
  constexpr std::string_view kFlag = "--dir=";
  int out = 1;
  for (int i = 1; i < argc; ++i) {
    const std::string_view arg = argv[i];
    if (arg.substr(0, kFlag.size()) == kFlag) {
      g_base = std::string(arg.substr(kFlag.size()));
      if (g_base.empty()) return false;
    } else {
      argv[out++] = argv[i];
    }
  }
  argc = out;
  return true;
}

}  // namespace

int main(int argc, char** argv) {
  if (!take_dir_flag(argc, argv)) {
    std::fprintf(stderr, "edgerun_journal_bench: --dir=PATH needs a directory\n");
    return 2;
  }
  benchmark::Initialize(&argc, argv);
  if (benchmark::ReportUnrecognizedArguments(argc, argv)) return 2;
  struct statfs st {};
  if (statfs(g_base.c_str(), &st) != 0) {
    std::perror(("edgerun_journal_bench: " + g_base).c_str());
    return 1;
  }
  constexpr long kTmpfsMagic = 0x01021994;
  const bool tmpfs = static_cast<long>(st.f_type) == kTmpfsMagic;
  if (tmpfs) std::fprintf(stderr, "edgerun_journal_bench: %s is tmpfs: fsync costs nothing there; use --dir\n", g_base.c_str());
  char magic[32];
  std::snprintf(magic, sizeof magic, "0x%lx%s", static_cast<unsigned long>(st.f_type), tmpfs ? " (tmpfs)" : "");
  benchmark::AddCustomContext("dir", g_base);
  benchmark::AddCustomContext("dir_fs_magic", magic);
#ifdef EDGERUN_BENCH_CONFIG
  // The core's own build type: a Debug core makes every number moot.
  benchmark::AddCustomContext("edgerun_core_build", EDGERUN_BENCH_CONFIG);
#endif
  register_benchmarks();
  benchmark::RunSpecifiedBenchmarks();
  benchmark::Shutdown();
  return 0;
}

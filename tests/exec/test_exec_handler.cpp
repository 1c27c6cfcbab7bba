// The exec job handler with a real Runtime, real worker threads and real
// programs (/bin/sh is fine as a configured program in tests). Every wait is
// bounded.
#include <cjson/cJSON.h>
#include <gtest/gtest.h>
#include <signal.h>
#include <sys/types.h>

#include <cerrno>
#include <filesystem>
#include <fstream>
#include <thread>
#include <unistd.h>

#include "../unit/runtime_harness.hpp"
#include "edgerun/exec_handler.hpp"

namespace edgerun::test {
namespace {

const char* no_env(const char*) { return nullptr; }

ExecProgram make_spec(std::string type, std::string program, std::vector<std::string> args = {}) {
  ExecProgram spec;
  spec.type = std::move(type);
  spec.program = std::move(program);
  spec.args = std::move(args);
  spec.env_passthrough.clear();
  spec.stop_grace_ms = 500;
  return spec;
}

ExecProgram shell(std::string type, std::string script) {
  return make_spec(std::move(type), "/bin/sh", {"-c", std::move(script)});
}

// A parsed result, freed by the unique_ptr (parsed outside any arena, with
// cJSON's default malloc hooks).
using Json = std::unique_ptr<cJSON, decltype(&cJSON_Delete)>;

Json parse(const std::string& text) { return Json(cJSON_Parse(text.c_str()), &cJSON_Delete); }

std::string string_field(const cJSON* object, const char* name) {
  const cJSON* item = cJSON_GetObjectItemCaseSensitive(object, name);
  return cJSON_IsString(item) ? item->valuestring : "<missing>";
}

double number_field(const cJSON* object, const char* name) {
  const cJSON* item = cJSON_GetObjectItemCaseSensitive(object, name);
  return cJSON_IsNumber(item) ? item->valuedouble : -1;
}

// A runtime with the given exec types registered and started.
class ExecRuntime {
 public:
  explicit ExecRuntime(const std::vector<ExecProgram>& specs,
                       const std::function<const char*(const char*)>& getenv_fn = no_env,
                       RuntimeConfig config = small_config()) : rt(config) {
    registered = register_exec_handlers(rt.runtime, specs, getenv_fn);
  }

  ::testing::AssertionResult start() {
    if (!registered) return ::testing::AssertionFailure() << registered.message();
    return rt.start();
  }

  // Submits and waits for the terminal status.
  RecordedStatus run(const std::string& id, const std::string& type, const std::string& params = "",
                     std::optional<std::uint32_t> timeout_ms = std::nullopt) {
    const SubmitResult submitted = rt.submit(id, type, params, timeout_ms);
    EXPECT_TRUE(submitted.accepted) << submitted.message_view();
    auto done = rt.recorder.wait_terminal(id, 20s);
    EXPECT_TRUE(done.has_value()) << "no terminal status for " << id;
    return done.value_or(RecordedStatus{id, JobState::queued, "", {}, "", {}});
  }

  RunningRuntime rt;
  Status registered;
};

bool process_gone(pid_t pid) {
  if (::kill(pid, 0) == -1 && errno == ESRCH) return true;
  // An orphan that was killed may wait as a zombie for a parent that is not
  // us; it is gone for our purposes.
  std::ifstream stat("/proc/" + std::to_string(pid) + "/stat");
  std::string line;
  if (!std::getline(stat, line)) return true;
  const auto close = line.rfind(')');
  return close != std::string::npos && close + 2 < line.size() && line[close + 2] == 'Z';
}

bool wait_until(const std::function<bool()>& done, std::chrono::milliseconds timeout = 10s) {
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  while (!done()) {
    if (std::chrono::steady_clock::now() > deadline) return false;
    std::this_thread::sleep_for(10ms);
  }
  return true;
}

std::filesystem::path temp_file(const std::string& name) {
  return std::filesystem::temp_directory_path() / ("edgerun-exec-test-" + std::to_string(::getpid()) + "-" + name);
}

// ---------------------------------------------------------------------------

TEST(ExecHandler, EchoWithFixedArgsSucceedsWithItsOutput) {
  ExecRuntime e({make_spec("echo", "/bin/echo", {"hello", "world"})});
  ASSERT_TRUE(e.start());
  // Params are never arguments, whatever they hold.
  const RecordedStatus done = e.run("j1", "echo", R"({"args":["; rm -rf /"]})");
  ASSERT_EQ(done.state, JobState::succeeded) << done.message;
  Json result = parse(done.result);
  ASSERT_TRUE(result);
  EXPECT_EQ(string_field(result.get(), "stdout"), "hello world\n");
  EXPECT_EQ(string_field(result.get(), "stderr"), "");
  EXPECT_EQ(number_field(result.get(), "exit_code"), 0);
  EXPECT_EQ(number_field(result.get(), "stdout_cut_bytes"), 0);
  EXPECT_EQ(number_field(result.get(), "stderr_cut_bytes"), 0);
}

TEST(ExecHandler, ListedParamsBecomeEnvironmentAndOthersDoNot) {
  auto spec = make_spec("env", "/usr/bin/env");
  spec.params_env = {"name", "count", "ratio", "flag", "absent"};
  ExecRuntime e({spec});
  ASSERT_TRUE(e.start());
  const RecordedStatus done =
      e.run("job-env", "env", R"({"name":"a b\nc","count":3,"ratio":1.5,"flag":true,"secret":"s3cr3t"})");
  ASSERT_EQ(done.state, JobState::succeeded) << done.message;
  Json result = parse(done.result);
  ASSERT_TRUE(result);
  const std::string out = string_field(result.get(), "stdout");
  EXPECT_NE(out.find("EDGERUN_PARAM_NAME=a b\nc\n"), std::string::npos) << out;
  EXPECT_NE(out.find("EDGERUN_PARAM_COUNT=3\n"), std::string::npos) << out;
  EXPECT_NE(out.find("EDGERUN_PARAM_RATIO=1.5\n"), std::string::npos) << out;
  EXPECT_NE(out.find("EDGERUN_PARAM_FLAG=true\n"), std::string::npos) << out;
  EXPECT_NE(out.find("EDGERUN_JOB_ID=job-env\n"), std::string::npos) << out;
  EXPECT_NE(out.find("EDGERUN_JOB_TYPE=env\n"), std::string::npos) << out;
  EXPECT_EQ(out.find("ABSENT"), std::string::npos) << out;
  EXPECT_EQ(out.find("s3cr3t"), std::string::npos) << out;
  EXPECT_EQ(out.find("SECRET"), std::string::npos) << out;
  // Nothing of the daemon's own environment leaks in unless passed through.
  EXPECT_EQ(out.find("PATH="), std::string::npos) << out;
}

TEST(ExecHandler, ParamsReachAShellScriptOnlyAsData) {
  auto spec = shell("greet", R"(printf %s "$EDGERUN_PARAM_NAME")");
  spec.params_env = {"name"};
  ExecRuntime e({spec});
  ASSERT_TRUE(e.start());
  const RecordedStatus done = e.run("g", "greet", R"({"name":"$(echo pwned); `id`"})");
  ASSERT_EQ(done.state, JobState::succeeded) << done.message;
  Json result = parse(done.result);
  ASSERT_TRUE(result);
  EXPECT_EQ(string_field(result.get(), "stdout"), "$(echo pwned); `id`");
}

TEST(ExecHandler, PassthroughVariablesAreResolvedAtConstruction) {
  auto spec = make_spec("env", "/usr/bin/env");
  spec.env_passthrough = {"EDGERUN_TEST_PASS", "EDGERUN_TEST_UNSET"};
  std::string value = "hello";
  ExecRuntime e({spec}, [&value](const char* name) -> const char* {
    return std::string_view(name) == "EDGERUN_TEST_PASS" ? value.c_str() : nullptr;
  });
  value = "changed later";  // Resolved once: the handler keeps its own copy.
  ASSERT_TRUE(e.start());
  const RecordedStatus done = e.run("p", "env");
  ASSERT_EQ(done.state, JobState::succeeded) << done.message;
  Json result = parse(done.result);
  ASSERT_TRUE(result);
  const std::string out = string_field(result.get(), "stdout");
  EXPECT_NE(out.find("EDGERUN_TEST_PASS=hello\n"), std::string::npos) << out;
  EXPECT_EQ(out.find("EDGERUN_TEST_UNSET"), std::string::npos) << out;
}

TEST(ExecHandler, WorkingDirectoryIsTheConfiguredOne) {
  auto spec = make_spec("pwd", "/bin/pwd");
  spec.working_directory = "/";
  ExecRuntime e({spec});
  ASSERT_TRUE(e.start());
  const RecordedStatus done = e.run("w", "pwd");
  ASSERT_EQ(done.state, JobState::succeeded) << done.message;
  Json result = parse(done.result);
  ASSERT_TRUE(result);
  EXPECT_EQ(string_field(result.get(), "stdout"), "/\n");
}

TEST(ExecHandler, NonZeroExitFailsWithTheStatusAndTheLastStderrLine) {
  ExecRuntime e({shell("fail", "echo first >&2; echo 'boom: disk full' >&2; exit 3")});
  ASSERT_TRUE(e.start());
  const RecordedStatus done = e.run("f", "fail");
  ASSERT_EQ(done.state, JobState::failed);
  EXPECT_EQ(done.error, ErrorCode::exit_status);
  EXPECT_EQ(done.exit_code, 3);
  EXPECT_EQ(done.message, "exited with status 3: boom: disk full");
}

TEST(ExecHandler, ALongStderrLineIsCutInTheMessage) {
  ExecRuntime e({shell("fail", "i=0; while [ $i -lt 100 ]; do printf 'ab' >&2; i=$((i+1)); done; exit 1")});
  ASSERT_TRUE(e.start());
  const RecordedStatus done = e.run("f", "fail");
  ASSERT_EQ(done.state, JobState::failed);
  EXPECT_EQ(done.exit_code, 1);
  std::string expected_line;
  for (int i = 0; i < 75; ++i) expected_line += "ab";  // The first 150 of 200 bytes.
  EXPECT_EQ(done.message, "exited with status 1: " + expected_line);
}

TEST(ExecHandler, KilledBySignalFailsWith128PlusTheSignal) {
  ExecRuntime e({shell("killed", "kill -9 $$")});
  ASSERT_TRUE(e.start());
  const RecordedStatus done = e.run("k", "killed");
  ASSERT_EQ(done.state, JobState::failed);
  EXPECT_EQ(done.error, ErrorCode::exit_status);
  EXPECT_EQ(done.exit_code, 128 + SIGKILL);
  EXPECT_NE(done.message.find("killed by signal 9"), std::string::npos) << done.message;
}

TEST(ExecHandler, MissingProgramFailsHandlerError) {
  ExecRuntime e({make_spec("missing", "/nonexistent/edgerun-no-such-program")});
  ASSERT_TRUE(e.start());
  const RecordedStatus done = e.run("m", "missing");
  ASSERT_EQ(done.state, JobState::failed);
  EXPECT_EQ(done.error, ErrorCode::handler_error);
  EXPECT_FALSE(done.exit_code.has_value());
  EXPECT_EQ(done.message.rfind("cannot start /nonexistent/edgerun-no-such-program: ", 0), 0u) << done.message;
}

TEST(ExecHandler, CancelEndsTheProcessGroup) {
  const auto pid_file = temp_file("cancel.pid");
  std::filesystem::remove(pid_file);
  // A shell with a background child: both are in the job's process group.
  auto spec = shell("sleepy", R"(/bin/sleep 30 & echo "$$ $!" > "$EDGERUN_PARAM_PIDFILE.tmp";)"
                              R"( mv "$EDGERUN_PARAM_PIDFILE.tmp" "$EDGERUN_PARAM_PIDFILE"; wait)");
  spec.params_env = {"pidfile"};
  ExecRuntime e({spec});
  ASSERT_TRUE(e.start());
  const std::string params = R"({"pidfile":")" + pid_file.string() + R"("})";
  ASSERT_TRUE(e.rt.submit("c", "sleepy", params).accepted);
  ASSERT_TRUE(wait_until([&] { return std::filesystem::exists(pid_file); })) << "the script never started";
  pid_t shell_pid = 0;
  pid_t sleep_pid = 0;
  {
    std::ifstream in(pid_file);
    in >> shell_pid >> sleep_pid;
  }
  std::filesystem::remove(pid_file);
  ASSERT_GT(shell_pid, 0);
  ASSERT_GT(sleep_pid, 0);

  EXPECT_TRUE(e.rt.runtime.cancel("c"));
  auto done = e.rt.recorder.wait_terminal("c", 20s);
  ASSERT_TRUE(done.has_value());
  EXPECT_EQ(done->state, JobState::canceled);
  // The runtime reports `canceled` at once; the handler returns once the
  // group has ended and the shell (our child) is reaped.
  ASSERT_TRUE(e.rt.runtime.wait_until_all_jobs_finished(10s));
  EXPECT_TRUE(process_gone(shell_pid));
  EXPECT_TRUE(wait_until([&] { return process_gone(sleep_pid); }, 5s)) << "sleep " << sleep_pid << " survived";
  if (!process_gone(sleep_pid)) ::kill(sleep_pid, SIGKILL);
}

TEST(ExecHandler, TypeTimeoutEndsTheJobTimedOut) {
  ExecRuntime e({make_spec("slow", "/bin/sleep", {"30"})});
  // As edgerund applies `types.slow.timeout_ms`.
  ASSERT_TRUE(e.rt.runtime.set_handler_options("slow", HandlerOptions{.timeout_ms = 100}));
  ASSERT_TRUE(e.start());
  // The type's limit caps what the job asks for.
  const RecordedStatus done = e.run("t", "slow", "", 60000);
  EXPECT_EQ(done.state, JobState::timed_out);
}

TEST(ExecHandler, LargeOutputKeepsTheTailAndCountsTheCut) {
  auto spec = shell("loud", "i=0; while [ $i -lt 2000 ]; do echo line-$i; i=$((i+1)); done; echo err-tail >&2");
  spec.max_output_bytes = 256;
  ExecRuntime e({spec});
  ASSERT_TRUE(e.start());
  const RecordedStatus done = e.run("l", "loud");
  ASSERT_EQ(done.state, JobState::succeeded) << done.message;
  Json result = parse(done.result);
  ASSERT_TRUE(result);
  std::string all;
  for (int i = 0; i < 2000; ++i) all += "line-" + std::to_string(i) + "\n";
  const std::string out = string_field(result.get(), "stdout");
  EXPECT_EQ(out.size(), 256u);
  EXPECT_EQ(out, all.substr(all.size() - 256));
  EXPECT_EQ(number_field(result.get(), "stdout_cut_bytes"), static_cast<double>(all.size() - 256));
  EXPECT_EQ(string_field(result.get(), "stderr"), "err-tail\n");
  EXPECT_EQ(number_field(result.get(), "stderr_cut_bytes"), 0);
}

TEST(ExecHandler, ATailStartingInsideACharacterDropsItsPart) {
  // Ten "é" (20 bytes) into a 5-byte tail: A9 C3 A9 C3 A9; the lone A9 goes.
  auto spec = shell("accents", R"(printf '\303\251\303\251\303\251\303\251\303\251\303\251\303\251\303\251\303\251\303\251')");
  spec.max_output_bytes = 5;
  ExecRuntime e({spec});
  ASSERT_TRUE(e.start());
  const RecordedStatus done = e.run("a", "accents");
  ASSERT_EQ(done.state, JobState::succeeded) << done.message;
  Json result = parse(done.result);
  ASSERT_TRUE(result);
  EXPECT_EQ(string_field(result.get(), "stdout"), "\xC3\xA9\xC3\xA9");
  EXPECT_EQ(number_field(result.get(), "stdout_cut_bytes"), 16);
}

TEST(ExecHandler, OutputIsShortenedToFitMaxResultBytes) {
  RuntimeConfig config = small_config();
  config.max_result_bytes = 1024;
  // Quotes and tabs print as two bytes each in JSON.
  auto spec = shell("chatty", R"(i=0; while [ $i -lt 300 ]; do printf '"q"\tline-%d\n' $i; i=$((i+1)); done;)"
                              R"( echo small-err >&2)");
  spec.max_output_bytes = 4096;
  auto both = shell("both", R"(i=0; while [ $i -lt 300 ]; do echo out-$i; echo err-$i >&2; i=$((i+1)); done)");
  both.max_output_bytes = 4096;
  ExecRuntime e({spec, both}, no_env, config);
  ASSERT_TRUE(e.start());

  const RecordedStatus done = e.run("c", "chatty");
  ASSERT_EQ(done.state, JobState::succeeded) << done.message;
  EXPECT_LE(done.result.size(), 1024u);
  Json result = parse(done.result);
  ASSERT_TRUE(result);
  std::string all;
  for (int i = 0; i < 300; ++i) all += "\"q\"\tline-" + std::to_string(i) + "\n";
  const std::string out = string_field(result.get(), "stdout");
  EXPECT_GT(out.size(), 500u);  // Most of the room goes to the stream that needs it.
  EXPECT_EQ(all.substr(all.size() - out.size()), out);
  EXPECT_EQ(number_field(result.get(), "stdout_cut_bytes"), static_cast<double>(all.size() - out.size()));
  EXPECT_EQ(string_field(result.get(), "stderr"), "small-err\n");
  EXPECT_EQ(number_field(result.get(), "stderr_cut_bytes"), 0);

  const RecordedStatus two = e.run("two", "both");
  ASSERT_EQ(two.state, JobState::succeeded) << two.message;
  EXPECT_LE(two.result.size(), 1024u);
  Json result2 = parse(two.result);
  ASSERT_TRUE(result2);
  const std::string out2 = string_field(result2.get(), "stdout");
  const std::string err2 = string_field(result2.get(), "stderr");
  EXPECT_GT(out2.size(), 300u);
  EXPECT_GT(err2.size(), 300u);
  EXPECT_EQ(out2.substr(out2.size() - 8), "out-299\n");
  EXPECT_EQ(err2.substr(err2.size() - 8), "err-299\n");
}

TEST(ExecHandler, InvalidUtf8OutputStillGivesValidJson) {
  // \377 \376: never valid; \303 at the end: a sequence cut short; \000: NUL;
  // \303\251: a valid "é" that must survive.
  ExecRuntime e({shell("binary", R"(printf '\377\376abc\000d\303\251\303')")});
  ASSERT_TRUE(e.start());
  const RecordedStatus done = e.run("b", "binary");
  ASSERT_EQ(done.state, JobState::succeeded) << done.message;
  Json result = parse(done.result);
  ASSERT_TRUE(result) << "not JSON: " << done.result;
  EXPECT_EQ(string_field(result.get(), "stdout"),
            "\xEF\xBF\xBD\xEF\xBF\xBD"
            "abc\xEF\xBF\xBD"
            "d\xC3\xA9\xEF\xBF\xBD");
}

TEST(ExecHandler, ParamOfTheWrongTypeFailsNamingIt) {
  auto spec = make_spec("typed", "/bin/echo");
  spec.params_env = {"count"};
  ExecRuntime e({spec});
  ASSERT_TRUE(e.start());
  int n = 0;
  for (const char* params : {R"({"count":{"a":1}})", R"({"count":[1]})", R"({"count":null})"}) {
    const std::string id = "typed-" + std::to_string(n++);
    const RecordedStatus done = e.run(id, "typed", params);
    ASSERT_EQ(done.state, JobState::failed) << params;
    EXPECT_EQ(done.error, ErrorCode::handler_error);
    EXPECT_NE(done.message.find("count"), std::string::npos) << done.message;
  }
}

TEST(ExecHandler, ParamLongerThan4096BytesFailsNamingIt) {
  auto spec = make_spec("typed", "/bin/echo");
  spec.params_env = {"blob"};
  ExecRuntime e({spec});
  ASSERT_TRUE(e.start());
  const RecordedStatus ok = e.run("fits", "typed", R"({"blob":")" + std::string(4096, 'x') + R"("})");
  EXPECT_EQ(ok.state, JobState::succeeded) << ok.message;
  const RecordedStatus done = e.run("long", "typed", R"({"blob":")" + std::string(4097, 'x') + R"("})");
  ASSERT_EQ(done.state, JobState::failed);
  EXPECT_EQ(done.error, ErrorCode::handler_error);
  EXPECT_NE(done.message.find("blob"), std::string::npos) << done.message;
}

TEST(ExecHandler, ConcurrentJobsUseTheirOwnWorkerMemory) {
  auto spec = shell("say", R"(printf %s "$EDGERUN_PARAM_WORD")");
  spec.params_env = {"word"};
  RuntimeConfig config = small_config();
  config.workers = 3;
  ExecRuntime e({spec}, no_env, config);
  ASSERT_TRUE(e.start());
  constexpr int kJobs = 8;
  for (int i = 0; i < kJobs; ++i) {
    const std::string id = "say-" + std::to_string(i);
    ASSERT_TRUE(e.rt.submit(id, "say", R"({"word":"word-)" + std::to_string(i) + R"("})").accepted);
  }
  for (int i = 0; i < kJobs; ++i) {
    auto done = e.rt.recorder.wait_terminal("say-" + std::to_string(i), 20s);
    ASSERT_TRUE(done.has_value());
    ASSERT_EQ(done->state, JobState::succeeded) << done->message;
    Json result = parse(done->result);
    ASSERT_TRUE(result);
    EXPECT_EQ(string_field(result.get(), "stdout"), "word-" + std::to_string(i));
  }
}

TEST(ExecRegistration, RejectsBadSpecsNamingTheField) {
  {
    RunningRuntime rt;
    Status s = register_exec_handlers(rt.runtime, {make_spec("rel", "bin/echo")}, no_env);
    ASSERT_FALSE(s);
    EXPECT_NE(std::string(s.message()).find("exec.rel.program"), std::string::npos) << s.message();
  }
  {
    RunningRuntime rt;
    auto spec = make_spec("dup", "/bin/echo");
    spec.params_env = {"name", "NAME"};
    Status s = register_exec_handlers(rt.runtime, {spec}, no_env);
    ASSERT_FALSE(s);
    EXPECT_NE(std::string(s.message()).find("params_env"), std::string::npos) << s.message();
  }
  {
    RunningRuntime rt;
    Status s = register_exec_handlers(rt.runtime, {make_spec("same", "/bin/echo"), make_spec("same", "/bin/true")},
                                      no_env);
    ASSERT_FALSE(s);
    EXPECT_NE(std::string(s.message()).find("same"), std::string::npos) << s.message();
  }
  {
    RunningRuntime rt;
    ASSERT_TRUE(register_exec_handlers(rt.runtime, {make_spec("a", "/bin/echo"), make_spec("b", "/bin/true")}, no_env));
    ASSERT_EQ(rt.runtime.handler_count(), 2u);
    EXPECT_EQ(rt.runtime.handler_name(0), "a");
    EXPECT_EQ(rt.runtime.handler_name(1), "b");
  }
}

// ---------------------------------------------------------------------------
// sanitize_utf8, pure.

std::string clean(std::string_view in, std::size_t room, bool keep_end, std::size_t* dropped_out = nullptr) {
  std::vector<char> out(room + 1, '#');
  std::size_t dropped = 0;
  const std::size_t n = sanitize_utf8(in, out, keep_end, dropped);
  EXPECT_EQ(out[n], '\0');
  if (dropped_out) *dropped_out = dropped;
  return std::string(out.data(), n);
}

TEST(SanitizeUtf8, ValidTextPassesUnchanged) {
  const std::string text = "plain \xC3\xA9 \xE2\x82\xAC \xF0\x9F\x98\x80 \x7F";
  EXPECT_EQ(clean(text, 100, true), text);
  EXPECT_EQ(clean(text, 100, false), text);
}

TEST(SanitizeUtf8, InvalidSequencesBecomeReplacementCharacters) {
  const std::string r = "\xEF\xBF\xBD";
  EXPECT_EQ(clean("\xC0\xAF", 100, true), r + r);                  // overlong '/'
  EXPECT_EQ(clean("\xE0\x80\xAF", 100, true), r + r + r);          // overlong
  EXPECT_EQ(clean("\xED\xA0\x80", 100, true), r + r + r);          // surrogate
  EXPECT_EQ(clean("\xF4\x90\x80\x80", 100, true), r + r + r + r);  // above U+10FFFF
  EXPECT_EQ(clean("\xF5", 100, true), r);
  EXPECT_EQ(clean(std::string_view("a\0b", 3), 100, true), "a" + r + "b");
  EXPECT_EQ(clean("\xE2\x82", 100, true), r + r);  // cut short
}

TEST(SanitizeUtf8, KeepEndDropsWholeCharactersFromTheFront) {
  std::size_t dropped = 0;
  // "é" is 2 bytes; 5 bytes of room hold "éxyz" minus the first... only whole ones.
  EXPECT_EQ(clean("\xC3\xA9\xC3\xA9xyz", 5, true, &dropped), "\xC3\xA9xyz");
  EXPECT_EQ(dropped, 2u);
  // A bad byte grows to 3 bytes, so more input than room - 1 is dropped.
  EXPECT_EQ(clean("\xFF\xFF", 4, true, &dropped), "\xEF\xBF\xBD");
  EXPECT_EQ(dropped, 1u);
  EXPECT_EQ(clean("abc", 0, true, &dropped), "");
  EXPECT_EQ(dropped, 3u);
}

TEST(SanitizeUtf8, KeepStartDropsWholeCharactersFromTheBack) {
  std::size_t dropped = 0;
  EXPECT_EQ(clean("ab\xE2\x82\xAC", 4, false, &dropped), "ab");
  EXPECT_EQ(dropped, 3u);
  EXPECT_EQ(clean("abcdef", 3, false, &dropped), "abc");
  EXPECT_EQ(dropped, 3u);
}

}  // namespace
}  // namespace edgerun::test

// Unit tests of the protocol codec (PROTOCOL.md): decoding submissions and
// cancels, encoding statuses, rejections and events. Decoding runs inside a
// ScopedJsonArena as on the job path; encoded output is parsed back with cJSON
// outside any arena, as a subscriber would read it.

#include "edgerun/codec.hpp"

#include <cjson/cJSON.h>
#include <gtest/gtest.h>

#include <cstdio>

#include <array>
#include <cstddef>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "edgerun/error_code.hpp"
#include "edgerun/job_state.hpp"
#include "edgerun/json_arena.hpp"
#include "edgerun/json_writer.hpp"
#include "edgerun/sinks.hpp"

namespace {

using namespace edgerun;

struct CJsonDeleter {
  void operator()(cJSON* json) const noexcept { cJSON_Delete(json); }
};
using CJsonPtr = std::unique_ptr<cJSON, CJsonDeleter>;

// Parses on the heap (no arena is current on the test thread here).
CJsonPtr parse(std::string_view text) { return CJsonPtr(cJSON_ParseWithLength(text.data(), text.size())); }

// What a decode produced, copied out of the arena before the scope ends.
struct Decoded {
  std::optional<ErrorCode> error;
  std::string message;
  std::string id;
  std::string type;
  bool has_params = false;
  std::string params_msg;  // params["msg"] when it is a string
  bool params_in_arena = false;
  std::optional<std::uint32_t> timeout_ms;
  std::size_t arena_used = 0;
  bool arena_exhausted = false;
};

class CodecDecode : public ::testing::Test {
 protected:
  static void SetUpTestSuite() { install_cjson_arena_hooks(); }

  Decoded decode(std::string_view payload, std::size_t max_payload_bytes = 16384) {
    return decode_in(arena_, payload, max_payload_bytes);
  }

  static Decoded decode_in(JsonArena& arena, std::string_view payload, std::size_t max_payload_bytes) {
    ScopedJsonArena scope(arena);
    const DecodedSubmission d = decode_submission(payload, max_payload_bytes);
    Decoded out;
    out.error = d.error;
    out.message = d.message != nullptr ? d.message : "";
    out.id = std::string(d.id);
    out.type = std::string(d.type);
    out.has_params = d.params != nullptr;
    if (d.params != nullptr) {
      out.params_in_arena = arena.owns(d.params);
      const cJSON* msg = cJSON_GetObjectItemCaseSensitive(d.params, "msg");
      if (cJSON_IsString(msg)) out.params_msg = msg->valuestring;
    }
    out.timeout_ms = d.timeout_ms;
    out.arena_used = arena.used();
    out.arena_exhausted = arena.exhausted();
    return out;
  }

  std::vector<std::byte> memory_ = std::vector<std::byte>(256 * 1024);
  JsonArena arena_{std::span<std::byte>(memory_)};
};

// PROTOCOL.md: ids match [A-Za-z0-9._-]{1,64}. Every byte value is tried at
// every position of every length, against that definition spelled out.
TEST(CodecIds, EveryCharacterAtEveryPositionIsJudgedByTheProtocolsPattern) {
  auto allowed = [](unsigned char c) {
    return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '.' || c == '_' ||
           c == '-';
  };
  for (std::size_t length = 1; length <= 64; ++length) {
    std::string id(length, 'x');
    ASSERT_TRUE(is_valid_id(id)) << length;
    for (std::size_t at = 0; at < length; ++at) {
      for (int c = 0; c < 256; ++c) {
        id[at] = static_cast<char>(c);
        ASSERT_EQ(is_valid_id(id), allowed(static_cast<unsigned char>(c)))
            << "length " << length << ", byte " << c << " at " << at;
      }
      id[at] = 'x';
    }
  }
  EXPECT_TRUE(is_valid_id("Job-42_a.B9"));
  EXPECT_TRUE(is_valid_id(std::string(64, 'Z')));
  EXPECT_FALSE(is_valid_id(""));
  EXPECT_FALSE(is_valid_id(std::string(65, 'a')));
}

TEST_F(CodecDecode, GoodSubmissionYieldsEveryField) {
  const Decoded d =
      decode(R"({"v": 1, "id": "job-42", "type": "echo", "params": {"msg": "hi"}, "timeout_ms": 5000})");
  ASSERT_FALSE(d.error.has_value()) << d.message;
  EXPECT_EQ(d.id, "job-42");
  EXPECT_EQ(d.type, "echo");
  ASSERT_TRUE(d.has_params);
  EXPECT_EQ(d.params_msg, "hi");
  ASSERT_TRUE(d.timeout_ms.has_value());
  EXPECT_EQ(*d.timeout_ms, 5000u);
  // The parse happened in the arena, not on the heap.
  EXPECT_GT(d.arena_used, 0u);
  EXPECT_TRUE(d.params_in_arena);
  EXPECT_FALSE(d.arena_exhausted);
  // Leaving the scope gives the arena back.
  EXPECT_EQ(arena_.used(), 0u);
}

TEST_F(CodecDecode, OptionalFieldsMayBeOmitted) {
  const Decoded d = decode(R"({"id":"a","type":"t"})");
  ASSERT_FALSE(d.error.has_value()) << d.message;
  EXPECT_EQ(d.id, "a");
  EXPECT_EQ(d.type, "t");
  EXPECT_FALSE(d.has_params);  // nullptr stands for {}
  EXPECT_FALSE(d.timeout_ms.has_value());
}

TEST_F(CodecDecode, UnknownFieldsAreIgnored) {
  const Decoded d = decode(R"({"id":"a","type":"t","priority":[1,2],"future":{"x":null},"params":{}})");
  ASSERT_FALSE(d.error.has_value()) << d.message;
  EXPECT_EQ(d.id, "a");
  EXPECT_TRUE(d.has_params);
}

TEST_F(CodecDecode, TimeoutBoundsAreAccepted) {
  const Decoded low = decode(R"({"id":"a","type":"t","timeout_ms":1})");
  ASSERT_FALSE(low.error.has_value()) << low.message;
  EXPECT_EQ(low.timeout_ms, std::optional<std::uint32_t>(1));
  const Decoded high = decode(R"({"id":"a","type":"t","timeout_ms":2147483647})");
  ASSERT_FALSE(high.error.has_value()) << high.message;
  EXPECT_EQ(high.timeout_ms, std::optional<std::uint32_t>(2147483647u));
}

TEST_F(CodecDecode, PayloadOfExactlyMaxBytesIsAccepted) {
  const std::string payload = R"({"id":"a","type":"t"})";
  EXPECT_FALSE(decode(payload, payload.size()).error.has_value());
  const Decoded over = decode(payload, payload.size() - 1);
  ASSERT_TRUE(over.error.has_value());
  EXPECT_EQ(*over.error, ErrorCode::too_large);
  EXPECT_EQ(over.id, "a");
}

struct RejectCase {
  const char* name;
  std::string payload;
  ErrorCode code;
  const char* id;           // the id the rejection can be reported under, "" if none
  const char* message_has;  // a word the message must contain (the field), "" for no check
};

void PrintTo(const RejectCase& c, std::ostream* os) { *os << c.name; }

class CodecReject : public CodecDecode, public ::testing::WithParamInterface<RejectCase> {};

TEST_P(CodecReject, GivesTheProtocolErrorCodeAndKnownId) {
  const RejectCase& c = GetParam();
  const Decoded d = decode(c.payload, 256);
  ASSERT_TRUE(d.error.has_value()) << "payload accepted: " << c.payload;
  EXPECT_EQ(to_string(*d.error), to_string(c.code)) << c.payload;
  EXPECT_EQ(d.id, c.id) << c.payload;
  EXPECT_FALSE(d.message.empty());
  EXPECT_NE(d.message.find(c.message_has), std::string::npos) << "message: " << d.message;
}

const std::string kLongId(65, 'a');
const std::string kBig = R"({"id":"j1","type":"t","params":{"pad":")" + std::string(300, 'x') + R"("}})";

INSTANTIATE_TEST_SUITE_P(
    Protocol, CodecReject,
    ::testing::Values(
        RejectCase{"not_json", "not json", ErrorCode::bad_json, "", ""},
        RejectCase{"empty", "", ErrorCode::bad_json, "", ""},
        RejectCase{"truncated_object", R"({"id":"j1","type":"t")", ErrorCode::bad_json, "", ""},
        RejectCase{"json_array", R"([{"id":"j1","type":"t"}])", ErrorCode::bad_json, "", ""},
        RejectCase{"json_string", R"("j1")", ErrorCode::bad_json, "", ""},
        RejectCase{"id_missing", R"({"type":"t"})", ErrorCode::bad_request, "", "id"},
        RejectCase{"id_number", R"({"id":42,"type":"t"})", ErrorCode::bad_request, "", "id"},
        RejectCase{"id_null", R"({"id":null,"type":"t"})", ErrorCode::bad_request, "", "id"},
        RejectCase{"id_empty", R"({"id":"","type":"t"})", ErrorCode::bad_request, "", "id"},
        RejectCase{"id_slash", R"({"id":"a/b","type":"t"})", ErrorCode::bad_request, "", "id"},
        RejectCase{"id_plus", R"({"id":"a+b","type":"t"})", ErrorCode::bad_request, "", "id"},
        RejectCase{"id_hash", R"({"id":"a#b","type":"t"})", ErrorCode::bad_request, "", "id"},
        RejectCase{"id_space", R"({"id":"a b","type":"t"})", ErrorCode::bad_request, "", "id"},
        RejectCase{"id_65_chars", R"({"id":")" + kLongId + R"(","type":"t"})", ErrorCode::bad_request, "", "id"},
        RejectCase{"type_missing", R"({"id":"j1"})", ErrorCode::bad_request, "j1", "type"},
        RejectCase{"type_number", R"({"id":"j1","type":7})", ErrorCode::bad_request, "j1", "type"},
        RejectCase{"type_empty", R"({"id":"j1","type":""})", ErrorCode::bad_request, "j1", "type"},
        RejectCase{"params_array", R"({"id":"j1","type":"t","params":[1]})", ErrorCode::bad_request, "j1", "params"},
        RejectCase{"params_string", R"({"id":"j1","type":"t","params":"x"})", ErrorCode::bad_request, "j1",
                   "params"},
        RejectCase{"timeout_zero", R"({"id":"j1","type":"t","timeout_ms":0})", ErrorCode::bad_request, "j1",
                   "timeout_ms"},
        RejectCase{"timeout_negative", R"({"id":"j1","type":"t","timeout_ms":-5})", ErrorCode::bad_request, "j1",
                   "timeout_ms"},
        RejectCase{"timeout_fraction", R"({"id":"j1","type":"t","timeout_ms":1.5})", ErrorCode::bad_request, "j1",
                   "timeout_ms"},
        RejectCase{"timeout_string", R"({"id":"j1","type":"t","timeout_ms":"100"})", ErrorCode::bad_request, "j1",
                   "timeout_ms"},
        RejectCase{"timeout_too_big", R"({"id":"j1","type":"t","timeout_ms":2147483648})", ErrorCode::bad_request,
                   "j1", "timeout_ms"},
        RejectCase{"version_2", R"({"v":2,"id":"j1","type":"t"})", ErrorCode::bad_version, "j1", "v"},
        RejectCase{"version_string", R"({"v":"1","id":"j1","type":"t"})", ErrorCode::bad_version, "j1", "v"},
        RejectCase{"version_zero", R"({"v":0,"id":"j1","type":"t"})", ErrorCode::bad_version, "j1", "v"},
        // Bigger than max_payload_bytes (256 here), the id still read.
        RejectCase{"too_large", kBig, ErrorCode::too_large, "j1", ""},
        // Too large and not JSON: no id, but the size is the answer.
        RejectCase{"too_large_not_json", std::string(300, '{'), ErrorCode::too_large, "", ""},
        // The id is checked before the size, so a bad id wins.
        RejectCase{"too_large_bad_id", R"({"id":"a/b","pad":")" + std::string(300, 'x') + R"("})",
                   ErrorCode::bad_request, "", "id"},
        // The version is checked before the size.
        RejectCase{"too_large_bad_version", R"({"v":3,"id":"j1","pad":")" + std::string(300, 'x') + R"("})",
                   ErrorCode::bad_version, "j1", "v"}),
    [](const ::testing::TestParamInfo<RejectCase>& param_info) { return std::string(param_info.param.name); });

TEST_F(CodecDecode, TinyArenaFailsCleanlyWithoutAnId) {
  std::vector<std::byte> tiny(128);
  JsonArena small{std::span<std::byte>(tiny)};
  const Decoded d =
      decode_in(small, R"({"v":1,"id":"job-42","type":"echo","params":{"msg":"hi","n":[1,2,3]}})", 16384);
  ASSERT_TRUE(d.error.has_value());
  EXPECT_TRUE(d.arena_exhausted);
  EXPECT_LE(d.arena_used, tiny.size());
  EXPECT_TRUE(d.id.empty());
  EXPECT_FALSE(d.message.empty());
  // The arena is usable again after the scope.
  EXPECT_EQ(small.used(), 0u);
  EXPECT_FALSE(small.exhausted());
}

TEST_F(CodecDecode, TinyArenaWithOversizedPayloadIsTooLarge) {
  std::vector<std::byte> tiny(128);
  JsonArena small{std::span<std::byte>(tiny)};
  const Decoded d = decode_in(small, kBig, 256);
  ASSERT_TRUE(d.error.has_value());
  EXPECT_EQ(*d.error, ErrorCode::too_large);
  EXPECT_TRUE(d.id.empty());
}

TEST_F(CodecDecode, ValidSubmissionTooComplexForTheArenaIsTooLarge) {
  // config.hpp (json_arena_bytes): "A submission too complex for it is rejected
  // `too_large`". Here json_arena_bytes = 4 * max_payload_bytes, the minimum
  // validate() accepts, and a well-formed submission within max_payload_bytes
  // has enough tiny array elements to need more nodes than the arena holds.
  constexpr std::size_t kMaxPayload = 4096;
  std::vector<std::byte> memory(4 * kMaxPayload);
  JsonArena arena{std::span<std::byte>(memory)};
  std::string payload = R"({"id":"j1","type":"t","params":{"a":[0)";
  while (payload.size() + 8 < kMaxPayload) payload += ",0";
  payload += "]}}";
  ASSERT_LE(payload.size(), kMaxPayload);
  ASSERT_NE(parse(payload), nullptr) << "the payload is valid JSON";
  const Decoded d = decode_in(arena, payload, kMaxPayload);
  ASSERT_TRUE(d.error.has_value());
  ASSERT_TRUE(d.arena_exhausted);
  EXPECT_EQ(to_string(*d.error), "too_large");
}

TEST_F(CodecDecode, IdWithAnEscapedNulIsRejected) {
  // The id on the wire is "ok", NUL, "/bad": not [A-Za-z0-9._-]{1,64}.
  const Decoded d = decode(R"({"id":"ok\u0000/bad","type":"t"})");
  ASSERT_TRUE(d.error.has_value()) << "accepted with id '" << d.id << "'";
  EXPECT_EQ(*d.error, ErrorCode::bad_request);
  EXPECT_TRUE(d.id.empty());
}

// ---------------------------------------------------------------------------
// Cancel

class CodecCancel : public CodecDecode {
 protected:
  std::optional<std::string> cancel(std::string_view payload) {
    const DecodedCancel decoded = decode_cancel(payload, arena_);
    if (decoded.error.has_value()) return std::nullopt;
    return std::string(decoded.id());
  }
  std::optional<ErrorCode> refusal(std::string_view payload) { return decode_cancel(payload, arena_).error; }
};

TEST_F(CodecCancel, ReadsTheId) {
  EXPECT_EQ(cancel(R"({"id":"job-42"})"), std::optional<std::string>("job-42"));
  EXPECT_EQ(cancel(R"({"reason":"user","id":"x.y_z"})"), std::optional<std::string>("x.y_z"));
  const std::string longest(kMaxIdLength, 'a');
  EXPECT_EQ(cancel(R"({"id":")" + longest + R"("})"), std::optional<std::string>(longest));
}

TEST_F(CodecCancel, RefusesWhatHasNoValidId) {
  EXPECT_EQ(refusal(R"({})"), ErrorCode::bad_request);
  EXPECT_EQ(refusal(R"({"id":5})"), ErrorCode::bad_request);
  EXPECT_EQ(refusal(R"({"id":""})"), ErrorCode::bad_request);
  EXPECT_EQ(refusal(R"({"id":"a/b"})"), ErrorCode::bad_request);
  EXPECT_EQ(refusal(R"({"id":"a#"})"), ErrorCode::bad_request);
  EXPECT_EQ(refusal(R"(["job-42"])"), ErrorCode::bad_request);
  EXPECT_EQ(refusal("job-42"), ErrorCode::bad_json);
  EXPECT_EQ(refusal(""), ErrorCode::bad_json);
}

TEST_F(CodecCancel, IdWithAnEscapedNulIsRefused) {
  EXPECT_EQ(refusal(R"({"id":"ok\u0000#"})"), ErrorCode::bad_request);
}

TEST_F(CodecCancel, APayloadOverTheBoundIsRefusedWithoutParsing) {
  // Padded with small integers: cheap on the wire, a cJSON node each.
  std::string padded = R"({"id":"job-1","pad":[0)";
  while (padded.size() < kMaxCancelBytes) padded += ",0";
  padded += "]}";
  ASSERT_GT(padded.size(), kMaxCancelBytes);
  EXPECT_EQ(refusal(padded), ErrorCode::too_large);
  EXPECT_EQ(arena_.high_water(), 0U) << "the oversized cancel was parsed";
}

TEST_F(CodecCancel, ParsesInTheArenaAndLeavesNothingBehind) {
  // A cancel within the bound but too complex for a small arena is refused,
  // not parsed on the heap.
  std::vector<std::byte> tiny(512);
  JsonArena small{std::span<std::byte>(tiny)};
  std::string nested = R"({"id":"job-1","pad":[0)";
  while (nested.size() < kMaxCancelBytes - 8) nested += ",0";
  nested += "]}";
  EXPECT_EQ(decode_cancel(nested, small).error, ErrorCode::too_large);
  EXPECT_EQ(small.used(), 0U) << "the arena is reset when decode_cancel returns";

  EXPECT_EQ(cancel(R"({"id":"job-7"})"), std::optional<std::string>("job-7"));
  EXPECT_GT(arena_.high_water(), 0U) << "the cancel was not parsed in its arena";
  EXPECT_EQ(arena_.used(), 0U);
}

// ---------------------------------------------------------------------------
// Encoding

class CodecEncode : public ::testing::Test {
 protected:
  // Encodes with `encode`, checks that it fit and is one JSON object, returns it parsed.
  template <class Encode>
  CJsonPtr encode(Encode&& run) {
    JsonWriter out{std::span<char>(buffer_)};
    run(out);
    EXPECT_FALSE(out.overflowed());
    text_ = std::string(out.view());
    CJsonPtr json = parse(text_);
    EXPECT_TRUE(cJSON_IsObject(json.get())) << text_;
    return json;
  }

  static std::string str(const cJSON* object, const char* name) {
    const cJSON* item = cJSON_GetObjectItemCaseSensitive(object, name);
    return cJSON_IsString(item) ? std::string(item->valuestring) : std::string("<not a string>");
  }
  static double num(const cJSON* object, const char* name) {
    const cJSON* item = cJSON_GetObjectItemCaseSensitive(object, name);
    return cJSON_IsNumber(item) ? item->valuedouble : -12345.0;
  }
  static bool has(const cJSON* object, const char* name) {
    return cJSON_GetObjectItemCaseSensitive(object, name) != nullptr;
  }

  std::array<char, 4096> buffer_{};
  std::string text_;
};

constexpr std::int64_t kTs = 1795315351123;  // exactly representable as a double

TEST_F(CodecEncode, SucceededStatusEmbedsTheResult) {
  JobStatusView status{};
  status.id = "job-42";
  status.state = JobState::succeeded;
  status.ts_ms = kTs;
  status.result_json = R"({"msg":"hi","n":[1,2.5,true,null]})";
  const CJsonPtr json = encode([&](JsonWriter& out) { encode_status(out, "gw-01", status); });
  ASSERT_NE(json, nullptr);
  EXPECT_EQ(num(json.get(), "v"), 1);
  EXPECT_EQ(str(json.get(), "id"), "job-42");
  EXPECT_EQ(str(json.get(), "device"), "gw-01");
  EXPECT_EQ(str(json.get(), "state"), "succeeded");
  EXPECT_EQ(num(json.get(), "ts"), static_cast<double>(kTs));
  const CJsonPtr expected = parse(status.result_json);
  const cJSON* result = cJSON_GetObjectItemCaseSensitive(json.get(), "result");
  ASSERT_TRUE(cJSON_IsObject(result)) << text_;
  EXPECT_TRUE(cJSON_Compare(result, expected.get(), true)) << text_;
  EXPECT_FALSE(has(json.get(), "error")) << text_;
}

TEST_F(CodecEncode, SucceededWithoutResultTextGivesEmptyObject) {
  JobStatusView status{};
  status.id = "j";
  status.state = JobState::succeeded;
  status.ts_ms = 1;
  const CJsonPtr json = encode([&](JsonWriter& out) { encode_status(out, "gw-01", status); });
  const cJSON* result = cJSON_GetObjectItemCaseSensitive(json.get(), "result");
  ASSERT_TRUE(cJSON_IsObject(result)) << text_;
  EXPECT_EQ(cJSON_GetArraySize(result), 0);
}

TEST_F(CodecEncode, FailedStatusCarriesCodeMessageAndExitCode) {
  JobStatusView status{};
  status.id = "job-7";
  status.type = "exec";
  status.state = JobState::failed;
  status.ts_ms = kTs;
  status.error_code = ErrorCode::exit_status;
  status.error_message = "process \"worker\" exited\nwith status 3";
  status.exit_code = 3;
  const CJsonPtr json = encode([&](JsonWriter& out) { encode_status(out, "gw-01", status); });
  ASSERT_NE(json, nullptr);
  EXPECT_EQ(num(json.get(), "v"), 1);
  EXPECT_EQ(str(json.get(), "id"), "job-7");
  EXPECT_EQ(str(json.get(), "device"), "gw-01");
  EXPECT_EQ(str(json.get(), "state"), "failed");
  EXPECT_EQ(num(json.get(), "ts"), static_cast<double>(kTs));
  EXPECT_FALSE(has(json.get(), "result")) << text_;
  const cJSON* error = cJSON_GetObjectItemCaseSensitive(json.get(), "error");
  ASSERT_TRUE(cJSON_IsObject(error)) << text_;
  EXPECT_EQ(str(error, "code"), "exit_status");
  EXPECT_EQ(str(error, "message"), status.error_message);  // escaped and read back intact
  EXPECT_EQ(num(error, "exit_code"), 3);
}

TEST_F(CodecEncode, FailedStatusWithoutExitCodeHasNone) {
  JobStatusView status{};
  status.id = "job-8";
  status.state = JobState::failed;
  status.ts_ms = kTs;
  status.error_code = ErrorCode::handler_error;
  status.error_message = "boom";
  const CJsonPtr json = encode([&](JsonWriter& out) { encode_status(out, "gw-01", status); });
  const cJSON* error = cJSON_GetObjectItemCaseSensitive(json.get(), "error");
  ASSERT_TRUE(cJSON_IsObject(error)) << text_;
  EXPECT_EQ(str(error, "code"), "handler_error");
  EXPECT_EQ(str(error, "message"), "boom");
  EXPECT_FALSE(has(error, "exit_code")) << text_;
}

TEST_F(CodecEncode, QueuedStatusHasNeitherResultNorError) {
  JobStatusView status{};
  status.id = "job-1";
  status.state = JobState::queued;
  status.ts_ms = kTs;
  const CJsonPtr json = encode([&](JsonWriter& out) { encode_status(out, "dev.a_b-c", status); });
  ASSERT_NE(json, nullptr);
  EXPECT_EQ(num(json.get(), "v"), 1);
  EXPECT_EQ(str(json.get(), "id"), "job-1");
  EXPECT_EQ(str(json.get(), "device"), "dev.a_b-c");
  EXPECT_EQ(str(json.get(), "state"), "queued");
  EXPECT_EQ(num(json.get(), "ts"), static_cast<double>(kTs));
  EXPECT_FALSE(has(json.get(), "result")) << text_;
  EXPECT_FALSE(has(json.get(), "error")) << text_;
}

TEST_F(CodecEncode, EveryStateHasItsWireName) {
  const std::array<std::pair<JobState, const char*>, 7> states{{{JobState::queued, "queued"},
                                                                 {JobState::running, "running"},
                                                                 {JobState::succeeded, "succeeded"},
                                                                 {JobState::failed, "failed"},
                                                                 {JobState::rejected, "rejected"},
                                                                 {JobState::timed_out, "timed_out"},
                                                                 {JobState::canceled, "canceled"}}};
  for (const auto& [state, name] : states) {
    JobStatusView status{};
    status.id = "j";
    status.state = state;
    status.ts_ms = 5;
    const CJsonPtr json = encode([&](JsonWriter& out) { encode_status(out, "d", status); });
    EXPECT_EQ(str(json.get(), "state"), name);
    EXPECT_EQ(job_state_from_string(name), std::optional<JobState>(state));
    EXPECT_EQ(is_terminal(state), state != JobState::queued && state != JobState::running) << name;
  }
}

TEST_F(CodecEncode, StatusThatDoesNotFitOverflows) {
  JobStatusView status{};
  status.id = "job-42";
  status.state = JobState::succeeded;
  status.ts_ms = kTs;
  status.result_json = R"({"msg":"hi"})";
  std::array<char, 40> small{};
  JsonWriter out{std::span<char>(small)};
  encode_status(out, "gw-01", status);
  EXPECT_TRUE(out.overflowed());
}

TEST_F(CodecEncode, RejectionWithIdGoesOnTheJobStatus) {
  const CJsonPtr json = encode([&](JsonWriter& out) {
    encode_rejection(out, "gw-01", "job-9", kTs, ErrorCode::queue_full, "the queue holds 64 jobs");
  });
  ASSERT_NE(json, nullptr);
  EXPECT_EQ(num(json.get(), "v"), 1);
  EXPECT_EQ(str(json.get(), "id"), "job-9");
  EXPECT_EQ(str(json.get(), "device"), "gw-01");
  EXPECT_EQ(str(json.get(), "state"), "rejected");
  EXPECT_EQ(num(json.get(), "ts"), static_cast<double>(kTs));
  const cJSON* error = cJSON_GetObjectItemCaseSensitive(json.get(), "error");
  ASSERT_TRUE(cJSON_IsObject(error)) << text_;
  EXPECT_EQ(str(error, "code"), "queue_full");
  EXPECT_EQ(str(error, "message"), "the queue holds 64 jobs");
  EXPECT_FALSE(has(json.get(), "result"));
}

TEST_F(CodecEncode, RejectionWithoutIdHasNoIdOrState) {
  const CJsonPtr json = encode(
      [&](JsonWriter& out) { encode_rejection(out, "gw-01", "", kTs, ErrorCode::bad_json, "payload is not valid JSON"); });
  ASSERT_NE(json, nullptr);
  EXPECT_EQ(num(json.get(), "v"), 1);
  EXPECT_EQ(str(json.get(), "device"), "gw-01");
  EXPECT_EQ(num(json.get(), "ts"), static_cast<double>(kTs));
  EXPECT_FALSE(has(json.get(), "id")) << text_;
  EXPECT_FALSE(has(json.get(), "state")) << text_;
  const cJSON* error = cJSON_GetObjectItemCaseSensitive(json.get(), "error");
  ASSERT_TRUE(cJSON_IsObject(error)) << text_;
  EXPECT_EQ(str(error, "code"), "bad_json");
  EXPECT_EQ(str(error, "message"), "payload is not valid JSON");
}

TEST_F(CodecEncode, EventCarriesTypeAndData) {
  EventView event{};
  event.ts_ms = kTs;
  event.type = "temperature";
  event.data_json = R"({"celsius":21.5,"sensor":"t1"})";
  const CJsonPtr json = encode([&](JsonWriter& out) { encode_event(out, "gw-01", event); });
  ASSERT_NE(json, nullptr);
  EXPECT_EQ(num(json.get(), "v"), 1);
  EXPECT_EQ(str(json.get(), "device"), "gw-01");
  EXPECT_EQ(num(json.get(), "ts"), static_cast<double>(kTs));
  EXPECT_EQ(str(json.get(), "type"), "temperature");
  const CJsonPtr expected = parse(event.data_json);
  const cJSON* data = cJSON_GetObjectItemCaseSensitive(json.get(), "data");
  ASSERT_TRUE(cJSON_IsObject(data)) << text_;
  EXPECT_TRUE(cJSON_Compare(data, expected.get(), true)) << text_;
}

TEST_F(CodecEncode, EventWithoutDataHasEmptyObject) {
  EventView event{};
  event.ts_ms = 1;
  event.type = "ping";
  const CJsonPtr json = encode([&](JsonWriter& out) { encode_event(out, "gw-01", event); });
  const cJSON* data = cJSON_GetObjectItemCaseSensitive(json.get(), "data");
  ASSERT_TRUE(cJSON_IsObject(data)) << text_;
  EXPECT_EQ(cJSON_GetArraySize(data), 0);
}

TEST_F(CodecEncode, OnlinePresenceCarriesSysinfoAndHandlers) {
  port::SysInfo info;
  std::snprintf(info.hostname.data(), info.hostname.size(), "gw-01");
  std::snprintf(info.arch.data(), info.arch.size(), "aarch64");
  info.cpu_count = 4;
  info.mem_total = 1 << 30;
  const std::string_view handlers[] = {"echo", "backup"};
  CJsonPtr json = encode([&](JsonWriter& out) {
    encode_presence(out, {.device = "gw-01", .online = true, .version = "0.1.0", .started_at_ms = 1000,
                          .ts_ms = 2000, .sysinfo = &info, .handlers = handlers});
  });
  EXPECT_EQ(num(json.get(), "v"), 1);
  EXPECT_EQ(str(json.get(), "state"), "online");
  EXPECT_EQ(str(json.get(), "version"), "0.1.0");
  EXPECT_EQ(num(json.get(), "started_at"), 1000);
  EXPECT_EQ(num(json.get(), "ts"), 2000);
  const cJSON* sysinfo = cJSON_GetObjectItemCaseSensitive(json.get(), "sysinfo");
  EXPECT_EQ(str(sysinfo, "hostname"), "gw-01");
  EXPECT_EQ(str(sysinfo, "arch"), "aarch64");
  EXPECT_EQ(num(sysinfo, "cpu_count"), 4);
  EXPECT_EQ(num(sysinfo, "mem_total"), 1 << 30);
  const cJSON* names = cJSON_GetObjectItemCaseSensitive(json.get(), "handlers");
  ASSERT_EQ(cJSON_GetArraySize(names), 2);
  EXPECT_STREQ(cJSON_GetArrayItem(names, 1)->valuestring, "backup");
}

TEST_F(CodecEncode, OnlinePresenceCarriesTheJournalsChainHeadWhenThereIsOne) {
  const std::string hash(64, 'a');
  CJsonPtr with = encode([&](JsonWriter& out) {
    encode_presence(out, {.device = "gw-01", .online = true, .version = "0.1.0", .started_at_ms = 1, .ts_ms = 2,
                          .journal_sequence = 1234, .journal_hash = hash});
  });
  const cJSON* journal = cJSON_GetObjectItemCaseSensitive(with.get(), "journal");
  EXPECT_EQ(num(journal, "sequence"), 1234);
  EXPECT_EQ(str(journal, "hash"), hash);
  CJsonPtr without = encode([&](JsonWriter& out) {
    encode_presence(out, {.device = "gw-01", .online = true, .version = "0.1.0", .started_at_ms = 1, .ts_ms = 2});
  });
  EXPECT_FALSE(has(without.get(), "journal"));
}

TEST_F(CodecEncode, OfflinePresenceHasNeitherSysinfoNorHandlers) {
  CJsonPtr json = encode([&](JsonWriter& out) {
    encode_presence(out, {.device = "gw-01", .online = false, .version = "0.1.0", .started_at_ms = 1, .ts_ms = 2});
  });
  EXPECT_EQ(str(json.get(), "state"), "offline");
  EXPECT_EQ(str(json.get(), "device"), "gw-01");
  EXPECT_FALSE(has(json.get(), "sysinfo"));
  EXPECT_FALSE(has(json.get(), "handlers"));
}

TEST_F(CodecEncode, MetricsSnapshotHoldsCountersGaugesAndHistograms) {
  const MetricLabel state_label[] = {{"state", "succeeded"}};
  const double bounds[] = {0.01, 0.1};
  const std::uint64_t counts[] = {3, 5, 6};
  CJsonPtr json = encode([&](JsonWriter& out) {
    begin_metrics(out, "gw-01", 42, 10000);
    encode_metric(out, {.name = "edgerun_jobs_total", .kind = MetricKind::counter, .labels = state_label,
                        .value = 7, .bucket_bounds = {}, .bucket_counts = {}, .sum = 0, .count = 0});
    encode_metric(out, {.name = "edgerun_job_duration_seconds", .kind = MetricKind::histogram, .labels = {},
                        .value = 0, .bucket_bounds = bounds, .bucket_counts = counts, .sum = 0.25, .count = 6});
    end_metrics(out);
  });
  EXPECT_EQ(num(json.get(), "interval_ms"), 10000);
  const cJSON* metrics = cJSON_GetObjectItemCaseSensitive(json.get(), "metrics");
  ASSERT_EQ(cJSON_GetArraySize(metrics), 2);
  const cJSON* counter = cJSON_GetArrayItem(metrics, 0);
  EXPECT_EQ(str(counter, "kind"), "counter");
  EXPECT_EQ(num(counter, "value"), 7);
  EXPECT_EQ(str(cJSON_GetObjectItemCaseSensitive(counter, "labels"), "state"), "succeeded");
  const cJSON* histogram = cJSON_GetArrayItem(metrics, 1);
  EXPECT_EQ(str(histogram, "kind"), "histogram");
  EXPECT_EQ(num(histogram, "count"), 6);
  EXPECT_EQ(num(histogram, "sum"), 0.25);
  const cJSON* buckets = cJSON_GetObjectItemCaseSensitive(histogram, "buckets");
  ASSERT_EQ(cJSON_GetArraySize(buckets), 3);
  EXPECT_EQ(num(cJSON_GetArrayItem(buckets, 1), "le"), 0.1);
  EXPECT_EQ(str(cJSON_GetArrayItem(buckets, 2), "le"), "+Inf");
  EXPECT_EQ(num(cJSON_GetArrayItem(buckets, 2), "count"), 6);
}

TEST_F(CodecEncode, LogBatchCarriesRecordsAndWhatWasDropped) {
  const LogField fields[] = {{"job", "j-1"}, {"code", "too_large"}};
  CJsonPtr json = encode([&](JsonWriter& out) {
    begin_log_batch(out, "gw-01", 99, 3);
    encode_log_record(out, {.ts_ms = 98, .level = LogLevel::warn, .message = "job rejected", .fields = fields});
    end_log_batch(out);
  });
  EXPECT_EQ(num(json.get(), "dropped"), 3);
  const cJSON* records = cJSON_GetObjectItemCaseSensitive(json.get(), "records");
  ASSERT_EQ(cJSON_GetArraySize(records), 1);
  const cJSON* record = cJSON_GetArrayItem(records, 0);
  EXPECT_EQ(str(record, "level"), "warn");
  EXPECT_EQ(str(record, "msg"), "job rejected");
  EXPECT_EQ(num(record, "ts"), 98);
  EXPECT_EQ(str(cJSON_GetObjectItemCaseSensitive(record, "fields"), "code"), "too_large");
}

// ---------------------------------------------------------------------------
// Ids and wire names

TEST(CodecIds, ValidIds) {
  EXPECT_TRUE(is_valid_id("a"));
  EXPECT_TRUE(is_valid_id("job-42"));
  EXPECT_TRUE(is_valid_id("ABCXYZabcxyz0189._-"));
  EXPECT_TRUE(is_valid_id("..."));
  EXPECT_TRUE(is_valid_id(std::string(kMaxIdLength, 'z')));
  EXPECT_EQ(kMaxIdLength, 64u);
}

TEST(CodecIds, InvalidIds) {
  EXPECT_FALSE(is_valid_id(""));
  EXPECT_FALSE(is_valid_id(std::string(65, 'z')));
  EXPECT_FALSE(is_valid_id("a/b"));
  EXPECT_FALSE(is_valid_id("a+b"));
  EXPECT_FALSE(is_valid_id("#"));
  EXPECT_FALSE(is_valid_id("a b"));
  EXPECT_FALSE(is_valid_id("a\tb"));
  EXPECT_FALSE(is_valid_id("caf\xc3\xa9"));  // UTF-8 é
  EXPECT_FALSE(is_valid_id(std::string_view("a\0b", 3)));
  EXPECT_FALSE(is_valid_id("$share"));
  EXPECT_FALSE(is_valid_id("a*"));
}

TEST(CodecIds, ErrorCodeWireNamesMatchTheProtocol) {
  const std::array<std::pair<ErrorCode, const char*>, 12> codes{{{ErrorCode::bad_json, "bad_json"},
                                                                 {ErrorCode::bad_request, "bad_request"},
                                                                 {ErrorCode::unknown_type, "unknown_type"},
                                                                 {ErrorCode::queue_full, "queue_full"},
                                                                 {ErrorCode::too_large, "too_large"},
                                                                 {ErrorCode::duplicate, "duplicate"},
                                                                 {ErrorCode::bad_version, "bad_version"},
                                                                 {ErrorCode::shutting_down, "shutting_down"},
                                                                 {ErrorCode::handler_error, "handler_error"},
                                                                 {ErrorCode::exit_status, "exit_status"},
                                                                 {ErrorCode::result_too_large, "result_too_large"},
                                                                 {ErrorCode::interrupted, "interrupted"}}};
  for (const auto& [code, name] : codes) {
    EXPECT_EQ(to_string(code), name);
    EXPECT_EQ(error_code_from_string(name), std::optional<ErrorCode>(code));
  }
  EXPECT_TRUE(is_rejection(ErrorCode::shutting_down));
  EXPECT_FALSE(is_rejection(ErrorCode::handler_error));
  EXPECT_EQ(error_code_from_string("nope"), std::nullopt);
}

}  // namespace

// Unit tests of JsonWriter: the JSON text it writes into a fixed buffer, and
// that it never writes past that buffer.

#include "edgerun/json_writer.hpp"

#include <cjson/cJSON.h>
#include <gtest/gtest.h>

#include <array>
#include <cfloat>
#include <cmath>
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <limits>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

namespace {

using edgerun::JsonWriter;

// A buffer of `size` usable bytes between two canary zones, to catch writes
// past either end.
class GuardedBuffer {
 public:
  static constexpr std::size_t kGuard = 32;
  static constexpr char kCanary = '\x5a';

  explicit GuardedBuffer(std::size_t size) : storage_(size + 2 * kGuard, kCanary), size_(size) {}

  std::span<char> span() { return {storage_.data() + kGuard, size_}; }

  bool canaries_intact() const {
    for (std::size_t i = 0; i < kGuard; ++i) {
      if (storage_[i] != kCanary || storage_[kGuard + size_ + i] != kCanary) return false;
    }
    return true;
  }

 private:
  std::vector<char> storage_;
  std::size_t size_;
};

std::string write_with(std::size_t size, void (*build)(JsonWriter&), bool* overflowed = nullptr) {
  GuardedBuffer buffer(size);
  JsonWriter out(buffer.span());
  build(out);
  EXPECT_TRUE(buffer.canaries_intact()) << "wrote outside a buffer of " << size;
  EXPECT_LE(out.size(), size);
  if (overflowed != nullptr) *overflowed = out.overflowed();
  return std::string(out.view());
}

std::string write(void (*build)(JsonWriter&)) {
  bool overflowed = true;
  std::string text = write_with(1024, build, &overflowed);
  EXPECT_FALSE(overflowed);
  return text;
}

TEST(JsonWriter, EmptyContainers) {
  EXPECT_EQ(write([](JsonWriter& w) { w.begin_object().end_object(); }), "{}");
  EXPECT_EQ(write([](JsonWriter& w) { w.begin_array().end_array(); }), "[]");
  EXPECT_EQ(write([](JsonWriter& w) { w.begin_object().key("a").begin_array().end_array().end_object(); }),
            R"({"a":[]})");
}

TEST(JsonWriter, NestingAndCommas) {
  const std::string text = write([](JsonWriter& w) {
    w.begin_object();
    w.key("a").integer(1);
    w.key("b").begin_array();
    w.integer(1).integer(2);
    w.begin_object().key("c").boolean(true).end_object();
    w.begin_array().end_array();
    w.end_array();
    w.key("d").begin_object().key("e").null().key("f").boolean(false).end_object();
    w.key("g").string("x");
    w.end_object();
  });
  EXPECT_EQ(text, R"({"a":1,"b":[1,2,{"c":true},[]],"d":{"e":null,"f":false},"g":"x"})");
}

TEST(JsonWriter, SiblingContainersAfterNestedOnesGetCommas) {
  const std::string text = write([](JsonWriter& w) {
    w.begin_array();
    w.begin_array().end_array();
    w.begin_array().integer(1).end_array();
    w.begin_array().integer(1).integer(2).end_array();
    w.begin_object().key("k").begin_object().end_object().end_object();
    w.integer(3);
    w.end_array();
  });
  EXPECT_EQ(text, R"([[],[1],[1,2],{"k":{}},3])");
}

TEST(JsonWriter, RawIsInsertedAsOneValue) {
  const std::string text = write([](JsonWriter& w) {
    w.begin_object().key("r").raw(R"({"x":[1,2]})").key("s").raw("[]").end_object();
  });
  EXPECT_EQ(text, R"({"r":{"x":[1,2]},"s":[]})");
  const std::string in_array =
      write([](JsonWriter& w) { w.begin_array().raw("1").raw(R"("two")").raw("{}").end_array(); });
  EXPECT_EQ(in_array, R"([1,"two",{}])");
}

TEST(JsonWriter, EscapesQuotesBackslashAndControlCharacters) {
  static constexpr char kText[] = "q\"b\\n\nr\rt\tnul\0one\x01us\x1f" "bs\b";
  const std::string text = write([](JsonWriter& w) { w.string(std::string_view(kText, sizeof kText - 1)); });
  EXPECT_EQ(text, R"("q\"b\\n\nr\rt\tnul\u0000one\u0001us\u001fbs\u0008")");
}

TEST(JsonWriter, EscapedTextReadsBackUnchanged) {
  std::string original;
  for (int c = 1; c < 0x80; ++c) original += static_cast<char>(c);
  original += "caf\xc3\xa9 \xe2\x82\xac";  // UTF-8 passes through
  static std::string s_text;
  s_text = original;
  const std::string text = write([](JsonWriter& w) { w.begin_object().key(s_text).string(s_text).end_object(); });
  cJSON* json = cJSON_ParseWithLength(text.data(), text.size());
  ASSERT_NE(json, nullptr) << text;
  ASSERT_NE(json->child, nullptr);
  EXPECT_EQ(std::string(json->child->string), original);
  ASSERT_TRUE(cJSON_IsString(json->child));
  EXPECT_EQ(std::string(json->child->valuestring), original);
  cJSON_Delete(json);
}

TEST(JsonWriter, KeysAreEscaped) {
  EXPECT_EQ(write([](JsonWriter& w) { w.begin_object().key("a\"b").integer(1).end_object(); }),
            R"({"a\"b":1})");
}

TEST(JsonWriter, Integers) {
  EXPECT_EQ(write([](JsonWriter& w) {
              w.begin_array()
                  .integer(0)
                  .integer(-1)
                  .integer(42)
                  .integer(std::numeric_limits<std::int64_t>::min())
                  .integer(std::numeric_limits<std::int64_t>::max())
                  .unsigned_integer(std::numeric_limits<std::uint64_t>::max())
                  .unsigned_integer(0)
                  .end_array();
            }),
            "[0,-1,42,-9223372036854775808,9223372036854775807,18446744073709551615,0]");
}

TEST(JsonWriter, BooleansAndNull) {
  EXPECT_EQ(write([](JsonWriter& w) { w.begin_array().boolean(true).boolean(false).null().end_array(); }),
            "[true,false,null]");
}

TEST(JsonWriter, SimpleDoublesAreShort) {
  EXPECT_EQ(write([](JsonWriter& w) { w.begin_array().number(0.5).number(1.0).number(-2.25).number(0).end_array(); }),
            "[0.5,1,-2.25,0]");
  EXPECT_EQ(write([](JsonWriter& w) { w.number(0.1); }), "0.1");
}

TEST(JsonWriter, DoublesRoundTrip) {
  const std::array<double, 12> values{0.1,     1.0 / 3,  2.0 / 3,          1e300,   -2.5e-308, 123456789.123,
                                      5e-324,  DBL_MAX,  -DBL_MIN,         1e21,    0.30000000000000004,
                                      9007199254740993.0};
  for (const double value : values) {
    static double s_value;
    s_value = value;
    const std::string text = write([](JsonWriter& w) { w.begin_array().number(s_value).end_array(); });
    // Valid JSON (cJSON reads it as a number) ...
    cJSON* json = cJSON_ParseWithLength(text.data(), text.size());
    ASSERT_NE(json, nullptr) << text;
    ASSERT_TRUE(cJSON_IsNumber(json->child)) << text;
    cJSON_Delete(json);
    // ... that reads back as exactly the same double.
    const std::string inner = text.substr(1, text.size() - 2);
    const double parsed = std::strtod(inner.c_str(), nullptr);
    EXPECT_EQ(std::memcmp(&parsed, &value, sizeof value), 0) << "wrote " << inner << " for " << value;
  }
}

TEST(JsonWriter, NonFiniteNumbersBecomeNull) {
  EXPECT_EQ(write([](JsonWriter& w) {
              w.begin_array()
                  .number(std::numeric_limits<double>::quiet_NaN())
                  .number(std::numeric_limits<double>::infinity())
                  .number(-std::numeric_limits<double>::infinity())
                  .end_array();
            }),
            "[null,null,null]");
}

void build_document(JsonWriter& w) {
  w.begin_object();
  w.key("v").integer(1);
  w.key("msg").string("quote\" slash\\ ctl\x01");
  w.key("list").begin_array().number(0.1).unsigned_integer(7).boolean(true).null().end_array();
  w.key("raw").raw(R"({"x":1})");
  w.end_object();
}

TEST(JsonWriter, ExactFitDoesNotOverflow) {
  const std::string full = write(build_document);
  bool overflowed = true;
  EXPECT_EQ(write_with(full.size(), build_document, &overflowed), full);
  EXPECT_FALSE(overflowed);
}

TEST(JsonWriter, EveryTooSmallBufferOverflowsAndStaysInside) {
  const std::string full = write(build_document);
  for (std::size_t size = 0; size < full.size(); ++size) {
    bool overflowed = false;
    const std::string text = write_with(size, build_document, &overflowed);
    EXPECT_TRUE(overflowed) << "buffer of " << size << " for " << full.size() << " bytes";
    if (::testing::Test::HasFailure()) break;
  }
}

TEST(JsonWriter, LongEscapesDoNotRunPastTheBuffer) {
  static const std::string s_controls(200, '\x02');
  for (std::size_t size : {0u, 1u, 5u, 6u, 7u, 13u, 64u}) {
    bool overflowed = false;
    write_with(size, [](JsonWriter& w) { w.string(s_controls); }, &overflowed);
    EXPECT_TRUE(overflowed) << size;
  }
}

TEST(JsonWriter, SizeAndViewAgree) {
  std::array<char, 64> buffer{};
  JsonWriter w{std::span<char>(buffer)};
  EXPECT_EQ(w.size(), 0u);
  EXPECT_TRUE(w.view().empty());
  w.begin_array().integer(12).end_array();
  EXPECT_EQ(w.size(), 4u);
  EXPECT_EQ(w.view(), "[12]");
  EXPECT_EQ(w.view().data(), buffer.data());
}

}  // namespace

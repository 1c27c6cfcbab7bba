#pragma once

#include <string>
#include <utility>

namespace edgerun::test {

// The outcome of a fixture operation: success, or a message that says what
// went wrong in enough detail to fail a test with (often a log tail).
// Use it as `ASSERT_TRUE(s) << s.message;`.
struct [[nodiscard]] Status {
  bool ok = true;
  std::string message;

  static Status success() { return {}; }
  static Status failure(std::string text) { return {false, std::move(text)}; }
  explicit operator bool() const { return ok; }
};

}  // namespace edgerun::test

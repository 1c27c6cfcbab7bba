#pragma once
// Status: success, or an error message held inline, so that reporting an error
// never allocates. Used for start-up and configuration errors.

#include <array>
#include <cstdarg>
#include <string_view>

namespace edgerun {

class [[nodiscard]] Status {
 public:
  Status() noexcept = default;

  [[gnu::format(printf, 1, 2)]] static Status error(const char* format, ...) noexcept;

  bool ok() const noexcept { return !failed_; }
  explicit operator bool() const noexcept { return ok(); }
  const char* message() const noexcept { return message_.data(); }

 private:
  bool failed_ = false;
  std::array<char, 256> message_{};
};

}  // namespace edgerun

#include "edgerun/json_writer.hpp"

#include <cmath>
#include <cstdio>

namespace edgerun {

void JsonWriter::put(char c) noexcept {
  if (size_ < buffer_.size()) {
    buffer_[size_++] = c;
  } else {
    overflowed_ = true;
  }
}

void JsonWriter::put(std::string_view text) noexcept {
  if (text.size() > buffer_.size() - size_) {
    overflowed_ = true;
    return;
  }
  for (char c : text) buffer_[size_++] = c;
}

void JsonWriter::put_escaped(std::string_view text) noexcept {
  static constexpr char kHex[] = "0123456789abcdef";
  for (char c : text) {
    const auto byte = static_cast<unsigned char>(c);
    switch (c) {
      case '"': put("\\\""); break;
      case '\\': put("\\\\"); break;
      case '\n': put("\\n"); break;
      case '\r': put("\\r"); break;
      case '\t': put("\\t"); break;
      default:
        if (byte < 0x20) {
          const char escaped[6] = {'\\', 'u', '0', '0', kHex[byte >> 4], kHex[byte & 0xF]};
          put(std::string_view(escaped, 6));
        } else {
          put(c);
        }
    }
  }
}

void JsonWriter::separate() noexcept {
  if (after_key_) {
    after_key_ = false;
    return;
  }
  if (depth_ == 0) return;
  const std::uint64_t bit = std::uint64_t{1} << (depth_ - 1);
  if (has_element_ & bit) put(',');
  has_element_ |= bit;
}

JsonWriter& JsonWriter::open(char bracket) noexcept {
  separate();
  put(bracket);
  if (depth_ < 64) {
    ++depth_;
    has_element_ &= ~(std::uint64_t{1} << (depth_ - 1));
  } else {
    overflowed_ = true;
  }
  return *this;
}

JsonWriter& JsonWriter::close(char bracket) noexcept {
  put(bracket);
  if (depth_ > 0) --depth_;
  return *this;
}

JsonWriter& JsonWriter::begin_object() noexcept { return open('{'); }
JsonWriter& JsonWriter::end_object() noexcept { return close('}'); }
JsonWriter& JsonWriter::begin_array() noexcept { return open('['); }
JsonWriter& JsonWriter::end_array() noexcept { return close(']'); }

JsonWriter& JsonWriter::key(std::string_view name) noexcept {
  separate();
  put('"');
  put_escaped(name);
  put("\":");
  after_key_ = true;
  return *this;
}

JsonWriter& JsonWriter::string(std::string_view text) noexcept {
  separate();
  put('"');
  put_escaped(text);
  put('"');
  return *this;
}

JsonWriter& JsonWriter::integer(std::int64_t value) noexcept {
  separate();
  char digits[24];
  const int n = std::snprintf(digits, sizeof digits, "%lld", static_cast<long long>(value));
  put(std::string_view(digits, static_cast<std::size_t>(n)));
  return *this;
}

JsonWriter& JsonWriter::unsigned_integer(std::uint64_t value) noexcept {
  separate();
  char digits[24];
  const int n = std::snprintf(digits, sizeof digits, "%llu", static_cast<unsigned long long>(value));
  put(std::string_view(digits, static_cast<std::size_t>(n)));
  return *this;
}

JsonWriter& JsonWriter::number(double value) noexcept {
  separate();
  // JSON has no NaN or infinity; null is what JSON.stringify writes for them.
  if (!std::isfinite(value)) {
    put("null");
    return *this;
  }
  char digits[32];
  const int n = std::snprintf(digits, sizeof digits, "%.17g", value);
  // Prefer the shortest form that reads back the same value.
  char shorter[32];
  const int m = std::snprintf(shorter, sizeof shorter, "%.15g", value);
  double parsed = 0;
  if (std::sscanf(shorter, "%lf", &parsed) == 1 && parsed == value) {
    put(std::string_view(shorter, static_cast<std::size_t>(m)));
  } else {
    put(std::string_view(digits, static_cast<std::size_t>(n)));
  }
  return *this;
}

JsonWriter& JsonWriter::boolean(bool value) noexcept {
  separate();
  put(value ? "true" : "false");
  return *this;
}

JsonWriter& JsonWriter::null() noexcept {
  separate();
  put("null");
  return *this;
}

JsonWriter& JsonWriter::raw(std::string_view json) noexcept {
  separate();
  put(json);
  return *this;
}

}  // namespace edgerun

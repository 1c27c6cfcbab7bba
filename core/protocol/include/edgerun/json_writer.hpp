#pragma once
// Writes JSON text into a caller's fixed buffer. Never allocates; a write that
// does not fit sets overflowed() and the text is then not to be used.

#include <cstddef>
#include <cstdint>
#include <span>
#include <string_view>

namespace edgerun {

class JsonWriter {
 public:
  explicit JsonWriter(std::span<char> buffer) noexcept : buffer_(buffer) {}

  // Structure. Commas between members and elements are written for you.
  JsonWriter& begin_object() noexcept;
  JsonWriter& end_object() noexcept;
  JsonWriter& begin_array() noexcept;
  JsonWriter& end_array() noexcept;
  JsonWriter& key(std::string_view name) noexcept;

  // Values.
  JsonWriter& string(std::string_view text) noexcept;
  JsonWriter& integer(std::int64_t value) noexcept;
  JsonWriter& unsigned_integer(std::uint64_t value) noexcept;
  JsonWriter& number(double value) noexcept;
  JsonWriter& boolean(bool value) noexcept;
  JsonWriter& null() noexcept;
  // Already-serialized JSON, inserted as one value (a result, params).
  JsonWriter& raw(std::string_view json) noexcept;

  bool overflowed() const noexcept { return overflowed_; }
  std::string_view view() const noexcept { return {buffer_.data(), size_}; }
  std::size_t size() const noexcept { return size_; }

 private:
  void separate() noexcept;
  JsonWriter& open(char bracket) noexcept;
  JsonWriter& close(char bracket) noexcept;
  void put(char c) noexcept;
  void put(std::string_view text) noexcept;
  void put_escaped(std::string_view text) noexcept;

  std::span<char> buffer_;
  std::size_t size_ = 0;
  bool overflowed_ = false;
  // One bit per nesting level: whether the container at that depth already
  // has an element (so the next one needs a comma).
  std::uint64_t has_element_ = 0;
  int depth_ = 0;
  bool after_key_ = false;
};

}  // namespace edgerun

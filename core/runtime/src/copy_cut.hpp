#pragma once
// Copies text into a fixed, NUL-terminated buffer, cut to fit.

#include <algorithm>
#include <array>
#include <string_view>

namespace edgerun::detail {

template <std::size_t N>
void copy_cut(std::array<char, N>& out, std::string_view text) noexcept {
  const std::size_t n = std::min(text.size(), N - 1);
  std::copy_n(text.data(), n, out.data());
  out[n] = '\0';
}

}  // namespace edgerun::detail

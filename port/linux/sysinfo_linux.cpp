// Device description for Linux from uname(2), sysconf(3), /proc and
// os-release(5).
//
// Everything is read with open/read into one 4 KiB stack buffer and parsed
// as string_views over it, so read_sysinfo() never touches the heap. The
// files read are small: /proc/meminfo is about 1.5 KiB and its two fields we
// need are its first and third lines, so a longer file cut at 4 KiB still
// has them; os-release and /proc/uptime are far shorter.
#include "edgerun/port/sysinfo.hpp"

#include <fcntl.h>
#include <sys/utsname.h>
#include <unistd.h>

#include <cerrno>
#include <cstddef>
#include <limits>
#include <optional>
#include <span>
#include <string_view>

namespace edgerun::port {
namespace {

constexpr std::size_t file_buffer_size = 4096;

// Reads up to buf.size() - 1 bytes of the file at path, NUL-terminates them
// and returns them, or nothing when the file cannot be opened or read.
std::optional<std::string_view> read_small_file(const char* path, std::span<char> buf) noexcept {
  const int fd = open(path, O_RDONLY | O_CLOEXEC);
  if (fd < 0) {
    return std::nullopt;
  }
  std::size_t used = 0;
  bool ok = true;
  while (used < buf.size() - 1) {
    const ssize_t n = read(fd, buf.data() + used, buf.size() - 1 - used);
    if (n > 0) {
      used += static_cast<std::size_t>(n);
    } else if (n == 0) {
      break;
    } else if (errno != EINTR) {
      ok = false;
      break;
    }
  }
  close(fd);
  buf[used] = '\0';
  if (!ok) {
    return std::nullopt;
  }
  return std::string_view(buf.data(), used);
}

// The rest of the first line of text that starts with key, or nothing.
std::optional<std::string_view> value_of(std::string_view text, std::string_view key) noexcept {
  while (!text.empty()) {
    const std::size_t eol = text.find('\n');
    const std::string_view line = text.substr(0, eol);
    if (line.starts_with(key)) {
      return line.substr(key.size());
    }
    if (eol == std::string_view::npos) {
      break;
    }
    text.remove_prefix(eol + 1);
  }
  return std::nullopt;
}

// The unsigned decimal number at the start of text after blanks, or nothing
// when there is no digit or the number does not fit in 64 bits.
std::optional<std::uint64_t> parse_u64(std::string_view text) noexcept {
  while (!text.empty() && (text.front() == ' ' || text.front() == '\t')) {
    text.remove_prefix(1);
  }
  constexpr std::uint64_t max = std::numeric_limits<std::uint64_t>::max();
  std::uint64_t value = 0;
  std::size_t digits = 0;
  for (const char c : text) {
    if (c < '0' || c > '9') {
      break;
    }
    const auto digit = static_cast<std::uint64_t>(c - '0');
    if (value > (max - digit) / 10) {
      return std::nullopt;
    }
    value = value * 10 + digit;
    ++digits;
  }
  if (digits == 0) {
    return std::nullopt;
  }
  return value;
}

// Copies src into dst, cut so that dst stays NUL-terminated.
template <std::size_t N>
void copy_cut(std::array<char, N>& dst, std::string_view src) noexcept {
  static_assert(N > 0);
  std::size_t i = 0;
  for (; i < src.size() && i < N - 1 && src[i] != '\0'; ++i) {
    dst[i] = src[i];
  }
  dst[i] = '\0';
}

// Copies an os-release value into dst without its quotes. The format is a
// shell assignment: a value in "..." or '...' loses the quotes, and in a
// double-quoted or bare value a backslash keeps the next character literally.
template <std::size_t N>
void copy_unquoted(std::array<char, N>& dst, std::string_view value) noexcept {
  while (!value.empty() && (value.back() == '\r' || value.back() == ' ' || value.back() == '\t')) {
    value.remove_suffix(1);
  }
  char quote = '\0';
  if (value.size() >= 2 && (value.front() == '"' || value.front() == '\'') &&
      value.back() == value.front()) {
    quote = value.front();
    value = value.substr(1, value.size() - 2);
  }
  std::size_t out = 0;
  for (std::size_t i = 0; i < value.size() && out < N - 1; ++i) {
    if (value[i] == '\\' && quote != '\'' && i + 1 < value.size()) {
      ++i;
    }
    dst[out++] = value[i];
  }
  dst[out] = '\0';
}

bool read_os_release(SysInfo& out, std::span<char> buf) noexcept {
  // os-release(5): /etc/os-release wins, /usr/lib/os-release is the fallback.
  constexpr const char* paths[] = {"/etc/os-release", "/usr/lib/os-release"};
  for (const char* path : paths) {
    if (const auto text = read_small_file(path, buf)) {
      if (const auto value = value_of(*text, "PRETTY_NAME=")) {
        // Parse into a scratch copy so that an empty value keeps the fallback.
        decltype(out.os) pretty{};
        copy_unquoted(pretty, *value);
        if (pretty[0] != '\0') {
          out.os = pretty;
          return true;
        }
      }
    }
  }
  return false;
}

bool read_meminfo(SysInfo& out, std::span<char> buf) noexcept {
  const auto text = read_small_file("/proc/meminfo", buf);
  if (!text) {
    return false;
  }
  // The kernel prints these in kB (KiB, really).
  const auto bytes_of = [&text](std::string_view key) -> std::optional<std::uint64_t> {
    const auto value = value_of(*text, key);
    const auto kib = value ? parse_u64(*value) : std::nullopt;
    if (!kib || *kib > std::numeric_limits<std::uint64_t>::max() / 1024) {
      return std::nullopt;
    }
    return *kib * 1024;
  };
  const auto total = bytes_of("MemTotal:");
  const auto available = bytes_of("MemAvailable:");
  out.mem_total = total.value_or(0);
  out.mem_available = available.value_or(0);
  return total && available;
}

bool read_uptime(SysInfo& out, std::span<char> buf) noexcept {
  // "12345.67 54321.00": seconds since boot, then idle seconds summed over CPUs.
  const auto text = read_small_file("/proc/uptime", buf);
  const auto seconds = text ? parse_u64(*text) : std::nullopt;
  out.uptime_s = seconds.value_or(0);
  return seconds.has_value();
}

}  // namespace

unsigned online_cpu_count() noexcept {
  const long n = sysconf(_SC_NPROCESSORS_ONLN);
  return n >= 1 ? static_cast<unsigned>(n) : 1U;
}

bool read_sysinfo(SysInfo& out) noexcept {
  out = SysInfo{};
  bool ok = true;

  utsname uts{};
  if (uname(&uts) == 0) {
    copy_cut(out.hostname, uts.nodename);
    copy_cut(out.os, uts.sysname);
    copy_cut(out.release, uts.release);
    copy_cut(out.arch, uts.machine);
  } else {
    ok = false;
  }

  out.cpu_count = online_cpu_count();

  // One buffer, reused for each file in turn, keeps the stack cost at 4 KiB.
  char buf[file_buffer_size];
  (void)read_os_release(out, buf);  // Without one, os keeps the uname sysname.
  ok = read_meminfo(out, buf) && ok;
  ok = read_uptime(out, buf) && ok;
  return ok;
}

}  // namespace edgerun::port

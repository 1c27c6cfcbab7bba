#include "edgerun/stderr_log_sink.hpp"

#include <cstdio>

namespace edgerun {

namespace {
// A line break inside a record would start a journald entry of its own,
// without the priority: control characters become spaces.
void flatten_controls(char* text, int length) noexcept {
  for (int i = 0; i < length; ++i) {
    if (static_cast<unsigned char>(text[i]) < 0x20) text[i] = ' ';
  }
}
}  // namespace

void StderrLogSink::write(const LogRecord& record) noexcept {
  // One formatted line of a bounded size, written with one call so lines from
  // other writers of stderr do not interleave inside it.
  char line[512];
  const std::string_view level = to_string(record.level);
  const std::string_view message = record.message();
  int length = std::snprintf(line, sizeof line, "<%d>%.*s %.*s", syslog_priority(record.level),
                             static_cast<int>(level.size()), level.data(), static_cast<int>(message.size()),
                             message.data());
  for (std::size_t i = 0; i < record.field_count() && length > 0 && length < static_cast<int>(sizeof line); ++i) {
    const LogField field = record.field(i);
    length += std::snprintf(line + length, sizeof line - static_cast<std::size_t>(length), " %.*s=%.*s",
                            static_cast<int>(field.key.size()), field.key.data(), static_cast<int>(field.value.size()),
                            field.value.data());
  }
  if (length < 0) return;
  if (length >= static_cast<int>(sizeof line) - 1) length = static_cast<int>(sizeof line) - 2;
  flatten_controls(line, length);
  line[length] = '\n';
  std::fwrite(line, 1, static_cast<std::size_t>(length) + 1, stderr);
}

}  // namespace edgerun

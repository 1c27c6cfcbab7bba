#pragma once
// Writes log records to stderr, one line each, with the "<N>" syslog priority
// prefix that journald reads (so `journalctl -p warning` filters), then the
// level, the message and the fields as key=value.

#include "edgerun/log_ring.hpp"

namespace edgerun {

class StderrLogSink final : public LogSink {
 public:
  void write(const LogRecord& record) noexcept override;
};

}  // namespace edgerun

#include "edgerun/status.hpp"

#include <cstdio>

namespace edgerun {

Status Status::error(const char* format, ...) noexcept {
  Status status;
  status.failed_ = true;
  va_list args;
  va_start(args, format);
  std::vsnprintf(status.message_.data(), status.message_.size(), format, args);
  va_end(args);
  return status;
}

}  // namespace edgerun

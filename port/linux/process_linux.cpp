// Process-wide protections for Linux through prctl(2).
#include "edgerun/port/process.hpp"

#include <sys/prctl.h>

#include <cerrno>

namespace edgerun::port {

int make_process_undumpable() noexcept {
  if (prctl(PR_SET_DUMPABLE, 0, 0, 0, 0) != 0) {
    return errno;
  }
  return 0;
}

}  // namespace edgerun::port

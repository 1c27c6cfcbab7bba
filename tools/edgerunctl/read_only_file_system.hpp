#pragma once

// The files `edgerunctl journal` reads, through a port::FileSystem that
// cannot write. The platform's own (port::system_file_system()) opens every
// file for reading and appending, as the daemon needs: through it, verifying
// a journal would need write access to it and would fail on read-only media
// (a copy of a device's state_dir, a snapshot). This one opens O_RDONLY, and
// every call that would change something fails with EROFS, so a reader can
// never touch the journal it checks.

#include "edgerun/port/file.hpp"

namespace edgerun::ctl {

port::FileSystem& read_only_file_system() noexcept;

}  // namespace edgerun::ctl

#pragma once
// A runtime with its journal over a file system, its loop on a thread of
// its own (the harness of tests/unit). The journal is made first and
// outlives the runtime, as it must.
#include "edgerun/journal.hpp"
#include "runtime_harness.hpp"

namespace edgerun::journal::test {

struct JournalHolder {
  JournalHolder(port::FileSystem& files, const JournalOptions& options) : journal(files, options, log) {}
  LogRing log{64, LogLevel::info};
  Journal journal;
};

class JournaledRuntime : public JournalHolder, public edgerun::test::RunningRuntime {
 public:
  JournaledRuntime(port::FileSystem& files, const JournalOptions& options, const RuntimeConfig& config)
      : JournalHolder(files, options), RunningRuntime(config) {
    runtime.set_journal(journal);
  }
};

}  // namespace edgerun::journal::test

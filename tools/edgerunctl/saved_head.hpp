#pragma once

// `journal verify --head SEQ:HEX`: whether a journal still holds a chain head
// an auditor saved from an earlier verify. The chain makes each hash depend
// on every record before it, so a record that still has its saved hash
// vouches for the whole history up to it; one with another hash, or a
// journal that ends before it, shows that the history was rewritten or cut.

#include <optional>
#include <string>

#include "cli_args.hpp"
#include "edgerun/journal_reader.hpp"
#include "edgerun/journal_record.hpp"

namespace edgerun::ctl {

enum class HeadVerdict {
  holds,      // the record with the saved sequence has the saved hash
  rewritten,  // it has another hash
  cut,        // the journal ends before it
  unchecked,  // compacted away, or past damage: nothing to compare it with
};

struct HeadCheckResult {
  HeadVerdict verdict = HeadVerdict::unchecked;
  // What to tell the user, without the file's name; empty when the head
  // holds in the plain way (its record is in the file).
  std::string message;
};

// Exit status 6 for these: the journal does not hold the saved head.
constexpr bool head_lost(HeadVerdict verdict) {
  return verdict == HeadVerdict::rewritten || verdict == HeadVerdict::cut;
}

class SavedHeadCheck {
 public:
  explicit SavedHeadCheck(SavedHead head) : head_(std::move(head)) {}

  // Each good record, in the order the scan hands them out.
  void observe(const journal::RecordView& record);
  // Once the scan is over.
  HeadCheckResult finish(const journal::ScanResult& scan) const;

 private:
  HeadCheckResult compare(const std::string& found_hex, const std::string& where) const;
  HeadCheckResult before_the_file(const journal::ScanResult& scan) const;

  SavedHead head_;
  std::optional<std::string> found_hex_;  // the hash of the record with head_.sequence
};

}  // namespace edgerun::ctl

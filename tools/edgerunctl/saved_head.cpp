#include "saved_head.hpp"

#include "journal_format.hpp"

namespace edgerun::ctl {

void SavedHeadCheck::observe(const journal::RecordView& record) {
  if (record.sequence == head_.sequence) found_hex_ = journal::to_hex(record.hash).data();
}

HeadCheckResult SavedHeadCheck::finish(const journal::ScanResult& scan) const {
  const std::string saved = std::to_string(head_.sequence);
  if (found_hex_) return compare(*found_hex_, "the record with sequence " + saved);
  if (scan.records > 0 && head_.sequence < scan.first_sequence) return before_the_file(scan);
  // Past the last good record. Behind damage, the records that follow were
  // not read: the head may be among them.
  if (scan_found_damage(scan)) {
    return {HeadVerdict::unchecked, "the saved head " + saved + " lies past the damage: it cannot be checked"};
  }
  return {HeadVerdict::cut, "the journal ends at sequence " + std::to_string(scan.last_sequence) +
                                ", before the saved head " + saved + ": it was cut"};
}

HeadCheckResult SavedHeadCheck::compare(const std::string& found_hex, const std::string& where) const {
  if (found_hex == head_.hash_hex) return {HeadVerdict::holds, ""};
  return {HeadVerdict::rewritten,
          where + " has hash " + found_hex + ", not the saved " + head_.hash_hex + ": the history was rewritten"};
}

// The file starts after the saved head: edgerund compacted the records up to
// it away. Its first record, a checkpoint, names the sequence and hash it
// follows, so a head saved exactly there can still be checked.
HeadCheckResult SavedHeadCheck::before_the_file(const journal::ScanResult& scan) const {
  const std::string saved = std::to_string(head_.sequence);
  const std::uint64_t followed = scan.first_sequence - 1;
  if (head_.sequence == followed) {
    HeadCheckResult result = compare(journal::to_hex(scan.first_previous).data(),
                                     "the checkpoint the file starts with follows sequence " + saved + ", which");
    if (result.verdict == HeadVerdict::holds) {
      result.message = "the record with sequence " + saved +
                       " was compacted away; the checkpoint the file starts with follows it with the saved hash";
    }
    return result;
  }
  return {HeadVerdict::unchecked, "the record with sequence " + saved +
                                      " was compacted away (the file starts at sequence " +
                                      std::to_string(scan.first_sequence) + ", after " + std::to_string(followed) +
                                      "): the saved head cannot be checked"};
}

}  // namespace edgerun::ctl

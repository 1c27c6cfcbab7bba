#pragma once

// What `edgerunctl journal` prints about a journal's records and about how
// its scan ended, as pure functions: nothing here reads a file or writes
// anywhere.

#include <cstddef>
#include <span>
#include <string>
#include <string_view>

#include "edgerun/journal_reader.hpp"
#include "edgerun/journal_record.hpp"

namespace edgerun::ctl {

// One line of `journal show`: sequence, wall time (UTC), kind, job id ("-"
// for none), and a detail when the kind has one:
//   "2 2026-01-02T03:04:05.678Z accepted         job-42 echo"
//   "7 2026-01-02T03:04:06.001Z ended            job-42 failed handler_error"
//   "1 2026-01-02T03:04:05.000Z checkpoint       - follows 0 0000000000000000"
std::string format_record_line(const journal::RecordView& record);

// The detail of a record's line: an accepted job's type, an ended job's state
// (and its error code when it failed), the record a checkpoint follows.
// Empty for kinds without data.
std::string record_detail(const journal::RecordView& record);

// One object of `journal show --json`, on one line:
//   {"seq":2,"ts":1767323045678,"kind":"accepted","id":"job-42","flags":0,
//    "hash":"<64 hex>","data":{<the submission>}}
// "data" is the parsed JSON of accepted and ended records and {"seq","hash"}
// for a checkpoint; data that is not what its kind holds is "data_hex".
std::string format_record_json(const journal::RecordView& record);

// Lower-case hex of any bytes.
std::string hex_of(std::span<const std::byte> bytes);

// The one line `journal verify` prints for a scan whose records are good
// (clean, or torn at the end):
//   "<path>: intact: 11 records, sequence 1..11, head 11:<64 hex>"
std::string format_scan_summary(std::string_view path, const journal::ScanResult& scan);

// Why a scan found the journal damaged, for stderr; empty when it did not
// (clean, torn tail):
//   "<path>: damaged: record at offset 143 (sequence 2): the record does not
//    match its hash; the 1 record before it is intact"
std::string format_scan_damage(std::string_view path, const journal::ScanResult& scan);

// The note for a torn last record, for stderr; empty when there is none.
std::string format_torn_note(const journal::ScanResult& scan);

// Whether the scan found damage (exit status 6): anything but a clean scan
// or a torn last record. `empty` counts: there is no history to vouch for.
bool scan_found_damage(const journal::ScanResult& scan);

}  // namespace edgerun::ctl

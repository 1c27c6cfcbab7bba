#pragma once
// The one way edgerun parses JSON text with cJSON.
//
// cJSON 1.7.15 (Debian bookworm) keeps a process-global error state
// (cJSON_GetErrorPtr) and writes it on every parse, a successful one too. The
// loop admits submissions, the workers parse params and a SIGHUP reload parses
// the config file, all at once, so two unsynchronised parses are a data race
// inside cJSON. Every parse in edgerun therefore goes through parse_json,
// which holds one process-wide lock for the parse. The lock is uncontended in
// the common case; the parses it serialises are bounded by
// jobs.max_payload_bytes and the JSON arenas.
//
// Code outside edgerun that parses with cJSON in the same process while the
// runtime runs shares the race; an embedding firmware should parse through
// parse_json too.

#include <cjson/cJSON.h>

#include <string_view>

namespace edgerun {

// cJSON_ParseWithLengthOpts under the parse lock: parses `text`, allocating
// through cJSON's hooks (a ScopedJsonArena on the job path). `parse_end`, when
// given, receives where parsing stopped, which on failure is where the error
// is. With `require_null_terminated`, only whitespace and then a NUL inside
// `text` may follow the value. Any thread.
cJSON* parse_json(std::string_view text, const char** parse_end = nullptr,
                  bool require_null_terminated = false) noexcept;

}  // namespace edgerun

// A cheap, allocation-free scanner for stored audit record bodies.
//
// A body is the canonical JSON written by AuditRecordBody(): one object whose keys are,
// in byte order, agent_id, call_id, data, prev, principal, run_id, seq, time, type. The
// scanner checks exactly that top-level shape (so no key can be duplicated or smuggled
// in) and returns each member's raw JSON token without building a DOM, so verify and
// export stay fast on millions of records. It does not validate the inside of `data`
// beyond balanced brackets and well-formed strings; VerifyOptions::deep does.
// Thread-safety: pure functions.
#ifndef INTERLOCK_AUDIT_RECORD_SCAN_H_
#define INTERLOCK_AUDIT_RECORD_SCAN_H_

#include <cstdint>
#include <string>
#include <string_view>

namespace interlock::audit {

struct ScannedBody {
  // Raw JSON tokens (strings include their quotes).
  std::string_view agent_id, call_id, data, prev, principal, run_id, seq, time, type;
  int64_t seq_value = 0;
  size_t prev_key_offset = 0;  // offset of the '"' opening the "prev" key
};

// Scans `body`; on failure returns false and sets *problem.
bool ScanRecordBody(std::string_view body, ScannedBody* out, std::string* problem);

// Whether JSON string token `token` (with quotes) decodes to exactly `value`.
bool JsonStringEquals(std::string_view token, std::string_view value);

// Decodes a JSON string token; empty optional-like: returns false on malformed input.
bool DecodeJsonString(std::string_view token, std::string* out);

}  // namespace interlock::audit

#endif  // INTERLOCK_AUDIT_RECORD_SCAN_H_

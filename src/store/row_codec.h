// Row helpers the SQLite and PostgreSQL stores share (internal to src/store): ids, the run
// state as a call row stores it, and a run row's records map. One definition, so the two
// backends write and read the same bytes.
#ifndef INTERLOCK_STORE_ROW_CODEC_H_
#define INTERLOCK_STORE_ROW_CODEC_H_

#include <cstdint>
#include <map>
#include <string>
#include <string_view>

#include "interlock/result.h"
#include "interlock/tool_call.h"

namespace interlock::store::internal {

// `prefix` and 16 hex digits of randomness. Unguessable (a caller must not enumerate other
// agents' calls or runs); the CSPRNG is drawn in 4 KiB refills per thread.
std::string NewId(std::string_view prefix);

// The run state as calls.state_after_json stores it (exact integers):
// {"steps","tokens","cost_micros","elapsed_ms","halted","halt_reason","records"}.
void AppendStateStoreJson(std::string* out, const RunState& s);

// runs.records_json: {"tool": count, ...}. Anything else is kCorrupt (a tampered row).
Result<std::map<std::string, uint64_t, std::less<>>> ParseRecords(std::string_view text);

}  // namespace interlock::store::internal

#endif  // INTERLOCK_STORE_ROW_CODEC_H_

// Call and run ids (internal to src/store): "call_" or "run_", 12 hex digits of the
// creation time in Unix milliseconds, then 16 hex digits of randomness (sqlite_store.cc,
// NewCallId, NewRunId). They sort by time, so inserts append to the calls primary key,
// retention can find old calls by an id range, and the rows of the runs being written
// (runs, audit_runs) sit together on the last pages of their tables instead of one random
// page per busy run per group commit.
#ifndef INTERLOCK_STORE_CALL_ID_H_
#define INTERLOCK_STORE_CALL_ID_H_

#include <string>
#include <string_view>

#include "common/time.h"

namespace interlock::store::internal {

// `prefix` and the 12 time digits of `t`: every such id made before `t` sorts below it.
std::string IdTimePrefix(std::string_view prefix, TimePoint t);
inline std::string CallIdTimePrefix(TimePoint t) { return IdTimePrefix("call_", t); }

}  // namespace interlock::store::internal

#endif  // INTERLOCK_STORE_CALL_ID_H_

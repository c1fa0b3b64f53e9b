// Call ids (internal to src/store): "call_", 12 hex digits of the creation time in Unix
// milliseconds, then 16 hex digits of randomness (NewCallId, sqlite_store_internal.h).
// They sort by time, so inserts append to the calls primary key and retention can find
// old calls by an id range.
#ifndef INTERLOCK_STORE_CALL_ID_H_
#define INTERLOCK_STORE_CALL_ID_H_

#include <string>

#include "common/time.h"

namespace interlock::store::internal {

// "call_" and the 12 time digits of `t`: every call id made before `t` sorts below it.
std::string CallIdTimePrefix(TimePoint t);

}  // namespace interlock::store::internal

#endif  // INTERLOCK_STORE_CALL_ID_H_

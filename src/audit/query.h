// Audit records for the API (GET /v1/audit) and the web console.
//
// The caller (the HTTP server) authorises first: only admin and reviewer principals may
// read the audit log. Results are in seq order; `after_seq` of the last record returned
// is the cursor for the next page.
// Thread-safety: uses `db` for the duration of the call; one thread at a time. Use a
// read connection, not the store's writer, so reads never delay decisions.
#ifndef INTERLOCK_AUDIT_QUERY_H_
#define INTERLOCK_AUDIT_QUERY_H_

#include <cstdint>

#include <boost/json/array.hpp>

#include "audit/export.h"
#include "interlock/result.h"

struct sqlite3;

namespace interlock::audit {

inline constexpr int64_t kDefaultAuditQueryLimit = 100;
inline constexpr int64_t kMaxAuditQueryLimit = 1000;

struct AuditQuery {
  AuditFilter filter;                       // run_id, since, until, agent_id, after_seq
  int64_t limit = kDefaultAuditQueryLimit;  // clamped to [1, kMaxAuditQueryLimit]
};

// Each element: the record's body as an object plus "hash" (same shape as an export
// line). A stored body that is not valid JSON is an Error (kCorrupt) naming its seq.
Result<boost::json::array> QueryAudit(sqlite3* db, const AuditQuery& q);

}  // namespace interlock::audit

#endif  // INTERLOCK_AUDIT_QUERY_H_

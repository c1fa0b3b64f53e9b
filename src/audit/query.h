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
#include <functional>

#include <boost/json/array.hpp>

#include "audit/audit_query.h"
#include "audit/export.h"
#include "interlock/result.h"

struct sqlite3;

namespace interlock::audit {

// Each element: the record's body as an object plus "hash" (same shape as an export
// line). A stored body that is not valid JSON is an Error (kCorrupt) naming its seq.
Result<boost::json::array> QueryAudit(sqlite3* db, const AuditQuery& q);

// One page of the console's search (audit_query.h, AuditPage).
Result<AuditPage> QueryAuditPage(sqlite3* db, const AuditQuery& q);

// The paging rule of every backend: a query that cannot use an index (`windowed`: text on
// SQLite; text, tool or code on PostgreSQL) reads at most kTextScanWindow seqs per page
// from the cursor, and says `more` while the log goes on past the window. `last_seq`
// gives the log's last seq (asked only when windowed); `query` runs one bounded query.
Result<AuditPage> PageOver(
    const AuditQuery& q, bool windowed, const std::function<Result<int64_t>()>& last_seq,
    const std::function<Result<boost::json::array>(const AuditQuery&)>& query);

}  // namespace interlock::audit

#endif  // INTERLOCK_AUDIT_QUERY_H_

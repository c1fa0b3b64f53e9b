// Audit records for the API (GET /v1/audit) and the web console.
//
// The caller (the HTTP server) authorises first: only admin and reviewer principals may
// read the audit log. Results are in seq order; `after_seq` of the last record returned
// is the cursor for the next page.
// Here: the paging shared by the backends (PageOver); the queries themselves are the
// stores' (src/store/: the SQLite store's reads, PostgreSQL's).
// Thread-safety: PageOver calls its functions on the caller's thread.
#ifndef INTERLOCK_AUDIT_QUERY_H_
#define INTERLOCK_AUDIT_QUERY_H_

#include <cstdint>
#include <functional>

#include <boost/json/array.hpp>

#include "audit/audit_query.h"
#include "audit/export.h"
#include "interlock/result.h"

namespace interlock::audit {

// The paging rule of every backend: a query that cannot use an index (`windowed`: text on
// SQLite; text, tool or code on PostgreSQL) reads at most kTextScanWindow seqs per page
// from the cursor, and says `more` while the log goes on past the window. `last_seq`
// gives the log's last seq (asked only when windowed); `query` runs one bounded query.
Result<AuditPage> PageOver(
    const AuditQuery& q, bool windowed, const std::function<Result<int64_t>()>& last_seq,
    const std::function<Result<boost::json::array>(const AuditQuery&)>& query);

}  // namespace interlock::audit

#endif  // INTERLOCK_AUDIT_QUERY_H_

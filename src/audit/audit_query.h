// AuditFilter, AuditQuery and AuditPage: which audit records a reader asks for and the
// page it gets back, as values with no database type, so that the store's port
// (core/ports/store.h) can name them. The SQLite reads are the SQLite store's (src/store/), the
// PostgreSQL ones in the PostgreSQL store.
// Thread-safety: plain values.
#ifndef INTERLOCK_AUDIT_AUDIT_QUERY_H_
#define INTERLOCK_AUDIT_AUDIT_QUERY_H_

#include <cstdint>
#include <optional>
#include <string>

#include <boost/json/array.hpp>

#include "common/time.h"

namespace interlock::audit {

// Shared by export and query: which records to read. Empty strings match everything.
struct AuditFilter {
  std::optional<TimePoint> since;  // inclusive
  std::optional<TimePoint> until;  // exclusive
  std::string agent_id;
  std::string run_id;
  int64_t after_seq = 0;  // only records with seq > after_seq (pagination cursor)
  // The console's search (GET /v1/audit; docs/console.md). Each is index-backed
  // (audit_log.cc: indexes on type, agent, and the decision records' tool and code).
  std::string type;  // the record type ("decision", "kill_switch", ...)
  std::string tool;  // a decision record's data.tool
  std::string code;  // a decision record's data.decision.code
  // A substring of the record's canonical body (case-sensitive). Not index-backed: a
  // query with text reads at most kTextScanWindow records per page (QueryAuditPage).
  std::string text;
  int64_t before_seq = 0;   // when > 0: only records with seq < before_seq
  bool descending = false;  // newest first (the cursor is then before_seq)
};

inline constexpr int64_t kDefaultAuditQueryLimit = 100;
inline constexpr int64_t kMaxAuditQueryLimit = 1000;

struct AuditQuery {
  AuditFilter filter;                       // run_id, since, until, agent_id, after_seq
  int64_t limit = kDefaultAuditQueryLimit;  // clamped to [1, kMaxAuditQueryLimit]
};

// A query with filter.text reads at most this many seqs per page (a substring cannot be
// indexed): the page may then hold fewer records than the limit and still say `more`.
inline constexpr int64_t kTextScanWindow = 20000;

// One page of the console's search (GET /v1/audit): the records, and where the next page
// starts: after_seq (ascending) or before_seq (descending) = next_cursor, while `more`.
struct AuditPage {
  boost::json::array records;
  int64_t next_cursor = 0;
  bool more = false;
};

}  // namespace interlock::audit

#endif  // INTERLOCK_AUDIT_AUDIT_QUERY_H_

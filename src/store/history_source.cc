#include "core/ports/history_source.h"

#include <sqlite3.h>

#include "audit/record_scan.h"
#include "common/status_macros.h"
#include "store/sqlite_audit_util.h"
#include "store/sqlite_history_source.h"

namespace interlock::store {

Status ForEachSqliteRecord(sqlite3* db, const core::HistoryFilter& filter,
                           const core::HistoryFn& fn) {
  std::string sql =
      "SELECT seq, time_ms, type, run_id, call_id, agent_id, principal, body FROM audit_log "
      "WHERE 1=1";
  // One type: the (type, seq) index, already in seq order. Several: a scan in seq order
  // filtered by type ("+type" keeps SQLite off that index, which would need a sort of every
  // matching row, bodies included: 2x the time of a report over a million records).
  if (filter.types.size() == 1) {
    sql += " AND type = ?";
  } else if (!filter.types.empty()) {
    sql += " AND +type IN (";
    for (size_t i = 0; i < filter.types.size(); ++i) sql += i ? ",?" : "?";
    sql += ")";
  }
  if (filter.since_ms) sql += " AND time_ms >= ?";
  if (!filter.agent_id.empty()) sql += " AND agent_id = ?";
  sql += " ORDER BY seq";
  audit::Statement st;
  INTERLOCK_RETURN_IF_ERROR(st.Prepare(db, sql));
  int n = 1;
  for (std::string_view t : filter.types) st.BindText(n++, t);
  if (filter.since_ms) st.BindInt64(n++, *filter.since_ms);
  if (!filter.agent_id.empty()) st.BindText(n++, filter.agent_id);
  audit::ScannedBody body;
  std::string problem;
  core::HistoryRecord r;
  for (uint64_t n = 1;; ++n) {
    if (filter.stop != nullptr && n % 1024 == 0 && filter.stop->load(std::memory_order_relaxed)) {
      return Error::Unavailable("history read stopped (shutting down)");
    }
    const int rc = sqlite3_step(st.get());
    if (rc == SQLITE_DONE) break;
    if (rc != SQLITE_ROW) return audit::SqliteError(db, "read audit log");
    audit::ReadRecordColumns(st, &r);
    if (!audit::ScanRecordBody(st.Text(7), &body, &problem)) {
      return Error::Corrupt("audit record " + std::to_string(r.seq) + " is damaged (" + problem +
                            "); run `interlock audit verify`");
    }
    r.data = body.data;
    fn(r);
  }
  return Status::Ok();
}

// max(seq) of an INTEGER PRIMARY KEY is one b-tree descent: microseconds at any size.
Result<int64_t> SqliteLastSeq(sqlite3* db) {
  audit::Statement st;
  if (Status s = st.Prepare(db, "SELECT coalesce(max(seq), 0) FROM audit_log"); !s.ok()) {
    return s.error();
  }
  if (sqlite3_step(st.get()) != SQLITE_ROW) return audit::SqliteError(db, "read audit log");
  return st.Int64(0);
}

Result<int64_t> SqliteHistorySource::LastSeq() const { return SqliteLastSeq(db_); }

Status SqliteHistorySource::ForEachRecord(const core::HistoryFilter& filter,
                                          const core::HistoryFn& fn) const {
  return ForEachSqliteRecord(db_, filter, fn);
}

}  // namespace interlock::store

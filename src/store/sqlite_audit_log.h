// The SQLite side of the audit log (audit/audit_log.h): the chain's records in the store's
// SQLite database, their schema, the head row and the run links.
//
// AppendAuditEvents() must run inside the caller's open transaction, so a state change
// and its audit record commit together or not at all ("no audit, no action").
// Thread-safety: functions take the connection explicitly; a connection is used by one
// thread at a time (SQLite's rule).
#ifndef INTERLOCK_STORE_SQLITE_AUDIT_LOG_H_
#define INTERLOCK_STORE_SQLITE_AUDIT_LOG_H_

#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <unordered_map>

#include "audit/audit_event.h"
#include "audit/audit_log.h"
#include "interlock/result.h"

struct sqlite3;
struct sqlite3_stmt;

// In the audit namespace, as before the move to src/store/: these are the audit log's
// SQLite functions (their callers read audit::AppendAuditEvents and so on).
namespace interlock::audit {

// Creates the audit tables if missing, and migrates a log written without run links or
// without the head row.
// Idempotent; atomic (a savepoint), inside the caller's transaction if one is open.
Status EnsureAuditSchema(sqlite3* db);

// Records of a run. Each record with a run id carries, outside its hashed body, the seq
// of the same run's previous record (audit_log.run_prev, 0 for the first), and
// audit_runs(run_id, head_seq) holds each run's last one. A run is read by walking these
// links back from its head: a point lookup per record, where a (run_id, seq) index cost
// every append a write at its run's place in the index (a random page per busy run per
// group commit). `audit verify` checks every link and head, so an edited link is caught
// like an edited record.
//
// False for a log written before the links existed (read-only until a writer opens it).
Result<bool> HasRunLinks(sqlite3* db);
// "WITH RECURSIVE run_records(seq) AS (...) ": the seqs of run ?run_param's records, newest
// first; with after_param > 0 the walk stops at seq ?after_param. Select from
// `run_records r JOIN audit_log a ON a.seq = r.seq`, keeping `a.run_id = ?run_param` (a
// link is outside the hash; verify reports a wrong one). The walk only goes to lower
// seqs, so it ends on any input.
std::string RunRecordsCte(int run_param, int after_param = 0);

// The console's audit search (AuditFilter::tool, ::code): a decision record's tool and
// code, as the SQL expressions that the indexes audit_log_tool and audit_log_code are on
// (a query must spell them exactly so for SQLite to use the index). Column refs are
// qualified with the alias "a" in queries; SQLite matches them to the index's by column.
// NULL for a body that is not JSON: a tampered record must stay writable and readable
// (for verify and export to report it), never an error of the index.
inline constexpr const char* kAuditToolExpr =
    "(CASE WHEN json_valid(a.body) THEN json_extract(a.body, '$.data.tool') END)";
inline constexpr const char* kAuditCodeExpr =
    "(CASE WHEN json_valid(a.body) THEN json_extract(a.body, '$.data.decision.code') END)";

// Appends events in order within the caller's transaction (first bringing the audit
// schema up to date, see EnsureAuditSchema); returns the new head.
Result<AuditHead> AppendAuditEvents(sqlite3* db, std::span<const AuditEvent> events);

// The same with statements prepared once, for a connection that appends often (the
// store's writer). The head is read from the head row on every Append (inside the
// caller's write transaction), so records appended by another connection or process are
// chained onto, never overwritten, and a tail deleted behind the writer's back stays a
// visible gap instead of being written over. A log with records but no head row is
// refused (kCorrupt). Not thread-safe: one thread (the connection's) at a time. Must be
// destroyed before its connection is closed.
class AuditAppender {
 public:
  explicit AuditAppender(sqlite3* db) : db_(db) {}
  ~AuditAppender();
  AuditAppender(const AuditAppender&) = delete;
  AuditAppender& operator=(const AuditAppender&) = delete;

  Result<AuditHead> Append(std::span<const AuditEvent> events);

 private:
  Result<AuditHead> StepHead(sqlite3_stmt* st, bool* found);
  Result<AuditHead> ReadHead();
  Status WriteHead(const AuditHead& h);

  sqlite3* db_;
  sqlite3_stmt* head_ = nullptr;
  sqlite3_stmt* last_ = nullptr;
  sqlite3_stmt* set_head_ = nullptr;
  sqlite3_stmt* insert_ = nullptr;
  sqlite3_stmt* run_head_ = nullptr;
  sqlite3_stmt* set_run_head_ = nullptr;
  std::unordered_map<std::string_view, int64_t> runs_;  // per Append: run -> its last seq
  std::string body_;                                    // reused buffer
};

// The head row. audit_head(id = 1, seq, hash) names the log's last record; every append
// rewrites it in the same transaction (one row write per batch), so a record deleted
// from the tail, whatever its type, leaves the row naming a record that no longer
// exists. Like the run heads it is outside the chain: someone who can write the
// database can rewind it, and only a signed checkpoint (checkpoint.h) beyond the new
// end shows that. A log written before the row existed gets one on migration (naming
// its last record then) and is read the old way until a writer opens it.
Result<bool> HasHeadRow(sqlite3* db);
// The head row; nullopt when the table has no row. The table must exist.
Result<std::optional<AuditHead>> ReadHeadRow(sqlite3* db);
// The last record (seq and hash) as the table holds it, unchecked.
Result<AuditHead> ReadLastRecord(sqlite3* db);
// The current head (last seq and hash), checked against the head row when there is one:
// a disagreement (the tail was deleted) is kCorrupt, so nothing signs or extends a
// shortened log.
Result<AuditHead> ReadAuditHead(sqlite3* db);

}  // namespace interlock::audit

#endif  // INTERLOCK_STORE_SQLITE_AUDIT_LOG_H_

// The read side of the PostgreSQL store for the audit tools (issue 14): the audit log of a
// PostgreSQL database as a audit::RecordSource, so `interlock audit verify --store
// postgresql://...` checks the one chain every daemon of a fleet writes (postgres_store.h).
//
// The source opens its own connection and reads in one REPEATABLE READ, READ ONLY
// transaction: records, the head row and every later read see one snapshot, so daemons
// appending meanwhile never look like a deleted tail. Records are streamed through a
// server-side cursor (a fetch of kFetchRows at a time: constant memory). PostgreSQL logs
// have no run links (RunLinks() is false): the run-link checks of verify.h are skipped,
// every other check runs. Every database failure is kUnavailable; a database without the
// audit tables is kCorrupt ("not an Interlock store").
// Thread-safety: one thread at a time.
//
// Also the PostgresStore's read paths (internal::PgListRuns, PgListRunCalls).
#ifndef INTERLOCK_STORE_POSTGRES_READ_H_
#define INTERLOCK_STORE_POSTGRES_READ_H_

#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "audit/checkpoint.h"
#include "audit/query.h"
#include "audit/record_source.h"
#include "audit/replay.h"
#include "core/ports/store.h"
#include "interlock/result.h"
#include "store/postgres_conn.h"

namespace interlock::store {

Result<std::unique_ptr<audit::RecordSource>> OpenPostgresRecordSource(const std::string& uri);

namespace pg {
class PgConn;
}

namespace internal {
// A calls row (alias `c`) written since schema 10 keeps its arguments and decision only
// by reference (args_json and decision_json NULL): they are byte ranges of its decision
// record's data, `{"args":ARGS,"decision":DECISION,...}` (core/decide_txn.cc), named by
// decision_seq, args_len and decision_len (bytes); the policy's hash too when it follows
// the decision (policy_sha256 NULL). These expressions give the text
// whichever way the row holds it; an audit prune writes the texts back into the rows
// first (postgres_audit.cc).
inline constexpr const char* kPgCallArgsJson =
    "COALESCE(c.args_json, (SELECT convert_from(substring(convert_to(d.data, 'UTF8')"
    " FROM 9 FOR c.args_len), 'UTF8') FROM audit_log d WHERE d.seq = c.decision_seq))";
// The policy's hash, when the data holds it right after the decision (no identity).
inline constexpr const char* kPgCallPolicySha256 =
    "COALESCE(c.policy_sha256, (SELECT split_part(convert_from(substring(convert_to(d.data,"
    " 'UTF8') FROM 39 + c.args_len + c.decision_len), 'UTF8'), '\"', 1) FROM audit_log d"
    " WHERE d.seq = c.decision_seq))";
inline constexpr const char* kPgCallDecisionJson =
    "COALESCE(c.decision_json, (SELECT convert_from(substring(convert_to(d.data, 'UTF8')"
    " FROM 21 + c.args_len FOR c.decision_len), 'UTF8') FROM audit_log d"
    " WHERE d.seq = c.decision_seq))";

// PostgresStore's read paths, on its reader connection (Impl::Read in
// postgres_store_internal.h): the same filters, pagination and order as SqliteStore's (the SQL is
// read_sql.h's).
Result<core::RunPage> PgListRuns(pg::PgConn& c, const core::RunFilter& filter);
// A run's calls, oldest first (the latest `limit`), through audit_log(run_id, seq).
Result<std::vector<core::CallSummary>> PgListRunCalls(pg::PgConn& c, std::string_view run_id,
                                                      size_t limit);

// The audit log's read paths (issue 14), as SqliteStore's:
// The newest record's seq (0: an empty log).
Result<int64_t> PgLastSeq(pg::PgConn& c);

// The audit log whole on `c`'s server (schema 11, docs/audit.md "The PostgreSQL layout"):
// audit_log is UNLOGGED, so a crash of the server, a promoted standby or a restored base
// backup finds it empty while audit_batches (logged) holds every committed record. When
// audit_log_built is empty, rebuilds audit_log from the batches in one transaction (no
// statement timeout: it takes as long as the log is long), once for the fleet: others
// wait on the same advisory lock and find it built. Nothing to do on a database not yet at
// schema 11 (its migration converts it). Errors as kUnavailable.
Status EnsureAuditLog(pg::PgConn& c);
// PgConn::Connect, then EnsureAuditLog: how every connection of the store that reads or
// writes the audit log is opened.
Result<std::unique_ptr<pg::PgConn>> ConnectStore(const std::string& uri,
                                                 const pg::PgLimits& limits);
// GET /v1/audit: the AuditFilter of audit/export.h, in seq order (or newest first), each
// record its body plus "hash" (audit::QueryAudit's shape). Run, time, agent and type are
// conditions on indexed columns; text is a substring of the body; tool and code (data.tool
// of any record, data.decision.code, as SQLite's indexes) are narrowed with a substring and
// then checked exactly on the parsed body, so QueryAuditPage over them is windowed
// (audit::PageOver).
Result<boost::json::array> PgQueryAudit(pg::PgConn& c, const audit::AuditQuery& q);
// The run's replay from its audit records (audit::ReplayFromEvents); kNotFound when none.
Result<audit::RunReplay> PgReplayRun(pg::PgConn& c, std::string_view run_id);
// Governance's history (core/ports/history_source.h): the matching records in seq order, read
// in pages of a few thousand by seq (constant memory, no transaction held open).
Status PgForEachRecord(pg::PgConn& c, const core::HistoryFilter& filter, const core::HistoryFn& fn);
// The signed checkpoints of the audit_checkpoints table (schema 7; none before it), oldest
// first; a malformed row is kCorrupt naming it. Signatures are unchecked here.
Result<std::vector<audit::Checkpoint>> PgReadCheckpoints(pg::PgConn& c);
// Call-row retention (Store::PruneCalls): the SQLite store's rule, in one transaction.
Result<int64_t> PgPruneCalls(pg::PgConn& c, TimePoint cutoff, int64_t limit);
}  // namespace internal

}  // namespace interlock::store

#endif  // INTERLOCK_STORE_POSTGRES_READ_H_

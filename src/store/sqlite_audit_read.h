// The readers of a SQLite store file's audit log, on the caller's connection: verify,
// the daemon's tail check, export, the console's query and a run's replay. Each is the
// backend-independent reader of src/audit/ (verify.h, tail.h, export.h, query.h,
// replay.h) over store/sqlite_record_source.h, or SQL with the indexes of
// store/sqlite_audit_log.h.
// Thread-safety: uses `db` for the duration of the call; one thread at a time. Use a
// read connection, not the store's writer, so reads never delay decisions.
#ifndef INTERLOCK_STORE_SQLITE_AUDIT_READ_H_
#define INTERLOCK_STORE_SQLITE_AUDIT_READ_H_

#include <cstdint>
#include <iosfwd>
#include <string>
#include <string_view>

#include <boost/json/array.hpp>

#include "audit/audit_query.h"
#include "audit/export.h"
#include "audit/keys.h"
#include "audit/query.h"
#include "audit/replay.h"
#include "audit/tail.h"
#include "audit/verify.h"
#include "interlock/result.h"
#include "store/sqlite_audit_util.h"

struct sqlite3;

// In the audit namespace, as before the move to src/store/ (callers read audit::...).
namespace interlock::audit {

// verify.h over MakeSqliteRecordSource(db) (store/sqlite_record_source.h).
Result<VerifyReport> VerifyAuditLog(sqlite3* db, const VerifyOptions& options);

// tail.h's CheckAuditTail over the store file's log (the checks of CheckAuditReadable
// first).
Result<TailReport> CheckAuditTail(sqlite3* db, const TailCheckOptions& options);

// The daemon's start check: opens `store_path` read-only, reads `checkpoint_file` (a
// missing file is no checkpoints) and runs CheckAuditTail. Ok, or an Error whose message
// names what is missing and how to investigate; the caller refuses to start on it.
Status CheckStoreTail(const std::string& store_path, const std::string& checkpoint_file,
                      const std::string& keys_dir, const PublicKey& key);

// Writes one line per matching record to `out`. A record whose stored body is not in
// the canonical shape is still exported, as {"seq":..,"hash":..,"prev":..,
// "corrupt_body":"<raw>","error":".."}, so an export never hides a tampered record.
Result<ExportStats> ExportJsonl(sqlite3* db, const AuditFilter& filter, std::ostream& out);

// Prepares "SELECT seq, body, hash, prev_hash ... ORDER BY seq [LIMIT limit]" for
// the filter; limit <= 0 means no limit.
Status PrepareFilteredSelect(sqlite3* db, const AuditFilter& f, int64_t limit, Statement* st);

// Each element: the record's body as an object plus "hash" (same shape as an export
// line). A stored body that is not valid JSON is an Error (kCorrupt) naming its seq.
Result<boost::json::array> QueryAudit(sqlite3* db, const AuditQuery& q);

// One page of the console's search (audit_query.h, AuditPage).
Result<AuditPage> QueryAuditPage(sqlite3* db, const AuditQuery& q);

// replay.h's run replay over the store file's log (the run links when it has them).
// NotFound when no record names the run.
Result<RunReplay> ReplayRun(sqlite3* db, std::string_view run_id);

}  // namespace interlock::audit

#endif  // INTERLOCK_STORE_SQLITE_AUDIT_READ_H_

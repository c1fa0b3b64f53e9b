// Retention of a SQLite store file's audit log (audit/retention.h): its rows as a
// PruneTarget, and the prune with its anchor in a checkpoint file.
// Thread-safety: one thread at a time on the connection (SQLite's rule).
#ifndef INTERLOCK_STORE_SQLITE_AUDIT_RETENTION_H_
#define INTERLOCK_STORE_SQLITE_AUDIT_RETENTION_H_

#include <memory>

#include "audit/keys.h"
#include "audit/retention.h"
#include "interlock/result.h"

struct sqlite3;

// In the audit namespace, as before the move to src/store/ (callers read audit::...).
namespace interlock::audit {

// The rows of the SQLite store file `db` (borrowed; it must outlive the target).
std::unique_ptr<PruneTarget> MakeSqlitePruneTarget(sqlite3* db);

// The SQLite store file `db`, anchors in options.checkpoint_file.
// `key` signs the anchor; the public key derived from it checks existing checkpoints.
Result<PruneReport> PruneAuditLog(sqlite3* db, const SigningKey& key, const PruneOptions& options);

}  // namespace interlock::audit

#endif  // INTERLOCK_STORE_SQLITE_AUDIT_RETENTION_H_

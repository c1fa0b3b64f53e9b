// VerifyAuditLog over a SQLite store's connection: verify.h over
// MakeSqliteRecordSource(db) (sqlite_record_source.h). Thread-safety: as verify.h.
#ifndef INTERLOCK_AUDIT_SQLITE_VERIFY_H_
#define INTERLOCK_AUDIT_SQLITE_VERIFY_H_

#include "audit/verify.h"
#include "interlock/result.h"

struct sqlite3;

namespace interlock::audit {

Result<VerifyReport> VerifyAuditLog(sqlite3* db, const VerifyOptions& options);

}  // namespace interlock::audit

#endif  // INTERLOCK_AUDIT_SQLITE_VERIFY_H_

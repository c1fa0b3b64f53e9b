// Internal to the audit module: the filtered SELECT shared by export and query.
#ifndef INTERLOCK_AUDIT_EXPORT_INTERNAL_H_
#define INTERLOCK_AUDIT_EXPORT_INTERNAL_H_

#include <cstdint>

#include "audit/export.h"
#include "audit/sqlite_util.h"

namespace interlock::audit {

// Prepares "SELECT seq, body, hash, prev_hash ... ORDER BY seq [LIMIT limit]" for
// the filter; limit <= 0 means no limit.
Status PrepareFilteredSelect(sqlite3* db, const AuditFilter& f, int64_t limit, Statement* st);

}  // namespace interlock::audit

#endif  // INTERLOCK_AUDIT_EXPORT_INTERNAL_H_

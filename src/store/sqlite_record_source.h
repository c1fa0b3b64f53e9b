// The SQLite RecordSource (record_source.h): the audit log of a store file, read on the
// caller's connection. The source borrows `db`, which must outlive it.
// Thread-safety: one thread at a time (SQLite's rule for the connection).
#ifndef INTERLOCK_STORE_SQLITE_RECORD_SOURCE_H_
#define INTERLOCK_STORE_SQLITE_RECORD_SOURCE_H_

#include <memory>

#include "audit/record_source.h"

struct sqlite3;

namespace interlock::audit {

std::unique_ptr<audit::RecordSource> MakeSqliteRecordSource(sqlite3* db);

}  // namespace interlock::audit

#endif  // INTERLOCK_STORE_SQLITE_RECORD_SOURCE_H_

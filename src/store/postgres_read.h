// The read side of the PostgreSQL store for the audit tools (issue 14): the audit log of a
// PostgreSQL database as an audit::RecordSource, so `interlock audit verify --store
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
#ifndef INTERLOCK_STORE_POSTGRES_READ_H_
#define INTERLOCK_STORE_POSTGRES_READ_H_

#include <memory>
#include <string>

#include "audit/record_source.h"
#include "interlock/result.h"

namespace interlock::store {

Result<std::unique_ptr<audit::RecordSource>> OpenPostgresRecordSource(const std::string& uri);

}  // namespace interlock::store

#endif  // INTERLOCK_STORE_POSTGRES_READ_H_

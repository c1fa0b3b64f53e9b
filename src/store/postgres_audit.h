// The audit chain's checkpoints and retention on the PostgreSQL store (issue 14): the
// rows a fleet's checkpoints and prunes need, nothing more. What to sign, when, and what
// a prune or a tail check may conclude are audit/checkpoint.h's, audit/tail.h's and
// audit/retention.h's rules; this file only reads and writes rows.
//
// Checkpoints live in the database's audit_checkpoints table (schema 7), shared by every
// daemon and CLI of the fleet, and are copied to the local checkpoint file of whoever
// wrote them (the file is what someone who can write the database cannot reach).
// Thread-safety: each object is used by one thread at a time; each opens its own
// connection.
#ifndef INTERLOCK_STORE_POSTGRES_AUDIT_H_
#define INTERLOCK_STORE_POSTGRES_AUDIT_H_

#include <memory>
#include <string>

#include "audit/checkpoint.h"
#include "audit/retention.h"
#include "interlock/result.h"

namespace interlock::store {

// The fleet's checkpoints as an audit::CheckpointStore. CommittedHead reads the head row
// and the last record in one statement and refuses (kCorrupt) when they disagree, so a
// cut tail is never signed over. Append inserts the row, then (only once it committed)
// appends the checkpoint to `mirror_file` ("" = none). List returns the table's rows and
// the file's lines together. Migrates the database first (as a daemon's start does).
Result<std::unique_ptr<audit::CheckpointStore>> OpenPostgresCheckpointStore(
    const std::string& uri, const std::string& mirror_file);

// The rows a prune deletes, as an audit::PruneTarget (retention.h). Holds a session-level
// advisory lock for its lifetime so that one process of the fleet prunes at a time: Open
// answers kAlreadyExists ("another process of the fleet is pruning") when someone else
// holds it. Deleting records also deletes the table's checkpoints of records before the
// chunk's anchor (uncheckable once pruned; the files keep them).
Result<std::unique_ptr<audit::PruneTarget>> OpenPostgresPruneTarget(const std::string& uri);

}  // namespace interlock::store

#endif  // INTERLOCK_STORE_POSTGRES_AUDIT_H_

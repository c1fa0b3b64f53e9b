// Signed checkpoints (audit/checkpoint.h) of a SQLite store file's audit log: the
// checkpoints live in a file beside it, the head is the database's committed one.
// Thread-safety: as audit/checkpoint.h; a connection is used by one thread at a time.
#ifndef INTERLOCK_STORE_SQLITE_AUDIT_CHECKPOINT_H_
#define INTERLOCK_STORE_SQLITE_AUDIT_CHECKPOINT_H_

#include <chrono>
#include <functional>
#include <memory>
#include <string>

#include "audit/checkpoint.h"
#include "audit/checkpoint_store.h"
#include "audit/keys.h"
#include "common/time.h"
#include "interlock/result.h"

struct sqlite3;

// In the audit namespace, as before the move to src/store/ (callers read audit::...).
namespace interlock::audit {

// The checkpoint file `path` as a CheckpointStore whose head is the committed head of
// `db` (borrowed, it must outlive the store; read inside an open transaction it is an
// Error, since it would be the uncommitted head).
std::unique_ptr<audit::CheckpointStore> MakeSqliteCheckpointStore(sqlite3* db, std::string path);

// Writes a checkpoint of the current head of `db` now, unless the log is empty.
// Returns the checkpoint written (seq 0 when the log was empty and nothing was written).
Result<audit::Checkpoint> WriteCheckpointNow(sqlite3* db, const SigningKey& key,
                                             const std::string& path, TimePoint now);

// Reads the committed head of `db` (which must not be inside a transaction) and writes a
// checkpoint to the checkpointer's file (its options.path) if due. Cheap when nothing is
// due: one indexed read.
Status MaybeCheckpoint(Checkpointer& checkpointer, sqlite3* db);
// Writes a checkpoint if any record was appended since the last one.
Status CheckpointIfChanged(Checkpointer& checkpointer, sqlite3* db);

// CheckpointThread::Start over the store file at `store_path`, read on the thread's own
// read-only connection (kUnavailable when it cannot be opened); the checkpoints go to
// the checkpointer's file.
Result<std::unique_ptr<CheckpointThread>> StartSqliteCheckpointThread(
    const std::string& store_path, std::unique_ptr<Checkpointer> checkpointer,
    std::chrono::milliseconds poll, std::function<void(const Error&)> on_error);

}  // namespace interlock::audit

#endif  // INTERLOCK_STORE_SQLITE_AUDIT_CHECKPOINT_H_

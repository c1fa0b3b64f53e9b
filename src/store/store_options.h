// StoreOptions: how a backend of core::Store (core/ports/store.h) is opened: the
// database, durability, batching, the audit HMAC key and anchoring. Only the composition
// root (the command that builds the object graph) and the backends see it.
#ifndef INTERLOCK_STORE_STORE_OPTIONS_H_
#define INTERLOCK_STORE_STORE_OPTIONS_H_

#include <string>

#include "audit/checkpoint_store.h"
#include "common/time.h"

namespace interlock::store {

// What every backend takes alike (SQLite: StoreOptions; PostgreSQL: PostgresOptions).
struct BackendOptions {
  std::string audit_key;  // HMAC key for redaction (raw bytes)
  // Time for writes that carry no `now` (AddUsage). nullptr: the system clock. Not owned.
  const Clock* clock = nullptr;
  // Anchors security-relevant records (docs/audit.md, "Anchors"; audit::CheckpointSigner
  // says where each backend puts the checkpoint): a signed checkpoint of the head of a
  // kill switch change, a token created or revoked, or a policy load, made on the writer
  // thread before that record's COMMIT, so the record is anchored before the action takes
  // effect. A failure refuses a token creation, a kill switch release and a policy load;
  // a kill switch engagement or a revocation commits anyway (logged, counted). Empty:
  // nothing is anchored (in-memory stores, tests).
  audit::CheckpointSigner checkpoint_signer;
  // Approvals (docs/approvals.md): the timeout of a tool without approval_timeout_seconds,
  // and the hard maximum an escalating approval may stay pending.
  int approval_default_timeout_seconds = 300;
  int approval_max_wait_seconds = 3600;
};

struct StoreOptions : BackendOptions {
  std::string path;            // database file; ":memory:" for tests
  bool durable_full = true;    // fsync per group commit (syncer thread) or none (NORMAL)
  int busy_timeout_ms = 2000;  // waiting longer for a lock is STORE_UNAVAILABLE
  int max_batch = 512;         // decisions per group commit at most
  // false: a missing file is an error instead of a new empty store. Operator commands
  // (`interlock kill`) use this so a typo in --store cannot silently write elsewhere.
  bool create_if_missing = true;
  // A process with few callers that each wait for their write (the stdio MCP gateway,
  // the standalone hook): SqliteStore commits a waited-for write on the caller's own
  // thread, and with durability full fdatasyncs the WAL there before answering, instead
  // of handing it to the writer thread and the syncer (each hand-off is a thread wake-up:
  // ~2 per write, 4 with full). Concurrent callers still share a group commit (the first
  // to take the commit lock commits everyone queued, in order: leveldb's writer queue).
  // A write nobody waits for (a tool's result) waits up to kLazyDelay for a waited-for
  // one to carry it, then the writer thread commits it. What is durable before an answer
  // is unchanged. Not for the daemon: its io threads must never block on a commit.
  bool commit_on_caller = false;
  // A process that opens the store for one or two operations and exits (the standalone
  // `interlock hook claude-code`, started once per tool call): SqliteStore opens the
  // writer connection only, and reads run as writes do; no reader, governance or
  // checkpointer connection and no thread at all (each connection parses the schema on
  // its first read; the WAL is checkpointed by the store's close, which also commits a
  // write nobody waited for). Implies commit_on_caller.
  bool one_shot = false;
};

}  // namespace interlock::store

#endif  // INTERLOCK_STORE_STORE_OPTIONS_H_

// StoreOptions: how a backend of core::Store (core/ports/store.h) is opened: the
// database, durability, batching, the audit HMAC key and anchoring. Only the composition
// root (the command that builds the object graph) and the backends see it.
#ifndef INTERLOCK_STORE_STORE_OPTIONS_H_
#define INTERLOCK_STORE_STORE_OPTIONS_H_

#include <string>

#include "common/time.h"
#include "core/ports/checkpoint.h"

namespace interlock::store {

struct StoreOptions {
  std::string path;            // database file; ":memory:" for tests
  bool durable_full = true;    // fsync per group commit (syncer thread) or none (NORMAL)
  int busy_timeout_ms = 2000;  // waiting longer for a lock is STORE_UNAVAILABLE
  int max_batch = 512;         // decisions per group commit at most
  std::string audit_key;       // HMAC key for redaction (raw bytes)
  // false: a missing file is an error instead of a new empty store. Operator commands
  // (`interlock kill`) use this so a typo in --store cannot silently write elsewhere.
  bool create_if_missing = true;
  // Time for writes that carry no `now` (AddUsage). nullptr: the system clock. Not owned.
  const Clock* clock = nullptr;
  // Anchors security-relevant records (docs/audit.md, "Anchors"; core::CheckpointSigner
  // says where each backend puts the checkpoint): a signed checkpoint of the head of a
  // kill switch change, a token created or revoked, or a policy load, made on the writer
  // thread before that record's COMMIT, so the record is anchored before the action takes
  // effect. A failure refuses a token creation, a kill switch release and a policy load;
  // a kill switch engagement or a revocation commits anyway (logged, counted). Empty:
  // nothing is anchored (in-memory stores, tests).
  core::CheckpointSigner checkpoint_signer;
  // Approvals (docs/approvals.md): the timeout of a tool without approval_timeout_seconds,
  // and the hard maximum an escalating approval may stay pending.
  int approval_default_timeout_seconds = 300;
  int approval_max_wait_seconds = 3600;
  // A process that opens the store for one or two operations and exits (the standalone
  // `interlock hook claude-code`, started once per tool call): SqliteStore opens the
  // writer connection only, and reads run on the writer thread as in memory; no reader,
  // governance or checkpointer connection, no checkpointer thread (each connection parses
  // the schema on its first read; the WAL is checkpointed by the store's close). The
  // writes, their group commit and the syncer's fsync before any answer are unchanged.
  bool one_shot = false;
};

}  // namespace interlock::store

#endif  // INTERLOCK_STORE_STORE_OPTIONS_H_

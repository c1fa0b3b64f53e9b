// Checkpoint ports: a signed checkpoint of the audit chain's head as a value, where a log's
// checkpoints are kept (CheckpointStore), and how a store anchors a security-relevant
// record (CheckpointSigner). Making, signing, verifying and filing checkpoints is
// audit/checkpoint.h's business; a file, SQLite and PostgreSQL implement the store.
// No database type here.
// Thread-safety: values; a CheckpointStore is used by one thread at a time.
#ifndef INTERLOCK_AUDIT_CHECKPOINT_STORE_H_
#define INTERLOCK_AUDIT_CHECKPOINT_STORE_H_

#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include "audit/audit_event.h"
#include "interlock/result.h"

namespace interlock::audit {

struct Checkpoint {
  int64_t seq = 0;
  std::string hash;       // 64 hex: the chain hash of record `seq`
  std::string time;       // RFC 3339, as signed
  std::string signature;  // 64 raw bytes (hex in the file)
  std::string key_id;     // PublicKey::KeyId() of the signer (unsigned, informational)
  int line = 0;           // 1-based line in the file it was read from (0 if not read)
};

// Where a log's checkpoints are kept, and the log's committed head (the thing a checkpoint
// signs). One thread at a time.
class CheckpointStore {
 public:
  virtual ~CheckpointStore() = default;
  // The head of the committed log (seq 0 when empty). Never inside a write transaction.
  virtual Result<audit::AuditHead> CommittedHead() = 0;
  // Stores a signed checkpoint durably (an Error: not stored, or not everywhere).
  virtual Status Append(const Checkpoint& cp) = 0;
  // Every stored checkpoint (any order; none: empty).
  virtual Result<std::vector<Checkpoint>> List() = 0;
};

// How a store anchors its security-relevant records (docs/audit.md, "Anchors";
// store::StoreOptions::checkpoint_signer, store/store_options.h): `sign` makes the signed
// checkpoint of a head (the op's last record, appended but not yet committed); `mirror` writes it
// to the local checkpoint file. SQLite, whose log has no checkpoint table, calls both before the
// COMMIT: the file is where its anchor lives, and a signer without `mirror` anchors
// nothing there (the anchor fails). PostgreSQL inserts the checkpoint into its
// audit_checkpoints table in the records' own transaction (both commit or neither does)
// and mirrors it after the commit (a copy the database's writers cannot delete). Empty
// `sign`: nothing is anchored (in-memory stores, tests).
struct CheckpointSigner {
  std::function<Result<Checkpoint>(const audit::AuditHead& head)> sign;
  std::function<Status(const Checkpoint& cp)> mirror;
  explicit operator bool() const { return static_cast<bool>(sign); }
};

}  // namespace interlock::audit

#endif  // INTERLOCK_AUDIT_CHECKPOINT_STORE_H_

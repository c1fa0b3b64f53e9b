// Retention: delete audit records older than N days while keeping the remaining chain
// verifiable.
//
// PruneAuditLog() first verifies the whole log (so a tampered record is never anchored
// or silently destroyed), then writes and fsyncs a signed anchor checkpoint for the
// last record it deletes (seq S-1; its hash is the prev of the first record kept, S),
// and only then deletes records 1..S-1. `interlock audit verify` with that checkpoint
// file accepts the log starting at S; without it, verify fails. The newest record is
// always kept, so the chain's head (and the next seq) survives.
//
// Deletion goes in chunks of at most `chunk_records` records, each its own short write
// transaction preceded by its own durable anchor, so a running daemon's writer is never
// blocked for long (a single multi-million-row DELETE would hold the write lock for
// seconds and turn decisions into STORE_UNAVAILABLE denies), and a crash between chunks
// leaves a log that starts at an anchored seq, which verifies.
// The rule runs over a PruneTarget (the rows) and a CheckpointStore (where anchors go),
// so SQLite and PostgreSQL (store/postgres_audit.h, which also makes sure one daemon of
// a fleet prunes at a time) prune the same way.
// Thread-safety: one thread at a time on `db`; safe alongside a running daemon (WAL).
#ifndef INTERLOCK_AUDIT_RETENTION_H_
#define INTERLOCK_AUDIT_RETENTION_H_

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>

#include "audit/checkpoint.h"
#include "audit/keys.h"
#include "audit/record_source.h"
#include "common/time.h"
#include "interlock/result.h"

namespace interlock::audit {

inline constexpr int kDefaultRetentionDays = 90;

struct PruneOptions {
  int days = kDefaultRetentionDays;  // keep records whose time is within this many days
  TimePoint now;                     // the clock's now
  std::string checkpoint_file;       // read for verification, anchor appended here
  int64_t chunk_records = 20'000;    // records deleted per write transaction (>= 1)
};

struct PruneReport {
  int64_t deleted = 0;
  int64_t first_kept_seq = 0;
  audit::Checkpoint anchor;  // the last anchor written (seq first_kept_seq - 1); seq 0 if none
  int chunks = 0;            // write transactions (and anchors) used
};

// The rows a prune reads and deletes. One thread at a time.
class PruneTarget {
 public:
  virtual ~PruneTarget() = default;
  // A source over the whole log, for the verification before anything is deleted.
  virtual Result<std::unique_ptr<audit::RecordSource>> OpenSource() = 0;
  // The oldest record whose time is at or after `time_ms`; nullopt when none is.
  virtual Result<std::optional<int64_t>> FirstSeqAtOrAfter(int64_t time_ms) = 0;
  // The chain hash of record `seq`; kCorrupt when it is gone.
  virtual Result<std::string> RecordHash(int64_t seq) = 0;
  // In one short write transaction: record `upto - 1` still has `anchor_hash` (else
  // kCorrupt and nothing is deleted), then every record before `upto` (and the run heads
  // naming one) is deleted. Returns the records deleted.
  virtual Result<int64_t> DeleteBefore(int64_t upto, std::string_view anchor_hash) = 0;
};

// `key` signs the anchors, which go to `checkpoints` (and are read from it, with the
// existing checkpoints, for the verification); options.checkpoint_file is unused here.
Result<PruneReport> PruneAuditLog(PruneTarget& target, audit::CheckpointStore& checkpoints,
                                  const SigningKey& key, const PruneOptions& options);

}  // namespace interlock::audit

#endif  // INTERLOCK_AUDIT_RETENTION_H_

// Verifies the audit chain of a store, streaming over all records in seq order in
// constant memory (plus the checkpoint list).
//
// For each record it checks: the seq follows the previous one (a gap is a deleted
// record); prev_hash equals the previous record's hash (inserted or reordered records);
// the stored hash equals SHA-256("interlock.audit.v1" 0 prev 0 body) (a modified body);
// and the body is canonical with seq, prev, time, type and ids equal to the columns (a
// modified column). The first record is either seq 1 with the genesis prev, or, after
// pruning, its prev must equal the hash of a signed anchor checkpoint at seq-1.
// With checkpoints and the public key, every checkpoint's signature is checked, and
// each must name an existing record with the same hash; one beyond the head means the
// tail was truncated. The head row (audit_log.h) must name the last record: a tail
// deleted without rewinding it is reported even without checkpoints.
//
// The outcome distinguishes "could not verify" (an Error: unreadable or foreign file,
// bad options) from "verified and found a problem" (VerifyReport::ok == false naming
// the first bad seq). Neither is ever reported as ok.
// The log is read through a RecordSource (record_source.h), so the same checks run over
// SQLite and PostgreSQL; a backend without run links (PostgreSQL) skips the run-link
// checks and keeps every other one.
// Thread-safety: uses the source only for the duration of the call; one thread at a time.
#ifndef INTERLOCK_AUDIT_VERIFY_H_
#define INTERLOCK_AUDIT_VERIFY_H_

#include <cstdint>
#include <span>
#include <string>

#include "audit/checkpoint.h"
#include "audit/keys.h"
#include "audit/record_source.h"
#include "interlock/result.h"

namespace interlock::audit {

struct VerifyOptions {
  std::span<const audit::Checkpoint> checkpoints;  // may be empty
  const PublicKey* public_key = nullptr;           // required when checkpoints are given
  // Also parse every body strictly and check that it is the canonical JSON of itself
  // (slower; the default scan checks the top-level shape and every column).
  bool deep = false;
};

struct VerifyReport {
  bool ok = false;
  int64_t records = 0;
  int64_t first_seq = 0;  // 0 when the log is empty
  int64_t head_seq = 0;
  std::string head_hash;
  int64_t checkpoints_verified = 0;  // signature good and matched a record (or the anchor)
  int64_t checkpoints_pruned = 0;    // signature good, record pruned away (not checkable)
  int64_t last_checkpoint_seq = 0;
  bool anchored = false;          // the first record's prev matched a signed checkpoint
  bool head_row_checked = false;  // the head row named the last record (false: no row yet)
  int64_t bad_seq = 0;            // first bad sequence number when !ok
  std::string problem;            // one sentence when !ok
};

Result<VerifyReport> VerifyAuditLog(audit::RecordSource& source, const VerifyOptions& options);

// "ok: N records, head <seq> <hash>, K checkpoints verified" or
// "FAILED at seq N: <problem>".
std::string VerifySummary(const VerifyReport& r);

}  // namespace interlock::audit

#endif  // INTERLOCK_AUDIT_VERIFY_H_

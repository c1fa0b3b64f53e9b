// The tail check: is anything missing from the end of the audit log? Cheap enough for
// every daemon start (it reads the last records, not the whole log; `audit verify`
// checks everything).
//
// It checks, in order: the head row names the last record (a deleted tail of any record
// types leaves it naming a record that is gone); no run head names a record past the
// end; the latest signed checkpoint (signature checked) names a record that exists with
// the signed hash, and every record after it chains onto it up to the last one. Someone
// who can write the database can rewind the head rows; what they cannot do is remove
// a record that a signed checkpoint covers (docs/audit.md, "Threat model").
//
// As for verify, an Error means "could not check" (unreadable store or key), and a
// TailReport with ok == false means "checked and something is missing".
// Thread-safety: uses `db` only for the duration of the call; one thread at a time.
#ifndef INTERLOCK_AUDIT_TAIL_H_
#define INTERLOCK_AUDIT_TAIL_H_

#include <cstdint>
#include <span>
#include <string>

#include "audit/checkpoint.h"
#include "audit/keys.h"
#include "audit/record_source.h"
#include "interlock/result.h"

namespace interlock::audit {

struct TailCheckOptions {
  std::span<const audit::Checkpoint> checkpoints;  // may be empty: then only the head rows count
  const PublicKey* public_key = nullptr;           // required when checkpoints are given
};

struct TailReport {
  bool ok = false;
  int64_t head_seq = 0;        // the log's last record (0: empty)
  int64_t checkpoint_seq = 0;  // the latest signed checkpoint, checked (0: none given)
  int64_t bad_seq = 0;         // when !ok: the first seq missing or wrong
  std::string problem;         // when !ok: one sentence
};

// Checks the tail of the log of any backend (SQLite: the store's, in src/store/;
// PostgreSQL: store/postgres_read.h's source, whose checkpoints are the database's table
// and the daemon's file together).
Result<TailReport> CheckAuditTail(audit::RecordSource& source, const TailCheckOptions& options);

// Ok for a report that passed; otherwise the daemon's refusal to start, naming what is
// missing and the `audit verify` command (over `store`) to investigate with.
Status TailRefusal(const TailReport& r, const std::string& store,
                   const std::string& checkpoint_file, const std::string& keys_dir);

// The daemon's start check over any source (PostgreSQL): the checkpoints are the
// source's own (RecordSource::StoredCheckpoints) and those of `checkpoint_file` (a
// missing file is none); `store_label` names the store in the refusal's advice.
Status CheckSourceTail(audit::RecordSource& source, const std::string& store_label,
                       const std::string& checkpoint_file, const std::string& keys_dir,
                       const PublicKey& key);

}  // namespace interlock::audit

#endif  // INTERLOCK_AUDIT_TAIL_H_

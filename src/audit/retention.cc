#include "audit/retention.h"

#include <sqlite3.h>

#include "audit/sqlite_util.h"
#include "audit/verify.h"

namespace interlock::audit {

Result<PruneReport> PruneAuditLog(sqlite3* db, const SigningKey& key, const PruneOptions& options) {
  if (options.days < 1) return Error::Invalid("retention must be at least 1 day");
  if (options.checkpoint_file.empty()) {
    return Error::Invalid("pruning needs a checkpoint file for the anchor checkpoint");
  }
  Result<PublicKey> pub = key.Public();
  if (!pub.ok()) return pub.error();
  std::vector<Checkpoint> cps;
  if (Result<std::vector<Checkpoint>> read = ReadCheckpoints(options.checkpoint_file); read.ok()) {
    cps = std::move(read).value();
  } else if (read.error().kind != ErrorKind::kNotFound) {
    return read.error();
  }

  // Verify outside the write transaction so the daemon is not blocked meanwhile.
  VerifyOptions vo;
  vo.checkpoints = cps;
  vo.public_key = &*pub;
  Result<VerifyReport> vr = VerifyAuditLog(db, vo);
  if (!vr.ok()) return vr.error();
  if (!vr->ok) {
    return Error::Corrupt("refusing to prune a log that fails verification: " + VerifySummary(*vr));
  }
  PruneReport report;
  if (vr->records == 0) return report;

  const int64_t cutoff_ms = ToUnixMillis(options.now - std::chrono::hours(24) * options.days);
  // First record to keep: the oldest one at or after the cutoff, and never past the head.
  Statement find;
  if (Status s = find.Prepare(db, "SELECT MIN(seq) FROM audit_log WHERE time_ms >= ?1"); !s.ok()) {
    return s.error();
  }
  find.BindInt64(1, cutoff_ms);
  if (sqlite3_step(find.get()) != SQLITE_ROW) return SqliteError(db, "find retention cutoff");
  int64_t keep = sqlite3_column_type(find.get(), 0) == SQLITE_NULL ? vr->head_seq : find.Int64(0);
  keep = std::min(keep, vr->head_seq);
  if (keep <= vr->first_seq) {
    report.first_kept_seq = vr->first_seq;
    return report;
  }

  Statement anchor_row;
  if (Status s = anchor_row.Prepare(db, "SELECT hash FROM audit_log WHERE seq = ?1"); !s.ok()) {
    return s.error();
  }
  anchor_row.BindInt64(1, keep - 1);
  if (sqlite3_step(anchor_row.get()) != SQLITE_ROW) {
    return Error::Corrupt("record " + std::to_string(keep - 1) + " vanished while pruning");
  }
  const std::string anchor_hash(anchor_row.Text(0));
  sqlite3_reset(anchor_row.get());

  Result<Checkpoint> anchor = MakeCheckpoint(key, keep - 1, anchor_hash, options.now);
  if (!anchor.ok()) return anchor.error();
  // The anchor is durable before any record is deleted: a crash in between leaves a
  // complete log plus one extra checkpoint, which verifies.
  if (Status s = AppendCheckpoint(options.checkpoint_file, *anchor); !s.ok()) return s.error();

  Transaction tx(db);
  if (Status s = tx.Begin(); !s.ok()) return s.error();
  // Re-check under the write lock that the anchored record is unchanged.
  anchor_row.BindInt64(1, keep - 1);
  if (sqlite3_step(anchor_row.get()) != SQLITE_ROW || anchor_row.Text(0) != anchor_hash) {
    return Error::Corrupt("record " + std::to_string(keep - 1) +
                          " changed while pruning; nothing was deleted");
  }
  sqlite3_reset(anchor_row.get());
  Statement del;
  if (Status s = del.Prepare(db, "DELETE FROM audit_log WHERE seq < ?1"); !s.ok()) {
    return s.error();
  }
  del.BindInt64(1, keep);
  if (sqlite3_step(del.get()) != SQLITE_DONE) return SqliteError(db, "delete old records");
  report.deleted = sqlite3_changes(db);
  if (Status s = tx.Commit(); !s.ok()) return s.error();
  report.first_kept_seq = keep;
  report.anchor = std::move(anchor).value();
  return report;
}

}  // namespace interlock::audit

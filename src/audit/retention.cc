#include "audit/retention.h"

#include <sqlite3.h>

#include <algorithm>

#include "audit/audit_log.h"
#include "audit/sqlite_util.h"
#include "audit/verify.h"

namespace interlock::audit {
namespace {

// The chain hash of record `seq` (the anchor's subject).
Result<std::string> AnchorHash(Statement* row, sqlite3* db, int64_t seq) {
  row->BindInt64(1, seq);
  const int rc = sqlite3_step(row->get());
  if (rc != SQLITE_ROW) {
    sqlite3_reset(row->get());
    if (rc == SQLITE_DONE) {
      return Error::Corrupt("record " + std::to_string(seq) + " vanished while pruning");
    }
    return SqliteError(db, "read the anchor record");
  }
  std::string hash(row->Text(0));
  sqlite3_reset(row->get());
  return hash;
}

}  // namespace

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
  Statement del;
  if (Status s = del.Prepare(db, "DELETE FROM audit_log WHERE seq < ?1"); !s.ok()) {
    return s.error();
  }
  // Heads of runs whose records are all pruned go with them (audit_log.h).
  Result<bool> linked = HasRunLinks(db);
  if (!linked.ok()) return linked.error();
  Statement del_heads;
  if (*linked) {
    if (Status s = del_heads.Prepare(db, "DELETE FROM audit_runs WHERE head_seq < ?1"); !s.ok()) {
      return s.error();
    }
  }
  const int64_t chunk = std::max<int64_t>(1, options.chunk_records);
  for (int64_t first = vr->first_seq; first < keep;) {
    const int64_t upto = std::min(keep, first + chunk);  // delete seq < upto this round
    Result<std::string> hash = AnchorHash(&anchor_row, db, upto - 1);
    if (!hash.ok()) return hash.error();
    Result<Checkpoint> anchor = MakeCheckpoint(key, upto - 1, *hash, options.now);
    if (!anchor.ok()) return anchor.error();
    // The anchor is durable before any record is deleted: a crash in between leaves a
    // complete log plus one extra checkpoint, which verifies.
    if (Status s = AppendCheckpoint(options.checkpoint_file, *anchor); !s.ok()) return s.error();

    Transaction tx(db);
    if (Status s = tx.Begin(); !s.ok()) return s.error();
    // Re-check under the write lock that the anchored record is unchanged.
    Result<std::string> again = AnchorHash(&anchor_row, db, upto - 1);
    if (!again.ok() || *again != *hash) {
      return Error::Corrupt("record " + std::to_string(upto - 1) +
                            " changed while pruning; records from seq " + std::to_string(first) +
                            " on were not deleted");
    }
    del.BindInt64(1, upto);
    if (sqlite3_step(del.get()) != SQLITE_DONE) return SqliteError(db, "delete old records");
    sqlite3_reset(del.get());
    const int64_t deleted = sqlite3_changes(db);
    if (*linked) {
      del_heads.BindInt64(1, upto);
      if (sqlite3_step(del_heads.get()) != SQLITE_DONE) return SqliteError(db, "delete old heads");
      sqlite3_reset(del_heads.get());
    }
    if (Status s = tx.Commit(); !s.ok()) return s.error();
    report.deleted += deleted;
    report.anchor = std::move(anchor).value();
    ++report.chunks;
    first = upto;
  }
  report.first_kept_seq = keep;
  return report;
}

}  // namespace interlock::audit

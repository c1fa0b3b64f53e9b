#include "store/sqlite_audit_retention.h"

#include <sqlite3.h>

#include <algorithm>

#include "store/sqlite_audit_log.h"
#include "store/sqlite_audit_util.h"
#include "store/sqlite_record_source.h"

namespace interlock::audit {
namespace {

// The store file's rows (PruneTarget), on the caller's connection.
class SqlitePruneTarget final : public PruneTarget {
 public:
  explicit SqlitePruneTarget(sqlite3* db) : db_(db) {}

  Result<std::unique_ptr<audit::RecordSource>> OpenSource() override {
    return MakeSqliteRecordSource(db_);
  }

  Result<std::optional<int64_t>> FirstSeqAtOrAfter(int64_t time_ms) override {
    Statement find;
    if (Status s = find.Prepare(db_, "SELECT MIN(seq) FROM audit_log WHERE time_ms >= ?1");
        !s.ok()) {
      return s.error();
    }
    find.BindInt64(1, time_ms);
    if (sqlite3_step(find.get()) != SQLITE_ROW) return SqliteError(db_, "find retention cutoff");
    if (sqlite3_column_type(find.get(), 0) == SQLITE_NULL) return std::optional<int64_t>();
    return std::optional<int64_t>(find.Int64(0));
  }

  Result<std::string> RecordHash(int64_t seq) override {
    if (!anchor_row_.get()) {
      if (Status s = anchor_row_.Prepare(db_, "SELECT hash FROM audit_log WHERE seq = ?1");
          !s.ok()) {
        return s.error();
      }
    }
    anchor_row_.BindInt64(1, seq);
    const int rc = sqlite3_step(anchor_row_.get());
    if (rc != SQLITE_ROW) {
      sqlite3_reset(anchor_row_.get());
      if (rc == SQLITE_DONE) {
        return Error::Corrupt("record " + std::to_string(seq) + " vanished while pruning");
      }
      return SqliteError(db_, "read the anchor record");
    }
    std::string hash(anchor_row_.Text(0));
    sqlite3_reset(anchor_row_.get());
    return hash;
  }

  Result<int64_t> DeleteBefore(int64_t upto, std::string_view anchor_hash) override {
    // Heads of runs whose records are all pruned go with them (audit_log.h).
    Result<bool> linked = HasRunLinks(db_);
    if (!linked.ok()) return linked.error();
    Transaction tx(db_);
    if (Status s = tx.Begin(); !s.ok()) return s.error();
    // Re-check under the write lock that the anchored record is unchanged.
    Result<std::string> again = RecordHash(upto - 1);
    if (!again.ok() || *again != anchor_hash) {
      return Error::Corrupt("record " + std::to_string(upto - 1) + " changed while pruning");
    }
    Statement del;
    if (Status s = del.Prepare(db_, "DELETE FROM audit_log WHERE seq < ?1"); !s.ok()) {
      return s.error();
    }
    del.BindInt64(1, upto);
    if (sqlite3_step(del.get()) != SQLITE_DONE) return SqliteError(db_, "delete old records");
    const int64_t deleted = sqlite3_changes(db_);
    if (*linked) {
      Statement heads;
      if (Status s = heads.Prepare(db_, "DELETE FROM audit_runs WHERE head_seq < ?1"); !s.ok()) {
        return s.error();
      }
      heads.BindInt64(1, upto);
      if (sqlite3_step(heads.get()) != SQLITE_DONE) return SqliteError(db_, "delete old heads");
    }
    if (Status s = tx.Commit(); !s.ok()) return s.error();
    return deleted;
  }

 private:
  sqlite3* db_;
  Statement anchor_row_;
};

}  // namespace

std::unique_ptr<PruneTarget> MakeSqlitePruneTarget(sqlite3* db) {
  return std::make_unique<SqlitePruneTarget>(db);
}

Result<PruneReport> PruneAuditLog(sqlite3* db, const SigningKey& key, const PruneOptions& options) {
  if (options.checkpoint_file.empty()) {
    return Error::Invalid("pruning needs a checkpoint file for the anchor checkpoint");
  }
  if (Status s = CheckAuditReadable(db, false, false); !s.ok()) return s.error();
  SqlitePruneTarget target(db);
  std::unique_ptr<audit::CheckpointStore> cps =
      MakeFileCheckpointStore(options.checkpoint_file, []() -> Result<AuditHead> {
        return Error::Internal("a prune never reads the head through its checkpoint store");
      });
  return PruneAuditLog(target, *cps, key, options);
}

}  // namespace interlock::audit

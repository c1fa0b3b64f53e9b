#include "store/sqlite_record_source.h"

#include <cstdint>
#include <string>

#include <sqlite3.h>

#include "store/sqlite_audit_log.h"
#include "store/sqlite_audit_util.h"

namespace interlock::audit {
namespace {

class SqliteRecordSource final : public audit::RecordSource {
 public:
  explicit SqliteRecordSource(sqlite3* db) : db_(db) {}

  Status CheckReadable() override {
    Result<bool> has = HasAuditTable(db_);
    if (!has.ok()) return has.error();
    if (!*has) return Error::Corrupt("not an Interlock store (it has no audit_log table)");
    return Status::Ok();
  }

  Result<bool> RunLinks() override {
    if (!linked_) {
      Result<bool> l = HasRunLinks(db_);
      if (!l.ok()) return l.error();
      linked_ = *l;
    }
    return *linked_;
  }

  Status StartScan() override { return StartScanFrom(INT64_MIN); }

  Status StartScanFrom(int64_t from_seq) override {
    Result<bool> linked = RunLinks();
    if (!linked.ok()) return linked.error();
    // A log from before the run links has none to check.
    if (Status s = scan_.Prepare(db_, std::string("SELECT seq, time_ms, type, run_id, call_id, "
                                                  "agent_id, principal, body, prev_hash, hash, ") +
                                          (*linked ? "run_prev" : "0") +
                                          " FROM audit_log WHERE seq >= ?1 ORDER BY seq");
        !s.ok()) {
      return s;
    }
    scan_.BindInt64(1, from_seq);
    return Status::Ok();
  }

  Result<audit::LogBounds> Bounds() override {
    Statement first;
    if (Status s = first.Prepare(db_, "SELECT MIN(seq) FROM audit_log"); !s.ok()) return s.error();
    if (sqlite3_step(first.get()) != SQLITE_ROW) return SqliteError(db_, "read audit_log");
    audit::LogBounds b;
    b.first_seq = first.Int64(0);
    Result<AuditHead> last = ReadLastRecord(db_);
    if (!last.ok()) return last.error();
    b.last = std::move(last).value();
    return b;
  }

  Result<bool> Next(audit::AuditRow* out) override {
    const int rc = sqlite3_step(scan_.get());
    if (rc == SQLITE_DONE) return false;
    if (rc != SQLITE_ROW) return SqliteError(db_, "read audit_log");
    ReadRecordColumns(scan_, out);
    out->body = scan_.Text(7);
    out->prev_hash = scan_.Text(8);
    out->hash = scan_.Text(9);
    out->run_prev = scan_.Int64(10);
    return true;
  }

  Result<bool> KeepsHeadRow() override { return HasHeadRow(db_); }

  Result<std::optional<AuditHead>> HeadRow() override { return ReadHeadRow(db_); }

  Status ForEachRunHead(const std::function<bool(std::string_view, int64_t)>& fn) override {
    Statement heads;
    if (Status s = heads.Prepare(db_, "SELECT run_id, head_seq FROM audit_runs"); !s.ok()) {
      return s;
    }
    for (;;) {
      const int rc = sqlite3_step(heads.get());
      if (rc == SQLITE_DONE) break;
      if (rc != SQLITE_ROW) return SqliteError(db_, "read audit_runs");
      if (!fn(heads.Text(0), heads.Int64(1))) break;
    }
    return Status::Ok();
  }

  Result<bool> HasRunHead(std::string_view run_id) override {
    Statement one;
    if (Status s = one.Prepare(db_, "SELECT 1 FROM audit_runs WHERE run_id = ?1"); !s.ok()) {
      return s.error();
    }
    one.BindText(1, run_id);
    const int rc = sqlite3_step(one.get());
    if (rc == SQLITE_ROW) return true;
    if (rc == SQLITE_DONE) return false;
    return SqliteError(db_, "read audit_runs");
  }

 private:
  sqlite3* db_;
  std::optional<bool> linked_;
  Statement scan_;
};

}  // namespace

std::unique_ptr<audit::RecordSource> MakeSqliteRecordSource(sqlite3* db) {
  return std::make_unique<SqliteRecordSource>(db);
}

}  // namespace interlock::audit

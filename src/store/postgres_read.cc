#include "store/postgres_read.h"

#include <optional>
#include <string>
#include <vector>

#include "store/postgres_conn.h"

namespace interlock::store {
namespace {

constexpr int kFetchRows = 2000;

class PostgresRecordSource final : public audit::RecordSource {
 public:
  explicit PostgresRecordSource(std::unique_ptr<pg::PgConn> conn) : conn_(std::move(conn)) {}
  ~PostgresRecordSource() override {
    if (open_) conn_->ExecScript("ROLLBACK").ok();
  }

  Status Begin() {
    Result<std::vector<pg::PgResult>> r =
        conn_->ExecScript("BEGIN ISOLATION LEVEL REPEATABLE READ, READ ONLY");
    if (!r.ok()) return r.error();
    open_ = true;
    return Status::Ok();
  }

  Status CheckReadable() override {
    Result<pg::PgResult> r = conn_->Exec(
        "SELECT to_regclass('audit_log') IS NOT NULL AND to_regclass('audit_head') IS NOT NULL",
        {});
    if (!r.ok()) return r.error();
    if (r->rows() != 1 || r->Text(0, 0) != "t") {
      return Error::Corrupt(
          "not an Interlock store (the PostgreSQL database has no audit_log and audit_head "
          "tables)");
    }
    return Status::Ok();
  }

  Result<bool> RunLinks() override { return false; }

  Status StartScan() override {
    Result<std::vector<pg::PgResult>> r = conn_->ExecScript(
        "DECLARE interlock_audit_scan NO SCROLL CURSOR FOR SELECT seq, time_ms, type, run_id,"
        " call_id, agent_id, principal, body, prev_hash, hash FROM audit_log ORDER BY seq");
    if (!r.ok()) return r.error();
    batch_ = pg::PgResult();
    row_ = 0;
    done_ = false;
    return Status::Ok();
  }

  Result<bool> Next(audit::StoredRecord* out) override {
    if (row_ >= batch_.rows()) {
      if (done_) return false;
      Result<pg::PgResult> r = conn_->Exec(
          "FETCH FORWARD " + std::to_string(kFetchRows) + " FROM interlock_audit_scan", {});
      if (!r.ok()) return r.error();
      batch_ = std::move(r).value();
      row_ = 0;
      if (batch_.rows() < kFetchRows) done_ = true;
      if (batch_.rows() == 0) return false;
    }
    const int i = row_++;
    out->seq = batch_.Int(i, 0);
    out->time_ms = batch_.Int(i, 1);
    out->type = batch_.Text(i, 2);
    out->run_id = batch_.Text(i, 3);
    out->call_id = batch_.Text(i, 4);
    out->agent_id = batch_.Text(i, 5);
    out->principal = batch_.Text(i, 6);
    out->body = batch_.Text(i, 7);
    out->prev_hash = batch_.Text(i, 8);
    out->hash = batch_.Text(i, 9);
    out->run_prev = 0;
    return true;
  }

  Result<bool> KeepsHeadRow() override { return true; }  // created with the schema

  Result<std::optional<audit::AuditHead>> HeadRow() override {
    Result<pg::PgResult> r = conn_->Exec("SELECT seq, hash FROM audit_head WHERE id = 1", {});
    if (!r.ok()) return r.error();
    if (r->rows() == 0) return std::optional<audit::AuditHead>();
    audit::AuditHead h;
    h.seq = r->Int(0, 0);
    h.hash = std::string(r->Text(0, 1));
    return std::optional<audit::AuditHead>(std::move(h));
  }

  Status ForEachRunHead(const std::function<bool(std::string_view, int64_t)>&) override {
    return Error::Internal("store: PostgreSQL audit logs have no run heads");
  }
  Result<bool> HasRunHead(std::string_view) override {
    return Error::Internal("store: PostgreSQL audit logs have no run heads");
  }

 private:
  std::unique_ptr<pg::PgConn> conn_;
  bool open_ = false;
  pg::PgResult batch_;
  int row_ = 0;
  bool done_ = false;
};

}  // namespace

Result<std::unique_ptr<audit::RecordSource>> OpenPostgresRecordSource(const std::string& uri) {
  Result<std::unique_ptr<pg::PgConn>> conn = pg::PgConn::Connect(uri, pg::PgLimits{});
  if (!conn.ok()) return conn.error();
  auto source = std::make_unique<PostgresRecordSource>(std::move(conn).value());
  if (Status s = source->Begin(); !s.ok()) return s.error();
  return std::unique_ptr<audit::RecordSource>(std::move(source));
}

}  // namespace interlock::store

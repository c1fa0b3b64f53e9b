#include "store/postgres_read.h"

#include <algorithm>
#include <optional>
#include <string>
#include <vector>

#include <boost/json.hpp>

#include "core/run_txn.h"
#include "store/postgres_conn.h"
#include "store/read_sql.h"
#include "store/row_codec.h"

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

namespace internal {

Result<RunPage> PgListRuns(pg::PgConn& c, const RunFilter& filter) {
  std::optional<RunCursor> cursor;
  if (!filter.cursor.empty()) {
    cursor = ParseRunCursor(filter.cursor);
    if (!cursor) return Error::Invalid("cursor is not one this server handed out");
  }
  const size_t limit = std::clamp<size_t>(filter.limit, 1, 1000);
  // Logical parameters (read_sql.h) numbered densely in the order the text uses them.
  std::optional<std::string> logical[7];
  if (!filter.agent_id.empty()) logical[1] = filter.agent_id;
  if (filter.started_since) logical[2] = std::to_string(ToUnixMillis(*filter.started_since));
  if (filter.started_until) logical[3] = std::to_string(ToUnixMillis(*filter.started_until));
  if (cursor) {
    logical[4] = std::to_string(cursor->started_ms);
    logical[5] = cursor->run_id;
  }
  logical[6] = std::to_string(limit + 1);  // one more: is there a next page?
  int dense[7] = {};
  std::vector<std::optional<std::string>> params;
  const std::string sql = ListRunsSqlWith(filter, [&](int n) {
    if (dense[n] == 0) {
      params.push_back(logical[n]);
      dense[n] = static_cast<int>(params.size());
    }
    return "$" + std::to_string(dense[n]);
  });
  Result<pg::PgResult> r = c.Exec(sql, params);
  if (!r.ok()) return r.error();
  RunPage page;
  for (int i = 0; i < r->rows(); ++i) {
    if (page.runs.size() == limit) {
      const core::RunInfo& last = page.runs.back();
      page.next_cursor = std::to_string(ToUnixMillis(last.started)) + ":" + last.run_id;
      break;
    }
    core::RunInfo info;
    info.run_id = std::string(r->Text(i, 0));
    info.agent_id = std::string(r->Text(i, 1));
    info.started = FromUnixMillis(r->Int(i, 2));
    info.state.steps = static_cast<uint64_t>(r->Int(i, 3));
    info.state.tokens = static_cast<uint64_t>(r->Int(i, 4));
    info.state.cost_micros = r->Int(i, 5);
    info.state.halted = r->Int(i, 6) != 0;
    info.state.halt_reason = std::string(r->Text(i, 7));
    info.ended = r->Int(i, 8) != 0;
    auto records = ParseRecords(r->Text(i, 9));
    if (!records.ok()) return records.error();
    info.state.records = std::move(records).value();
    if (Status s = core::ParseSequenceStoreJson(r->Text(i, 10), &info.state); !s.ok()) {
      return s.error();
    }
    page.runs.push_back(std::move(info));
  }
  return page;
}

Result<std::vector<CallSummary>> PgListRunCalls(pg::PgConn& c, std::string_view run_id,
                                                size_t limit) {
  // Every call has exactly one decision record, written in the same transaction.
  Result<pg::PgResult> r = c.Exec(
      "SELECT c.call_id, c.time_ms, c.tool, c.verdict, c.code, c.decision_json"
      " FROM audit_log a JOIN calls c ON c.call_id = a.call_id"
      " WHERE a.run_id = $1 AND a.type = 'decision' ORDER BY a.seq DESC LIMIT $2",
      {std::string(run_id), std::to_string(std::clamp<size_t>(limit, 1, 1000))});
  if (!r.ok()) return r.error();
  std::vector<CallSummary> out;
  for (int i = 0; i < r->rows(); ++i) {
    CallSummary s;
    s.call_id = std::string(r->Text(i, 0));
    s.at = FromUnixMillis(r->Int(i, 1));
    s.tool = std::string(r->Text(i, 2));
    s.verdict = std::string(r->Text(i, 3));
    s.code = std::string(r->Text(i, 4));
    boost::system::error_code ec;
    boost::json::value d = boost::json::parse(r->Text(i, 5), ec);
    if (!ec && d.is_object()) {
      if (const boost::json::value* reason = d.get_object().if_contains("reason");
          reason != nullptr && reason->is_string()) {
        s.reason = std::string(reason->get_string());
      }
    }
    out.push_back(std::move(s));
  }
  std::reverse(out.begin(), out.end());
  return out;
}

}  // namespace internal

}  // namespace interlock::store

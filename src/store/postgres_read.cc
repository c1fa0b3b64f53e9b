#include "store/postgres_read.h"

#include <algorithm>
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <optional>
#include <string>
#include <vector>

#include <boost/json.hpp>

#include "audit/audit_log.h"
#include "audit/record_scan.h"
#include "audit/replay.h"
#include "common/json.h"
#include "common/json_write.h"
#include "core/run_txn.h"
#include "store/call_id.h"
#include "store/postgres_conn.h"
#include "store/read_sql.h"
#include "store/row_codec.h"

namespace interlock::store {
namespace {

constexpr int kFetchRows = 2000;

// The record columns of an audit_log row selected as "seq, time_ms, type, run_id, call_id,
// agent_id, principal, ..." (columns 0 to 6), as views into `r`.
void ReadRecordColumns(const pg::PgResult& r, int row, audit::RecordColumns* out) {
  out->seq = r.Int(row, 0);
  out->time_ms = r.Int(row, 1);
  out->type = r.Text(row, 2);
  out->run_id = r.Text(row, 3);
  out->call_id = r.Text(row, 4);
  out->agent_id = r.Text(row, 5);
  out->principal = r.Text(row, 6);
}

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

  Status StartScan() override { return StartScanFrom(INT64_MIN); }

  Status StartScanFrom(int64_t from_seq) override {
    std::string sql;
    if (scanning_) sql = "CLOSE interlock_audit_scan;";
    sql +=
        "DECLARE interlock_audit_scan NO SCROLL CURSOR FOR SELECT seq, time_ms, type, run_id,"
        " call_id, agent_id, principal, body, prev_hash, hash FROM audit_records WHERE seq >= " +
        std::to_string(from_seq) + " ORDER BY seq";
    Result<std::vector<pg::PgResult>> r = conn_->ExecScript(sql);
    if (!r.ok()) return r.error();
    scanning_ = true;
    batch_ = pg::PgResult();
    row_ = 0;
    done_ = false;
    return Status::Ok();
  }

  Result<bool> Next(audit::AuditRow* out) override {
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
    ReadRecordColumns(batch_, i, out);
    out->body = batch_.Text(i, 7);
    out->prev_hash = batch_.Text(i, 8);
    out->hash = batch_.Text(i, 9);
    out->run_prev = 0;
    return true;
  }

  Result<audit::LogBounds> Bounds() override {
    Result<pg::PgResult> r = conn_->Exec(
        "SELECT (SELECT min(seq) FROM audit_log), seq, hash FROM audit_log"
        " ORDER BY seq DESC LIMIT 1",
        {});
    if (!r.ok()) return r.error();
    audit::LogBounds b;
    if (r->rows() == 0) return b;
    b.first_seq = r->Int(0, 0);
    b.last.seq = r->Int(0, 1);
    b.last.hash = std::string(r->Text(0, 2));
    return b;
  }

  Result<std::vector<audit::Checkpoint>> StoredCheckpoints() override {
    return internal::PgReadCheckpoints(*conn_);
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
  bool scanning_ = false;  // the cursor is declared
  pg::PgResult batch_;
  int row_ = 0;
  bool done_ = false;
};

}  // namespace

Result<std::unique_ptr<audit::RecordSource>> OpenPostgresRecordSource(const std::string& uri) {
  Result<std::unique_ptr<pg::PgConn>> conn = internal::ConnectStore(uri, pg::PgLimits{});
  if (!conn.ok()) return conn.error();
  auto source = std::make_unique<PostgresRecordSource>(std::move(conn).value());
  if (Status s = source->Begin(); !s.ok()) return s.error();
  return std::unique_ptr<audit::RecordSource>(std::move(source));
}

namespace internal {

Result<core::RunPage> PgListRuns(pg::PgConn& c, const core::RunFilter& filter) {
  std::optional<RunCursor> cursor;
  if (!filter.cursor.empty()) {
    cursor = ParseRunCursor(filter.cursor);
    if (!cursor) return Error::Invalid("cursor is not one this server handed out");
  }
  const size_t limit = std::clamp<size_t>(filter.limit, 1, 1000);
  // Logical parameters (read_sql.h) numbered densely in the order the text uses them.
  std::optional<std::string> logical[8];
  if (!filter.agent_id.empty()) logical[1] = filter.agent_id;
  if (!filter.parent_run_id.empty()) logical[7] = filter.parent_run_id;
  if (filter.started_since) logical[2] = std::to_string(ToUnixMillis(*filter.started_since));
  if (filter.started_until) logical[3] = std::to_string(ToUnixMillis(*filter.started_until));
  if (cursor) {
    logical[4] = std::to_string(cursor->started_ms);
    logical[5] = cursor->run_id;
  }
  logical[6] = std::to_string(limit + 1);  // one more: is there a next page?
  int dense[8] = {};
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
  core::RunPage page;
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
    if (info.ended && !r->IsNull(i, 11)) info.ended_at = FromUnixMillis(r->Int(i, 11));
    info.parent_run_id = std::string(r->Text(i, 12));
    info.role = std::string(r->Text(i, 13));
    info.depth = static_cast<int>(r->Int(i, 14));
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

Result<std::vector<core::CallSummary>> PgListRunCalls(pg::PgConn& c, std::string_view run_id,
                                                      size_t limit) {
  // Every call has exactly one decision record, written in the same transaction.
  Result<pg::PgResult> r =
      c.Exec(std::string("SELECT c.call_id, c.time_ms, c.tool, c.verdict, c.code, ") +
                 kPgCallDecisionJson +
                 " FROM audit_log a JOIN calls c ON c.call_id = a.call_id"
                 " WHERE a.run_id = $1 AND a.type = 'decision' ORDER BY a.seq DESC LIMIT $2",
             {std::string(run_id), std::to_string(std::clamp<size_t>(limit, 1, 1000))});
  if (!r.ok()) return r.error();
  std::vector<core::CallSummary> out;
  for (int i = 0; i < r->rows(); ++i) {
    core::CallSummary s;
    s.call_id = std::string(r->Text(i, 0));
    s.at = FromUnixMillis(r->Int(i, 1));
    s.tool = std::string(r->Text(i, 2));
    s.verdict = std::string(r->Text(i, 3));
    s.code = std::string(r->Text(i, 4));
    s.reason = internal::DecisionReason(r->Text(i, 5));
    out.push_back(std::move(s));
  }
  std::reverse(out.begin(), out.end());
  return out;
}

// --- the audit log ------------------------------------------------------------------------

namespace {
// pg_advisory_xact_lock key of the audit log's rebuild ("ilck" "rebl").
constexpr int64_t kRebuildLockKey = 0x696c636b7265626c;
}  // namespace

Status EnsureAuditLog(pg::PgConn& c) {
  // Two cheap reads on a healthy database: the table exists (schema 11) and has its row.
  // The session says it writes the batches with its records (interlock_audit_log_guard).
  Result<pg::PgResult> exists = c.Exec(
      "SELECT to_regclass('audit_log_built') IS NOT NULL, to_regclass('audit_batches') IS NOT "
      "NULL, set_config('interlock.audit_batches', 'on', false)",
      {});
  if (!exists.ok()) return exists.error();
  if (exists->rows() != 1)
    return Error::Unavailable("store: the audit log's check answered no row");
  const bool marker = exists->Text(0, 0) == "t", batches = exists->Text(0, 1) == "t";
  if (!marker && !batches) return Status::Ok();  // before schema 11: its migration converts it
  if (!marker) {
    // Never skip the check a crash needs: without its marker the log cannot be known whole.
    return Error::Unavailable(
        "store: the PostgreSQL database has audit_batches but no audit_log_built (schema 11 "
        "damaged): the audit log cannot be checked whole; restore the table or the database");
  }
  Result<pg::PgResult> built = c.Exec("SELECT count(*) FROM audit_log_built", {});
  if (!built.ok()) {
    Result<pg::PgResult> standby = c.Exec("SELECT pg_is_in_recovery()", {});
    if (standby.ok() && standby->rows() == 1 && standby->Text(0, 0) == "t") {
      return Error::Unavailable(
          "store: this PostgreSQL server is a standby, which cannot read the audit log "
          "(UNLOGGED since schema 11): connect to the primary (a multi-host URI with "
          "target_session_attrs=read-write)");
    }
    return built.error();
  }
  if (built->rows() == 1 && built->Int(0, 0) == 1) return Status::Ok();
  // What on-call sees while calls wait (a minute or more for tens of millions of records).
  std::fprintf(stderr,
               "interlock: store: the server has lost the audit log's table (a crash, a "
               "promoted standby or a restored base backup): rebuilding it from audit_batches "
               "(or waiting for another connection that is); calls wait meanwhile\n");
  const auto start = std::chrono::steady_clock::now();
  Result<std::vector<pg::PgResult>> r = c.ExecScript(
      "BEGIN; SET LOCAL statement_timeout = 0; SET LOCAL lock_timeout = 0;"
      " SELECT interlock_rebuild_audit_log(" +
      std::to_string(kRebuildLockKey) + "); COMMIT");
  if (!r.ok()) {
    if (!c.Broken()) (void)c.ExecScript("ROLLBACK");
    return Error::Unavailable("store: rebuilding the audit log from its batches failed: " +
                              r.error().message);
  }
  if (r->size() >= 4 && (*r)[3].rows() == 1 && (*r)[3].Int(0, 0) >= 0) {
    std::fprintf(stderr, "interlock: store: rebuilt %lld records from audit_batches in %.1f s\n",
                 static_cast<long long>((*r)[3].Int(0, 0)),
                 std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count());
  }
  return Status::Ok();
}

Result<std::unique_ptr<pg::PgConn>> ConnectStore(const std::string& uri,
                                                 const pg::PgLimits& limits) {
  Result<std::unique_ptr<pg::PgConn>> c = pg::PgConn::Connect(uri, limits);
  if (!c.ok()) return c;
  if (Status s = EnsureAuditLog(**c); !s.ok()) return s.error();
  return c;
}

Result<int64_t> PgLastSeq(pg::PgConn& c) {
  Result<pg::PgResult> r = c.Exec("SELECT COALESCE(MAX(seq), 0) FROM audit_log", {});
  if (!r.ok()) return r.error();
  return r->rows() == 1 ? r->Int(0, 0) : 0;
}

namespace {

// A JSON member as canonical JSON writes it ("tool":"deploy"): what a decision record's
// body holds when its data.tool (or decision.code) is that value.
std::string MemberNeedle(std::string_view key, std::string_view value) {
  std::string out = "\"" + std::string(key) + "\":";
  AppendJsonString(value, &out);
  return out;
}

const boost::json::value* Member(const boost::json::object& o,
                                 std::initializer_list<std::string_view> path) {
  const boost::json::object* at = &o;
  const boost::json::value* v = nullptr;
  for (std::string_view k : path) {
    if (at == nullptr) return nullptr;
    v = at->if_contains(k);
    if (v == nullptr) return nullptr;
    at = v->if_object();
  }
  return v;
}

bool StringIs(const boost::json::value* v, std::string_view want) {
  return v != nullptr && v->is_string() && v->get_string() == want;
}

}  // namespace

Result<boost::json::array> PgQueryAudit(pg::PgConn& c, const audit::AuditQuery& q) {
  const audit::AuditFilter& f = q.filter;
  const int64_t limit = std::clamp<int64_t>(q.limit, 1, audit::kMaxAuditQueryLimit);
  // tool and code are checked on the parsed body after the query: the SQL cannot stop at
  // the limit then (the caller's window bounds the rows: audit::PageOver).
  const bool post_filter = !f.tool.empty() || !f.code.empty();
  std::vector<std::optional<std::string>> params;
  auto param = [&params](std::string v) {
    params.push_back(std::move(v));
    return "$" + std::to_string(params.size());
  };
  std::string sql = "SELECT a.seq, a.body, a.hash FROM audit_records a WHERE a.seq > " +
                    param(std::to_string(f.after_seq));
  if (!f.run_id.empty()) sql += " AND a.run_id = " + param(f.run_id);
  if (f.since) {
    const std::string p = param(std::to_string(ToUnixMillis(*f.since)));
    sql += " AND a.time_ms >= " + p;
    // The range's first seq from the time index: the page walks seq from there instead of
    // sorting the whole range (as SQLite's PrepareFilteredSelect).
    sql += " AND a.seq >= COALESCE((SELECT t.seq FROM audit_log t WHERE t.time_ms >= " + p +
           " ORDER BY t.time_ms, t.seq LIMIT 1), 9223372036854775807)";
  }
  if (f.until) {
    const std::string p = param(std::to_string(ToUnixMillis(*f.until)));
    sql += " AND a.time_ms < " + p;
    sql += " AND a.seq <= COALESCE((SELECT t.seq FROM audit_log t WHERE t.time_ms < " + p +
           " ORDER BY t.time_ms DESC, t.seq DESC LIMIT 1), 0)";
  }
  if (!f.agent_id.empty()) sql += " AND a.agent_id = " + param(f.agent_id);
  if (!f.type.empty()) sql += " AND a.type = " + param(f.type);
  if (!f.tool.empty())
    sql += " AND strpos(a.body, " + param(MemberNeedle("tool", f.tool)) + ") > 0";
  if (!f.code.empty())
    sql += " AND strpos(a.body, " + param(MemberNeedle("code", f.code)) + ") > 0";
  if (!f.text.empty()) sql += " AND strpos(a.body, " + param(f.text) + ") > 0";
  if (f.before_seq > 0) sql += " AND a.seq < " + param(std::to_string(f.before_seq));
  sql += f.descending ? " ORDER BY a.seq DESC" : " ORDER BY a.seq";
  if (!post_filter) sql += " LIMIT " + param(std::to_string(limit));
  Result<pg::PgResult> r = c.Exec(sql, params);
  if (!r.ok()) return r.error();
  boost::json::array out;
  for (int i = 0; i < r->rows() && static_cast<int64_t>(out.size()) < limit; ++i) {
    const int64_t seq = r->Int(i, 0);
    Result<boost::json::value> v = ParseOwnJson(r->Text(i, 1));
    if (!v.ok() || !v->is_object()) {
      return Error::Corrupt("audit record " + std::to_string(seq) +
                            " has a corrupt body; run `interlock audit verify`");
    }
    boost::json::object& o = v->get_object();
    if (!f.tool.empty() && !StringIs(Member(o, {"data", "tool"}), f.tool)) continue;
    if (!f.code.empty() && !StringIs(Member(o, {"data", "decision", "code"}), f.code)) continue;
    o["hash"] = r->Text(i, 2);
    out.push_back(std::move(*v));
  }
  return out;
}

Result<audit::RunReplay> PgReplayRun(pg::PgConn& c, std::string_view run_id) {
  if (run_id.empty()) return Error::Invalid("run id is empty");
  auto events = [&c](const std::string& sql, const std::vector<std::optional<std::string>>& params,
                     std::vector<audit::ReplayEvent>* out) -> Status {
    Result<pg::PgResult> r = c.Exec(sql, params);
    if (!r.ok()) return r.error();
    for (int i = 0; i < r->rows(); ++i) {
      Result<audit::ReplayEvent> e =
          audit::ReplayEventFromRecord(r->Int(i, 0), r->Text(i, 1), r->Text(i, 2), r->Text(i, 3));
      if (!e.ok()) return e.error();
      out->push_back(std::move(e).value());
    }
    return Status::Ok();
  };
  std::vector<audit::ReplayEvent> timeline, kills;
  if (Status s = events(
          "SELECT seq, body, hash, prev_hash FROM audit_records WHERE run_id = $1 ORDER BY seq",
          {std::string(run_id)}, &timeline);
      !s.ok()) {
    return s.error();
  }
  if (timeline.empty()) return Error::NotFound("no audit records for run " + std::string(run_id));
  const std::string first = std::to_string(timeline.front().seq);
  if (Status s =
          events("SELECT seq, body, hash, prev_hash FROM audit_records WHERE seq BETWEEN $1 AND $2"
                 " AND type = 'kill_switch' AND run_id = '' ORDER BY seq",
                 {first, std::to_string(timeline.back().seq)}, &kills);
      !s.ok()) {
    return s.error();
  }
  Result<pg::PgResult> agent = c.Exec("SELECT agent_id FROM audit_log WHERE seq = $1", {first});
  if (!agent.ok()) return agent.error();
  const std::string agent_column = agent->rows() == 1 ? std::string(agent->Text(0, 0)) : "";
  return audit::ReplayFromEvents(run_id, std::move(timeline), std::move(kills), agent_column);
}

Status PgForEachRecord(pg::PgConn& c, const core::HistoryFilter& filter,
                       const core::HistoryFn& fn) {
  constexpr int kPage = 5000;
  std::vector<std::optional<std::string>> params = {std::string("0")};
  std::string sql =
      "SELECT seq, time_ms, type, run_id, call_id, agent_id, principal, body FROM audit_records"
      " WHERE seq > $1";
  if (!filter.types.empty()) {
    sql += " AND type IN (";
    for (size_t i = 0; i < filter.types.size(); ++i) {
      params.push_back(std::string(filter.types[i]));
      sql += (i ? ",$" : "$") + std::to_string(params.size());
    }
    sql += ")";
  }
  if (filter.since_ms) {
    params.push_back(std::to_string(*filter.since_ms));
    sql += " AND time_ms >= $" + std::to_string(params.size());
  }
  if (!filter.agent_id.empty()) {
    params.push_back(filter.agent_id);
    sql += " AND agent_id = $" + std::to_string(params.size());
  }
  sql += " ORDER BY seq LIMIT " + std::to_string(kPage);
  audit::ScannedBody body;
  std::string problem;
  core::HistoryRecord rec;
  for (;;) {
    if (filter.stop != nullptr && filter.stop->load(std::memory_order_relaxed)) {
      return Error::Unavailable("history read stopped (shutting down)");
    }
    Result<pg::PgResult> r = c.Exec(sql, params);
    if (!r.ok()) return r.error();
    for (int i = 0; i < r->rows(); ++i) {
      ReadRecordColumns(*r, i, &rec);
      if (!audit::ScanRecordBody(r->Text(i, 7), &body, &problem)) {
        return Error::Corrupt("audit record " + std::to_string(rec.seq) + " is damaged (" +
                              problem + "); run `interlock audit verify`");
      }
      rec.data = body.data;
      fn(rec);
    }
    if (r->rows() < kPage) return Status::Ok();
    params[0] = std::to_string(rec.seq);  // the next page: after the last record seen
  }
}

// The schema version whose migration created audit_checkpoints (postgres_store.cc).
constexpr int64_t kCheckpointTableSchema = 7;

Result<std::vector<audit::Checkpoint>> PgReadCheckpoints(pg::PgConn& c) {
  // A database from before schema 7 has no table, hence no checkpoints; at schema 7 or
  // later a missing table is damage (a dropped table would otherwise look like a log never
  // checkpointed, and a deleted tail would go unnoticed): refused. Asked first, in one
  // statement that cannot fail, since a failed one would abort the caller's transaction.
  Result<pg::PgResult> has = c.Exec(
      "SELECT to_regclass('audit_checkpoints') IS NOT NULL,"
      " CASE WHEN to_regclass('interlock_schema_version') IS NULL THEN 0"
      " ELSE (SELECT coalesce(max(version), 0) FROM interlock_schema_version) END",
      {});
  if (!has.ok()) return has.error();
  if (has->rows() != 1) return Error::Internal("audit_checkpoints: unexpected answer");
  if (has->Text(0, 0) != "t") {
    if (has->Int(0, 1) >= kCheckpointTableSchema) {
      return Error::Corrupt(
          "table audit_checkpoints is missing from a database at schema " +
          std::string(has->Text(0, 1)) +
          " (it was dropped): the signed checkpoints that cover the log are gone; restore it "
          "from a backup and run `interlock audit verify`");
    }
    return std::vector<audit::Checkpoint>{};
  }
  Result<pg::PgResult> r = c.Exec("SELECT id, line FROM audit_checkpoints ORDER BY id", {});
  if (!r.ok()) return r.error();
  std::vector<audit::Checkpoint> out;
  out.reserve(static_cast<size_t>(r->rows()));
  for (int i = 0; i < r->rows(); ++i) {
    Result<audit::Checkpoint> cp = audit::ParseCheckpointLine(
        r->Text(i, 1), "audit_checkpoints row " + std::string(r->Text(i, 0)) + ": ");
    if (!cp.ok()) return cp.error();
    out.push_back(std::move(cp).value());
  }
  return out;
}

Result<int64_t> PgPruneCalls(pg::PgConn& c, TimePoint cutoff, int64_t limit) {
  limit = std::max<int64_t>(1, limit);
  const std::string cutoff_ms = std::to_string(ToUnixMillis(cutoff));
  const std::string n = std::to_string(limit);
  std::string prefix;
  pg::AppendLiteral(&prefix, CallIdTimePrefix(cutoff));
  // The SQLite store's rule (sqlite_retention.cc): the oldest calls whose time is before
  // the cutoff, never one whose approval is pending; decided approvals decided before it,
  // their votes and chat messages first.
  const std::string old_approvals =
      "SELECT approval_id FROM approvals WHERE state <> 'pending' AND decided_ms < " + cutoff_ms +
      " ORDER BY decided_ms, approval_id LIMIT " + n;
  const std::string script =
      "BEGIN;"
      "DELETE FROM calls WHERE call_id IN (SELECT call_id FROM calls WHERE call_id < " +
      prefix + " AND time_ms < " + cutoff_ms +
      " AND call_id NOT IN (SELECT call_id FROM approvals WHERE state = 'pending')"
      " ORDER BY call_id LIMIT " +
      n +
      ");"
      "DELETE FROM approval_votes WHERE approval_id IN (" +
      old_approvals +
      ");"
      "DELETE FROM approval_messages WHERE approval_id IN (" +
      old_approvals +
      ");"
      "DELETE FROM approvals WHERE approval_id IN (" +
      old_approvals +
      ");"
      "COMMIT";
  Result<std::vector<pg::PgResult>> r = c.ExecScript(script);
  if (!r.ok()) {
    c.ExecScript("ROLLBACK").ok();
    return r.error();
  }
  // BEGIN, calls, votes, messages, approvals, COMMIT.
  if (r->size() < 6) return Error::Internal("store: prune answered too few results");
  return (*r)[1].Affected() + (*r)[4].Affected();
}

}  // namespace internal

}  // namespace interlock::store

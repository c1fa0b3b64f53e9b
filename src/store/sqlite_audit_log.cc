#include "store/sqlite_audit_log.h"

#include <sqlite3.h>

#include <algorithm>
#include <memory>
#include <optional>

#include "common/json.h"

namespace interlock::audit {
namespace {

Error SqlError(sqlite3* db, std::string_view what) {
  return Error::Unavailable("audit " + std::string(what) + ": " + sqlite3_errmsg(db));
}

// Prepares `sql` into `*st` on first use (persistent: every later append reuses it).
Status PrepareOnce(sqlite3* db, sqlite3_stmt** st, const char* sql, std::string_view what) {
  if (*st != nullptr ||
      sqlite3_prepare_v3(db, sql, -1, SQLITE_PREPARE_PERSISTENT, st, nullptr) == SQLITE_OK) {
    return Status::Ok();
  }
  return SqlError(db, what);
}

// Finalizes the statement on every path.
struct Stmt {
  sqlite3_stmt* s = nullptr;
  ~Stmt() { sqlite3_finalize(s); }
};

// The caller keeps `v` alive until the statement is reset and its bindings cleared.
void BindStatic(sqlite3_stmt* s, int i, std::string_view v) {
  sqlite3_bind_text(s, i, v.data(), static_cast<int>(v.size()), SQLITE_STATIC);
}

// The runs' record lists (see audit_log.h, "Records of a run"). Migrates a log written
// before them: links every record to its run's previous one, fills the heads, and drops
// the (run_id, seq) index they replace. Runs in the caller's transaction, if any.
constexpr const char* kAddRunLinks =
    "ALTER TABLE audit_log ADD COLUMN run_prev INTEGER NOT NULL DEFAULT 0;"
    "UPDATE audit_log SET run_prev = COALESCE((SELECT MAX(b.seq) FROM audit_log b"
    "  WHERE b.run_id = audit_log.run_id AND b.seq < audit_log.seq), 0) WHERE run_id != '';"
    "INSERT INTO audit_runs(run_id, head_seq)"
    "  SELECT run_id, MAX(seq) FROM audit_log WHERE run_id != '' GROUP BY run_id;"
    "DROP INDEX IF EXISTS audit_log_run;";

// The log's head row (see audit_log.h, "The head row"). A log written before it gets
// one naming its last record; a log whose tail was cut before this migration cannot be
// told from an intact one (docs/audit.md, Limits).
constexpr const char* kAddHeadRow =
    "CREATE TABLE audit_head ("
    "  id INTEGER PRIMARY KEY CHECK (id = 1),"
    "  seq INTEGER NOT NULL,"
    "  hash TEXT NOT NULL);"
    "INSERT INTO audit_head(id, seq, hash)"
    "  SELECT 1, seq, hash FROM audit_log ORDER BY seq DESC LIMIT 1;";

Status ExecAudit(sqlite3* db, const char* sql, std::string_view what) {
  char* err = nullptr;
  if (sqlite3_exec(db, sql, nullptr, nullptr, &err) != SQLITE_OK) {
    std::string msg = err ? err : "unknown error";
    sqlite3_free(err);
    return Error::Unavailable("audit " + std::string(what) + ": " + msg);
  }
  return Status::Ok();
}

// True when `sql` returns a row.
Result<bool> SqliteAuditExists(sqlite3* db, const char* sql) {
  Stmt st;
  if (sqlite3_prepare_v2(db, sql, -1, &st.s, nullptr) != SQLITE_OK) {
    return SqlError(db, "read schema");
  }
  const int rc = sqlite3_step(st.s);
  if (rc != SQLITE_ROW && rc != SQLITE_DONE) return SqlError(db, "read schema");
  return rc == SQLITE_ROW;
}

}  // namespace

Result<bool> HasRunLinks(sqlite3* db) {
  return SqliteAuditExists(db,
                           "SELECT 1 FROM pragma_table_info('audit_log') WHERE name='run_prev'");
}

Result<bool> HasHeadRow(sqlite3* db) {
  return SqliteAuditExists(
      db, "SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'audit_head'");
}

Result<std::optional<AuditHead>> ReadHeadRow(sqlite3* db) {
  Stmt st;
  if (sqlite3_prepare_v2(db, "SELECT seq, hash FROM audit_head WHERE id = 1", -1, &st.s, nullptr) !=
      SQLITE_OK) {
    return SqlError(db, "read head row");
  }
  const int rc = sqlite3_step(st.s);
  if (rc == SQLITE_DONE) return std::optional<AuditHead>();
  if (rc != SQLITE_ROW) return SqlError(db, "read head row");
  AuditHead h;
  h.seq = sqlite3_column_int64(st.s, 0);
  const unsigned char* t = sqlite3_column_text(st.s, 1);
  h.hash = t ? reinterpret_cast<const char*>(t) : "";
  return std::optional<AuditHead>(std::move(h));
}

Status EnsureAuditSchema(sqlite3* db) {
  static constexpr const char* kSchema =
      "CREATE TABLE IF NOT EXISTS audit_log ("
      "  seq INTEGER PRIMARY KEY,"
      "  time_ms INTEGER NOT NULL,"
      "  type TEXT NOT NULL,"
      "  run_id TEXT NOT NULL DEFAULT '',"
      "  call_id TEXT NOT NULL DEFAULT '',"
      "  agent_id TEXT NOT NULL DEFAULT '',"
      "  principal TEXT NOT NULL DEFAULT '',"
      "  body TEXT NOT NULL,"
      "  prev_hash TEXT NOT NULL,"
      "  hash TEXT NOT NULL,"
      "  run_prev INTEGER NOT NULL DEFAULT 0);"
      "CREATE TABLE IF NOT EXISTS audit_runs ("
      "  run_id TEXT PRIMARY KEY,"
      "  head_seq INTEGER NOT NULL);"
      "CREATE INDEX IF NOT EXISTS audit_log_time ON audit_log(time_ms);"
      // The console's search (GET /v1/audit filters; docs/console.md): each filter is
      // answered from an index in seq order, so a page costs the same with a million
      // records. Built once on the first start after an upgrade.
      "CREATE INDEX IF NOT EXISTS audit_log_agent ON audit_log(agent_id, seq);"
      "CREATE INDEX IF NOT EXISTS audit_log_type ON audit_log(type, seq);"
      "CREATE INDEX IF NOT EXISTS audit_log_tool"
      "  ON audit_log((CASE WHEN json_valid(body) THEN json_extract(body, '$.data.tool') END),"
      "  seq);"
      "CREATE INDEX IF NOT EXISTS audit_log_code"
      "  ON audit_log((CASE WHEN json_valid(body) THEN"
      "  json_extract(body, '$.data.decision.code') END), seq);";
  if (Status s = ExecAudit(db, "SAVEPOINT audit_schema", "schema"); !s.ok()) return s;
  Status s = ExecAudit(db, kSchema, "schema");
  // Each migration runs, in order, where its probe finds the older schema.
  struct Migration {
    Result<bool> (*applied)(sqlite3*);
    const char* sql;
    const char* what;
  };
  for (const Migration& m : {Migration{HasRunLinks, kAddRunLinks, "migration (run links)"},
                             Migration{HasHeadRow, kAddHeadRow, "migration (head row)"}}) {
    if (!s.ok()) break;
    Result<bool> applied = m.applied(db);
    if (!applied.ok()) {
      s = applied.error();
    } else if (!*applied) {
      s = ExecAudit(db, m.sql, m.what);
    }
  }
  if (!s.ok()) {
    ExecAudit(db, "ROLLBACK TO audit_schema; RELEASE audit_schema", "schema").ok();
    return s;
  }
  return ExecAudit(db, "RELEASE audit_schema", "schema");
}

std::string RunRecordsCte(int run_param, int after_param) {
  const std::string run = "?" + std::to_string(run_param);
  std::string sql =
      "WITH RECURSIVE run_records(seq) AS (SELECT head_seq FROM audit_runs WHERE run_id = " + run +
      // Each step is a point lookup written as a scalar subquery: as a join, SQLite with
      // ANALYZE statistics built a Bloom filter over the whole log for it (4 s at 1,000,000
      // records; docs/performance.md, "Console pages").
      " UNION ALL SELECT (SELECT a.run_prev FROM audit_log a WHERE a.seq = r.seq"
      " AND a.run_prev > 0 AND a.run_prev < a.seq";
  if (after_param > 0) sql += " AND a.run_prev > ?" + std::to_string(after_param);
  sql += ") AS p FROM run_records r WHERE p IS NOT NULL) ";
  return sql;
}

Result<AuditHead> ReadLastRecord(sqlite3* db) {
  Stmt st;
  if (sqlite3_prepare_v2(db, "SELECT seq, hash FROM audit_log ORDER BY seq DESC LIMIT 1", -1, &st.s,
                         nullptr) != SQLITE_OK) {
    return SqlError(db, "read head");
  }
  AuditHead head;
  const int rc = sqlite3_step(st.s);
  if (rc == SQLITE_ROW) {
    head.seq = sqlite3_column_int64(st.s, 0);
    const unsigned char* h = sqlite3_column_text(st.s, 1);
    head.hash = h ? reinterpret_cast<const char*>(h) : "";
  } else if (rc != SQLITE_DONE) {
    return SqlError(db, "read head");
  }
  return head;
}

Result<AuditHead> ReadAuditHead(sqlite3* db) {
  Result<AuditHead> last = ReadLastRecord(db);
  if (!last.ok()) return last;
  Result<bool> has = HasHeadRow(db);
  if (!has.ok()) return has.error();
  if (!*has) return last;  // a log from before the head row (read-only, not yet migrated)
  Result<std::optional<AuditHead>> row = ReadHeadRow(db);
  if (!row.ok()) return row.error();
  if (std::string problem = HeadRowProblem(*last, *row); !problem.empty()) {
    return Error::Corrupt("audit log tail check failed: " + problem);
  }
  return last;
}

Result<AuditHead> AppendAuditEvents(sqlite3* db, std::span<const AuditEvent> events) {
  // The one-off writers (CLI, trust) may be the first of this version to open an older
  // store: bring its schema up first (idempotent, within the caller's transaction).
  if (Status s = EnsureAuditSchema(db); !s.ok()) return s.error();
  AuditAppender appender(db);
  return appender.Append(events);
}

AuditAppender::~AuditAppender() {
  sqlite3_finalize(head_);
  sqlite3_finalize(last_);
  sqlite3_finalize(set_head_);
  sqlite3_finalize(insert_);
  sqlite3_finalize(run_head_);
  sqlite3_finalize(set_run_head_);
}

// One statement's first row as a head; `found` false when it returned none.
Result<AuditHead> AuditAppender::StepHead(sqlite3_stmt* st, bool* found) {
  AuditHead h;
  const int rc = sqlite3_step(st);
  if (rc == SQLITE_ROW) {
    h.seq = sqlite3_column_int64(st, 0);
    const unsigned char* t = sqlite3_column_text(st, 1);
    h.hash = t ? reinterpret_cast<const char*>(t) : "";
  }
  sqlite3_reset(st);
  if (rc != SQLITE_ROW && rc != SQLITE_DONE) return SqlError(db_, "read head");
  *found = rc == SQLITE_ROW;
  return h;
}

Result<AuditHead> AuditAppender::ReadHead() {
  if (Status s = PrepareOnce(db_, &head_, "SELECT seq, hash FROM audit_head WHERE id = 1",
                             "read head row");
      !s.ok()) {
    return s.error();
  }
  bool found = false;
  Result<AuditHead> row = StepHead(head_, &found);
  if (!row.ok() || found) return row;
  // No head row: only an empty log may lack one (its first append writes it).
  if (Status s = PrepareOnce(
          db_, &last_, "SELECT seq, hash FROM audit_log ORDER BY seq DESC LIMIT 1", "read head");
      !s.ok()) {
    return s.error();
  }
  Result<AuditHead> last = StepHead(last_, &found);
  if (!last.ok()) return last;
  if (found) {
    return Error::Corrupt("audit log tail check failed: " + HeadRowProblem(*last, std::nullopt) +
                          "; refusing to append (run `interlock audit verify`)");
  }
  return last;
}

Status AuditAppender::WriteHead(const AuditHead& h) {
  if (Status s =
          PrepareOnce(db_, &set_head_,
                      "INSERT INTO audit_head(id, seq, hash) VALUES (1,?,?)"
                      " ON CONFLICT(id) DO UPDATE SET seq = excluded.seq, hash = excluded.hash",
                      "prepare head row");
      !s.ok()) {
    return s.error();
  }
  sqlite3_bind_int64(set_head_, 1, h.seq);
  BindStatic(set_head_, 2, h.hash);
  const int rc = sqlite3_step(set_head_);
  sqlite3_reset(set_head_);
  sqlite3_clear_bindings(set_head_);
  if (rc != SQLITE_DONE) return SqlError(db_, "write head row");
  return Status::Ok();
}

Result<AuditHead> AuditAppender::Append(std::span<const AuditEvent> events) {
  Result<AuditHead> head = ReadHead();
  if (!head.ok()) return head;
  AuditHead h = std::move(head).value();
  if (events.empty()) return h;
  if (Status s = PrepareOnce(db_, &insert_,
                             "INSERT INTO audit_log(seq, time_ms, type, run_id, call_id, agent_id,"
                             " principal, body, prev_hash, hash, run_prev)"
                             " VALUES (?,?,?,?,?,?,?,?,?,?,?)",
                             "prepare append");
      !s.ok()) {
    return s.error();
  }
  if (Status s = PrepareOnce(db_, &run_head_, "SELECT head_seq FROM audit_runs WHERE run_id = ?",
                             "prepare run head");
      !s.ok()) {
    return s.error();
  }
  if (Status s = PrepareOnce(db_, &set_run_head_,
                             "INSERT INTO audit_runs(run_id, head_seq) VALUES (?,?)"
                             " ON CONFLICT(run_id) DO UPDATE SET head_seq = excluded.head_seq",
                             "prepare run head");
      !s.ok()) {
    return s.error();
  }
  // Each run's last record before this batch, then after each of its records here.
  runs_.clear();
  auto run_head = [&](std::string_view run_id) -> Result<int64_t*> {
    if (auto it = runs_.find(run_id); it != runs_.end()) return &it->second;
    sqlite3_reset(run_head_);
    BindStatic(run_head_, 1, run_id);
    const int rc = sqlite3_step(run_head_);
    const int64_t head = rc == SQLITE_ROW ? sqlite3_column_int64(run_head_, 0) : 0;
    sqlite3_reset(run_head_);
    sqlite3_clear_bindings(run_head_);
    if (rc != SQLITE_ROW && rc != SQLITE_DONE) return SqlError(db_, "read run head");
    return &runs_.emplace(run_id, head).first->second;  // nodes are stable
  };
  // Every text is bound SQLITE_STATIC: each outlives the step that reads it, and the
  // bindings are cleared before this returns.
  struct ClearBindings {
    sqlite3_stmt* s;
    ~ClearBindings() {
      sqlite3_reset(s);
      sqlite3_clear_bindings(s);
    }
  } clear{insert_};
  std::string hash;
  for (const AuditEvent& e : events) {
    const int64_t seq = h.seq + 1;
    int64_t* run_last = nullptr;
    if (!e.run_id.empty()) {
      Result<int64_t*> r = run_head(e.run_id);
      if (!r.ok()) return r.error();
      run_last = *r;
    }
    AppendAuditRecordBody(&body_, seq, e, h.hash);
    hash = AuditRecordHash(h.hash, body_);
    sqlite3_reset(insert_);
    sqlite3_bind_int64(insert_, 1, seq);
    sqlite3_bind_int64(insert_, 2, ToUnixMillis(e.time));
    BindStatic(insert_, 3, e.type);
    BindStatic(insert_, 4, e.run_id);
    BindStatic(insert_, 5, e.call_id);
    BindStatic(insert_, 6, e.agent_id);
    BindStatic(insert_, 7, e.principal);
    BindStatic(insert_, 8, body_);
    BindStatic(insert_, 9, h.hash);
    BindStatic(insert_, 10, hash);
    sqlite3_bind_int64(insert_, 11, run_last ? *run_last : 0);
    if (sqlite3_step(insert_) != SQLITE_DONE) return SqlError(db_, "append");
    if (run_last) *run_last = seq;
    h.seq = seq;
    std::swap(h.hash, hash);
  }
  if (Status s = WriteHead(h); !s.ok()) return s.error();
  for (const auto& [run_id, seq] : runs_) {
    sqlite3_reset(set_run_head_);
    BindStatic(set_run_head_, 1, run_id);
    sqlite3_bind_int64(set_run_head_, 2, seq);
    const int rc = sqlite3_step(set_run_head_);
    sqlite3_reset(set_run_head_);
    sqlite3_clear_bindings(set_run_head_);
    if (rc != SQLITE_DONE) return SqlError(db_, "write run head");
  }
  return h;
}

}  // namespace interlock::audit

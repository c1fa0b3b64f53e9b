#include "store/sqlite_audit_read.h"

#include <sqlite3.h>

#include <algorithm>
#include <memory>
#include <ostream>
#include <vector>

#include "audit/record_scan.h"
#include "audit/record_source.h"
#include "common/json.h"
#include "store/sqlite_audit_log.h"
#include "store/sqlite_record_source.h"

namespace interlock::audit {

// verify.h, tail.h

Result<VerifyReport> VerifyAuditLog(sqlite3* db, const VerifyOptions& options) {
  std::unique_ptr<audit::RecordSource> source = MakeSqliteRecordSource(db);
  return VerifyAuditLog(*source, options);
}

Result<TailReport> CheckAuditTail(sqlite3* db, const TailCheckOptions& options) {
  if (Status s =
          CheckAuditReadable(db, !options.checkpoints.empty(), options.public_key != nullptr);
      !s.ok()) {
    return s.error();
  }
  return CheckAuditTail(*MakeSqliteRecordSource(db), options);
}

Status CheckStoreTail(const std::string& store_path, const std::string& checkpoint_file,
                      const std::string& keys_dir, const PublicKey& key) {
  std::vector<audit::Checkpoint> cps;
  if (Result<std::vector<audit::Checkpoint>> read = ReadCheckpoints(checkpoint_file); read.ok()) {
    cps = std::move(read).value();
  } else if (read.error().kind != ErrorKind::kNotFound) {
    return read.error();
  }
  Result<SqliteDb> db = OpenAuditStore(store_path, /*read_only=*/true);
  if (!db.ok()) return db.error();
  Result<TailReport> r = CheckAuditTail(db->get(), {.checkpoints = cps, .public_key = &key});
  if (!r.ok()) return r.error();
  return TailRefusal(*r, "COPY", checkpoint_file, keys_dir);
}

// export.h, query.h

Status PrepareFilteredSelect(sqlite3* db, const AuditFilter& f, int64_t limit, Statement* st) {
  std::string sql;
  if (f.run_id.empty()) {
    sql = "SELECT a.seq, a.body, a.hash, a.prev_hash FROM audit_log a WHERE a.seq > ?1";
  } else {
    // A run's records through its links (audit_log.h), not a scan.
    Result<bool> linked = HasRunLinks(db);
    if (!linked.ok()) return linked.error();
    sql = *linked ? RunRecordsCte(5, 1) +
                        "SELECT a.seq, a.body, a.hash, a.prev_hash FROM run_records r"
                        // CROSS JOIN: the run's links drive (a point lookup each), never
                        // a walk of the whole log in seq order probing the run's set.
                        " CROSS JOIN audit_log a ON a.seq = r.seq WHERE a.seq > ?1"
                  : "SELECT a.seq, a.body, a.hash, a.prev_hash FROM audit_log a WHERE a.seq > ?1";
    sql += " AND a.run_id = ?5";
  }
  if (limit > 0 && (f.since || f.until)) {
    // A page of a time range (the console): the range's first and last seq come from the
    // time index and the page walks seq between them, instead of sorting the whole range
    // (0.7 s for an hour of a busy log). The store's one writer appends in time order, so
    // the bounds are exact unless the wall clock stepped back while writing; the time test
    // stays on each row ("+": not through the index). Export (no limit) filters row by row.
    if (f.since) {
      sql +=
          " AND +a.time_ms >= ?2 AND a.seq >= COALESCE((SELECT t.seq FROM audit_log t"
          " WHERE t.time_ms >= ?2 ORDER BY t.time_ms, t.seq LIMIT 1), 9223372036854775807)";
    }
    if (f.until) {
      sql +=
          " AND +a.time_ms < ?3 AND a.seq <= COALESCE((SELECT t.seq FROM audit_log t"
          " WHERE t.time_ms < ?3 ORDER BY t.time_ms DESC, t.seq DESC LIMIT 1), 0)";
    }
  } else {
    if (f.since) sql += " AND a.time_ms >= ?2";
    if (f.until) sql += " AND a.time_ms < ?3";
  }
  if (!f.agent_id.empty()) sql += " AND a.agent_id = ?4";
  // The same expressions as the indexes (kAuditSearchIndexes), so the planner uses them.
  if (!f.tool.empty()) sql += std::string(" AND ") + kAuditToolExpr + " = ?7";
  if (!f.code.empty()) sql += std::string(" AND ") + kAuditCodeExpr + " = ?8";
  if (!f.type.empty()) sql += " AND a.type = ?9";
  if (!f.text.empty()) sql += " AND instr(a.body, ?10) > 0";
  if (f.before_seq > 0) sql += " AND a.seq < ?11";
  sql += f.descending ? " ORDER BY a.seq DESC" : " ORDER BY a.seq";
  if (limit > 0) sql += " LIMIT ?6";
  if (Status s = st->Prepare(db, sql); !s.ok()) return s;
  st->BindInt64(1, f.after_seq);
  if (f.since) st->BindInt64(2, ToUnixMillis(*f.since));
  if (f.until) st->BindInt64(3, ToUnixMillis(*f.until));
  if (!f.agent_id.empty()) st->BindText(4, f.agent_id);
  if (!f.run_id.empty()) st->BindText(5, f.run_id);
  if (limit > 0) st->BindInt64(6, limit);
  if (!f.tool.empty()) st->BindText(7, f.tool);
  if (!f.code.empty()) st->BindText(8, f.code);
  if (!f.type.empty()) st->BindText(9, f.type);
  if (!f.text.empty()) st->BindText(10, f.text);
  if (f.before_seq > 0) st->BindInt64(11, f.before_seq);
  return Status::Ok();
}

Result<ExportStats> ExportJsonl(sqlite3* db, const AuditFilter& filter, std::ostream& out) {
  Statement st;
  if (Status s = PrepareFilteredSelect(db, filter, 0, &st); !s.ok()) return s.error();
  ExportStats stats;
  ScannedBody b;
  std::string problem;
  std::string line;
  for (;;) {
    const int rc = sqlite3_step(st.get());
    if (rc == SQLITE_DONE) break;
    if (rc != SQLITE_ROW) return SqliteError(db, "read audit_log");
    const int64_t seq = st.Int64(0);
    ExportLine(seq, st.Text(1), st.Text(2), st.Text(3), &b, &problem, &line);
    if (Status s = EmitExportLine(out, line, seq, &stats); !s.ok()) return s.error();
  }
  out.flush();
  return stats;
}

Result<boost::json::array> QueryAudit(sqlite3* db, const AuditQuery& q) {
  const int64_t limit = std::clamp<int64_t>(q.limit, 1, kMaxAuditQueryLimit);
  Statement st;
  if (Status s = PrepareFilteredSelect(db, q.filter, limit, &st); !s.ok()) return s.error();
  boost::json::array out;
  for (;;) {
    const int rc = sqlite3_step(st.get());
    if (rc == SQLITE_DONE) break;
    if (rc != SQLITE_ROW) return SqliteError(db, "read audit_log");
    const int64_t seq = st.Int64(0);
    Result<boost::json::value> v = ParseOwnJson(st.Text(1));
    if (!v.ok() || !v->is_object()) {
      return Error::Corrupt("audit record " + std::to_string(seq) +
                            " has a corrupt body; run `interlock audit verify`");
    }
    boost::json::object& o = v->get_object();
    o["hash"] = st.Text(2);
    out.push_back(std::move(*v));
  }
  return out;
}

Result<AuditPage> QueryAuditPage(sqlite3* db, const AuditQuery& q) {
  return PageOver(
      q, !q.filter.text.empty(),
      [db]() -> Result<int64_t> {
        Statement st;
        if (Status s = st.Prepare(db, "SELECT COALESCE(MAX(seq), 0) FROM audit_log"); !s.ok()) {
          return s.error();
        }
        if (sqlite3_step(st.get()) != SQLITE_ROW) return SqliteError(db, "read audit_log head");
        return st.Int64(0);
      },
      [db](const AuditQuery& bounded) { return QueryAudit(db, bounded); });
}

// replay.h

namespace {

Status SqliteReplayEvents(sqlite3* db, std::string_view sql, std::string_view text_arg, int64_t lo,
                          int64_t hi, std::vector<ReplayEvent>* out) {
  Statement st;
  if (Status s = st.Prepare(db, sql); !s.ok()) return s;
  if (!text_arg.empty()) st.BindText(1, text_arg);
  if (hi > 0) {
    st.BindInt64(1, lo);
    st.BindInt64(2, hi);
  }
  for (;;) {
    const int rc = sqlite3_step(st.get());
    if (rc == SQLITE_DONE) break;
    if (rc != SQLITE_ROW) return SqliteError(db, "read audit_log");
    Result<ReplayEvent> e = ReplayEventFromRecord(st.Int64(0), st.Text(1), st.Text(2), st.Text(3));
    if (!e.ok()) return e.error();
    out->push_back(std::move(e).value());
  }
  return Status::Ok();
}

}  // namespace

Result<RunReplay> ReplayRun(sqlite3* db, std::string_view run_id) {
  if (run_id.empty()) return Error::Invalid("run id is empty");
  Result<bool> linked = HasRunLinks(db);
  if (!linked.ok()) return linked.error();
  const std::string sql =
      *linked ? RunRecordsCte(1) +
                    "SELECT a.seq, a.body, a.hash, a.prev_hash FROM run_records r CROSS JOIN "
                    "audit_log a"
                    " ON a.seq = r.seq WHERE a.run_id = ?1 ORDER BY a.seq"
              : "SELECT seq, body, hash, prev_hash FROM audit_log WHERE run_id = ?1 ORDER BY seq";
  std::vector<ReplayEvent> timeline;
  if (Status s = SqliteReplayEvents(db, sql, run_id, 0, 0, &timeline); !s.ok()) return s.error();
  if (timeline.empty()) return Error::NotFound("no audit records for run " + std::string(run_id));
  // Kill switch records are not tied to a run; those between its first and last record.
  std::vector<ReplayEvent> kills;
  if (Status s =
          SqliteReplayEvents(db,
                             "SELECT seq, body, hash, prev_hash FROM audit_log WHERE seq BETWEEN "
                             "?1 AND ?2 AND type = 'kill_switch' AND run_id = '' ORDER BY seq",
                             {}, timeline.front().seq, timeline.back().seq, &kills);
      !s.ok()) {
    return s.error();
  }
  // The agent id from the records' own column is the authority.
  std::string agent_column;
  {
    Statement st;
    if (Status s = st.Prepare(db, "SELECT agent_id FROM audit_log WHERE seq = ?1"); !s.ok()) {
      return s.error();
    }
    st.BindInt64(1, timeline.front().seq);
    if (sqlite3_step(st.get()) == SQLITE_ROW) agent_column = std::string(st.Text(0));
  }
  return ReplayFromEvents(run_id, std::move(timeline), std::move(kills), agent_column);
}

}  // namespace interlock::audit

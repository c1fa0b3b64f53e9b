#include "audit/export.h"

#include <ostream>

#include <sqlite3.h>

#include <boost/json/object.hpp>

#include "audit/audit_log.h"
#include "audit/export_internal.h"
#include "audit/record_scan.h"
#include "audit/record_source.h"
#include "audit/sqlite_util.h"
#include "common/json.h"

namespace interlock::audit {

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

namespace {

// One export line (export.h) for a stored record, newline included.
void ExportLine(int64_t seq, std::string_view body, std::string_view hash, std::string_view prev,
                ScannedBody* b, std::string* problem, std::string* line) {
  line->clear();
  problem->clear();
  if (ScanRecordBody(body, b, problem) && b->seq_value == seq) {
    line->append(body.substr(0, b->prev_key_offset));
    line->append("\"hash\":");
    line->append(CanonicalJson(boost::json::string(hash)));
    line->push_back(',');
    line->append(body.substr(b->prev_key_offset));
  } else {
    if (problem->empty()) *problem = "body seq differs from the seq column";
    boost::json::object o;
    o["seq"] = seq;
    o["hash"] = hash;
    o["prev"] = prev;
    o["corrupt_body"] = body;
    o["error"] = *problem;
    *line = CanonicalJson(o);
  }
  line->push_back('\n');
}

Status Emit(std::ostream& out, const std::string& line, int64_t seq, ExportStats* stats) {
  out.write(line.data(), static_cast<std::streamsize>(line.size()));
  if (!out) return Error::Unavailable("export output failed (disk full or pipe closed)");
  if (stats->records == 0) stats->first_seq = seq;
  stats->last_seq = seq;
  ++stats->records;
  return Status::Ok();
}

}  // namespace

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
    if (Status s = Emit(out, line, seq, &stats); !s.ok()) return s.error();
  }
  out.flush();
  return stats;
}

Result<ExportStats> ExportJsonl(audit::RecordSource& source, const AuditFilter& filter,
                                std::ostream& out) {
  if (!filter.type.empty() || !filter.tool.empty() || !filter.code.empty() ||
      !filter.text.empty() || filter.before_seq > 0 || filter.descending) {
    return Error::Invalid("export over a record source filters by time, agent and run only");
  }
  if (Status s = source.CheckReadable(); !s.ok()) return s.error();
  if (Status s = source.StartScan(); !s.ok()) return s.error();
  const std::optional<int64_t> since =
      filter.since ? std::optional<int64_t>(ToUnixMillis(*filter.since)) : std::nullopt;
  const std::optional<int64_t> until =
      filter.until ? std::optional<int64_t>(ToUnixMillis(*filter.until)) : std::nullopt;
  ExportStats stats;
  audit::AuditRow r;
  ScannedBody b;
  std::string problem;
  std::string line;
  for (;;) {
    Result<bool> more = source.Next(&r);
    if (!more.ok()) return more.error();
    if (!*more) break;
    if (r.seq <= filter.after_seq || (since && r.time_ms < *since) ||
        (until && r.time_ms >= *until) ||
        (!filter.agent_id.empty() && r.agent_id != filter.agent_id) ||
        (!filter.run_id.empty() && r.run_id != filter.run_id)) {
      continue;
    }
    ExportLine(r.seq, r.body, r.hash, r.prev_hash, &b, &problem, &line);
    if (Status s = Emit(out, line, r.seq, &stats); !s.ok()) return s.error();
  }
  out.flush();
  return stats;
}

Result<TimePoint> ParseDateArg(std::string_view text, bool end_of_day) {
  if (text.size() == 10 && text[4] == '-' && text[7] == '-') {
    Result<TimePoint> t = ParseRfc3339(std::string(text) + "T00:00:00Z");
    if (!t.ok()) return Error::Invalid("invalid date \"" + std::string(text) + "\"");
    return end_of_day ? *t + std::chrono::hours(24) : *t;
  }
  Result<TimePoint> t = ParseRfc3339(text);
  if (!t.ok()) {
    return Error::Invalid("invalid time \"" + std::string(text) +
                          "\": use YYYY-MM-DD or RFC 3339 (2026-11-22T10:00:00Z)");
  }
  return t;
}

}  // namespace interlock::audit

#include "audit/export.h"

#include <ostream>

#include <boost/json/object.hpp>

#include "audit/audit_log.h"
#include "audit/record_scan.h"
#include "audit/record_source.h"
#include "common/json.h"

namespace interlock::audit {

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

Status EmitExportLine(std::ostream& out, const std::string& line, int64_t seq, ExportStats* stats) {
  out.write(line.data(), static_cast<std::streamsize>(line.size()));
  if (!out) return Error::Unavailable("export output failed (disk full or pipe closed)");
  if (stats->records == 0) stats->first_seq = seq;
  stats->last_seq = seq;
  ++stats->records;
  return Status::Ok();
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
    if (Status s = EmitExportLine(out, line, r.seq, &stats); !s.ok()) return s.error();
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

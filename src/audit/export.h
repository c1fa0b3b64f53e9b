// Streaming export of audit records as JSON lines, for a SIEM or an investigator.
//
// Each line is the record's canonical body with its chain hash added:
//   {"agent_id":..,"call_id":..,"data":{..},"hash":"<this record>","prev":"<previous>",
//    "principal":..,"run_id":..,"seq":N,"time":..,"type":..}
// so a consumer re-verifies the chain itself: drop "hash", serialise canonically (keys
// sorted by bytes, no whitespace) to get the body, and check
//   hash == SHA-256("interlock.audit.v1" 0x00 prev 0x00 body)  and  prev == previous hash.
// Records are read in seq order with one statement, in constant memory.
// Thread-safety: uses `db` for the duration of the call; one thread at a time.
#ifndef INTERLOCK_AUDIT_EXPORT_H_
#define INTERLOCK_AUDIT_EXPORT_H_

#include <cstdint>
#include <iosfwd>
#include <optional>
#include <string>

#include "audit/audit_query.h"
#include "common/time.h"
#include "interlock/result.h"

struct sqlite3;

namespace interlock::audit {
class RecordSource;
}  // namespace interlock::audit

namespace interlock::audit {

struct ExportStats {
  int64_t records = 0;
  int64_t first_seq = 0;
  int64_t last_seq = 0;
};

// Writes one line per matching record to `out`. A record whose stored body is not in
// the canonical shape is still exported, as {"seq":..,"hash":..,"prev":..,
// "corrupt_body":"<raw>","error":".."}, so an export never hides a tampered record.
Result<ExportStats> ExportJsonl(sqlite3* db, const AuditFilter& filter, std::ostream& out);

// The same over any backend (record_source.h; PostgreSQL: store/postgres_read.h): one scan
// of the log in seq order, filtered by time, agent and run as it streams (no index: the
// whole log is read). The console's filters (type, tool, code, text, before_seq,
// descending) are refused (kInvalidArgument). Lines are byte-identical to the SQLite
// export's.
Result<ExportStats> ExportJsonl(audit::RecordSource& source, const AuditFilter& filter,
                                std::ostream& out);

// Parses a --since/--until value: RFC 3339, or a date "YYYY-MM-DD" (midnight UTC; with
// end_of_day, the following midnight, so `--until 2026-11-22` includes that day).
Result<TimePoint> ParseDateArg(std::string_view text, bool end_of_day);

}  // namespace interlock::audit

#endif  // INTERLOCK_AUDIT_EXPORT_H_

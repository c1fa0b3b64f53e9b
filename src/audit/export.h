// Streaming export of audit records as JSON lines, for a SIEM or an investigator.
//
// Each line is the record's canonical body with its chain hash added:
//   {"agent_id":..,"call_id":..,"data":{..},"hash":"<this record>","prev":"<previous>",
//    "principal":..,"run_id":..,"seq":N,"time":..,"type":..}
// so a consumer re-verifies the chain itself: drop "hash", serialise canonically (keys
// sorted by bytes, no whitespace) to get the body, and check
//   hash == SHA-256("interlock.audit.v1" 0x00 prev 0x00 body)  and  prev == previous hash.
// Records are read in seq order, in constant memory. The SQLite store file's export (one
// statement, with the console's filters) is the SQLite store's, in src/store/.
// Thread-safety: uses the source for the duration of the call; one thread at a time.
#ifndef INTERLOCK_AUDIT_EXPORT_H_
#define INTERLOCK_AUDIT_EXPORT_H_

#include <cstdint>
#include <iosfwd>
#include <optional>
#include <string>
#include <string_view>

#include "audit/audit_query.h"
#include "common/time.h"
#include "interlock/result.h"

namespace interlock::audit {
class RecordSource;
struct ScannedBody;
}  // namespace interlock::audit

namespace interlock::audit {

struct ExportStats {
  int64_t records = 0;
  int64_t first_seq = 0;
  int64_t last_seq = 0;
};

// Writes one line per matching record to `out`, over any backend (record_source.h;
// PostgreSQL: store/postgres_read.h). A record whose stored body is not in the canonical
// shape is still exported, as {"seq":..,"hash":..,"prev":..,"corrupt_body":"<raw>",
// "error":".."}, so an export never hides a tampered record. One scan
// of the log in seq order, filtered by time, agent and run as it streams (no index: the
// whole log is read). The console's filters (type, tool, code, text, before_seq,
// descending) are refused (kInvalidArgument). Lines are byte-identical to the SQLite
// export's.
Result<ExportStats> ExportJsonl(audit::RecordSource& source, const AuditFilter& filter,
                                std::ostream& out);

// One export line for the stored record (seq, body, hash, prev) into `line` (cleared
// first, newline included): the body with "hash" before "prev", or, for a body that does not
// scan or whose seq differs, a corrupt_body line naming the problem. `b` and `problem` are
// scratch. Every backend's export writes its lines with these two.
void ExportLine(int64_t seq, std::string_view body, std::string_view hash, std::string_view prev,
                ScannedBody* b, std::string* problem, std::string* line);
// Writes `line` (record `seq`) to `out` and counts it in `stats`; kUnavailable when the
// output fails.
Status EmitExportLine(std::ostream& out, const std::string& line, int64_t seq, ExportStats* stats);

// Parses a --since/--until value: RFC 3339, or a date "YYYY-MM-DD" (midnight UTC; with
// end_of_day, the following midnight, so `--until 2026-11-22` includes that day).
Result<TimePoint> ParseDateArg(std::string_view text, bool end_of_day);

}  // namespace interlock::audit

#endif  // INTERLOCK_AUDIT_EXPORT_H_

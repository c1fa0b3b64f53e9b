// Reading history back for governance: a streaming cursor over audit records and a
// targeted parser for the fields governance needs from a "decision" record.
//
// Records are streamed in seq order by a core::HistorySource; only the members asked for
// are decoded, so a million records are read without building a JSON tree for each (the
// call's arguments are parsed only by callers that need them).
// Internal to src/governance. Thread-safety: as the source's.
#ifndef INTERLOCK_GOVERNANCE_HISTORY_H_
#define INTERLOCK_GOVERNANCE_HISTORY_H_

#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "core/ports/history_source.h"
#include "interlock/result.h"

namespace interlock::governance {

// Records come from a core::HistorySource (core/ports/history_source.h): the CLI's SQLite
// handle or the daemon's Store.
using RecordView = core::HistoryRecord;
using core::HistoryFilter;
using core::HistorySource;

// "30d", "12h", "45m" (before `now_ms`), a date "YYYY-MM-DD" or RFC 3339: the start of a
// window in Unix milliseconds.
Result<int64_t> ParseSince(std::string_view text, int64_t now_ms);

// --- targeted JSON access (for canonical JSON written by Interlock) ---

// The raw token of member `key` of JSON object `object`; false when absent or malformed.
bool FindMember(std::string_view object, std::string_view key, std::string_view* out);
// Iterates members of an object: fn(decoded key, raw value token). False when malformed.
bool ForEachMember(std::string_view object,
                   const std::function<void(std::string_view key, std::string_view value)>& fn);
// Iterates the elements of a JSON array token. False when malformed.
bool ForEachElement(std::string_view array, const std::function<void(std::string_view)>& fn);
bool TokenToU64(std::string_view token, uint64_t* out);
bool TokenToDouble(std::string_view token, double* out);
// A JSON string token decoded; "" when the token is not a string.
std::string TokenToString(std::string_view token);

// The fields of a "decision" record's data that governance uses.
struct DecisionFields {
  std::string_view tool;                              // raw string token
  std::string_view args;                              // raw object token
  std::string_view verdict, code, shadow_code, rule;  // raw tokens ("" when absent)
  uint64_t steps_after = 0;
  uint64_t tokens = 0;
  int64_t cost_micros = 0;
  int64_t elapsed_ms = 0;
  bool halted_after = false;
  std::string_view records_after;  // raw object token
  std::string_view rehearsal;      // raw object token of decision.rehearsal ("" when absent)
};

// Parses a decision record's data; false when a required field is missing.
bool ParseDecisionFields(std::string_view data, DecisionFields* out);

// The string member `key` of a record's data, decoded; "" when absent or not a string.
std::string MemberString(std::string_view object, std::string_view key);

// The median of `v` (the mean of the middle two for an even count); -1 when empty.
double Median(std::vector<double> v);

// An "approval" record as the reports read it.
struct ApprovalEvent {
  std::string event;                    // "requested", "granted", "denied", "voted", ...
  std::optional<int64_t> requested_ms;  // a later record: when its approval was requested
};

// Reads the approval records of a history in log order and remembers when each approval
// was requested, so a verdict knows how long its reviewer took (keyed by approval_id, or
// by call_id in records that have none). One instance per read.
class ApprovalRequests {
 public:
  ApprovalEvent Read(const RecordView& r);

 private:
  std::unordered_map<std::string, int64_t> requested_ms_;
};

}  // namespace interlock::governance

#endif  // INTERLOCK_GOVERNANCE_HISTORY_H_

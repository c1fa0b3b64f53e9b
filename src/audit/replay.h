// Reconstructs one run from the audit log alone: what the agent asked, what Interlock
// decided and why, what happened, who approved, and the budget consumed after each step.
//
// Built only from audit records (never from the mutable run tables), so it shows what
// the tamper-evident chain says. Arguments and outputs appear exactly as stored (secret
// arguments are already "hmac-sha256:..."). Each record's own hash is re-checked and a
// mismatch is flagged; `interlock audit verify` checks the whole chain.
// The what-if mode (re-deciding the recorded calls under another policy) is a separate
// consumer of RunReplay and lives elsewhere.
// Thread-safety: ReplayRun uses `db` for the duration of the call; the rest is pure.
#ifndef INTERLOCK_AUDIT_REPLAY_H_
#define INTERLOCK_AUDIT_REPLAY_H_

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <boost/json/object.hpp>
#include <boost/json/value.hpp>

#include "interlock/result.h"

namespace interlock::audit {

struct ReplayCall {
  int64_t seq = 0;  // the decision record
  std::string time;
  std::string call_id;
  std::string tool;
  boost::json::value args;  // as stored (redacted)
  std::string decision;     // allow | deny | approval_required
  std::string code;
  std::string reason;
  std::string rule;
  bool shadow = false;
  boost::json::object decision_json;  // the full stored decision object
  std::string policy_sha256;
  std::string traceparent;
  boost::json::object usage;                   // usage reported with the call
  boost::json::object state_after;             // run budget consumed after this step
  std::optional<boost::json::object> result;   // the "result" record's data (+seq, time)
  std::vector<boost::json::object> approvals;  // "approval" records' data (+seq, time)
  // A "decision_reconciled" record's data (+seq, time): the decision above was recorded
  // but not what the agent was told (a PostgreSQL COMMIT the synchronous standby did not
  // confirm; docs/audit.md). decision/code/reason are then those the agent was told.
  std::optional<boost::json::object> reconciled;
};

struct ReplayEvent {
  int64_t seq = 0;
  std::string time;
  std::string type;
  std::string call_id;
  std::string principal;
  boost::json::object data;
  bool hash_ok = true;  // the record's stored hash matches its body
};

struct RunReplay {
  std::string run_id;
  std::string agent_id;
  std::string status = "running";  // running | ended | halted
  std::string started;
  std::string ended;
  // The run's own workspace (a Claude Code session's project) and why it was refused, from
  // its run_started record; empty: the daemon's.
  std::string workspace;
  std::string workspace_refused;
  int64_t first_seq = 0;
  int64_t last_seq = 0;
  int64_t tampered = 0;               // records whose hash did not match
  std::vector<ReplayCall> calls;      // in decision order
  std::vector<ReplayEvent> timeline;  // every record of the run in seq order, plus kill
                                      // switch records that applied to it
  boost::json::object totals;         // the last state_after seen
};

// The backend-independent part, for any store's reader: one stored record as a timeline
// event (its body parsed, its hash re-checked; kCorrupt for a body that is not JSON), and
// the replay from a run's records in seq order, the run-less kill switch records between
// its first and last, and the agent_id column of its first record (the authority; "":
// taken from the decision records).
Result<ReplayEvent> ReplayEventFromRecord(int64_t seq, std::string_view body, std::string_view hash,
                                          std::string_view prev_hash);
Result<RunReplay> ReplayFromEvents(std::string_view run_id, std::vector<ReplayEvent> timeline,
                                   std::vector<ReplayEvent> kills, std::string_view agent_column);

boost::json::object ReplayToJson(const RunReplay& r);
// A readable table, one line per record, plus a header and the totals.
std::string ReplayToText(const RunReplay& r);

}  // namespace interlock::audit

#endif  // INTERLOCK_AUDIT_REPLAY_H_

// Graduated trust: evidence per (agent, tool) from the audit trail, incidents, promotion.
//
// Evidence, per agent and tool (action type), over the whole retained log:
//   clean     results with ok=true for calls that were allowed or approved, and not
//             marked as an incident;
//   clean_since_reset  the same, counted only after the last incident on that action type
//             (an incident resets eligibility);
//   incidents, denials (decision deny), approvals granted / denied.
// Eligible to graduate: clean_since_reset >= the agent's trust.graduation_threshold (and
// so zero incidents since the reset). Graduation is never automatic: PromoteTool() edits
// the policy file only when a reviewer asks and the evidence holds.
// Approval fatigue: per reviewer, decisions per active hour, median time from
// "requested" to the reviewer's verdict, and a flag when the median time to grant is
// under a floor (default 2 s): the gate has stopped enforcing anything.
// Writes (incident, trust_changed) go through the store's own audit append
// (core::Store::AppendRecords): on SQLite beside a running daemon, on PostgreSQL into the
// one chain every daemon of a fleet writes.
// Thread-safety: functions use the given store on the calling thread (the store's rules).
#ifndef INTERLOCK_GOVERNANCE_TRUST_H_
#define INTERLOCK_GOVERNANCE_TRUST_H_

#include <cstdint>
#include <map>
#include <string>
#include <utility>
#include <vector>

#include <boost/json/object.hpp>

#include "common/time.h"
#include "core/ports/history_source.h"
#include "interlock/result.h"
#include "policy/policy.h"

namespace interlock::core {
class Store;  // core/ports/store.h
}  // namespace interlock::core

namespace interlock::governance {

struct ToolEvidence {
  uint64_t calls = 0;
  uint64_t clean = 0;
  uint64_t clean_since_reset = 0;
  uint64_t incidents = 0;
  uint64_t denials = 0;
  uint64_t approvals_granted = 0;
  uint64_t approvals_denied = 0;
  int64_t last_incident_ms = 0;  // 0: none
};

struct ReviewerStats {
  uint64_t decisions = 0;  // granted + denied
  uint64_t granted = 0;
  uint64_t active_hours = 0;  // distinct clock hours with a decision
  double per_hour = 0;        // decisions / active_hours
  uint64_t max_per_hour = 0;
  double median_decide_s = -1;  // -1: no request time known
  double median_grant_s = -1;
  uint64_t fast_grants = 0;  // grants faster than the floor
  bool flagged = false;
};

struct TrustEvidence {
  // (agent, tool) -> evidence.
  std::map<std::pair<std::string, std::string>, ToolEvidence> tools;
  std::map<std::string, ReviewerStats> reviewers;
  // agent -> its decision records that could not be read (a damaged or altered log): each
  // may be a denial or a failure of any of its tools, so none of that agent's tools is
  // eligible, and `trust promote` refuses, while there is one.
  std::map<std::string, uint64_t> unreadable;
};

struct TrustOptions {
  std::string agent_id;          // empty: all
  double fatigue_floor_s = 2.0;  // grants faster than this are flagged
};

Result<TrustEvidence> CollectTrustEvidence(const core::HistorySource& source,
                                           const TrustOptions& options);

// One row of `interlock trust report`.
struct TrustRow {
  std::string agent_id, tool;
  std::string stage;  // effective autonomy from the policy
  uint64_t threshold = 0;
  ToolEvidence evidence;
  bool eligible = false;
  std::string next_stage;  // the stage it may graduate to ("" when none)
};

std::vector<TrustRow> TrustRows(const TrustEvidence& evidence, const policy::PolicySet& policies,
                                const std::string& agent_id);
boost::json::object TrustReportToJson(const std::vector<TrustRow>& rows,
                                      const TrustEvidence& evidence, double floor_s);
std::string TrustReportToText(const std::vector<TrustRow>& rows, const TrustEvidence& evidence,
                              double floor_s);

// `interlock incident mark`: appends an "incident" record for the call.
struct IncidentMark {
  std::string call_id, reason, by;
  TimePoint now;
};
// kNotFound when the store holds no decision record for the call.
Status MarkIncident(core::Store& store, const IncidentMark& mark);

// `interlock trust promote`.
struct PromoteRequest {
  std::string agent_id, tool, to_stage, reviewer;
  std::string policy_path;  // a file or directory; the agent's file is edited
  TimePoint now;
};
struct PromoteOutcome {
  bool refused = false;
  std::string message;  // why refused, or what changed
  std::string from, to;
  std::string file;  // the edited file
};
// Errors are for unusable input (unknown agent or tool, unreadable file, an edit that
// does not load); a refusal for lack of evidence is an Ok outcome with refused = true.
// The evidence is read from `store` and the trust_changed record appended to it; the
// policy file is replaced while the record is written and put back when it cannot be.
Result<PromoteOutcome> PromoteTool(core::Store& store, const PromoteRequest& request);

// The minimal text edit: sets `autonomy: STAGE` on the tool's entry under tools.allowed,
// keeping every other byte. Exposed for tests.
Result<std::string> SetToolAutonomyText(const std::string& text, const std::string& tool,
                                        const std::string& stage);

}  // namespace interlock::governance

#endif  // INTERLOCK_GOVERNANCE_TRUST_H_

// The governance reports as the console asks for them (GET /v1/governance/{drift,trust,
// fatigue}): one report as JSON, computed from the audit history against a policy by the
// same functions as `interlock drift --format json` and `interlock trust report --format
// json` (src/governance/), with the drift report's suggested tighter policy per agent. The
// door parses the query, caches and serialises; what a report says is computed here.
//
// Errors are values: the history source's (kUnavailable when the store cannot answer,
// kCancelled once its stop flag is set) and the governance functions'.
// Thread-safety: pure over its arguments; blocks on the history source (call it off a
// network thread).
#ifndef INTERLOCK_CORE_APP_GOVERNANCE_H_
#define INTERLOCK_CORE_APP_GOVERNANCE_H_

#include <cstdint>
#include <string>
#include <string_view>

#include <boost/json/object.hpp>

#include "core/ports/history_source.h"
#include "interlock/result.h"
#include "policy/policy.h"

namespace interlock::core {

// What one report is asked for.
struct GovernanceQuery {
  std::string agent_id;  // empty: every agent
  int days = 30;         // drift and fatigue window
  // Drift: the evidence a suggestion needs (as `interlock drift --min-runs --min-days`).
  uint64_t min_runs = 20;
  int min_days = 7;
};

// Report "drift", "trust" or any other name: "fatigue". `now_ms`: the end of the window
// (Unix milliseconds).
Result<boost::json::object> GovernanceReport(std::string_view report, const GovernanceQuery& query,
                                             const policy::PolicySet& set,
                                             const HistorySource& source, int64_t now_ms);

}  // namespace interlock::core

#endif  // INTERLOCK_CORE_APP_GOVERNANCE_H_

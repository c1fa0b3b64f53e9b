// Permission drift: what a policy grants that the agent did not exercise in a window.
//
// A grant counts as exercised only by calls whose recorded decision was not a deny
// (allowed, shadow-allowed or sent for approval): a tool that was only ever refused was
// not needed. For each agent of the PolicySet: allowed tools never exercised; values of
// one_of / allowed_<plural> lists never used by an exercised call; scope fields never
// requested; budget headroom (the largest run's steps, and the highest tokens, cost and
// wall clock any call saw, against the limits); and whether the policy was used at all.
// Suggest() turns a report into policy::PolicyEdits whose result keeps every exercised
// call's decision: budgets become max(needed, used x kBudgetMargin) rounded up (steps and
// tokens to integers, cost to cents, wall clock to seconds), never below what was used
// and never above the current limit.
// Thread-safety: RunDrift uses `db` on the calling thread only.
#ifndef INTERLOCK_GOVERNANCE_DRIFT_H_
#define INTERLOCK_GOVERNANCE_DRIFT_H_

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include <boost/json/object.hpp>

#include "interlock/result.h"
#include "policy/policy.h"
#include "policy/writer.h"

struct sqlite3;

namespace interlock::governance {

inline constexpr double kBudgetMargin = 1.25;

struct DriftOptions {
  int64_t since_ms = 0;
  std::string agent_id;  // empty: every agent in the PolicySet
};

struct UnusedValues {
  std::string tool, rule, argument;
  std::vector<std::string> values;  // canonical JSON of each unused value
  std::vector<size_t> indices;      // their positions in the list
  bool all_unused = false;          // no exercised call carried the argument
};

struct UnusedScope {
  std::string tool;
  std::vector<std::string> fields;
};

struct BudgetHeadroom {
  std::string name;                 // execution.max_steps, ...
  std::optional<double> limit;      // in the policy's unit (steps, tokens, USD, seconds)
  double used = 0;                  // largest run steps / highest value a call saw
  std::optional<double> suggested;  // set when it is lower than the limit
};

struct AgentDrift {
  std::string agent_id, file;
  uint64_t calls = 0;      // decisions in the window
  uint64_t exercised = 0;  // of which not denied
  std::vector<std::string> unused_tools;
  std::vector<UnusedValues> unused_values;
  std::vector<UnusedScope> unused_scope;
  std::vector<BudgetHeadroom> budgets;
  // Raw suggestions in engine units.
  std::optional<uint64_t> suggest_steps, suggest_tokens;
  std::optional<int64_t> suggest_cost_micros, suggest_wall_ms;
};

struct DriftReport {
  int64_t since_ms = 0;
  std::vector<AgentDrift> agents;
};

Result<DriftReport> RunDrift(sqlite3* db, const policy::PolicySet& policies,
                             const DriftOptions& options);

policy::PolicyEdits Suggest(const AgentDrift& drift);

boost::json::object DriftToJson(const DriftReport& r);
std::string DriftToText(const DriftReport& r);

}  // namespace interlock::governance

#endif  // INTERLOCK_GOVERNANCE_DRIFT_H_

// Permission drift: what a policy grants that the agent did not exercise in a window.
//
// A grant counts as exercised only by calls whose recorded decision was not a deny
// (allowed, shadow-allowed or sent for approval): a tool that was only ever refused was
// not needed. For each agent of the PolicySet: allowed tools never exercised; values of
// one_of / allowed_<plural> lists never used by an exercised call; scope fields never
// requested; budget headroom (the largest run's steps, and the highest tokens, cost and
// wall clock any call saw, against the limits); and whether the policy was used at all.
// Suggest() turns a report into policy::PolicyEdits whose result keeps every exercised
// call's decision, and only when the report rests on enough evidence: at least
// DriftOptions::min_runs runs spanning at least min_days days (one short run says
// nothing about the next). Budgets keep headroom over what was observed per run:
// max(largest x kHeadroomOverMax, p99 x kHeadroomOverP99) rounded up (steps and tokens
// to integers, cost to cents, wall clock to seconds), always above the largest value
// seen and never above the current limit.
// Thread-safety: RunDrift reads `source` on the calling thread only.
#ifndef INTERLOCK_GOVERNANCE_DRIFT_H_
#define INTERLOCK_GOVERNANCE_DRIFT_H_

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include <boost/json/object.hpp>

#include "core/ports/history_source.h"
#include "interlock/result.h"
#include "policy/policy.h"
#include "policy/writer.h"

namespace interlock::governance {

inline constexpr double kHeadroomOverMax = 1.5;
inline constexpr double kHeadroomOverP99 = 2.0;
inline constexpr uint64_t kDefaultMinRuns = 20;
inline constexpr double kDefaultMinDays = 7;

struct DriftOptions {
  int64_t since_ms = 0;
  std::string agent_id;  // empty: every agent in the PolicySet
  // The evidence a suggestion needs: runs seen, and days from the first to the last call.
  uint64_t min_runs = kDefaultMinRuns;
  double min_days = kDefaultMinDays;
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
  double used = 0;                  // the largest run's value (steps, tokens, ...)
  double p99 = 0;                   // 99th percentile over runs (nearest rank)
  std::optional<double> suggested;  // set when there is enough evidence and it is lower
};

struct AgentDrift {
  std::string agent_id, file;
  uint64_t calls = 0;      // decisions in the window
  uint64_t exercised = 0;  // of which not denied
  // Decision records of the agent in the window that could not be read (corrupt data or
  // arguments): they may have used any grant, so their presence makes the evidence
  // insufficient (enough_evidence false) and the agent is never "never used".
  uint64_t unreadable = 0;
  // The evidence: runs with a decision in the window, the days from the first decision
  // to the last, and whether that meets DriftOptions' minimum (else Suggest() is empty).
  uint64_t runs = 0;
  double days = 0;
  uint64_t min_runs = kDefaultMinRuns;
  double min_days = kDefaultMinDays;
  bool enough_evidence = false;
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

Result<DriftReport> RunDrift(const core::HistorySource& source, const policy::PolicySet& policies,
                             const DriftOptions& options);

policy::PolicyEdits Suggest(const AgentDrift& drift);

boost::json::object DriftToJson(const DriftReport& r);
std::string DriftToText(const DriftReport& r);

}  // namespace interlock::governance

#endif  // INTERLOCK_GOVERNANCE_DRIFT_H_

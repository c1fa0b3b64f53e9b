// The decision engine: a pure function of (AgentPolicy, RunState, ToolCall, context).
//
// No I/O, no clock, no globals: everything it needs is passed in, so it is trivially
// testable, benchmarkable and replayable against recorded history. The caller (the
// Guard in src/core) reads the run state, calls Evaluate(), and persists the Effects
// atomically together with the decision.
//
// Order of checks (the first that applies gives the code):
//   front-door refusal (ToolCall::refusal_reason), kill switch, unknown agent, halted run, budgets
//   (steps, tokens, cost, wall clock), blocked, not allowed, freeze, workflow, arguments
//   (constraints, scope, records), rate limits and quotas, flows, approval, allow.
// Rules over sequences (workflow, flows, rate limits, quotas; sequence.h) read only what
// they are given: the run's workflow position and labels in RunState, the agent's
// cross-run counts in EvalContext::usage.
// Thread-safety: Evaluate() is reentrant; inputs are read-only.
#ifndef INTERLOCK_ENGINE_ENGINE_H_
#define INTERLOCK_ENGINE_ENGINE_H_

#include <chrono>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include <boost/json/value.hpp>

#include "common/path_resolver.h"
#include "interlock/decision.h"
#include "interlock/tool_call.h"
#include "policy/policy.h"

namespace interlock::engine {

// An engaged kill switch that covers this call (global, its agent, or its run).
struct KillSwitch {
  std::string scope;  // "global" | "agent" | "run"
  std::string reason;
};

// What the store counted across every run of the agent, for rate limits and quotas.
// Denied calls are never counted. The caller counts the window of the rule that applies
// to the call (RateLimitFor()); day totals are over the current UTC day and include this
// call's reported usage (as RunState does for budgets).
struct AgentUsage {
  uint64_t window_calls = 0;     // counted calls of the rate-limited tool in its window
  int64_t window_oldest_ms = 0;  // age of the oldest of them (for retry_after_s)
  uint64_t day_calls = 0;        // counted calls today, this one excluded
  uint64_t day_tokens = 0;
  int64_t day_cost_micros = 0;
};

struct EvalContext {
  std::chrono::system_clock::time_point now;  // wall-clock time, for freeze windows
  std::optional<KillSwitch> kill;             // set when a kill switch covers this call
  // Unset: the caller does not count across runs. A call a rate limit or quota applies to
  // is then denied (fail closed), never allowed unchecked.
  std::optional<AgentUsage> usage;
  // The human the agent acts for (a verified JWT's on_behalf_of claim; "" when none) and
  // that human's groups, read only by tools whose rule has on_behalf_of. Not owned.
  std::string_view on_behalf_of;
  const std::vector<std::string>* on_behalf_of_groups = nullptr;
  // The call's tool as the caller already resolved it under the same policy
  // (AgentPolicy::Resolve(call.tool)), so that a decision resolves its tool once. Used
  // only when it is an exact entry named like call.tool; else (and when nullptr) Evaluate
  // resolves the tool itself. Not owned.
  const policy::ToolResolution* resolved = nullptr;
  // Where a path-typed argument (a constraint with path_prefix) learns the path the OS
  // will open: its `path_prefix`, `pattern` and `not_pattern` must then pass on that form
  // too, with each prefix resolved the same way (docs/policy.md, "Symbolic links"). Null:
  // lexical only (replay of recorded history). Not owned.
  const PathResolver* paths = nullptr;
};

// A move of the run's workflow: the new state and the variables to bind (a value) or
// unbind (nullopt: the argument was absent).
struct WorkflowMove {
  std::string to;
  std::vector<std::pair<std::string, std::optional<boost::json::value>>> bind;
  std::string rule;  // the transition that fired
};

// What a call that proceeds adds to the run's sequence state.
struct SequenceEffects {
  std::vector<std::string> add_labels;  // the labels the tool carries
  std::optional<WorkflowMove> move;     // a transition `on: allowed` that fired
};

// State changes the caller must persist with the decision, in one transaction.
struct Effects {
  uint64_t steps = 1;    // every evaluated call is a step, denied ones too
  uint64_t records = 0;  // records this call touches (longest array arg, or 1)
  // True when the call proceeds now (allow, shadow allow): then, and only then, records are
  // consumed and `sequence` applies. A denied call changes no label and no workflow state.
  bool consume_records = false;
  bool halt = false;  // halt the run from now on
  std::string halt_reason;
  SequenceEffects sequence;  // last, so positional initialisers of the fields above still work
};

struct Evaluation {
  Decision decision;
  Effects effects;
};

// `policy` may be nullptr: the agent is unknown (UNKNOWN_AGENT). `state` is the run as
// it stands before this call, with this call's reported usage already added.
Evaluation Evaluate(const policy::AgentPolicy* policy, const RunState& state, const ToolCall& call,
                    const EvalContext& ctx);

// The agent's view of one tool, the same for every door (MCP tools/list over stdio and
// Streamable HTTP, the daemon's POST /v1/tools/view): `visible` when the tool is allowed
// and not blocked, or always in shadow mode (shadow records, never enforces); `scope`
// (set only for a visible tool whose rule has one) is the top-level fields of a result's
// structuredContent the agent may see. `policy` may be nullptr (an unknown agent: nothing
// is visible).
struct ToolView {
  bool visible = false;
  std::optional<std::vector<std::string>> scope;
};
ToolView ViewTool(const policy::AgentPolicy* policy, std::string_view tool);
inline bool ToolVisible(const policy::AgentPolicy* policy, std::string_view tool) {
  return ViewTool(policy, tool).visible;
}

// Records a call touches: the item count of its longest top-level array argument (the
// tool's scope field list excluded), at least 1, so that a call is never free. `rule`
// may be null (a tool the policy does not allow). Exposed so that what-if replay counts
// exactly as the engine does.
uint64_t CountRecords(const boost::json::object& args, const policy::ToolRule* rule);

// Applies effects to a run state (used by in-memory runs and tests).
void ApplyEffects(const Effects& effects, std::string_view tool, RunState* state);

// The labels a call carries into the run: the tool rule's `labels:` when the policy writes
// them (policy::ToolRule::labels_written, or any label), else the labels the tool declares
// for itself through its front door (ToolCall::declared_labels: MCP annotations). Untrusted
// declarations can only add labels to a tool the policy says nothing about; they never
// replace or remove the policy's. `rule` may be nullptr (no labels).
const std::vector<std::string>& CallLabels(const policy::ToolRule* rule, const ToolCall& call);

// Whether calls of `rule` carry the labels their tool declares (the policy writes none):
// the one test CallLabels and the engine's Decision::declared_labels share.
inline bool TakesDeclaredLabels(const policy::ToolRule* rule) {
  return rule != nullptr && !rule->labels_written && rule->labels.empty();
}

// What `call` adds to the run's sequence state when it proceeds: its tool's labels and
// the first transition `on: allowed` of the current state that matches. Evaluate() fills
// Effects::sequence with it for an allowed call; a store calls it again when it releases
// a call a human approved. `policy` may be nullptr (nothing).
SequenceEffects ProceedEffects(const policy::AgentPolicy* policy, const RunState& state,
                               const ToolCall& call);

// The workflow move a reported result of `call` makes from the run's current state: the
// first transition `on: ok` (ok) or `on: error` (!ok) for the call's tool whose
// conditions hold. nullopt: no transition fires and the run stays where it is. The result
// is judged against the state the run is in when the result arrives.
std::optional<WorkflowMove> ResultMove(const policy::AgentPolicy* policy, const RunState& state,
                                       const ToolCall& call, bool ok);

// `state` with ResultMove() applied: the run's new workflow state and variables.
RunState ApplyResult(const policy::AgentPolicy* policy, const RunState& state, const ToolCall& call,
                     bool ok);

// Applies a workflow move to a run state.
void ApplyMove(const WorkflowMove& move, RunState* state);

// The rate limit that applies to calls of `tool`, and the key the caller counts its
// window under (the tool rule's name: a pattern rule's limit is shared by the tools it
// matches). nullptr: none.
const policy::RateLimit* RateLimitFor(const policy::AgentPolicy* policy, std::string_view tool,
                                      std::string* key = nullptr);
// The same for a rule already resolved (a Guard that resolved the tool for its redaction
// list too); rule null: none.
const policy::RateLimit* RateLimitOfRule(const policy::ToolRule* rule, std::string* key = nullptr);

}  // namespace interlock::engine

#endif  // INTERLOCK_ENGINE_ENGINE_H_

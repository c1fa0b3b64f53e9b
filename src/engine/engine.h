// The decision engine: a pure function of (AgentPolicy, RunState, ToolCall, context).
//
// No I/O, no clock, no globals: everything it needs is passed in, so it is trivially
// testable, benchmarkable and replayable against recorded history. The caller (the
// Guard in src/core) reads the run state, calls Evaluate(), and persists the Effects
// atomically together with the decision.
//
// Order of checks (the first that applies gives the code):
//   front-door refusal (ToolCall::refusal_reason), kill switch, unknown agent, halted run, budgets
//   (steps, tokens, cost, wall clock), blocked, not allowed, freeze, arguments (constraints, scope,
//   records), approval, allow.
// Thread-safety: Evaluate() is reentrant; inputs are read-only.
#ifndef INTERLOCK_ENGINE_ENGINE_H_
#define INTERLOCK_ENGINE_ENGINE_H_

#include <chrono>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "interlock/decision.h"
#include "interlock/tool_call.h"
#include "policy/policy.h"

namespace interlock::engine {

// An engaged kill switch that covers this call (global, its agent, or its run).
struct KillSwitch {
  std::string scope;  // "global" | "agent" | "run"
  std::string reason;
};

struct EvalContext {
  std::chrono::system_clock::time_point now;  // wall-clock time, for freeze windows
  std::optional<KillSwitch> kill;             // set when a kill switch covers this call
};

// State changes the caller must persist with the decision, in one transaction.
struct Effects {
  uint64_t steps = 1;            // every evaluated call is a step, denied ones too
  uint64_t records = 0;          // records this call touches (longest array arg, or 1)
  bool consume_records = false;  // true when the call proceeds now (allow, shadow allow)
  bool halt = false;             // halt the run from now on
  std::string halt_reason;
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

}  // namespace interlock::engine

#endif  // INTERLOCK_ENGINE_ENGINE_H_

#include "interlock/tool_call.h"
#include "common/saturating.h"

#include <algorithm>
#include <limits>

namespace interlock {

namespace {

// dst = src for a map, assigning values in place when both have the same keys.
template <typename Map>
void AssignMap(const Map& src, Map* dst) {
  if (dst->size() == src.size() &&
      std::equal(src.begin(), src.end(), dst->begin(),
                 [](const auto& a, const auto& b) { return a.first == b.first; })) {
    auto d = dst->begin();
    for (const auto& kv : src) (d++)->second = kv.second;
    return;
  }
  *dst = src;
}

}  // namespace

void AssignRunState(const RunState& src, RunState* dst) {
  // Every member by name: a member added to RunState makes this binding fail to compile
  // until it is assigned here too.
  const auto& [steps, tokens, cost_micros, elapsed_ms, halted, halt_reason, records, workflow_state,
               workflow_vars, labels, grants, workspace, workspace_refused] = src;
  dst->steps = steps;
  dst->tokens = tokens;
  dst->cost_micros = cost_micros;
  dst->elapsed_ms = elapsed_ms;
  dst->halted = halted;
  dst->halt_reason = halt_reason;  // std::string assignment reuses the capacity
  AssignMap(records, &dst->records);
  dst->workflow_state = workflow_state;
  AssignMap(workflow_vars, &dst->workflow_vars);
  if (dst->labels != labels) dst->labels = labels;
  AssignMap(grants, &dst->grants);
  dst->workspace = workspace;
  dst->workspace_refused = workspace_refused;
}

void AddUsage(const Usage& usage, RunState* state) {
  state->tokens = SaturatingAdd(state->tokens, usage.tokens);
  if (usage.cost_micros > 0)
    state->cost_micros = SaturatingAdd(state->cost_micros, usage.cost_micros);
}

}  // namespace interlock

// Child runs (docs/governance.md#child-runs): a run started by another run (a Claude Code
// sub-agent, a framework's handoff) holds no more than its parent.
//
//   - its policy: the one named agent_id + "/" + role where the policy set has it, else
//     its agent's own (RunPolicy); and every call is evaluated under the policy of every
//     run of its line too (the child, its parent, theirs): the strictest verdict stands
//     (deny, then approval, then rehearsal, then allow), so a child never does what an
//     ancestor may not (CombineLine);
//   - its budgets: a call is a step of every run of its line, and its reported usage is
//     added to each, in one transaction (each policy judges its own run's totals);
//   - its end: a child whose ancestor has ended has ended too; a kill switch covering an
//     ancestor covers its descendants.
// The rules here run inside a store's transaction (decide_txn.cc, run_txn.cc); nothing
// in a door repeats them.
#ifndef INTERLOCK_CORE_LINEAGE_H_
#define INTERLOCK_CORE_LINEAGE_H_

#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "common/path_resolver.h"
#include "common/time.h"
#include "core/app/policy_source.h"
#include "core/ports/run_store.h"
#include "core/ports/state_txn.h"
#include "engine/engine.h"
#include "policy/policy.h"

namespace interlock::core {

// The deepest tree a store will walk, whatever ChildRunLimits allow (a bound on a
// corrupt row's loop).
inline constexpr int kMaxRunDepth = 32;

// What one evaluation needs besides the policy, the call, the run and the kill switch.
struct EvalSettings {
  TimePoint now;
  std::string_view on_behalf_of;
  const std::vector<std::string>* on_behalf_of_groups = nullptr;
  const PathResolver* paths = nullptr;  // null: lexical paths
  bool keeps_sequence_state = true;     // RunStore::KeepsSequenceState
  // The call's tool resolved under the same policy (engine::EvalContext::resolved).
  const policy::ToolResolution* resolved = nullptr;
  // The policies' source, for a run with a workspace of its own (EvaluateRunCall). Not
  // owned; null: no run's workspace is honoured (its calls are refused).
  const PolicySource* source = nullptr;
};

// The evaluation of `call` under `agent` (null: UNKNOWN_AGENT) for a run in `state`: the
// engine's, covered by the run's grants (CoverByRunGrant), and a deny when the policy has a
// workflow or flow rules the store cannot keep the history of. The Guard's step and a
// child run's line both evaluate through it.
engine::Evaluation EvaluateCall(const policy::AgentPolicy* agent, const ToolCall& call,
                                const RunState& state,
                                const std::optional<engine::KillSwitch>& kill,
                                const std::optional<engine::AgentUsage>& usage,
                                const EvalSettings& s);

// The evaluation of `call` for a run in `state` under `agent` (of the snapshot `set`): a
// run with a workspace of its own (a Claude Code session's project, RunState::workspace)
// is decided under `agent` compiled for it (PolicySource::ForWorkspace, through
// s.source; s.resolved is not used then), and refused (SCOPE_VIOLATED, rule
// "workspace_roots") when its workspace was refused at the run's start, lies outside the
// policy's workspace_roots now (a reload may narrow them) or does not compile; a kill
// switch's deny stands over that refusal. Any other run: EvaluateCall.
engine::Evaluation EvaluateRunCall(const policy::PolicySet* set, const policy::AgentPolicy* agent,
                                   const ToolCall& call, const RunState& state,
                                   const std::optional<engine::KillSwitch>& kill,
                                   const std::optional<engine::AgentUsage>& usage,
                                   const EvalSettings& s);

// The policy a run of `agent_id` in `role` decides under: the one `mapped` names for
// agent_id + "/" + role (null when it is not loaded: the call is refused, never decided
// under a wider policy), else agent_id + "/" + role where `set` has it, else agent_id's
// (null when neither exists or set is null). *policy_id (may be null) is told the id
// looked up last.
const policy::AgentPolicy* RunPolicy(const policy::PolicySet* set, std::string_view agent_id,
                                     std::string_view role, const RolePolicies* mapped,
                                     std::string* policy_id = nullptr);

// One ancestor of a run, loaded for update, nearest first.
struct Ancestor {
  std::string run_id;
  RunRow row;
};

// The ancestors of a run whose row is `row`, nearest first (none for a root run). A line
// deeper than kMaxRunDepth, or a parent that is missing, is kCorrupt.
Result<std::vector<Ancestor>> LoadAncestors(StateTxn& txn, const RunRow& row);

// Why a run with these ancestors counts as ended ("" when none has ended).
std::string EndedLineRefusal(std::string_view run_id, const std::vector<Ancestor>& line);

// The engaged kill switch covering (agent_id, run_id) or any of its ancestors (each under
// its own agent), the run's own first.
Result<std::optional<engine::KillSwitch>> LineKill(StateTxn& txn, std::string_view agent_id,
                                                   std::string_view run_id,
                                                   const std::vector<Ancestor>& line);

// One run's verdict on a call of its line, as the record names it.
struct LineVerdict {
  std::string run_id;
  std::string policy_id;
  Decision decision;
};

// The verdict of the line: the strictest of `own` (the child's evaluation, first in
// `line`) and the ancestors' (the rest of `line`, in order; the first of equals stands).
// When an ancestor's stands, *own takes its decision (reason prefixed with the run and
// policy that refused), and a call that does not proceed spends no records and moves no
// sequence state in any run of the line: each run's effects (`ancestor_effects`, in the
// order of line[1..]) are cut back the same way.
void CombineLine(const std::vector<LineVerdict>& line, engine::Evaluation* own,
                 std::vector<engine::Effects>* ancestor_effects);

// The record's "lineage" member: [{"code","policy","rule","run_id","verdict"}, ...] for
// each run of the line, canonical, appended to *out.
void AppendLineJson(const std::vector<LineVerdict>& line, std::string* out);

// Adds `usage` to every ancestor of a run (their budgets count their children's spend)
// and saves them; a no-op for a root run. Call before saving the run itself.
Status ChargeAncestors(StateTxn& txn, const RunRow& row, const Usage& usage);

// Creates a child run (RunStore::CreateChildRun): the parent exists, belongs to rq.agent_id
// or one of rq.delegating_agents, has not ended (nor any ancestor), is covered by no kill
// switch; the child's depth is within rq.limits.max_depth and the parent has fewer than
// rq.limits.max_live_children children not ended. Appends "run_started" with the parent,
// role and depth. kNotFound, kPermissionDenied, kInvalidArgument (ended, killed, over a
// bound), kAlreadyExists (the id is taken).
Status CreateChildRunInTxn(StateTxn& txn, const ChildRunRequest& rq, RunInfo* out);

}  // namespace interlock::core

#endif  // INTERLOCK_CORE_LINEAGE_H_

#include "core/lineage.h"

#include <algorithm>
#include <utility>

#include "common/json_write.h"
#include "common/status_macros.h"
#include "core/approval_rules.h"
#include "core/workspace.h"

namespace interlock::core {

namespace {

// How strict a verdict is: a line's strictest stands.
int Strictness(Verdict v) {
  switch (v) {
    case Verdict::kDeny:
      return 3;
    case Verdict::kApprovalRequired:
      return 2;
    case Verdict::kRehearsalRequired:
      return 1;
    case Verdict::kAllow:
      return 0;
  }
  return 3;
}

// A call that does not proceed spends no records and moves no sequence state.
void NotProceeding(engine::Effects* fx) {
  fx->consume_records = false;
  fx->sequence = {};
}

}  // namespace

engine::Evaluation EvaluateCall(const policy::AgentPolicy* agent, const ToolCall& call,
                                const RunState& state,
                                const std::optional<engine::KillSwitch>& kill,
                                const std::optional<engine::AgentUsage>& usage,
                                const EvalSettings& s) {
  engine::EvalContext ctx{s.now, kill, usage};
  ctx.on_behalf_of = s.on_behalf_of;
  ctx.on_behalf_of_groups = s.on_behalf_of_groups;
  ctx.resolved = s.resolved;
  ctx.paths = s.paths;
  engine::Evaluation ev = engine::Evaluate(agent, state, call, ctx);
  // An approval given for the rest of this run covers the call (docs/approvals.md).
  CoverByRunGrant(agent, state, call, &ev);
  // Workflows and flow rules judge a call by the run's history; a store that does not
  // keep it would make every call look like the first. Egress decisions read no history.
  const bool history_missing = agent != nullptr && call.kind == CallKind::kTool &&
                               (agent->workflow != nullptr || !agent->flows.empty()) &&
                               !s.keeps_sequence_state;
  if (history_missing && ev.decision.verdict != Verdict::kDeny) {
    Decision deny = DenyDecision(
        Code::kStoreUnavailable,
        "the policy of agent " + agent->id +
            " has a workflow or flow rules, and this store does not keep a run's "
            "workflow state and labels between calls: refused rather than decided without "
            "its history",
        "store.sequence_state");
    deny.agent_id = ev.decision.agent_id;
    deny.tool = ev.decision.tool;
    ev.decision = std::move(deny);
    NotProceeding(&ev.effects);
  }
  return ev;
}

engine::Evaluation EvaluateRunCall(const policy::PolicySet* set, const policy::AgentPolicy* agent,
                                   const ToolCall& call, const RunState& state,
                                   const std::optional<engine::KillSwitch>& kill,
                                   const std::optional<engine::AgentUsage>& usage,
                                   const EvalSettings& s) {
  if (agent == nullptr || (state.workspace.empty() && state.workspace_refused.empty())) {
    return EvaluateCall(agent, call, state, kill, usage, s);
  }
  std::string refused = state.workspace_refused;
  if (refused.empty() && !agent->workspace_roots.empty() &&
      !WithinWorkspaceRoots(state.workspace, agent->workspace_roots)) {
    refused =
        "the session's workspace " + state.workspace + " lies outside the policy's workspace_roots";
  }
  std::shared_ptr<const policy::AgentPolicy> compiled;
  if (refused.empty() && agent->workspace_source != nullptr) {
    Result<std::shared_ptr<const policy::AgentPolicy>> r =
        Error::Internal("the agent's policy is not in its snapshot");
    if (s.source != nullptr && set != nullptr) {
      if (auto it = set->agents.find(agent->id); it != set->agents.end()) {
        r = s.source->ForWorkspace(it->second, state.workspace);
      }
    }
    if (r.ok()) {
      compiled = std::move(*r);
    } else {
      refused = "the policy of agent " + agent->id + " does not load with the session's " +
                "workspace " + state.workspace + ": " + r.error().message;
    }
  }
  if (refused.empty() && compiled == nullptr)
    return EvaluateCall(agent, call, state, kill, usage, s);
  if (refused.empty()) {
    // The tool resolved by the caller points into the base policy: resolved again.
    EvalSettings own = s;
    own.resolved = nullptr;
    return EvaluateCall(compiled.get(), call, state, kill, usage, own);
  }
  engine::Evaluation ev = EvaluateCall(agent, call, state, kill, usage, s);
  if (ev.decision.code != Code::kKillSwitch) {
    Decision deny = DenyDecision(Code::kScopeViolated, std::move(refused), "workspace_roots");
    deny.agent_id = ev.decision.agent_id;
    deny.tool = ev.decision.tool;
    ev.decision = std::move(deny);
    NotProceeding(&ev.effects);
  }
  return ev;
}

const policy::AgentPolicy* RunPolicy(const policy::PolicySet* set, std::string_view agent_id,
                                     std::string_view role, const RolePolicies* mapped,
                                     std::string* policy_id) {
  if (set == nullptr) return nullptr;
  if (!role.empty()) {
    std::string id = std::string(agent_id) + "/" + std::string(role);
    if (mapped != nullptr) {
      if (auto it = mapped->find(id); it != mapped->end()) {
        if (policy_id != nullptr) *policy_id = it->second;
        return set->Find(it->second);
      }
    }
    if (const policy::AgentPolicy* p = set->Find(id); p != nullptr) {
      if (policy_id != nullptr) *policy_id = std::move(id);
      return p;
    }
  }
  if (policy_id != nullptr) *policy_id = std::string(agent_id);
  return set->Find(agent_id);
}

Result<std::vector<Ancestor>> LoadAncestors(StateTxn& txn, const RunRow& row) {
  if (row.parent_run_id.empty()) return std::vector<Ancestor>();  // a root run, the usual one
  std::vector<Ancestor> line;
  std::string parent = row.parent_run_id;
  while (!parent.empty()) {
    if (line.size() >= static_cast<size_t>(kMaxRunDepth)) {
      return Error::Corrupt("store: a line of runs deeper than " + std::to_string(kMaxRunDepth));
    }
    Result<RunRow> r = txn.LoadRunForUpdate(parent);
    if (!r.ok()) {
      if (r.error().kind != ErrorKind::kNotFound) return r.error();
      return Error::Corrupt("store: parent run " + parent + " is missing");
    }
    std::string next = r->parent_run_id;
    line.push_back(Ancestor{std::move(parent), std::move(r).value()});
    parent = std::move(next);
  }
  return line;
}

std::string EndedLineRefusal(std::string_view run_id, const std::vector<Ancestor>& line) {
  for (const Ancestor& a : line) {
    if (a.row.ended) {
      return "run " + std::string(run_id) + " has ended: its parent run " + a.run_id + " has ended";
    }
  }
  return "";
}

Result<std::optional<engine::KillSwitch>> LineKill(StateTxn& txn, std::string_view agent_id,
                                                   std::string_view run_id,
                                                   const std::vector<Ancestor>& line) {
  if (line.empty()) return txn.EngagedKill(agent_id, run_id);  // a root run: made in place
  Result<std::optional<engine::KillSwitch>> own = txn.EngagedKill(agent_id, run_id);
  if (!own.ok() || *own) return own;
  for (const Ancestor& a : line) {
    Result<std::optional<engine::KillSwitch>> k = txn.EngagedKill(a.row.agent_id, a.run_id);
    if (!k.ok()) return k;
    if (*k) {
      (*k)->reason +=
          " (it covers run " + a.run_id + ", an ancestor of run " + std::string(run_id) + ")";
      return k;
    }
  }
  return own;
}

void CombineLine(const std::vector<LineVerdict>& line, engine::Evaluation* own,
                 std::vector<engine::Effects>* ancestor_effects) {
  size_t strictest = 0;
  for (size_t i = 1; i < line.size(); ++i) {
    if (Strictness(line[i].decision.verdict) > Strictness(line[strictest].decision.verdict)) {
      strictest = i;
    }
  }
  if (strictest != 0) {
    const LineVerdict& by = line[strictest];
    Decision d = by.decision;
    d.reason = "parent run " + by.run_id + " (policy " + by.policy_id + "): " + d.reason;
    d.agent_id = own->decision.agent_id;
    d.tool = own->decision.tool;
    d.notifications.clear();  // an ancestor's escalations are not the child's to send
    own->decision = std::move(d);
    NotProceeding(&own->effects);
  }
  // Every run of the line proceeds with the call, or none does.
  const bool proceeds = own->effects.consume_records;
  for (engine::Effects& fx : *ancestor_effects) {
    if (!proceeds) NotProceeding(&fx);
  }
}

void AppendLineJson(const std::vector<LineVerdict>& line, std::string* out) {
  out->push_back('[');
  bool first = true;
  for (const LineVerdict& v : line) {
    if (!first) out->push_back(',');
    first = false;
    out->append("{\"code\":");
    AppendJsonString(CodeName(v.decision.code), out);
    out->append(",\"policy\":");
    AppendJsonString(v.policy_id, out);
    out->append(",\"rule\":");
    AppendJsonString(v.decision.rule, out);
    out->append(",\"run_id\":");
    AppendJsonString(v.run_id, out);
    out->append(",\"verdict\":");
    AppendJsonString(VerdictName(v.decision.verdict), out);
    out->push_back('}');
  }
  out->push_back(']');
}

Status ChargeAncestors(StateTxn& txn, const RunRow& row, const Usage& usage) {
  if (row.parent_run_id.empty() || (usage.tokens == 0 && usage.cost_micros == 0)) {
    return Status::Ok();
  }
  Result<std::vector<Ancestor>> line = LoadAncestors(txn, row);
  if (!line.ok()) return line.error();
  for (Ancestor& a : *line) {
    interlock::AddUsage(usage, &a.row.state);
    INTERLOCK_RETURN_IF_ERROR(txn.SaveRun(a.run_id, a.row));
  }
  return Status::Ok();
}

Status CreateChildRunInTxn(StateTxn& txn, const ChildRunRequest& rq, RunInfo* out) {
  Result<RunRow> parent = txn.LoadRunForUpdate(rq.parent_run_id);
  if (!parent.ok()) {
    if (parent.error().kind == ErrorKind::kNotFound) {
      return Error::NotFound("no parent run " + rq.parent_run_id);
    }
    return parent.error();
  }
  if (parent->agent_id != rq.agent_id &&
      std::find(rq.delegating_agents.begin(), rq.delegating_agents.end(), parent->agent_id) ==
          rq.delegating_agents.end()) {
    return Error::Denied("run " + rq.parent_run_id + " belongs to agent " + parent->agent_id +
                         ", which delegates nothing to agent " + rq.agent_id);
  }
  Result<std::vector<Ancestor>> line = LoadAncestors(txn, *parent);
  if (!line.ok()) return line.error();
  if (parent->ended) return Error::Invalid("parent run " + rq.parent_run_id + " has ended");
  if (std::string ended = EndedLineRefusal(rq.parent_run_id, *line); !ended.empty()) {
    return Error::Invalid(ended);
  }
  Result<std::optional<engine::KillSwitch>> kill =
      LineKill(txn, parent->agent_id, rq.parent_run_id, *line);
  if (!kill.ok()) return kill.error();
  if (*kill) {
    return Error::Invalid("parent run " + rq.parent_run_id + " is stopped: kill switch engaged (" +
                          (*kill)->scope + "): " + (*kill)->reason);
  }
  const int depth = parent->depth + 1;
  if (depth > std::min(rq.limits.max_depth, kMaxRunDepth)) {
    return Error::Invalid("a child of run " + rq.parent_run_id + " would be at depth " +
                          std::to_string(depth) + ", over the limit of " +
                          std::to_string(rq.limits.max_depth) + " (runs.max_depth)");
  }
  Result<int> live = txn.CountLiveChildren(rq.parent_run_id);
  if (!live.ok()) return live.error();
  if (*live >= rq.limits.max_live_children) {
    return Error::Invalid("run " + rq.parent_run_id + " has " + std::to_string(*live) +
                          " children running, the limit (runs.max_live_children)");
  }
  // A sub-agent works in its parent's project: the child takes the parent's workspace
  // (and its refusal), fixed as the parent's is.
  const RunWorkspace workspace{parent->state.workspace, parent->state.workspace_refused};
  NewRun run{rq.run_id, rq.agent_id, rq.now, rq.parent_run_id, rq.role, depth, workspace};
  INTERLOCK_RETURN_IF_ERROR(txn.InsertRun(run));
  if (txn.KeepsAudit()) {
    boost::json::object data = RunStartedData(workspace);
    data["depth"] = depth;
    data["parent_run_id"] = rq.parent_run_id;
    if (!rq.role.empty()) data["role"] = rq.role;
    txn.AppendAudit(audit::AuditEvent{audit::kRunStarted, rq.now, rq.run_id, "", rq.agent_id,
                                      rq.agent_id, std::move(data)});
  }
  *out = RunInfo{};
  out->run_id = rq.run_id;
  out->agent_id = rq.agent_id;
  out->started = rq.now;
  out->parent_run_id = rq.parent_run_id;
  out->role = rq.role;
  out->depth = depth;
  out->state.workspace = workspace.workspace;
  out->state.workspace_refused = workspace.refused;
  return Status::Ok();
}

}  // namespace interlock::core

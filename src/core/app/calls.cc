#include "core/app/calls.h"

#include <algorithm>
#include <chrono>
#include <utility>
#include <vector>

#include <boost/json.hpp>

#include "audit/audit_event.h"
#include "core/app/kills.h"
#include "core/run_txn.h"
#include "policy/workflow.h"

namespace interlock::core {

Calls::Calls(core::Store* store, const PolicySource* policies, const Clock* clock)
    : store_(store), policies_(policies), clock_(clock), approvals_(store, clock, policies) {}

Result<RunInfo> Calls::StartRun(std::string_view agent_id, std::string_view run_id) {
  return store_->CreateRun(agent_id, run_id, clock_->Now());
}

Result<RunInfo> Calls::JoinRun(std::string_view agent_id, std::string_view run_id,
                               const SessionOrigin* origin) {
  // A read first: the run exists on every event of a session but its first, and a
  // CreateRun that finds it is still a write (SqliteStore: a commit and an fsync).
  Result<RunInfo> run = store_->GetRun(run_id);
  if (!run.ok() && run.error().kind == ErrorKind::kNotFound) {
    RunWorkspace workspace;
    if (origin != nullptr) {
      std::shared_ptr<const policy::PolicySet> set = policies_->Current();
      auto agent = set ? set->agents.find(agent_id) : decltype(set->agents.end()){};
      const bool known = set && agent != set->agents.end();
      static const std::vector<std::string> kNone;
      workspace = ResolveSessionWorkspace(*origin, known ? agent->second->workspace_roots : kNone,
                                          HasGitEntry);
      // Compiled now, off the store's writer (the decision finds it cached).
      if (known && !workspace.workspace.empty() && workspace.refused.empty()) {
        (void)policies_->ForWorkspace(agent->second, workspace.workspace);
      }
    }
    run = store_->CreateRun(agent_id, run_id, clock_->Now(), workspace);
    if (run.ok() || run.error().kind != ErrorKind::kAlreadyExists) return run;
    run = store_->GetRun(run_id);  // another request of the session created it first
  }
  if (!run.ok()) return run;
  if (run->agent_id != agent_id) {
    return Error{ErrorKind::kPermissionDenied,
                 "run " + std::string(run_id) + " belongs to another agent"};
  }
  return run;
}

Result<size_t> Calls::HaltOverdueRuns(size_t max_runs) {
  const std::shared_ptr<const policy::PolicySet> set = policies_->Current();
  if (set == nullptr) return size_t{0};
  const TimePoint now = clock_->Now();
  size_t halted = 0;
  for (const auto& [agent_id, agent] : set->agents) {
    const std::optional<int64_t>& limit = agent->execution.max_wall_clock_ms;
    if (!limit || halted >= max_runs) continue;
    // Open runs of the agent started more than the limit ago: exactly the overdue ones.
    RunFilter f;
    f.agent_id = agent_id;
    f.state = RunListState::kActive;
    f.started_until = now - std::chrono::milliseconds(*limit);
    f.limit = std::min<size_t>(max_runs - halted, 1000);
    Result<RunPage> page = store_->ListRuns(f);
    if (!page.ok()) return page.error();
    for (const RunInfo& run : page->runs) {
      const std::string reason = "wall-clock limit of " + std::to_string(*limit / 1000) +
                                 " s reached: the run was halted at its deadline";
      if (Status s = store_->HaltRun(run.run_id, reason, "interlock (wall-clock deadline)", now);
          !s.ok()) {
        return s.error();
      }
      ++halted;
    }
  }
  return halted;
}

Result<RunInfo> Calls::StartChildRun(ChildRunRequest rq) {
  rq.now = clock_->Now();
  return store_->CreateChildRun(rq);
}

Result<RunInfo> Calls::JoinChildRun(ChildRunRequest rq) {
  Result<RunInfo> run = store_->GetRun(rq.run_id);
  if (!run.ok() && run.error().kind == ErrorKind::kNotFound) {
    run = StartChildRun(rq);
    if (run.ok() || run.error().kind != ErrorKind::kAlreadyExists) return run;
    run = store_->GetRun(rq.run_id);  // another event of the sub-agent created it first
  }
  if (!run.ok()) return run;
  if (run->agent_id != rq.agent_id || run->parent_run_id != rq.parent_run_id) {
    return Error{ErrorKind::kPermissionDenied, "run " + rq.run_id + " is not a child of run " +
                                                   rq.parent_run_id + " of this agent"};
  }
  return run;
}

Status Calls::EndRun(std::string_view run_id, std::string_view agent_id) {
  return store_->EndRun(run_id, agent_id, clock_->Now());
}

// The record type of an MCP session the daemon ended (docs/audit.md: mcp_session).
constexpr std::string_view kMcpSessionRecord = "mcp_session";

Status Calls::RecordMcpSessionEvicted(std::string_view run_id, std::string_view agent_id,
                                      std::string_view session, std::string_view upstream,
                                      std::string_view reason) {
  std::vector<audit::AuditEvent> events;
  events.push_back(audit::AuditEvent{
      kMcpSessionRecord, clock_->Now(), std::string(run_id), "", std::string(agent_id), "interlock",
      boost::json::object{
          {"event", "evicted"}, {"session", session}, {"upstream", upstream}, {"reason", reason}}});
  return store_->AppendRecords(std::move(events));
}

void Calls::AddRedactedValues(std::string_view call_id, CallResult* result) const {
  if (result->redacted_args || redacted_values_ == nullptr) return;
  result->redacted_args = redacted_values_->Find(call_id, clock_->Now());
  if (!result->redacted_args) return;
  // A reviewer's edit (docs/approvals.md) is in the call's decision, and the tool ran with
  // it, perhaps on another daemon: the edited values of the same fields are masked too.
  Result<StoredCall> call = OpenSealedArguments(*store_, store_->GetCall(call_id));
  if (!call.ok() || !call->record.decision.arguments) return;
  boost::json::object& kept = *result->redacted_args;
  const boost::json::object& edited = *call->record.decision.arguments;
  std::vector<std::pair<std::string, boost::json::value>> more;
  for (const auto& kv : kept) {
    const std::string_view key = kv.key();
    const std::string field(key.substr(0, key.find('#')));
    const boost::json::value* v = edited.if_contains(field);
    if (v != nullptr && *v != kv.value()) more.emplace_back(field + "#edited", *v);
  }
  for (auto& [k, v] : more) kept[k] = std::move(v);
}

void Calls::Prepare(std::string_view call_id, CallResult* result) const {
  AddRedactedValues(call_id, result);
  CutOutputBeforeTheStore(result);
}

void Calls::Recorded(std::string_view call_id, const Status& s) {
  if (s.ok() && redacted_values_ != nullptr) redacted_values_->Forget(call_id);
}

Status Calls::RecordIncident(std::string_view call_id, std::string_view run_id,
                             std::string_view agent_id, std::string_view tool, std::string reason,
                             std::string by) {
  std::vector<audit::AuditEvent> events;
  events.push_back(IncidentEvent(call_id, run_id, agent_id, tool, std::move(reason), std::move(by),
                                 clock_->Now()));
  return store_->AppendRecords(std::move(events));
}

Status Calls::RecordResult(std::string_view call_id, std::string_view agent_id,
                           std::string_view principal, CallResult result) {
  result.policies = policies_->Current();
  Prepare(call_id, &result);
  Status s = store_->RecordResult(call_id, agent_id, principal, result, clock_->Now());
  Recorded(call_id, s);
  return s;
}

Status Calls::RecordEgressResult(std::string_view call_id, std::string_view agent_id,
                                 std::string_view principal, CallResult result) {
  result.policies = nullptr;
  Prepare(call_id, &result);
  Status s = store_->RecordResult(call_id, agent_id, principal, result, clock_->Now());
  Recorded(call_id, s);
  return s;
}

void Calls::RecordResultAsync(std::string_view call_id, std::string_view agent_id,
                              std::string_view principal, CallResult result, StatusCallback done) {
  result.policies = policies_->Current();
  QueueResult(call_id, agent_id, principal, std::move(result), std::move(done));
}

void Calls::RecordEgressResultAsync(std::string_view call_id, std::string_view agent_id,
                                    std::string_view principal, CallResult result,
                                    StatusCallback done) {
  result.policies = nullptr;
  QueueResult(call_id, agent_id, principal, std::move(result), std::move(done));
}

void Calls::QueueResult(std::string_view call_id, std::string_view agent_id,
                        std::string_view principal, CallResult result, StatusCallback done) {
  Prepare(call_id, &result);
  store_->RecordResultAsync(
      call_id, agent_id, principal, result, clock_->Now(),
      // The facade may be gone when the store commits; the kept values are not.
      [values = redacted_values_, id = std::string(call_id), done = std::move(done)](Status s) {
        if (s.ok() && values != nullptr) values->Forget(id);
        if (done) done(std::move(s));
      });
}

Result<std::optional<Calls::Unreported>> Calls::FindUnreported(
    std::string_view run_id, std::string_view tool, const boost::json::object& recorded_args,
    std::string_view args_sha256, size_t lookback) {
  auto calls = store_->ListRunCalls(run_id, lookback);
  if (!calls.ok()) return calls.error();
  for (const CallSummary& c : *calls) {  // newest first
    if (c.tool != tool) continue;
    if (c.verdict == VerdictName(Verdict::kAllow)) {
      auto call = store_->GetCall(c.call_id);
      if (!call.ok() || call->result.has_value()) continue;
      if (call->record.call.args == recorded_args)
        return std::optional<Unreported>(Unreported{c.call_id, false});
    } else if (c.verdict == VerdictName(Verdict::kApprovalRequired)) {
      auto a = store_->GetApproval(ApprovalIdForCall(c.call_id));
      if (!a.ok() || a->state != ApprovalState::kPending) continue;
      if (a->args_sha256 == args_sha256)
        return std::optional<Unreported>(Unreported{c.call_id, true});
    }
  }
  return std::optional<Unreported>();
}

Result<RunInfo> Calls::GetRun(std::string_view run_id) { return store_->GetRun(run_id); }

Result<RunPage> Calls::ListRuns(const RunFilter& filter) { return store_->ListRuns(filter); }

Result<std::vector<CallSummary>> Calls::ListRunCalls(std::string_view run_id, size_t limit) {
  return store_->ListRunCalls(run_id, limit);
}

Status Calls::AddUsage(std::string_view run_id, std::string_view agent_id, const Usage& usage,
                       const IdempotencyKey& key) {
  return store_->AddUsageOnce(run_id, agent_id, usage, key);
}

Result<StoredCall> Calls::GetCall(std::string_view call_id) {
  return OpenSealedArguments(*store_, store_->GetCall(call_id));
}

Result<StoredCall> Calls::ViewCall(std::string_view call_id) {
  return HashSealedArguments(*store_, store_->GetCall(call_id));
}

std::string ApprovalIdOf(std::string_view call_id) { return core::ApprovalIdForCall(call_id); }

std::string OutputCutForTransport(std::string canonical, size_t max_bytes) {
  if (canonical.size() <= max_bytes) return canonical;
  return boost::json::serialize(TruncatedOutput(canonical, canonical.size(), /*digest=*/false));
}

Status Calls::KillSwitchClear(std::string_view agent_id, std::string_view run_id) {
  return Kills(*store_).Clear(agent_id, run_id);
}

std::optional<std::string> ShownWorkflowState(const RunInfo& run,
                                              const policy::AgentPolicy* agent) {
  const bool has_workflow = agent != nullptr && agent->workflow != nullptr;
  if (!has_workflow && run.state.workflow_state.empty() && run.state.workflow_vars.empty()) {
    return std::nullopt;
  }
  if (run.state.workflow_state.empty() && has_workflow) return agent->workflow->initial;
  return run.state.workflow_state;
}

}  // namespace interlock::core

#include "mcp/guard_enforcer.h"

#include <iostream>

namespace interlock::mcp {

Enforcer::Outcome GuardEnforcer::Decide(ToolCall call) {
  const std::string tool = call.tool;
  return Answer(guard_->Decide(agent_id_, agent_id_, run_id_, std::move(call)), tool);
}

Enforcer::Outcome GuardEnforcer::Rehearsed(const Outcome& pending, ToolCall call,
                                           const ToolResult& result) {
  store::CallResult r;
  r.ok = result.ok;
  r.output_json = result.output_json;
  r.error = result.error;
  const std::string tool = call.tool;
  return Answer(guard_->CompleteRehearsal(agent_id_, agent_id_, pending.call_id, r,
                                          std::move(call.args), std::move(call.mask_values)),
                tool);
}

Enforcer::Outcome GuardEnforcer::Answer(core::GuardResponse r, const std::string& tool) {
  Outcome out{std::move(r.decision), std::move(r.call_id)};
  if (out.decision.verdict == Verdict::kApprovalRequired) {
    // Recorded as APPROVAL_REQUIRED by the store; without an approval service it can
    // never be approved, so the gateway answers with a deny at once and the approval is
    // withdrawn (never left pending for nobody).
    if (!out.call_id.empty()) {
      out.approval_id = store::ApprovalIdForCall(out.call_id);
      if (Status s = Withdraw(out, "standalone interlock mcp has no approval service"); !s.ok()) {
        std::cerr << "interlock mcp: could not withdraw approval " << out.approval_id << ": "
                  << s.error().message << '\n';
      }
    }
    Decision d = DenyDecision(Code::kApprovalRequired, kNoApprovalServiceReason, out.decision.rule);
    d.at = out.decision.at;
    d.agent_id = agent_id_;
    d.tool = tool;
    out.decision = std::move(d);
  }
  return out;
}

Enforcer::Outcome GuardEnforcer::AwaitApproval(const Outcome& pending,
                                               const std::function<bool()>& /*cancelled*/,
                                               const std::function<void()>& /*progress*/) {
  Outcome out = pending;
  out.decision =
      DenyDecision(Code::kApprovalRequired, kNoApprovalServiceReason, pending.decision.rule);
  out.decision.agent_id = agent_id_;
  return out;
}

Status GuardEnforcer::Withdraw(const Outcome& pending, std::string_view reason) {
  if (pending.approval_id.empty()) return Error::Invalid("no approval to withdraw");
  auto a = store_->WithdrawApproval(pending.approval_id, agent_id_, reason, clock_->Now());
  if (!a.ok()) return a.error();
  return Status::Ok();
}

Status GuardEnforcer::RecordResult(std::string_view call_id, const ToolResult& result) {
  store::CallResult r;
  r.ok = result.ok;
  r.output_json = result.output_json;
  r.error = result.error;
  r.egress_json = result.egress_json;
  r.policies = guard_->Policies();  // a result may move the run's workflow
  store_->RecordResultAsync(call_id, agent_id_, std::move(r), clock_->Now(),
                            [failed = failed_results_, id = std::string(call_id)](Status s) {
                              if (s.ok()) return;
                              failed->fetch_add(1);
                              std::cerr << "interlock mcp: could not record the result of " << id
                                        << ": " << s.error().message << '\n';
                            });
  return Status::Ok();
}

}  // namespace interlock::mcp

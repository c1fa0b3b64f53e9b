#include "doors/mcp_http/mcp_enforcer.h"

#include <condition_variable>
#include <memory>
#include <mutex>
#include <utility>

#include "common/await.h"
#include "core/app/approvals.h"

namespace interlock::server {

Decision McpEnforcer::Unavailable(const std::string& tool, const std::string& why) const {
  Decision d = DenyDecision(
      Code::kStoreUnavailable,
      "Interlock could not settle the approval: " + why + "; the call is denied (fail closed)",
      "store");
  d.agent_id = agent_id_;
  d.tool = tool;
  return d;
}

mcp::Enforcer::Outcome McpEnforcer::AnswerOf(core::GuardResponse r) const {
  Outcome out{std::move(r.decision), std::move(r.call_id)};
  out.error = r.error;
  if (out.decision.verdict == Verdict::kApprovalRequired && !out.call_id.empty()) {
    out.approval_id = core::ApprovalIdOf(out.call_id);
    if (approval_url_) out.approval_url = approval_url_(out.approval_id);
  }
  return out;
}

mcp::Enforcer::Outcome McpEnforcer::Rehearsed(const Outcome& pending, ToolCall call,
                                              const mcp::ToolResult& result) {
  core::CallResult res;
  res.ok = result.ok;
  res.output_json = result.output_json;
  res.error = result.error;
  core::GuardResponse r =
      guard_->CompleteRehearsal(agent_id_, principal_, pending.call_id, res, std::move(call.args),
                                std::move(call.mask_values));
  return AnswerOf(std::move(r));
}

mcp::Enforcer::Outcome McpEnforcer::Decide(ToolCall call) {
  core::GuardResponse r;
  if (identity_.issuer.empty()) {
    r = guard_->Decide(agent_id_, principal_, run_id_, std::move(call));
  } else {
    // Guard::Decide with the identity: the same wait on DecideAsync's one answer.
    r = AwaitCallback<core::GuardResponse>([&](auto done) {
      guard_->DecideAsync(agent_id_, principal_, run_id_, std::move(call), std::move(done), {}, {},
                          &identity_);
    });
  }
  return AnswerOf(std::move(r));
}

Status McpEnforcer::Withdraw(const Outcome& pending, std::string_view reason) {
  if (pending.approval_id.empty()) return Error::Invalid("no approval to withdraw");
  auto a = calls_->approvals().Withdraw(pending.approval_id, agent_id_, principal_, reason);
  if (!a.ok()) return a.error();
  waiters_->Notify(a->call_id);  // long polls on the call see the withdrawal at once
  return Status::Ok();
}

mcp::Enforcer::Outcome McpEnforcer::AwaitApproval(const Outcome& pending,
                                                  const std::function<bool()>& cancelled,
                                                  const std::function<void()>& progress) {
  const std::string tool = pending.decision.tool;
  if (pending.call_id.empty()) return {Unavailable(tool, "no call to wait for"), ""};
  struct Wake {
    std::mutex mu;
    std::condition_variable cv;
    bool woken = false;
  };
  for (;;) {
    if (cancelled && cancelled()) return pending;
    auto wake = std::make_shared<Wake>();
    // Register before reading, so a verdict landing in between still wakes us.
    const uint64_t waiter = waiters_->Add(pending.call_id, [wake] {
      std::lock_guard lock(wake->mu);
      wake->woken = true;
      wake->cv.notify_all();
    });
    if (waiter == 0) return {Unavailable(tool, "the daemon is shutting down"), pending.call_id};
    // Delivering the verdict releases an approved call for one execution
    // (core::Approvals::ReleaseToRun): the gateway forwards what this answers.
    auto call = calls_->approvals().ReleaseToRun(pending.call_id, agent_id_, principal_);
    if (!call.ok()) {
      waiters_->Remove(pending.call_id, waiter);
      return {Unavailable(tool, call.error().message), pending.call_id};
    }
    if (call->record.decision.verdict != Verdict::kApprovalRequired) {
      waiters_->Remove(pending.call_id, waiter);
      Decision d = call->record.decision;
      d.tool = tool;
      return {std::move(d), pending.call_id};
    }
    bool woken = false;
    {
      std::unique_lock lock(wake->mu);
      woken = wake->cv.wait_for(lock, progress_interval_, [&] { return wake->woken; });
    }
    waiters_->Remove(pending.call_id, waiter);
    if (cancelled && cancelled()) return pending;
    if (!woken && progress) progress();
  }
}

mcp::Enforcer::Outcome McpEnforcer::CheckApproval(const Outcome& pending) {
  const std::string tool = pending.decision.tool;
  if (pending.call_id.empty()) return {Unavailable(tool, "no call to look up"), ""};
  // Delivering the verdict releases an approved call for one execution
  // (core::Approvals::ReleaseToRun).
  auto call = calls_->approvals().ReleaseToRun(pending.call_id, agent_id_, principal_);
  if (!call.ok()) return {Unavailable(tool, call.error().message), pending.call_id};
  Outcome out = pending;
  out.ask_client = false;
  out.decision = call->record.decision;
  out.decision.tool = tool;
  if (out.decision.verdict == Verdict::kApprovalRequired) {
    out.approval_id = core::ApprovalIdOf(out.call_id);
    if (approval_url_) out.approval_url = approval_url_(out.approval_id);
  }
  return out;
}

Status McpEnforcer::RecordResult(std::string_view call_id, const mcp::ToolResult& result) {
  return calls_->RecordResult(call_id, agent_id_, principal_,
                              core::CallResult{.ok = result.ok,
                                               .output_json = result.output_json,
                                               .error = result.error,
                                               .egress_json = result.egress_json,
                                               .credential_json = result.credential_json});
}

core::DoorAnswer McpDrillProbe::Probe(const core::DrillTarget& target) {
  auto run = calls_.StartRun(core::kDrillAgentId);
  if (!run.ok()) return {"STORE_UNAVAILABLE", run.error().message};
  McpEnforcer enforcer(guard_, &calls_, waiters_, std::string(core::kDrillAgentId),
                       std::string(core::kDrillAgentId), run->run_id);
  ToolCall call;
  call.tool = "interlock.drill";
  call.args = boost::json::object{{"drill_id", target.drill_id}};
  const mcp::Enforcer::Outcome out = enforcer.Decide(std::move(call));
  return {std::string(CodeName(out.decision.code)), out.decision.reason};
}

}  // namespace interlock::server

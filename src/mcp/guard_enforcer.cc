#include "mcp/guard_enforcer.h"

#include <pwd.h>
#include <sys/types.h>
#include <unistd.h>

#include <algorithm>
#include <iostream>
#include <thread>
#include <vector>

#include <boost/json.hpp>

#include "common/json.h"

namespace interlock::mcp {
namespace {

// How far before an approval's deadline a client-side wait may end (clock and rounding
// differences) and still count as the approval's own timeout.
constexpr auto kTimeoutSlack = std::chrono::milliseconds(500);

}  // namespace

Enforcer::Outcome GuardEnforcer::Decide(ToolCall call) {
  const std::string tool = call.tool;
  return Answer(guard_->Decide(agent_id_, agent_id_, run_id_, std::move(call)), tool);
}

Enforcer::Outcome GuardEnforcer::Rehearsed(const Outcome& pending, ToolCall call,
                                           const ToolResult& result) {
  core::CallResult r;
  r.ok = result.ok;
  r.output_json = result.output_json;
  r.error = result.error;
  const std::string tool = call.tool;
  return Answer(guard_->CompleteRehearsal(agent_id_, agent_id_, pending.call_id, r,
                                          std::move(call.args), std::move(call.mask_values)),
                tool);
}

std::string LocalReviewerName() {
  const uid_t uid = geteuid();
  std::string name;
  std::vector<char> buf(16384);
  struct passwd pw;
  struct passwd* found = nullptr;
  if (getpwuid_r(uid, &pw, buf.data(), buf.size(), &found) == 0 && found != nullptr &&
      found->pw_name != nullptr && *found->pw_name != '\0') {
    name = found->pw_name;
  } else {
    name = "uid-" + std::to_string(uid);
  }
  return "local:" + name;
}

void GuardEnforcer::DenyPending(Outcome& out, const std::string& tool, Code code,
                                const std::string& reason) {
  if (!out.call_id.empty()) {
    out.approval_id = core::ApprovalIdForCall(out.call_id);
    if (Status s = Withdraw(out, reason); !s.ok() && s.error().kind != ErrorKind::kAlreadyExists) {
      std::cerr << "interlock mcp: could not withdraw approval " << out.approval_id << ": "
                << s.error().message << '\n';
    }
  }
  Decision d = DenyDecision(code, reason, out.decision.rule);
  d.at = out.decision.at;
  d.agent_id = agent_id_;
  d.tool = tool;
  out.decision = std::move(d);
  out.ask_client = false;
}

Enforcer::Outcome GuardEnforcer::Answer(core::GuardResponse r, const std::string& tool) {
  Outcome out{std::move(r.decision), std::move(r.call_id)};
  out.error = r.error;
  if (out.decision.verdict != Verdict::kApprovalRequired) return out;
  // Recorded as APPROVAL_REQUIRED by the store, with a pending approval. Without an
  // approval service only the person at the MCP client can answer it, and only when the
  // client can ask them and one approver suffices; otherwise it is denied at once and the
  // approval withdrawn (never left pending for nobody).
  if (out.call_id.empty()) {
    DenyPending(out, tool, Code::kApprovalRequired, kNoApprovalServiceReason);
    return out;
  }
  if (!client_elicitation_.load()) {
    DenyPending(out, tool, Code::kApprovalRequired, kNoApprovalServiceReason);
    return out;
  }
  if (out.decision.approvals_required >= 2) {
    DenyPending(out, tool, Code::kApprovalRequired,
                "approval required from " + std::to_string(out.decision.approvals_required) +
                    " reviewers; the person at the MCP client is one, so standalone interlock "
                    "mcp denies the call (run `interlock mcp --daemon URL --token-env NAME` "
                    "for reviewers to approve it; see docs/mcp.md#approvals)");
    return out;
  }
  out.approval_id = core::ApprovalIdForCall(out.call_id);
  auto approval = approvals().Get(out.approval_id);
  auto call = calls_.GetCall(out.call_id);
  if (!approval.ok() || !call.ok() || approval->state != core::ApprovalState::kPending) {
    DenyPending(out, tool, Code::kStoreUnavailable,
                "approval required, and its pending approval could not be read from the store (" +
                    (!approval.ok() ? approval.error().message
                     : !call.ok()   ? call.error().message
                                    : std::string("not pending")) +
                    ")");
    return out;
  }
  const auto left =
      std::chrono::duration_cast<std::chrono::milliseconds>(approval->deadline - clock_->Now());
  out.time_left = std::max(left, std::chrono::milliseconds(0));
  out.shown_args_json = CanonicalJson(boost::json::value(call->record.call.args));
  out.ask_client = true;
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

Enforcer::Outcome GuardEnforcer::DenyApproval(const Outcome& pending, Code code,
                                              std::string reason) const {
  Outcome out = pending;
  out.ask_client = false;
  out.decision = DenyDecision(code, std::move(reason), "approval");
  out.decision.agent_id = agent_id_;
  out.decision.tool = pending.decision.tool;
  return out;
}

Enforcer::Outcome GuardEnforcer::AnswerAtClient(const Outcome& pending,
                                                const ClientAnswer& answer) {
  Outcome out = pending;
  out.ask_client = false;
  const std::string tool = pending.decision.tool;
  auto deny = [&](Code code, std::string reason) {
    return DenyApproval(pending, code, std::move(reason));
  };
  if (pending.approval_id.empty()) return deny(Code::kApprovalDenied, "no approval to answer");
  if (answer.kind == ClientAnswer::Kind::kTimeout) {
    // The approval's own timeout: the store times it out (APPROVAL_TIMEOUT, audited). An
    // approval that escalates instead is withdrawn: nobody else can answer it here. The
    // gateway's wait ran on the steady clock over a time left truncated to milliseconds, so
    // it may end a moment before the deadline on this clock: wait out that moment (bounded),
    // or the approval would be withdrawn instead of timed out.
    if (auto a = approvals().Get(pending.approval_id);
        a.ok() && a->state == core::ApprovalState::kPending) {
      const auto early = a->deadline - clock_->Now();
      if (early > std::chrono::milliseconds(0) && early <= kTimeoutSlack) {
        std::this_thread::sleep_for(early + std::chrono::milliseconds(1));
      }
    }
    (void)approvals().ExpireOverdue();
    auto a = approvals().Get(pending.approval_id);
    if (a.ok() && a->state == core::ApprovalState::kPending) {
      (void)approvals().Withdraw(pending.approval_id, agent_id_, agent_id_, answer.comment);
    }
    return deny(Code::kApprovalTimeout, answer.comment);
  }
  if (answer.kind == ClientAnswer::Kind::kRefused) {
    if (auto a = approvals().Withdraw(pending.approval_id, agent_id_, agent_id_, answer.comment);
        !a.ok() && a.error().kind != ErrorKind::kAlreadyExists) {
      std::cerr << "interlock mcp: could not withdraw approval " << pending.approval_id << ": "
                << a.error().message << '\n';
    }
    return deny(Code::kApprovalDenied, answer.comment);
  }
  // The person at the client votes as the local user, then the call is released (to the
  // principal its calls are decided under: the agent id).
  core::Approvals::LocalAnswer local;
  local.call_id = pending.call_id;
  local.agent_id = agent_id_;
  local.principal = agent_id_;
  local.reviewer = reviewer_;
  local.approve = answer.kind == ClientAnswer::Kind::kApprove;
  local.comment = answer.comment;
  local.where = "at the MCP client";
  local.policies = guard_->Policies();
  auto released = approvals().AnswerAsLocalUser(local);
  if (!released.ok()) {
    return deny(released.error().kind == ErrorKind::kPermissionDenied ? Code::kApprovalDenied
                                                                      : Code::kStoreUnavailable,
                released.error().message);
  }
  out.decision = released->record.decision;
  out.decision.tool = tool;
  if (out.decision.verdict == Verdict::kApprovalRequired) {
    return deny(Code::kApprovalDenied, "the approval is still pending after the local verdict");
  }
  return out;
}

Enforcer::Outcome GuardEnforcer::CheckApproval(const Outcome& pending) {
  Outcome out = pending;
  out.ask_client = false;
  const std::string tool = pending.decision.tool;
  auto deny = [&](Code code, std::string reason) {
    return DenyApproval(pending, code, std::move(reason));
  };
  if (pending.call_id.empty() || pending.approval_id.empty()) {
    return deny(Code::kApprovalDenied, "no approval to look up");
  }
  auto a = approvals().Get(pending.approval_id);
  if (!a.ok()) return deny(Code::kStoreUnavailable, a.error().message);
  if (a->state == core::ApprovalState::kPending) {
    const TimePoint now = clock_->Now();
    if (a->deadline > now) {
      auto call = calls_.GetCall(pending.call_id);
      if (!call.ok()) return deny(Code::kStoreUnavailable, call.error().message);
      out.decision = call->record.decision;
      out.decision.tool = tool;
      out.time_left = std::chrono::duration_cast<std::chrono::milliseconds>(a->deadline - now);
      out.shown_args_json = CanonicalJson(boost::json::value(call->record.call.args));
      out.ask_client = true;
      return out;
    }
    // Past its deadline with nobody answering: the store times it out (audited); one that
    // would escalate is withdrawn, nobody else can answer it here.
    (void)approvals().ExpireOverdue();
    if (auto again = approvals().Get(pending.approval_id);
        again.ok() && again->state == core::ApprovalState::kPending) {
      (void)approvals().Withdraw(pending.approval_id, agent_id_, agent_id_,
                                 "no answer at the MCP client before the approval's timeout");
      return deny(Code::kApprovalTimeout,
                  "no answer at the MCP client before the approval's timeout, so the call is "
                  "denied");
    }
  }
  // One grant, one execution: the gateway forwards what this answers.
  auto released =
      approvals().ReleaseToRun(pending.call_id, agent_id_, agent_id_, guard_->Policies());
  if (!released.ok()) return deny(Code::kStoreUnavailable, released.error().message);
  out.decision = released->record.decision;
  out.decision.tool = tool;
  if (out.decision.verdict == Verdict::kApprovalRequired) {
    return deny(Code::kApprovalDenied, "the approval did not settle");
  }
  return out;
}

Status GuardEnforcer::Withdraw(const Outcome& pending, std::string_view reason) {
  if (pending.approval_id.empty()) return Error::Invalid("no approval to withdraw");
  auto a = approvals().Withdraw(pending.approval_id, agent_id_, agent_id_, reason);
  if (!a.ok()) return a.error();
  return Status::Ok();
}

Status GuardEnforcer::RecordResult(std::string_view call_id, const ToolResult& result) {
  core::CallResult r;
  r.ok = result.ok;
  r.output_json = result.output_json;
  r.error = result.error;
  r.egress_json = result.egress_json;
  calls_.RecordResultAsync(call_id, agent_id_, agent_id_, std::move(r),
                           [failed = failed_results_, id = std::string(call_id)](Status s) {
                             if (s.ok()) return;
                             failed->fetch_add(1);
                             std::cerr << "interlock mcp: could not record the result of " << id
                                       << ": " << s.error().message << '\n';
                           });
  return Status::Ok();
}

Status GuardEnforcer::KillSwitchClear() { return calls_.KillSwitchClear(agent_id_, run_id_); }

}  // namespace interlock::mcp

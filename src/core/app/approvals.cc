// The approval use cases (see approvals.h).
#include "core/app/approvals.h"

#include <utility>

#include "common/status_macros.h"
#include "core/app/free_text.h"
#include "core/approval_rules.h"
#include "policy/policy.h"

namespace interlock::core {

Status CheckAnswerComment(std::string_view comment, size_t max_bytes) {
  return CheckFreeText(comment, "comment", max_bytes);
}

Approvals::Approvals(Store* store, const Clock* clock, const PolicySource* policies)
    : store_(store), clock_(clock), policies_(policies) {}

Result<std::vector<Approval>> Approvals::List(const ApprovalFilter& filter) {
  return store_->ListApprovals(filter);
}

Result<Approval> Approvals::Get(std::string_view approval_id) {
  return store_->GetApproval(approval_id);
}

Result<Approvals::Review> Approvals::GetReview(std::string_view approval_id) {
  Result<Approval> a = store_->GetApproval(approval_id);
  if (!a.ok()) return a.error();
  Review review;
  // The call and the run's calls are context: a pruned call row or an unreadable run
  // still shows the approval itself. A reviewer's edit of a redacted argument is shown as
  // its hash; one that cannot be shown so leaves the call out.
  if (Result<StoredCall> call = HashSealedArguments(*store_, store_->GetCall(a->call_id));
      call.ok()) {
    review.call = std::move(call).value();
  }
  if (auto calls = store_->ListRunCalls(a->run_id, kReviewRunCalls); calls.ok()) {
    review.run_calls = std::move(calls).value();
  }
  review.approval = std::move(a).value();
  return review;
}

Status Approvals::RevokeRunGrant(std::string_view run_id, std::string_view tool,
                                 const Principal& actor, std::string_view reason) {
  INTERLOCK_RETURN_IF_ERROR(CheckFreeText(tool, "tool"));
  INTERLOCK_RETURN_IF_ERROR(CheckFreeText(reason, "reason"));
  return store_->RevokeRunGrant(run_id, tool, actor, reason, clock_->Now());
}

Result<VoteOutcome> Approvals::Vote(VoteAsk ask, EditRefusal* edit) {
  if (edit != nullptr) *edit = EditRefusal::kNone;
  if (Status s = CheckFreeText(ask.comment, "comment"); !s.ok()) return s.error();
  VoteRequest vote;
  vote.approval_id = std::move(ask.approval_id);
  vote.reviewer = std::move(ask.reviewer);
  vote.approve = ask.approve;
  vote.comment = std::move(ask.comment);
  vote.now = clock_->Now();
  vote.policy = PolicyFactsLookup(ask.policies);
  vote.for_run = ask.for_run;
  if (ask.edited_args) {
    // The edited call, evaluated by the engine again: same agent, run and tool, against the
    // run as it is now. The vote's transaction re-checks that the approval is still pending.
    Result<Approval> a = store_->GetApproval(vote.approval_id);
    if (!a.ok()) return a.error();
    if (a->state != ApprovalState::kPending) {
      return Error{ErrorKind::kAlreadyExists,
                   "approval " + a->approval_id + " is already " + ApprovalStateName(a->state)};
    }
    Result<RunInfo> run = store_->GetRun(a->run_id);
    if (!run.ok()) return run.error();
    const policy::AgentPolicy* agent = ask.policies ? ask.policies->Find(a->agent_id) : nullptr;
    Result<EditedCall> judged = EvaluateEdit(agent, run->state, a->tool, a->required,
                                             std::move(*ask.edited_args), vote.now);
    if (!judged.ok()) {
      if (edit != nullptr) {
        *edit = judged.error().kind == ErrorKind::kPermissionDenied ? EditRefusal::kPolicy
                                                                    : EditRefusal::kInvalid;
      }
      return judged.error();
    }
    vote.edit = std::move(judged).value();
  }
  return store_->Vote(vote);
}

Result<StoredCall> Approvals::AnswerAsLocalUser(const LocalAnswer& answer) {
  const std::string approval_id = ApprovalIdForCall(answer.call_id);
  VoteRequest vote;
  vote.approval_id = approval_id;
  vote.reviewer.name = answer.reviewer;
  vote.reviewer.role = Role::kReviewer;
  vote.approve = answer.approve;
  vote.comment = answer.comment;
  vote.now = clock_->Now();
  // The same facts as a reviewer's vote: the record limit is re-checked on this grant too
  // (docs/approvals.md, "Answering at the client").
  vote.policy = PolicyFactsLookup(answer.policies);
  Status text = CheckFreeText(vote.comment, "comment");
  Result<VoteOutcome> voted = text.ok() ? store_->Vote(vote) : Result<VoteOutcome>(text.error());
  if (!voted.ok()) {
    // Self-approval (the local user is the agent's identity), a comment CheckFreeText
    // refuses, a grant the run's state or record limit refuses, a store failure, an approval
    // decided meanwhile: never an allow. A still pending approval is withdrawn.
    const std::string why = "the answer of " + answer.reviewer + " " + answer.where +
                            " was not accepted: " + voted.error().message;
    (void)Withdraw(approval_id, answer.agent_id, answer.principal, why);
    return Error{voted.error().kind, why};
  }
  return OpenSealedArguments(
      *store_, store_->ReleaseCall(answer.call_id, answer.agent_id, answer.principal, clock_->Now(),
                                   answer.policies));
}

Result<Approval> Approvals::Withdraw(std::string_view approval_id, std::string_view agent_id,
                                     std::string_view principal, std::string_view reason) {
  if (Status s = CheckFreeText(reason, "reason"); !s.ok()) return s.error();
  return store_->WithdrawApproval(approval_id, agent_id, principal, reason, clock_->Now());
}

Result<std::optional<Approval>> Approvals::WithdrawUnheard(std::string_view call_id,
                                                           std::string_view agent_id,
                                                           std::string_view principal) {
  Result<Approval> a = Withdraw(ApprovalIdForCall(call_id), agent_id, principal, kUnheardReason);
  if (a.ok()) return std::optional<Approval>(std::move(a).value());
  // Decided meanwhile (kAlreadyExists) or never queued (kNotFound): the answer the client
  // missed is not the call's last word any more, or there is nothing to collect.
  if (a.error().kind == ErrorKind::kAlreadyExists || a.error().kind == ErrorKind::kNotFound) {
    return std::optional<Approval>();
  }
  return a.error();
}

Result<std::vector<ApprovalChange>> Approvals::ExpireOverdue() {
  return store_->ExpireApprovals(clock_->Now());
}

Result<StoredCall> Approvals::Release(std::string_view call_id, std::string_view agent_id,
                                      std::string_view principal,
                                      std::shared_ptr<const policy::PolicySet> policies) {
  if (policies == nullptr && policies_ != nullptr) policies = policies_->Current();
  return OpenSealedArguments(*store_, store_->ReleaseCall(call_id, agent_id, principal,
                                                          clock_->Now(), std::move(policies)));
}

namespace {

Result<StoredCall> WithSealedArguments(Status (*show)(const audit::Redactor*, std::string_view,
                                                      Decision*),
                                       const RunStore& store, Result<StoredCall> call) {
  if (!call.ok()) return call;
  if (Status s = show(store.redactor(), call->record.call_id, &call->record.decision); !s.ok()) {
    return s.error();
  }
  return call;
}

}  // namespace

Result<StoredCall> OpenSealedArguments(const RunStore& store, Result<StoredCall> call) {
  return WithSealedArguments(&core::OpenSealedArguments, store, std::move(call));
}

Result<StoredCall> HashSealedArguments(const RunStore& store, Result<StoredCall> call) {
  return WithSealedArguments(&core::HashSealedArguments, store, std::move(call));
}

Result<StoredCall> Approvals::ReleaseToRun(std::string_view call_id, std::string_view agent_id,
                                           std::string_view principal,
                                           std::shared_ptr<const policy::PolicySet> policies) {
  Result<StoredCall> call = Release(call_id, agent_id, principal, std::move(policies));
  if (!call.ok() || call->released_now) return call;
  Decision& d = call->record.decision;
  // Approved calls carry rule "approval" (core::NeedsRelease); an allow of another rule was
  // never waiting for one.
  if (d.verdict != Verdict::kAllow || d.rule != "approval") return call;
  d = ReleasedBeforeDecision(call_id, d);
  return call;
}

Decision ReleasedBeforeDecision(std::string_view call_id, const Decision& allowed) {
  Decision refused =
      DenyDecision(Code::kApprovalDenied,
                   "approval " + ApprovalIdForCall(call_id) +
                       " already released its call once (one grant runs one call: an "
                       "identical call attached to the same approval, or a retry of it, ran); "
                       "call the tool again to ask anew",
                   std::string(kReleasedBeforeRule));
  refused.at = allowed.at;
  refused.agent_id = allowed.agent_id;
  refused.tool = allowed.tool;
  return refused;
}

std::string ApprovalLink(std::string_view public_url, std::string_view approval_id) {
  std::string base(public_url);
  while (!base.empty() && base.back() == '/') base.pop_back();
  return base + "/ui/#/approvals/" + std::string(approval_id);
}

}  // namespace interlock::core

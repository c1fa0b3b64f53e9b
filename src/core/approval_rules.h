// The approval rules (docs/approvals.md), once, in the core: who may vote, when a call is
// granted, what a grant re-checks, what a release checks, and which re-submission redeems
// an approval. Pure functions over the rows a backend read in its transaction; the
// backend applies the outcome (rows and audit events) in the same transaction.
//
// People, not strings: every name comparison here goes through PrincipalKey
// (common/principal_name.h), so case, width and invisible characters never make two
// names of one person count as two.
#ifndef INTERLOCK_CORE_APPROVAL_RULES_H_
#define INTERLOCK_CORE_APPROVAL_RULES_H_

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <boost/json/object.hpp>

#include "audit/audit_event.h"
#include "audit/redact.h"
#include "common/time.h"
#include "core/ports/run_store.h"
#include "core/ports/state_txn.h"
#include "engine/engine.h"
#include "interlock/decision.h"
#include "interlock/result.h"

namespace interlock::core {

// A vote as stored: who and "approve" | "deny".
struct VoteRow {
  std::string_view reviewer;
  std::string_view verdict;
};

// Self-approval and one vote per person: Denied when `reviewer` is the call's principal,
// its agent, or the agent's configured identity; AlreadyExists when the same person
// (by PrincipalKey) has voted on this approval already.
Status CheckReviewer(std::string_view reviewer, std::string_view approval_id,
                     std::string_view call_principal, std::string_view agent_id,
                     std::string_view agent_identity, const std::vector<VoteRow>& votes);

// The two-person rule: the distinct people (by PrincipalKey) who approved, first vote of
// each, in vote order; names joined ", " for the reason.
struct ApprovalTally {
  int approvals = 0;
  std::string reviewers;
};
ApprovalTally TallyApprovals(const std::vector<VoteRow>& votes);

// What a grant re-checks against the run as it is now: a halted or ended run, and the
// records the call touches against max_records_per_run. nullopt: grant.
struct GrantRefusal {
  Code code;
  std::string reason;
};
std::optional<GrantRefusal> CheckGrant(bool run_halted_or_ended, std::string_view tool,
                                       uint64_t call_records, uint64_t run_records_used,
                                       std::optional<uint64_t> max_records_per_run,
                                       std::string_view reviewers);

// The first delivery of a granted call: released (code kAllowed), or cancelled because a
// kill switch covers it or its run was halted or ended meanwhile.
struct ReleaseOutcome {
  Code code = Code::kAllowed;
  std::string reason;
  std::string rule;
};
ReleaseOutcome DecideRelease(const ReleaseContext& ctx);

// One approval, one execution: why approval `approval_id` cannot redeem `rq` (bound to
// the agent, run, tool and canonical arguments the reviewer saw), or "" when it can.
// `args_sha256` is the approval's; the request's is computed here.
std::string RedemptionRefusal(std::string_view approval_id, std::string_view agent_id,
                              std::string_view run_id, std::string_view tool,
                              std::string_view args_sha256, const DecideRequest& rq);

// The identity a decision was made for (issue 31): an Idempotency-Key replay and an
// approval redemption (a re-submission with approval_id, a retry attached to a pending
// twin) hand a decision out again, so they must come from the caller it was made for. The
// agent is checked by run ownership; here the principal the call was recorded under (for
// a JWT it names the agent claim, the issuer and the human acted for; for an Interlock
// token, the token's name), byte for byte, and, when known (`decided_identity`, kept with
// an Idempotency-Key's answer), the verified issuer, subject and on_behalf_of. "" when
// `rq` is that caller, else why not (the deny IDENTITY_MISMATCH). `what` names what is
// refused ("approval ap_1", "the answer to Idempotency-Key k").
std::string IdentityRefusal(std::string_view what, std::string_view decided_principal,
                            const CallerIdentity* decided_identity, const DecideRequest& rq);

// IdentityRefusal's principal half, for a reader that is no decision request (the agent
// door's read of a call, Store::ReleaseCall): "" when `principal` is, byte for byte, the
// one the call was decided for, else why not.
std::string PrincipalRefusal(std::string_view what, std::string_view decided_principal,
                             std::string_view principal);

// The timing of a new pending approval for a call decided APPROVAL_REQUIRED: the
// decision's timeout (or the deployment default), its first deadline, and the hard
// maximum it may stay pending (the deadline itself when it auto-denies on timeout).
struct ApprovalPlan {
  int required = 1;
  int timeout_seconds = 0;
  TimePoint deadline;
  TimePoint hard_deadline;
};
ApprovalPlan PlanApproval(const Decision& d, TimePoint now, int default_timeout_seconds,
                          int max_wait_seconds);

// What a pending approval whose deadline has passed becomes at `now`: timed out (with
// the reason its call is denied for), or escalated to `next_deadline` (the same timeout
// again, never past the hard deadline).
struct DeadlineOutcome {
  bool time_out = true;
  std::string reason;       // when time_out
  TimePoint next_deadline;  // when escalated
};
DeadlineOutcome OnDeadline(bool auto_deny_on_timeout, int timeout_seconds, int escalation_level,
                           TimePoint deadline, TimePoint hard_deadline, TimePoint now);

// The reasons a settled-as-deny call carries: a reviewer's deny, an engaged kill switch
// (scope "global" | "agent" | "run"), the agent's withdrawal.
std::string DeniedByReason(std::string_view reviewer, std::string_view comment);
std::string KillCancelReason(std::string_view scope, std::string_view kill_reason);
std::string WithdrawnReason(std::string_view approval_id, std::string_view agent_id,
                            std::string_view reason);

// --- Editing the arguments before approving (docs/approvals.md, "Editing the arguments").
// A reviewer's approve may carry edited arguments. The edited call (same agent, run and
// tool) is evaluated by the engine again, against the run as it is now; it is granted
// only when the policy lets it through:
//   - allow: granted with the edited arguments;
//   - APPROVAL_REQUIRED for the same tool: covered by this approval only when the
//     approvals the edited call needs are no more than this approval's (a single-approver
//     approval cannot cover an edited call that needs two people);
//   - anything else (deny, rehearsal, an unknown agent): refused, the vote is not recorded.
// Rate limits and daily quotas counted the original call; the edit is not a second call
// (evaluated with nothing counted). An approval that needs two approvers cannot be edited
// (each approver must approve the same arguments): refused.
// `agent` may be null (unknown agent: refused). `approval_tool` and `approval_required`
// are the approval's. Error kinds: kInvalidArgument (no arguments object, two approvers),
// kPermissionDenied (the policy refuses the edited call), both with the reason.
Result<EditedCall> EvaluateEdit(const policy::AgentPolicy* agent, const RunState& state,
                                std::string_view approval_tool, int approval_required,
                                boost::json::object args, TimePoint now);

// The hash an approval binds arguments by: SHA-256 of their canonical JSON with every
// number by its value, a whole-number double as its integer. 2.0 and 2 are one JSON number
// (JavaScript writes 2.0 as 2), so an agent that re-serializes the arguments it was
// answered still redeems; no two different values share a hash.
std::string ArgsDigest(const boost::json::object& args);
// ArgsDigest of the request's arguments.
std::string ArgsSha256(const DecideRequest& rq);

// --- a vote, a withdrawal, and the audit records an approval makes ----------------------
// A backend reads the rows named here in its transaction, calls the rule, and writes what
// it answers (the vote row, the approval's state, the call's decision, the run's records,
// the audit events), so every backend applies one set of rules.

// The approval's identity as its audit records carry it.
struct ApprovalRef {
  std::string_view approval_id;
  std::string_view call_id;
  std::string_view run_id;
  std::string_view agent_id;
  std::string_view tool;
};

// The "approval" audit record (docs/audit.md): event, approval_id, reviewer, comment, tool
// and `extra`. The principal is the reviewer ("interlock" when none).
audit::AuditEvent ApprovalEvent(const ApprovalRef& a, std::string_view event, TimePoint now,
                                std::string_view reviewer, std::string_view comment,
                                boost::json::object extra = {});

// A settled-as-deny approval's record: `event` with its code and reason.
audit::AuditEvent SettledEvent(const ApprovalRef& a, std::string_view event, Code code,
                               std::string_view reason, TimePoint now, std::string_view reviewer,
                               std::string_view comment);

// The other records of an approval's life: queued ("requested", with its plan and the
// arguments' hash), released (first delivery of the granted call), cancelled after the
// grant (the release found a kill switch or a halted or ended run), escalated (to
// `level`, next deadline `deadline`).
audit::AuditEvent RequestedEvent(const ApprovalRef& a, const ApprovalPlan& plan,
                                 bool auto_deny_on_timeout, std::string_view args_sha256,
                                 TimePoint now);
audit::AuditEvent ReleasedEvent(const ApprovalRef& a, TimePoint now);
audit::AuditEvent CancelledAfterGrantEvent(const ApprovalRef& a, const ReleaseOutcome& release,
                                           TimePoint now);
audit::AuditEvent EscalatedEvent(const ApprovalRef& a, int level, TimePoint deadline,
                                 TimePoint now);

// What one vote on an approval does. Everything the rule reads, as the backend read it in
// the vote's transaction (the approval row locked).
struct VoteInput {
  ApprovalRef approval;
  bool pending = true;          // the approval's state is "pending"
  std::string_view state_name;  // its state (for the refusal when not pending)
  std::string_view call_principal;
  std::string_view agent_identity;  // the agent's configured identity ("" when none)
  int required = 1;
  uint64_t call_records = 0;   // records the call touches, consumed on grant
  std::vector<VoteRow> votes;  // the votes before this one, in vote order
  std::string_view reviewer;
  bool approve = false;
  std::string_view comment;
  TimePoint now;
  // The run as it is now (read on a grant).
  bool run_halted_or_ended = false;
  uint64_t run_records_used = 0;  // records of `tool` the run has touched
  std::optional<uint64_t> max_records_per_run;
  // An approve with edited arguments, judged by EvaluateEdit (null: none). PlanVote refuses
  // it with a deny or for an approval needing more than one approver; a grant consumes the
  // edited call's records instead of `call_records`, says so in its reason, and its
  // "granted" record carries both hashes and the edited arguments redacted by `redactor`.
  const EditedCall* edit = nullptr;
  std::string_view original_args_sha256;
  const audit::Redactor* redactor = nullptr;
  // An approve "for the rest of this run" (RunGrantRefusal): `for_run_refusal` is why the
  // tool cannot have one ("" when it can), from the current policy.
  bool for_run = false;
  std::string_view for_run_refusal;
};
struct VotePlan {
  enum class Kind { kVoted, kDenied, kGranted } kind = Kind::kVoted;
  // kDenied: the call's decision becomes deny `code` with `reason`; kGranted: allow
  // with `reason` ("approved by ...").
  Code code = Code::kAllowed;
  std::string reason;
  // kGranted with call_records > 0: the run's records of the tool after the grant.
  std::optional<uint64_t> run_records_after;
  // kGranted of an edit: the backend stores the edited hash and records with the
  // approval and puts the arguments in the call's decision (SettleDecisionJson).
  const EditedCall* edit = nullptr;
  // kGranted "for the rest of this run": the grant the backend adds to the run's state
  // (RunState::grants[tool]) in the same transaction.
  std::optional<RunState::RunGrant> run_grant;
  audit::AuditEvent event;  // voted | denied | granted
};
// Refused (nothing written): kAlreadyExists for a settled approval or a second vote of one
// person, kPermissionDenied for a self-approval.
Result<VotePlan> PlanVote(const VoteInput& in);

// Withdrawal by the agent that made the call (docs/approvals.md): Denied for another
// agent's approval, and for one whose call was decided under another principal than
// `principal` (the withdrawer's, as its decisions record it; compared as PrincipalRefusal
// does: an agent acting for mallory cannot withdraw alice's pending approval, issue 31);
// AlreadyExists when it is no longer pending. Ok: it ends withdrawn with WithdrawnReason.
Status CheckWithdraw(std::string_view approval_id, std::string_view owner_agent_id,
                     std::string_view owner_principal, std::string_view agent_id,
                     std::string_view principal, bool pending, std::string_view state_name);
// The record of a withdrawal CheckWithdraw refused to another identity of the approval's
// agent: an "approval" record with event "withdraw_refused", code IDENTITY_MISMATCH and
// the reason, under the refused principal (as RefusedReleaseRecord records a release).
// nullopt when the withdrawal is not refused for that (another agent's, the same identity).
std::optional<audit::AuditEvent> RefusedWithdrawRecord(const ApprovalRef& a,
                                                       std::string_view owner_principal,
                                                       std::string_view agent_id,
                                                       std::string_view principal, TimePoint now);
// The "withdrawn" record (principal: the agent).
audit::AuditEvent WithdrawnEvent(const ApprovalRef& a, std::string_view reason_given,
                                 std::string_view why, TimePoint now);

// --- Approvals for the rest of a run (docs/approvals.md, "For the rest of this run").
// Why `rule`'s tool cannot be approved for the rest of a run ("" when it can): unknown to
// the policy, irreversible (`reversible: false`), or needing two approvers or more
// (`required`: the call's, or the rule's when larger).
std::string RunGrantRefusal(const policy::ToolRule* rule, int required);
// An evaluation that needs only an approval (APPROVAL_REQUIRED, nothing else stood in
// its way: every deny comes first) of a tool the run holds a grant for becomes an allow
// covered by it (Decision::covered_by, the reason says so) whose effects are those of a
// call that proceeds. The policy is asked again each time: a grant of a tool that became
// irreversible or needs two approvers covers nothing (the call asks as usual). No-op
// (one empty-check) for a run without grants.
void CoverByRunGrant(const policy::AgentPolicy* agent, const RunState& state, const ToolCall& call,
                     engine::Evaluation* ev);
// Removes the grant of `tool` from `state` and returns its "approval" record (event
// "run_grant_revoked", principal `actor`). kNotFound when the run holds none for `tool`.
Result<audit::AuditEvent> RevokeRunGrant(RunState* state, std::string_view run_id,
                                         std::string_view agent_id, std::string_view tool,
                                         std::string_view actor, std::string_view reason,
                                         TimePoint now);

// `d` (call `call_id`'s decision) with the sealed values of a reviewer's edit
// (Decision::sealed_arguments) opened with `redactor`, for the agent's door, which runs the
// tool with them: every answer that carries the decision (a read of the call, its release,
// a re-submission answered with it) opens them. kCorrupt when one does not open,
// kUnavailable without a redactor: the door then runs nothing.
Status OpenSealedArguments(const audit::Redactor* redactor, std::string_view call_id, Decision* d);

// `d` with the sealed values of a reviewer's edit shown as the audit trail shows them, each
// as its keyed hash ("hmac-sha256:...", audit::Redactor::Hash), for every reader who is not
// the agent's door (a reviewer's page, an admin's read of the call): neither the value nor
// the sealed text. The errors of OpenSealedArguments.
Status HashSealedArguments(const audit::Redactor* redactor, std::string_view call_id, Decision* d);

// A reviewer's edit as the call's decision keeps it: the arguments the agent runs the tool
// with, the redacted ones sealed (audit::Redactor::SealFields), and the names sealed.
struct EditedArguments {
  boost::json::object args;
  std::vector<std::string> sealed;
};

// The call's decision JSON (as stored) rewritten to a settled verdict: decision, code,
// reason, rule, and `edit` when a reviewer edited the arguments (Decision::arguments and
// Decision::sealed_arguments); kCorrupt when the stored text is not a JSON object.
Result<std::string> SettleDecisionJson(std::string_view decision_json, Verdict verdict, Code code,
                                       std::string_view reason, std::string_view rule,
                                       const EditedArguments* edit = nullptr);

}  // namespace interlock::core

#endif  // INTERLOCK_CORE_APPROVAL_RULES_H_

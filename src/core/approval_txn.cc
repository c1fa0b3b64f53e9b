// The approval operations over the row port (see approval_txn.h).
#include "core/approval_txn.h"

#include <chrono>
#include <optional>
#include <utility>

#include "common/principal_name.h"
#include "common/status_macros.h"
#include "core/roles.h"
#include "policy/policy.h"

namespace interlock::core {
namespace {

ApprovalRef Ref(const Approval& a) {
  return ApprovalRef{a.approval_id, a.call_id, a.run_id, a.agent_id, a.tool};
}

// The votes of `a` as the rules read them (views into a.votes).
std::vector<VoteRow> VoteRows(const Approval& a) {
  std::vector<VoteRow> out;
  out.reserve(a.votes.size());
  for (const ApprovalVote& v : a.votes) out.push_back(VoteRow{v.reviewer, v.verdict});
  return out;
}

// Rewrites the settled call's decision (the one GET /v1/calls/{id} answers with).
// `edit`: a reviewer's edit, which the agent runs the tool with.
Status SettleCall(ApprovalRows& rows, const std::string& call_id, Verdict verdict, Code code,
                  const std::string& reason, std::string_view rule,
                  const EditedArguments* edit = nullptr) {
  Result<std::string> current = rows.LoadDecisionJson(call_id);
  if (!current.ok()) return current.error();
  Result<std::string> d = SettleDecisionJson(*current, verdict, code, reason, rule, edit);
  if (!d.ok()) return d.error();
  return rows.SaveDecision(call_id, *d, verdict, code);
}

// Settles pending `a` as `state` (decided now, with `reason`): the row, the call's
// decision and `event`. `after` carries any other change of the row (an edit's hash).
Status Settle(StateTxn& txn, Approval* a, Approval after, ApprovalState state, Verdict verdict,
              Code code, const std::string& reason, TimePoint now, audit::AuditEvent event,
              const EditedArguments* edit = nullptr) {
  after.state = state;
  after.decided = now;
  after.outcome_reason = reason;
  ApprovalRows& rows = txn.approvals();
  INTERLOCK_RETURN_IF_ERROR(rows.Update(*a, after));
  if (Status s = SettleCall(rows, a->call_id, verdict, code, reason, "approval", edit); !s.ok()) {
    return s;
  }
  *a = std::move(after);
  txn.AppendAudit(std::move(event));
  return Status::Ok();
}

PendingQuery ScopeQuery(const KillEntry& kill) {
  PendingQuery q;
  if (kill.scope == "agent") q.kind = PendingQuery::Kind::kAgent, q.agent_id = kill.target;
  if (kill.scope == "run") q.kind = PendingQuery::Kind::kRun, q.run_id = kill.target;
  return q;
}

}  // namespace

const char* ApprovalStateName(ApprovalState s) {
  switch (s) {
    case ApprovalState::kPending:
      return "pending";
    case ApprovalState::kGranted:
      return "granted";
    case ApprovalState::kDenied:
      return "denied";
    case ApprovalState::kTimedOut:
      return "timed_out";
    case ApprovalState::kCancelled:
      return "cancelled";
    case ApprovalState::kWithdrawn:
      return "withdrawn";
  }
  return "denied";
}

std::optional<ApprovalState> ParseApprovalState(std::string_view name) {
  if (name == "pending") return ApprovalState::kPending;
  if (name == "granted") return ApprovalState::kGranted;
  if (name == "denied") return ApprovalState::kDenied;
  if (name == "timed_out") return ApprovalState::kTimedOut;
  if (name == "cancelled") return ApprovalState::kCancelled;
  if (name == "withdrawn") return ApprovalState::kWithdrawn;
  return std::nullopt;
}

std::string ApprovalIdForCall(std::string_view call_id) {
  constexpr std::string_view kCallPrefix = "call_";
  if (call_id.substr(0, kCallPrefix.size()) == kCallPrefix) call_id.remove_prefix(5);
  return "apr_" + std::string(call_id);
}

ApprovalPolicyLookup PolicyFactsLookup(std::shared_ptr<const policy::PolicySet> set) {
  return [set = std::move(set)](std::string_view agent_id, std::string_view tool) {
    ApprovalPolicyFacts facts;
    const policy::AgentPolicy* agent = set ? set->Find(agent_id) : nullptr;
    if (agent == nullptr) return facts;
    facts.identity = agent->identity;
    if (const policy::ToolRule* rule = agent->Resolve(tool).rule) {
      facts.max_records_per_run = rule->max_records_per_run;
    }
    facts.run_grant_refusal = RunGrantRefusal(agent->Resolve(tool).rule, 1);
    return facts;
  };
}

std::optional<NewApproval> ApprovalForDecision(const DecideRequest& rq, const std::string& call_id,
                                               const engine::Evaluation& ev,
                                               int default_timeout_seconds, int max_wait_seconds) {
  const Decision& d = ev.decision;
  if (d.verdict != Verdict::kApprovalRequired) return std::nullopt;
  NewApproval out;
  out.plan = PlanApproval(d, rq.now, default_timeout_seconds, max_wait_seconds);
  Approval& a = out.approval;
  a.approval_id = ApprovalIdForCall(call_id);
  a.call_id = call_id;
  a.run_id = rq.run_id;
  a.agent_id = rq.agent_id;
  a.principal = rq.principal;
  a.tool = rq.call.tool;
  a.args_sha256 = ArgsSha256(rq);
  a.required = out.plan.required;
  a.timeout_seconds = out.plan.timeout_seconds;
  a.auto_deny_on_timeout = d.auto_deny_on_timeout;
  a.records = ev.effects.records;
  a.created = FromUnixMillis(ToUnixMillis(rq.now));  // as stored: milliseconds
  a.deadline = out.plan.deadline;
  a.hard_deadline = out.plan.hard_deadline;
  return out;
}

Result<Resubmission> FindResubmissionInTxn(StateTxn& txn, const DecideRequest& rq) {
  const std::string& id = rq.call.approval_id;
  Resubmission out;
  if (id.empty()) return out;
  Result<std::optional<Approval>> a = txn.approvals().Load(id);
  if (!a.ok()) return a.error();
  if (!*a) {
    out.refusal = "approval " + id + " cannot be used: no such approval";
    return out;
  }
  const Approval& x = **a;
  // An approval of edited arguments is redeemed with those, never with the original.
  out.refusal =
      RedemptionRefusal(id, x.agent_id, x.run_id, x.tool,
                        x.edited_args_sha256.empty() ? x.args_sha256 : x.edited_args_sha256, rq);
  if (out.refusal.empty()) out.original_call_id = x.call_id;
  return out;
}

namespace {

// The approvals of calls identical to rq's: same run, agent, tool and arguments (`sha`,
// ArgsSha256(rq)). PendingQuery holds views: rq and sha must outlive the query.
PendingQuery TwinQuery(const DecideRequest& rq, const std::string& sha) {
  PendingQuery q;
  q.kind = PendingQuery::Kind::kTwin;
  q.run_id = rq.run_id;
  q.agent_id = rq.agent_id;
  q.tool = rq.call.tool;
  q.args_sha256 = sha;
  return q;
}
PendingQuery TwinQuery(const DecideRequest& rq, std::string&& sha) = delete;  // would dangle

}  // namespace

Result<std::string> PendingTwinInTxn(StateTxn& txn, const DecideRequest& rq) {
  const std::string sha = ArgsSha256(rq);
  const PendingQuery q = TwinQuery(rq, sha);
  Result<std::vector<Approval>> pending = txn.approvals().Pending(q);
  if (!pending.ok()) return pending.error();
  const std::string me = PrincipalKey(rq.principal);
  for (const Approval& a : *pending) {
    if (PrincipalKey(a.principal) == me) return a.call_id;
  }
  return std::string();
}

Result<TwinVerdict> DecidedTwinInTxn(StateTxn& txn, const DecideRequest& rq) {
  // A verdict answers identical retries for its approval's timeout, never longer than
  // this (older verdicts are not read).
  constexpr auto kLongestTimeout = std::chrono::hours(7 * 24);
  const std::string sha = ArgsSha256(rq);
  const PendingQuery q = TwinQuery(rq, sha);
  Result<std::vector<Approval>> decided = txn.approvals().DecidedTwins(q, rq.now - kLongestTimeout);
  if (!decided.ok()) return decided.error();
  const std::string me = PrincipalKey(rq.principal);
  TwinVerdict out;
  for (auto it = decided->rbegin(); it != decided->rend(); ++it) {
    const Approval& a = *it;
    if (PrincipalKey(a.principal) != me || !a.decided) continue;
    if (*a.decided + std::chrono::seconds(a.timeout_seconds) < rq.now) continue;
    // The latest verdict within its timeout answers; older ones never do.
    if (a.state == ApprovalState::kGranted && !a.used && a.edited_args_sha256.empty()) {
      out.call_id = a.call_id;
      out.redeem = true;
    } else if (a.state == ApprovalState::kDenied) {
      out.call_id = a.call_id;
    }
    break;
  }
  return out;
}

Status AfterDecideInTxn(StateTxn& txn, const DecideRequest& rq, const std::string& call_id,
                        const engine::Evaluation& ev) {
  if (ev.decision.verdict != Verdict::kApprovalRequired) return Status::Ok();
  ApprovalRows& rows = txn.approvals();
  std::optional<NewApproval> created =
      ApprovalForDecision(rq, call_id, ev, rows.DefaultTimeoutSeconds(), rows.MaxWaitSeconds());
  const Approval& a = created->approval;
  INTERLOCK_RETURN_IF_ERROR(rows.Insert(a));
  txn.AppendAudit(
      RequestedEvent(Ref(a), created->plan, a.auto_deny_on_timeout, a.args_sha256, rq.now));
  return Status::Ok();
}

Status ReleaseInTxn(StateTxn& txn, const std::string& call_id, const ReleaseContext& ctx,
                    bool* released_now) {
  ApprovalRows& rows = txn.approvals();
  Result<std::optional<Approval>> found = rows.Load(ApprovalIdForCall(call_id));
  if (!found.ok()) return found.error();
  if (!*found || (*found)->call_id != call_id) return Status::Ok();  // never waited for one
  const Approval& a = **found;
  if (a.state != ApprovalState::kGranted || a.used) return Status::Ok();  // redeemed once
  const ReleaseOutcome release = DecideRelease(ctx);
  Approval after = a;
  if (release.code == Code::kAllowed) {
    after.used = ctx.now;
    after.used_call_id = call_id;
    INTERLOCK_RETURN_IF_ERROR(rows.Update(a, after));
    txn.AppendAudit(ReleasedEvent(Ref(a), ctx.now));
    if (released_now != nullptr) *released_now = true;
    return Status::Ok();
  }
  // Granted but never delivered: the call does not run. The grant stays on record (votes,
  // decided); the approval ends cancelled with the reason.
  after.state = ApprovalState::kCancelled;
  after.outcome_reason = release.reason;
  INTERLOCK_RETURN_IF_ERROR(rows.Update(a, after));
  if (Status s =
          SettleCall(rows, call_id, Verdict::kDeny, release.code, release.reason, release.rule);
      !s.ok()) {
    return s;
  }
  txn.AppendAudit(CancelledAfterGrantEvent(Ref(a), release, ctx.now));
  return Status::Ok();
}

Status VoteInTxn(StateTxn& txn, const VoteRequest& rq, const audit::Redactor* redactor,
                 VoteOutcome* out) {
  *out = VoteOutcome{};
  INTERLOCK_RETURN_IF_ERROR(CheckMayVote(rq.reviewer.role));
  ApprovalRows& rows = txn.approvals();
  Result<std::optional<Approval>> loaded = rows.Load(rq.approval_id);
  if (!loaded.ok()) return loaded.error();
  if (!*loaded) return Error::NotFound("no approval " + rq.approval_id);
  Approval a = std::move(**loaded);
  const bool pending = a.state == ApprovalState::kPending;
  const ApprovalPolicyFacts facts =
      pending && rq.policy ? rq.policy(a.agent_id, a.tool) : ApprovalPolicyFacts{};
  VoteInput in{
      Ref(a),    pending,     ApprovalStateName(a.state), a.principal, facts.identity, a.required,
      a.records, VoteRows(a), rq.reviewer.name,           rq.approve,  rq.comment,     rq.now};
  in.max_records_per_run = facts.max_records_per_run;
  // The run as it is now: halted or ended, and the records it has touched.
  std::optional<RunRow> run;
  if (pending) {
    Result<RunRow> r = txn.LoadRunForUpdate(a.run_id);
    if (!r.ok()) return r.error();
    run = std::move(r).value();
    in.run_halted_or_ended = run->state.halted || run->ended;
    if (auto it = run->state.records.find(a.tool); it != run->state.records.end()) {
      in.run_records_used = it->second;
    }
  }
  // A reviewer's edit (EvaluateEdit judged it): PlanVote refuses it for a deny or an
  // approval needing two people, and a grant consumes the edited call's records.
  if (rq.edit) {
    if (redactor == nullptr) return Error::Unavailable("store: no audit redactor for an edit");
    in.edit = &*rq.edit;
    in.original_args_sha256 = a.args_sha256;
    in.redactor = redactor;
  }
  in.for_run = rq.for_run;
  in.for_run_refusal = facts.run_grant_refusal;
  Result<VotePlan> plan = PlanVote(in);
  if (!plan.ok()) return plan.error();
  const ApprovalVote vote{rq.reviewer.name, rq.approve ? "approve" : "deny", rq.comment, rq.now};
  INTERLOCK_RETURN_IF_ERROR(rows.InsertVote(a.approval_id, vote));
  a.votes.push_back(vote);
  if (plan->kind == VotePlan::Kind::kVoted) {
    txn.AppendAudit(std::move(plan->event));
    out->approval = std::move(a);
    return Status::Ok();
  }
  const bool granted = plan->kind == VotePlan::Kind::kGranted;
  Approval after = a;
  std::optional<EditedArguments> edit;
  if (granted && plan->edit != nullptr) {
    after.records = plan->edit->records;
    after.edited_args_sha256 = plan->edit->args_sha256;
    // The edited values of redacted arguments are kept sealed, never in plain text: the
    // agent's door gets them opened (core::Calls::GetCall).
    edit.emplace();
    edit->args =
        redactor->SealFields(plan->edit->args, plan->edit->redact_fields, a.call_id, &edit->sealed);
  }
  if (Status s = Settle(txn, &a, std::move(after),
                        granted ? ApprovalState::kGranted : ApprovalState::kDenied,
                        granted ? Verdict::kAllow : Verdict::kDeny, plan->code, plan->reason,
                        rq.now, std::move(plan->event), edit ? &*edit : nullptr);
      !s.ok()) {
    return s;
  }
  out->settled = true;
  out->approval = std::move(a);
  if (!granted || (!plan->run_records_after && !plan->run_grant)) return Status::Ok();
  // The records the call touches are consumed now, and an approval for the rest of the
  // run joins the run's state (the run's last write).
  const std::string& tool = out->approval.tool;
  if (plan->run_records_after) run->state.records[tool] = *plan->run_records_after;
  if (plan->run_grant) run->state.grants.insert_or_assign(tool, *plan->run_grant);
  return txn.SaveRun(out->approval.run_id, *run);
}

Status WithdrawInTxn(StateTxn& txn, std::string_view approval_id, std::string_view agent_id,
                     std::string_view principal, std::string_view reason, TimePoint now,
                     Approval* out, std::optional<Error>* refused) {
  refused->reset();
  Result<std::optional<Approval>> loaded = txn.approvals().Load(approval_id);
  if (!loaded.ok()) return loaded.error();
  if (!*loaded) return Error::NotFound("no approval " + std::string(approval_id));
  Approval& a = **loaded;
  if (Status s = CheckWithdraw(a.approval_id, a.agent_id, a.principal, agent_id, principal,
                               a.state == ApprovalState::kPending, ApprovalStateName(a.state));
      !s.ok()) {
    // Another identity's attempt is recorded with the transaction (which commits: the op
    // succeeds), and answered by the caller as the refusal it is.
    if (auto rec = RefusedWithdrawRecord(Ref(a), a.principal, agent_id, principal, now)) {
      txn.AppendAudit(std::move(*rec));
      *refused = s.error();
      return Status::Ok();
    }
    return s;
  }
  const std::string why = WithdrawnReason(a.approval_id, a.agent_id, reason);
  audit::AuditEvent ev = WithdrawnEvent(Ref(a), reason, why, now);
  Approval after = a;
  if (Status s = Settle(txn, &a, std::move(after), ApprovalState::kWithdrawn, Verdict::kDeny,
                        Code::kApprovalDenied, why, now, std::move(ev));
      !s.ok()) {
    return s;
  }
  *out = std::move(a);
  return Status::Ok();
}

Status CancelForKillInTxn(StateTxn& txn, const KillEntry& kill, TimePoint now,
                          std::vector<ApprovalChange>* out) {
  Result<std::vector<Approval>> pending = txn.approvals().Pending(ScopeQuery(kill));
  if (!pending.ok()) return pending.error();
  for (Approval& a : *pending) {
    const std::string reason = KillCancelReason(kill.scope, kill.reason);
    audit::AuditEvent ev =
        SettledEvent(Ref(a), "cancelled", Code::kApprovalDenied, reason, now, kill.actor, "");
    Approval after = a;
    if (Status s = Settle(txn, &a, std::move(after), ApprovalState::kCancelled, Verdict::kDeny,
                          Code::kApprovalDenied, reason, now, std::move(ev));
        !s.ok()) {
      return s;
    }
    if (out != nullptr) out->push_back(ApprovalChange{ApprovalChange::Kind::kCancelled, a});
  }
  return Status::Ok();
}

Status ExpireInTxn(StateTxn& txn, TimePoint now, std::vector<ApprovalChange>* out) {
  out->clear();
  ApprovalRows& rows = txn.approvals();
  // Kill switches engaged by another process (`interlock kill engage --store`).
  Result<std::vector<KillEntry>> kills = rows.EngagedKills();
  if (!kills.ok()) return kills.error();
  for (const KillEntry& k : *kills) {
    INTERLOCK_RETURN_IF_ERROR(CancelForKillInTxn(txn, k, now, out));
  }
  PendingQuery q;
  q.kind = PendingQuery::Kind::kDue;
  q.due = now;
  Result<std::vector<Approval>> due = rows.Pending(q);
  if (!due.ok()) return due.error();
  for (Approval& a : *due) {
    // Time out or escalate, under the transaction's locks: a deadline is acted on once,
    // whichever daemon's sweeper comes first.
    const DeadlineOutcome next = OnDeadline(a.auto_deny_on_timeout, a.timeout_seconds,
                                            a.escalation_level, a.deadline, a.hard_deadline, now);
    if (next.time_out) {
      audit::AuditEvent ev =
          SettledEvent(Ref(a), "timed_out", Code::kApprovalTimeout, next.reason, now, "", "");
      Approval after = a;
      if (Status s = Settle(txn, &a, std::move(after), ApprovalState::kTimedOut, Verdict::kDeny,
                            Code::kApprovalTimeout, next.reason, now, std::move(ev));
          !s.ok()) {
        return s;
      }
      out->push_back(ApprovalChange{ApprovalChange::Kind::kTimedOut, a});
      continue;
    }
    Approval after = a;
    after.escalation_level += 1;
    after.deadline = next.next_deadline;
    INTERLOCK_RETURN_IF_ERROR(rows.Update(a, after));
    a = std::move(after);
    txn.AppendAudit(EscalatedEvent(Ref(a), a.escalation_level, a.deadline, now));
    out->push_back(ApprovalChange{ApprovalChange::Kind::kEscalated, a});
  }
  return Status::Ok();
}

}  // namespace interlock::core

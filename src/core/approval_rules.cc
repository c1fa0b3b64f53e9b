#include "core/approval_rules.h"

#include <algorithm>
#include <cstdint>
#include <set>
#include <string>
#include <utility>

#include <boost/json/array.hpp>
#include <boost/json/serialize.hpp>
#include <boost/json/value.hpp>

#include "common/crypto.h"
#include "common/json.h"
#include "common/json_write.h"
#include "common/principal_name.h"
#include "common/status_macros.h"
#include "core/path_links.h"

namespace interlock::core {

Status CheckReviewer(std::string_view reviewer, std::string_view approval_id,
                     std::string_view call_principal, std::string_view agent_id,
                     std::string_view agent_identity, const std::vector<VoteRow>& votes) {
  // Nobody approves a call made under their own identity. People, not strings: names
  // compare by PrincipalKey, rows stored before names were validated included.
  const std::string me = PrincipalKey(reviewer);
  if (me == PrincipalKey(call_principal) || me == PrincipalKey(agent_id) ||
      (!agent_identity.empty() && me == PrincipalKey(agent_identity))) {
    return Error::Denied("reviewer " + std::string(reviewer) +
                         " cannot decide a call made under its own identity");
  }
  // Nobody approves a call an agent made on their behalf. The human is the tail after
  // " on behalf of " of a JWT agent's principal (doors/http_api/api.cc names it so); every such
  // tail is tried, so a subject that itself contains the phrase can only refuse more.
  // A reviewer signed in with OpenID Connect ("oidc:<sub>@<issuer host>") is also
  // compared by its bare subject: a conservative link across issuers, never a grant.
  constexpr std::string_view kOnBehalf = " on behalf of ";
  std::string bare;
  if (reviewer.starts_with("oidc:")) {
    const std::string_view rest = reviewer.substr(5);
    bare = PrincipalKey(rest.substr(0, rest.rfind('@')));
  }
  for (size_t at = call_principal.find(kOnBehalf); at != std::string_view::npos;
       at = call_principal.find(kOnBehalf, at + 1)) {
    const std::string human = PrincipalKey(call_principal.substr(at + kOnBehalf.size()));
    if (!human.empty() && (human == me || human == bare)) {
      return Error::Denied("reviewer " + std::string(reviewer) +
                           " cannot decide a call made on their own behalf");
    }
  }
  for (const VoteRow& v : votes) {
    if (PrincipalKey(v.reviewer) == me) {
      return Error{ErrorKind::kAlreadyExists,
                   "reviewer " + std::string(reviewer) + " has already voted on approval " +
                       std::string(approval_id) + "; another reviewer must decide"};
    }
  }
  return Status::Ok();
}

ApprovalTally TallyApprovals(const std::vector<VoteRow>& votes) {
  // Distinct people: two votes an older build stored under lookalike names count once.
  ApprovalTally t;
  std::set<std::string> people;
  for (const VoteRow& v : votes) {
    if (v.verdict != "approve" || !people.insert(PrincipalKey(v.reviewer)).second) continue;
    ++t.approvals;
    if (!t.reviewers.empty()) t.reviewers += ", ";
    t.reviewers += v.reviewer;
  }
  return t;
}

std::optional<GrantRefusal> CheckGrant(bool run_halted_or_ended, std::string_view tool,
                                       uint64_t call_records, uint64_t run_records_used,
                                       std::optional<uint64_t> max_records_per_run,
                                       std::string_view reviewers) {
  if (run_halted_or_ended) {
    return GrantRefusal{Code::kApprovalDenied,
                        "the run was halted or ended while the approval was pending"};
  }
  if (max_records_per_run && (call_records > *max_records_per_run ||
                              run_records_used > *max_records_per_run - call_records)) {
    return GrantRefusal{Code::kRecordLimitExceeded,
                        "approved by " + std::string(reviewers) + ", but the call touches " +
                            std::to_string(call_records) + " records and the run has now touched " +
                            std::to_string(run_records_used) + "; max_records_per_run for tool \"" +
                            std::string(tool) + "\" is " + std::to_string(*max_records_per_run)};
  }
  return std::nullopt;
}

ReleaseOutcome DecideRelease(const ReleaseContext& ctx) {
  ReleaseOutcome out;
  if (ctx.kill) {
    out.code = Code::kKillSwitch;
    out.reason =
        "kill switch (" + ctx.kill->scope + ") engaged before the approved call was released";
    if (!ctx.kill->reason.empty()) out.reason += ": " + ctx.kill->reason;
    out.rule = "kill_switch." + ctx.kill->scope;
  } else if (ctx.run_ended || ctx.run_halted) {
    out.code = Code::kRunHalted;
    out.reason = ctx.run_ended ? "the run ended before the approved call was released"
                               : "the run was halted before the approved call was released";
    if (!ctx.run_ended && !ctx.halt_reason.empty()) out.reason += ": " + ctx.halt_reason;
    out.rule = "run.halted";
  }
  return out;
}

Result<EditedCall> EvaluateEdit(const policy::AgentPolicy* agent, const RunState& state,
                                std::string_view approval_tool, int approval_required,
                                boost::json::object args, TimePoint now) {
  if (approval_required > 1) {
    return Error::Invalid(
        "the arguments of a call that needs " + std::to_string(approval_required) +
        " approvers cannot be edited: every approver must approve the same arguments; deny it "
        "and let the agent call again with the arguments you want");
  }
  ToolCall call;
  call.tool = std::string(approval_tool);
  call.args = std::move(args);
  // Nothing counted: the original call was counted against rate limits and quotas. Its
  // path arguments are judged on the file system, as every decision's are.
  engine::EvalContext ctx{now, std::nullopt, engine::AgentUsage{}};
  ctx.paths = OsPaths();
  engine::Evaluation ev = engine::Evaluate(agent, state, call, ctx);
  const Decision& d = ev.decision;
  const std::string why = "the edited call is refused by the policy";
  switch (d.verdict) {
    case Verdict::kAllow:
      break;
    case Verdict::kApprovalRequired:
      if (d.tool != approval_tool || std::max(1, d.approvals_required) > approval_required) {
        return Error::Denied(why + ": it needs " + std::to_string(d.approvals_required) +
                             " approvers and this approval has " +
                             std::to_string(approval_required) + " (" + d.reason + ")");
      }
      break;
    default:
      return Error::Denied(why + " (" + std::string(CodeName(d.code)) + ", rule " + d.rule +
                           "): " + d.reason);
  }
  EditedCall out;
  out.args_sha256 = ArgsDigest(call.args);
  out.records = ev.effects.records;
  if (agent != nullptr) {
    if (const policy::ToolRule* rule = agent->Resolve(approval_tool).rule) {
      out.redact_fields = rule->redact;
    }
  }
  out.args = std::move(call.args);
  return out;
}

std::string ArgsDigest(const boost::json::object& args) {
  std::string canonical;
  AppendJson(args, JsonStyle::kCanonicalByValue, &canonical);
  return Sha256Hex(canonical);
}

std::string ArgsSha256(const DecideRequest& rq) { return ArgsDigest(rq.call.args); }

std::string RedemptionRefusal(std::string_view approval_id, std::string_view agent_id,
                              std::string_view run_id, std::string_view tool,
                              std::string_view args_sha256, const DecideRequest& rq) {
  auto refuse = [&](std::string_view why) {
    return "approval " + std::string(approval_id) + " cannot be used: " + std::string(why);
  };
  // Binding: the agent, run, tool and exact arguments the reviewer saw.
  if (agent_id != rq.agent_id) return refuse("it was granted to another agent");
  if (run_id != rq.run_id) return refuse("it was granted for another run");
  if (tool != rq.call.tool) return refuse("it was granted for another tool");
  if (!ConstantTimeEquals(args_sha256, ArgsSha256(rq))) {
    return refuse("the arguments differ from the ones that were approved");
  }
  return std::string();
}

namespace {

std::string MismatchReason(std::string_view what, std::string_view decided_principal,
                           std::string_view principal) {
  return std::string(what) + " was decided for " + std::string(decided_principal) + ", not for " +
         std::string(principal) +
         ": a decision is handed out again only to the identity it was made for";
}

}  // namespace

std::string IdentityRefusal(std::string_view what, std::string_view decided_principal,
                            const CallerIdentity* decided_identity, const DecideRequest& rq) {
  // Exact bytes, not PrincipalKey: two names one reader could confuse are still two
  // callers here, and refusing is the safe side.
  const bool same =
      decided_principal == rq.principal &&
      (decided_identity == nullptr || (decided_identity->issuer == rq.identity.issuer &&
                                       decided_identity->subject == rq.identity.subject &&
                                       decided_identity->on_behalf_of == rq.identity.on_behalf_of));
  if (same) return std::string();
  return MismatchReason(what, decided_principal, rq.principal);
}

std::string PrincipalRefusal(std::string_view what, std::string_view decided_principal,
                             std::string_view principal) {
  if (decided_principal == principal) return std::string();
  return MismatchReason(what, decided_principal, principal);
}

ApprovalPlan PlanApproval(const Decision& d, TimePoint now, int default_timeout_seconds,
                          int max_wait_seconds) {
  ApprovalPlan p;
  p.required = std::max(1, d.approvals_required);
  p.timeout_seconds = d.approval_timeout_seconds > 0 ? d.approval_timeout_seconds
                                                     : std::max(1, default_timeout_seconds);
  // Whole milliseconds, as stored.
  const int64_t now_ms = ToUnixMillis(now);
  const int64_t deadline = now_ms + int64_t{p.timeout_seconds} * 1000;
  const int64_t hard =
      d.auto_deny_on_timeout
          ? deadline
          : std::max(deadline, now_ms + int64_t{std::max(1, max_wait_seconds)} * 1000);
  p.deadline = FromUnixMillis(deadline);
  p.hard_deadline = FromUnixMillis(hard);
  return p;
}

DeadlineOutcome OnDeadline(bool auto_deny_on_timeout, int timeout_seconds, int escalation_level,
                           TimePoint deadline, TimePoint hard_deadline, TimePoint now) {
  DeadlineOutcome out;
  const int64_t now_ms = ToUnixMillis(now);
  const int64_t hard_ms = ToUnixMillis(hard_deadline);
  if (auto_deny_on_timeout || now_ms >= hard_ms) {
    out.time_out = true;
    out.reason = auto_deny_on_timeout
                     ? "no reviewer decided within " + std::to_string(timeout_seconds) + " s"
                     : "no reviewer decided before the hard maximum wait (escalated " +
                           std::to_string(escalation_level) + " times)";
    return out;
  }
  out.time_out = false;
  out.next_deadline = FromUnixMillis(std::min(
      hard_ms, std::max(now_ms, ToUnixMillis(deadline)) + int64_t{timeout_seconds} * 1000));
  return out;
}

std::string DeniedByReason(std::string_view reviewer, std::string_view comment) {
  std::string reason = "denied by " + std::string(reviewer);
  if (!comment.empty()) reason += ": " + std::string(comment);
  return reason;
}

std::string KillCancelReason(std::string_view scope, std::string_view kill_reason) {
  std::string reason = "kill switch (" + std::string(scope) + ") engaged";
  if (!kill_reason.empty()) reason += ": " + std::string(kill_reason);
  return reason;
}

std::string WithdrawnReason(std::string_view approval_id, std::string_view agent_id,
                            std::string_view reason) {
  std::string why =
      "approval " + std::string(approval_id) + " was withdrawn by agent " + std::string(agent_id);
  if (!reason.empty()) why += ": " + std::string(reason);
  return why;
}

audit::AuditEvent ApprovalEvent(const ApprovalRef& a, std::string_view event, TimePoint now,
                                std::string_view reviewer, std::string_view comment,
                                boost::json::object extra) {
  boost::json::object data = std::move(extra);
  data["event"] = event;
  data["approval_id"] = a.approval_id;
  data["reviewer"] = reviewer;
  data["comment"] = comment;
  data["tool"] = a.tool;
  return audit::AuditEvent{
      audit::kApproval,        now,
      std::string(a.run_id),   std::string(a.call_id),
      std::string(a.agent_id), reviewer.empty() ? std::string("interlock") : std::string(reviewer),
      std::move(data)};
}

audit::AuditEvent SettledEvent(const ApprovalRef& a, std::string_view event, Code code,
                               std::string_view reason, TimePoint now, std::string_view reviewer,
                               std::string_view comment) {
  return ApprovalEvent(a, event, now, reviewer, comment,
                       boost::json::object{{"code", CodeName(code)}, {"reason", reason}});
}

audit::AuditEvent RequestedEvent(const ApprovalRef& a, const ApprovalPlan& plan,
                                 bool auto_deny_on_timeout, std::string_view args_sha256,
                                 TimePoint now) {
  return ApprovalEvent(a, "requested", now, "", "",
                       boost::json::object{{"required", plan.required},
                                           {"timeout_seconds", plan.timeout_seconds},
                                           {"auto_deny_on_timeout", auto_deny_on_timeout},
                                           {"deadline", FormatRfc3339(plan.deadline)},
                                           {"args_sha256", args_sha256}});
}

audit::AuditEvent ReleasedEvent(const ApprovalRef& a, TimePoint now) {
  return ApprovalEvent(a, "released", now, "", "");
}

audit::AuditEvent CancelledAfterGrantEvent(const ApprovalRef& a, const ReleaseOutcome& release,
                                           TimePoint now) {
  return ApprovalEvent(
      a, "cancelled", now, "", "",
      boost::json::object{
          {"code", CodeName(release.code)}, {"reason", release.reason}, {"after_grant", true}});
}

audit::AuditEvent EscalatedEvent(const ApprovalRef& a, int level, TimePoint deadline,
                                 TimePoint now) {
  return ApprovalEvent(
      a, "escalated", now, "", "",
      boost::json::object{{"level", level}, {"deadline", FormatRfc3339(deadline)}});
}

Result<VotePlan> PlanVote(const VoteInput& in) {
  const ApprovalRef& a = in.approval;
  if (!in.pending) {
    return Error{ErrorKind::kAlreadyExists, "approval " + std::string(a.approval_id) +
                                                " is already " + std::string(in.state_name)};
  }
  // Self-approval and one vote per person.
  if (Status s = CheckReviewer(in.reviewer, a.approval_id, in.call_principal, a.agent_id,
                               in.agent_identity, in.votes);
      !s.ok()) {
    return s.error();
  }
  if (in.for_run) {
    if (!in.approve) return Error::Invalid("only an approve may be for the rest of the run");
    if (!in.for_run_refusal.empty()) {
      return Error::Invalid("cannot approve for the rest of the run: " +
                            std::string(in.for_run_refusal));
    }
    if (in.required > 1) {
      return Error::Invalid("cannot approve for the rest of the run: the call needs " +
                            std::to_string(in.required) + " approvers");
    }
  }
  if (in.edit != nullptr) {
    if (!in.approve) return Error::Invalid("only an approve may carry edited arguments");
    if (in.required > 1) {
      return Error::Invalid("the arguments of a call that needs " + std::to_string(in.required) +
                            " approvers cannot be edited");
    }
  }
  VotePlan plan;
  if (!in.approve) {
    plan.kind = VotePlan::Kind::kDenied;
    plan.code = Code::kApprovalDenied;
    plan.reason = DeniedByReason(in.reviewer, in.comment);
    plan.event = SettledEvent(a, "denied", plan.code, plan.reason, in.now, in.reviewer, in.comment);
    return plan;
  }
  std::vector<VoteRow> votes = in.votes;
  votes.push_back(VoteRow{in.reviewer, "approve"});
  // The two-person rule: distinct people.
  const ApprovalTally tally = TallyApprovals(votes);
  if (tally.approvals < in.required) {
    plan.kind = VotePlan::Kind::kVoted;
    plan.event = ApprovalEvent(
        a, "voted", in.now, in.reviewer, in.comment,
        boost::json::object{
            {"verdict", "approve"}, {"approvals", tally.approvals}, {"required", in.required}});
    return plan;
  }
  // The re-check on grant: halted or ended runs, record limits (of the edited call, when
  // a reviewer edited it).
  const uint64_t call_records = in.edit != nullptr ? in.edit->records : in.call_records;
  if (std::optional<GrantRefusal> refusal =
          CheckGrant(in.run_halted_or_ended, a.tool, call_records, in.run_records_used,
                     in.max_records_per_run, tally.reviewers)) {
    plan.kind = VotePlan::Kind::kDenied;
    plan.code = refusal->code;
    plan.reason = std::move(refusal->reason);
    plan.event = SettledEvent(a, "denied", plan.code, plan.reason, in.now, in.reviewer, in.comment);
    return plan;
  }
  plan.kind = VotePlan::Kind::kGranted;
  plan.code = Code::kAllowed;
  plan.reason = "approved by " + tally.reviewers;
  if (in.edit != nullptr) plan.reason += " with edited arguments";
  if (in.for_run) {
    plan.reason += " for the rest of run " + std::string(a.run_id);
    plan.run_grant = RunState::RunGrant{
        std::string(a.approval_id), tally.reviewers,
        std::chrono::duration_cast<std::chrono::milliseconds>(in.now.time_since_epoch()).count()};
  }
  if (call_records > 0) plan.run_records_after = in.run_records_used + call_records;
  boost::json::array all;
  for (const VoteRow& v : votes) {
    if (v.verdict == "approve") all.emplace_back(v.reviewer);
  }
  boost::json::object granted{{"reviewers", std::move(all)}, {"records_consumed", call_records}};
  if (in.for_run) granted["for_run"] = true;
  if (in.edit != nullptr) {
    // Both versions: the original call's record stays; this one names both hashes and
    // carries the edited arguments, redacted as every record is.
    plan.edit = in.edit;
    granted["edited"] = true;
    granted["args_sha256"] = in.original_args_sha256;
    granted["edited_args_sha256"] = in.edit->args_sha256;
    if (in.redactor != nullptr) {
      granted["edited_args"] = in.redactor->RedactArgs(in.edit->args, in.edit->redact_fields);
    } else {
      granted["edited_args"] = "(redacted: no audit key)";
    }
  }
  plan.event = ApprovalEvent(a, "granted", in.now, in.reviewer, in.comment, std::move(granted));
  return plan;
}

Status CheckWithdraw(std::string_view approval_id, std::string_view owner_agent_id,
                     std::string_view owner_principal, std::string_view agent_id,
                     std::string_view principal, bool pending, std::string_view state_name) {
  // Another agent's approval is indistinguishable from a foreign call: refused.
  if (owner_agent_id != agent_id) {
    return Error::Denied("approval " + std::string(approval_id) + " belongs to another agent");
  }
  // Before the state: whether another identity's approval is still pending is not its to
  // learn.
  if (std::string refusal =
          PrincipalRefusal("approval " + std::string(approval_id), owner_principal, principal);
      !refusal.empty()) {
    return Error::Denied(refusal);
  }
  if (!pending) {
    return Error{ErrorKind::kAlreadyExists,
                 "approval " + std::string(approval_id) + " is already " + std::string(state_name)};
  }
  return Status::Ok();
}

std::optional<audit::AuditEvent> RefusedWithdrawRecord(const ApprovalRef& a,
                                                       std::string_view owner_principal,
                                                       std::string_view agent_id,
                                                       std::string_view principal, TimePoint now) {
  if (a.agent_id != agent_id) return std::nullopt;
  std::string refusal =
      PrincipalRefusal("approval " + std::string(a.approval_id), owner_principal, principal);
  if (refusal.empty()) return std::nullopt;
  audit::AuditEvent ev =
      SettledEvent(a, "withdraw_refused", Code::kIdentityMismatch, refusal, now, "", "");
  ev.principal = std::string(principal);
  return ev;
}

audit::AuditEvent WithdrawnEvent(const ApprovalRef& a, std::string_view reason_given,
                                 std::string_view why, TimePoint now) {
  audit::AuditEvent ev =
      SettledEvent(a, "withdrawn", Code::kApprovalDenied, why, now, "", reason_given);
  ev.principal = std::string(a.agent_id);  // the agent withdrew it, not a reviewer
  return ev;
}

std::string RunGrantRefusal(const policy::ToolRule* rule, int required) {
  if (rule == nullptr) return "the tool has no rule in the agent's policy";
  if (rule->reversible.has_value() && !*rule->reversible) {
    return "tool \"" + rule->name + "\" is irreversible: each call needs its own approval";
  }
  const int need = std::max(required, rule->approvals_required);
  if (need > 1) {
    return "tool \"" + rule->name + "\" needs " + std::to_string(need) +
           " approvers: each call needs its own";
  }
  return "";
}

void CoverByRunGrant(const policy::AgentPolicy* agent, const RunState& state, const ToolCall& call,
                     engine::Evaluation* ev) {
  if (state.grants.empty()) return;
  Decision& d = ev->decision;
  if (d.verdict != Verdict::kApprovalRequired || d.code != Code::kApprovalRequired ||
      d.rehearsal.has_value() || agent == nullptr) {
    return;
  }
  auto it = state.grants.find(call.tool);
  if (it == state.grants.end()) return;
  if (!RunGrantRefusal(agent->Resolve(call.tool).rule, d.approvals_required).empty()) return;
  d.verdict = Verdict::kAllow;
  d.code = Code::kAllowed;
  d.reason = "covered by approval " + it->second.approval_id + " (approved by " +
             it->second.reviewer + " for the rest of this run); the policy asks: " + d.reason;
  d.covered_by = it->second.approval_id;
  ev->effects.consume_records = true;
  ev->effects.sequence = engine::ProceedEffects(agent, state, call);
}

Result<audit::AuditEvent> RevokeRunGrant(RunState* state, std::string_view run_id,
                                         std::string_view agent_id, std::string_view tool,
                                         std::string_view actor, std::string_view reason,
                                         TimePoint now) {
  auto it = state->grants.find(tool);
  if (it == state->grants.end()) {
    return Error::NotFound("run " + std::string(run_id) + " holds no approval of tool \"" +
                           std::string(tool) + "\" for the rest of the run");
  }
  boost::json::object data{{"event", "run_grant_revoked"},
                           {"approval_id", it->second.approval_id},
                           {"reviewer", actor},
                           {"comment", reason},
                           {"tool", tool},
                           {"granted_by", it->second.reviewer}};
  state->grants.erase(it);
  return audit::AuditEvent{
      audit::kApproval, now, std::string(run_id), "", std::string(agent_id), std::string(actor),
      std::move(data)};
}

Status OpenSealedArguments(const audit::Redactor* redactor, std::string_view call_id, Decision* d) {
  if (d->sealed_arguments.empty()) return Status::Ok();
  if (redactor == nullptr || !d->arguments) {
    return Error::Unavailable("the reviewer's edited arguments of call " + std::string(call_id) +
                              " are sealed, and this store has no audit key to open them");
  }
  Result<boost::json::object> opened =
      redactor->OpenFields(std::move(*d->arguments), d->sealed_arguments, call_id);
  if (!opened.ok()) {
    return Error::Corrupt("the reviewer's edited arguments of call " + std::string(call_id) +
                          " cannot be opened: " + opened.error().message);
  }
  d->arguments = std::move(opened).value();
  d->sealed_arguments.clear();
  return Status::Ok();
}

Status HashSealedArguments(const audit::Redactor* redactor, std::string_view call_id, Decision* d) {
  if (d->sealed_arguments.empty()) return Status::Ok();
  const std::vector<std::string> fields = d->sealed_arguments;
  INTERLOCK_RETURN_IF_ERROR(OpenSealedArguments(redactor, call_id, d));
  d->arguments = redactor->RedactArgs(*d->arguments, fields);
  return Status::Ok();
}

Result<std::string> SettleDecisionJson(std::string_view decision_json, Verdict verdict, Code code,
                                       std::string_view reason, std::string_view rule,
                                       const EditedArguments* edit) {
  Result<boost::json::value> v = ParseOwnJson(decision_json);
  if (!v.ok() || !v->is_object()) return Error::Corrupt("store: calls.decision_json is bad");
  boost::json::object& d = v->get_object();
  d["decision"] = VerdictName(verdict);
  d["code"] = CodeName(code);
  d["reason"] = reason;
  d["rule"] = rule;
  d["at"] = "";
  if (edit != nullptr) {
    d["arguments"] = edit->args;
    if (!edit->sealed.empty()) {
      d["sealed_arguments"] = boost::json::array(edit->sealed.begin(), edit->sealed.end());
    }
  }
  return boost::json::serialize(d);
}

}  // namespace interlock::core

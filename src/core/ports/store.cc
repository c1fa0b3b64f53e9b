#include "core/ports/store.h"

#include <cstdio>

#include "core/approval_rules.h"
#include "core/run_txn.h"
#include "policy/policy.h"

namespace interlock::core {

audit::AuditEvent KillSwitchEvent(const KillEntry& e) {
  audit::AuditEvent ev{
      audit::kKillSwitch,
      e.at,
      "",
      "",
      "",
      e.actor,
      boost::json::object{
          {"scope", e.scope}, {"target", e.target}, {"engaged", e.engaged}, {"reason", e.reason}}};
  if (e.scope == "run") ev.run_id = e.target;
  if (e.scope == "agent") ev.agent_id = e.target;
  return ev;
}

Status AnchorFailed(AnchorNeed need, int64_t seq, const Error& error,
                    std::atomic<uint64_t>* failures) {
  if (need == AnchorNeed::kRequired) {
    return Error::Unavailable(
        "the audit record could not be anchored by a signed checkpoint, so the action was "
        "refused (it would widen access with its record unanchored): " +
        error.message);
  }
  const uint64_t n = failures->fetch_add(1) + 1;
  std::fprintf(stderr,
               "interlock: audit: record seq %lld committed WITHOUT its signed checkpoint "
               "(%llu anchoring failures so far): %s\n",
               static_cast<long long>(seq), static_cast<unsigned long long>(n),
               error.message.c_str());
  return Status::Ok();
}

audit::AuditEvent PolicyLoadEvent(const PolicyLoad& load) {
  const bool loaded = load.error.empty();
  boost::json::object data{{"why", load.why}};
  if (loaded) {
    data["sha256"] = load.sha256;
    data["agents"] = load.agents;
  } else {
    data["error"] = load.error.size() > kMaxResultOutputBytes
                        ? TruncateUtf8(load.error, kMaxResultOutputBytes) + "...[truncated]"
                        : load.error;
  }
  return audit::AuditEvent{loaded ? audit::kPolicyLoaded : audit::kPolicyRejected,
                           load.at,
                           "",
                           "",
                           "",
                           load.principal,
                           std::move(data)};
}

audit::AuditEvent AuthFailuresEvent(const AuthFailures& failures) {
  boost::json::object reasons;
  for (const auto& [why, n] : failures.reasons) reasons[why] = n;
  boost::json::object data{{"count", failures.count},
                           {"reasons", std::move(reasons)},
                           {"first", FormatRfc3339(failures.first)},
                           {"last", FormatRfc3339(failures.last)}};
  // Only when there are some: records of token failures keep their shape.
  if (!failures.sign_ins.empty()) {
    boost::json::array sign_ins;
    for (const RefusedSignIn& r : failures.sign_ins) {
      sign_ins.push_back(boost::json::object{{"code", r.code},
                                             {"principal", r.principal},
                                             {"issuer", r.issuer},
                                             {"at", FormatRfc3339(r.at)}});
    }
    data["sign_ins"] = std::move(sign_ins);
  }
  return audit::AuditEvent{audit::kAuthFailed, failures.last, "", "", "", "", std::move(data)};
}

audit::AuditEvent SignInEvent(const SignIn& s) {
  boost::json::object data{{"issuer", s.issuer}, {"subject", s.subject}};
  if (!s.signed_out) {
    boost::json::array groups;
    for (const std::string& g : s.groups) groups.emplace_back(g);
    data["role"] = s.role;
    data["groups"] = std::move(groups);
    data["expires_at"] = FormatRfc3339(s.expires_at);
  }
  return audit::AuditEvent{s.signed_out ? audit::kSignedOut : audit::kSignedIn,
                           s.at,
                           "",
                           "",
                           "",
                           s.principal,
                           std::move(data)};
}

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

const char* RunListStateName(const RunInfo& run) {
  if (run.state.halted) return "halted";
  return run.ended ? "ended" : "active";
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

}  // namespace interlock::core

// Approvals (docs/approvals.md): the reviewers' queue, votes, run grants, and the
// agent's withdrawal.
#include <algorithm>
#include <string>
#include <utility>

#include <boost/asio/post.hpp>
#include <boost/beast/http.hpp>
#include <boost/json.hpp>

#include "common/json.h"
#include "core/app/approvals.h"
#include "doors/http_api/api.h"
#include "doors/http_api/api_internal.h"

namespace interlock::server {

namespace net = boost::asio;
namespace http = boost::beast::http;
namespace json = boost::json;

namespace {

json::object ApprovalJson(const core::Approval& a, TimePoint now) {
  json::array votes;
  int approvals = 0;
  for (const core::ApprovalVote& v : a.votes) {
    if (v.verdict == "approve") ++approvals;
    votes.push_back(json::object{{"reviewer", v.reviewer},
                                 {"verdict", v.verdict},
                                 {"comment", v.comment},
                                 {"at", FormatRfc3339(v.at)}});
  }
  json::object o{{"approval_id", a.approval_id},
                 {"call_id", a.call_id},
                 {"run_id", a.run_id},
                 {"agent_id", a.agent_id},
                 {"principal", a.principal},
                 {"tool", a.tool},
                 {"args_sha256", a.args_sha256},
                 {"edited_args_sha256", a.edited_args_sha256},
                 {"state", core::ApprovalStateName(a.state)},
                 {"required", a.required},
                 {"approvals", approvals},
                 {"votes", std::move(votes)},
                 {"created", FormatRfc3339(a.created)},
                 {"deadline", FormatRfc3339(a.deadline)},
                 {"hard_deadline", FormatRfc3339(a.hard_deadline)},
                 {"timeout_seconds", a.timeout_seconds},
                 {"auto_deny_on_timeout", a.auto_deny_on_timeout},
                 {"escalation_level", a.escalation_level},
                 {"outcome_reason", a.outcome_reason}};
  if (a.state == core::ApprovalState::kPending) {
    const int64_t left = ToUnixMillis(a.deadline) - ToUnixMillis(now);
    o["time_left_s"] = std::max<int64_t>(0, (left + 999) / 1000);
  }
  if (a.decided) o["decided"] = FormatRfc3339(*a.decided);
  if (a.used) {
    o["used"] = FormatRfc3339(*a.used);
    o["used_call_id"] = a.used_call_id;
  }
  return o;
}

}  // namespace

void Api::HandleListApprovals(const Caller&, std::string state, size_t limit, Responder r) {
  Blocking([this, r, state, limit] {
    core::ApprovalFilter f;
    f.which = state == "pending"   ? core::ApprovalFilter::Which::kPending
              : state == "decided" ? core::ApprovalFilter::Which::kDecided
                                   : core::ApprovalFilter::Which::kAll;
    f.limit = limit;
    auto list = calls_.approvals().List(f);
    if (!list.ok()) return r.Send(StoreError(list.error()));
    const TimePoint now = clock_->Now();
    json::array arr;
    for (const core::Approval& a : *list) arr.push_back(ApprovalJson(a, now));
    r.Send(JsonResponse(200, json::object{{"approvals", std::move(arr)}}));
  });
}

void Api::HandleGetApproval(const Caller&, std::string approval_id, Responder r) {
  Blocking([this, r, approval_id] {
    auto review = calls_.approvals().GetReview(approval_id);
    if (!review.ok()) return r.Send(StoreError(review.error()));
    const core::Approval* a = &review->approval;
    json::object out = ApprovalJson(*a, clock_->Now());
    // The call as stored: arguments redacted (hmac-sha256:...), why approval is needed.
    if (const std::optional<core::StoredCall>& call = review->call) {
      out["args"] = call->record.call.args;
      out["decision"] = DecisionJson(call->record.decision);
      // What the call's rehearsal showed ("in staging this deletes 14 resources"), beside
      // the arguments, for the reviewer.
      if (call->record.decision.rehearsal) {
        out["rehearsal"] = RehearsalToJson(*call->record.decision.rehearsal);
      }
    }
    std::shared_ptr<const policy::PolicySet> set = policies_->Current();
    const policy::AgentPolicy* agent = set ? set->Find(a->agent_id) : nullptr;
    if (agent != nullptr) {
      out["identity"] = agent->identity;
      if (const policy::ToolRule* found = agent->Resolve(a->tool).rule) {
        const policy::ToolRule& rule = *found;
        json::object cls{{"reversible", rule.reversible.value_or(true)},
                         {"blast_radius", policy::BlastRadiusName(rule.blast_radius)}};
        if (rule.requires_approval) cls["requires_approval"] = *rule.requires_approval;
        // Which of the two the policy writes; the others above are defaults, not facts
        // (docs/api.md): the reviewer page shows them as "not classified".
        json::array stated;
        if (rule.reversible) stated.emplace_back("reversible");
        if (rule.blast_radius_written) stated.emplace_back("blast_radius");
        cls["stated"] = std::move(stated);
        out["classification"] = std::move(cls);
        json::array redact;
        for (const std::string& f : rule.redact) redact.emplace_back(f);
        out["redacted_fields"] = std::move(redact);
      }
    }
    json::array calls;
    for (const core::CallSummary& c : review->run_calls) {
      calls.push_back(json::object{{"call_id", c.call_id},
                                   {"at", FormatRfc3339(c.at)},
                                   {"tool", c.tool},
                                   {"decision", c.verdict},
                                   {"code", c.code},
                                   {"reason", c.reason},
                                   {"this", c.call_id == a->call_id}});
    }
    out["run_calls"] = std::move(calls);
    r.Send(JsonResponse(200, out));
  });
}

void Api::HandleVote(const Caller& c, const HttpRequest& req, std::string approval_id,
                     Responder r) {
  auto body = ParseObjectBody(req, options_.max_body_bytes, false);
  if (!body.ok()) return r.Send(InvalidRequest(body.error().message));
  const json::object& o = *body;
  for (const auto& kv : o) {
    if (kv.key() != "verdict" && kv.key() != "comment" && kv.key() != "arguments" &&
        kv.key() != "scope") {
      return r.Send(InvalidRequest("unknown field '" + std::string(kv.key()) + "'"));
    }
  }
  const json::value* verdict = o.if_contains("verdict");
  if (verdict == nullptr || !verdict->is_string() ||
      (verdict->as_string() != "approve" && verdict->as_string() != "deny")) {
    return r.Send(InvalidRequest("verdict must be \"approve\" or \"deny\""));
  }
  // A reviewer's edit (docs/approvals.md, "Editing the arguments"): an object, with an
  // approve only; judged by the core (core::EvaluateEdit) below.
  std::optional<json::object> edited;
  if (const json::value* a = o.if_contains("arguments"); a != nullptr && !a->is_null()) {
    if (!a->is_object()) return r.Send(InvalidRequest("arguments must be a JSON object"));
    if (verdict->as_string() != "approve") {
      return r.Send(InvalidRequest("only an approve may carry edited arguments"));
    }
    edited = a->as_object();
  }
  // "scope": "run": approved for the rest of the run (docs/approvals.md); the core refuses
  // it for irreversible and two-approver tools.
  bool for_run = false;
  if (const json::value* scope = o.if_contains("scope"); scope != nullptr && !scope->is_null()) {
    if (!scope->is_string() || (scope->as_string() != "call" && scope->as_string() != "run")) {
      return r.Send(InvalidRequest("scope must be \"call\" or \"run\""));
    }
    for_run = scope->as_string() == "run";
    if (for_run && verdict->as_string() != "approve") {
      return r.Send(InvalidRequest("only an approve may be for the rest of the run"));
    }
  }
  core::Approvals::VoteAsk vote;
  vote.for_run = for_run;
  vote.approval_id = std::move(approval_id);
  vote.reviewer = c.principal;
  vote.approve = verdict->as_string() == "approve";
  if (const json::value* comment = o.if_contains("comment"); comment && !comment->is_null()) {
    Result<std::string> text = FreeText(*comment, "comment");
    if (!text.ok()) return r.Send(InvalidRequest(text.error().message));
    vote.comment = std::move(text).value();
  }
  vote.edited_args = std::move(edited);
  vote.policies = policies_->Current();
  Blocking([this, r, vote = std::move(vote)]() mutable {
    // The use case is the core's (core/app/approvals.h): the edit judged, the vote recorded.
    core::Approvals::EditRefusal edit = core::Approvals::EditRefusal::kNone;
    auto out = calls_.approvals().Vote(std::move(vote), &edit);
    if (!out.ok()) {
      if (edit == core::Approvals::EditRefusal::kPolicy) {
        return r.Send(JsonError(422, "EDIT_REFUSED", out.error().message));
      }
      if (edit == core::Approvals::EditRefusal::kInvalid) {
        return r.Send(InvalidRequest(out.error().message));
      }
      return r.Send(StoreError(out.error()));
    }
    if (out->settled) NotifyCall(out->approval.call_id);
    json::object body = ApprovalJson(out->approval, clock_->Now());
    body["settled"] = out->settled;
    r.Send(JsonResponse(200, body));
  });
}

void Api::HandleRevokeRunGrant(const Caller& c, const HttpRequest& req, std::string run_id,
                               Responder r) {
  auto body = ParseObjectBody(req, options_.max_body_bytes, /*allow_empty=*/false);
  if (!body.ok()) return r.Send(InvalidRequest(body.error().message));
  std::string tool, reason;
  for (const auto& kv : *body) {
    if (kv.key() != "tool" && kv.key() != "reason") {
      return r.Send(InvalidRequest("unknown field '" + std::string(kv.key()) + "'"));
    }
    if (kv.value().is_null()) continue;
    Result<std::string> text = FreeText(kv.value(), kv.key());
    if (!text.ok()) return r.Send(InvalidRequest(text.error().message));
    (kv.key() == "tool" ? tool : reason) = std::move(text).value();
  }
  if (tool.empty()) return r.Send(InvalidRequest("tool is required"));
  Blocking([this, c, r, run_id, tool, reason] {
    Status s = calls_.approvals().RevokeRunGrant(run_id, tool, c.principal, reason);
    if (!s.ok()) return r.Send(StoreError(s.error()));
    r.Send(JsonResponse(200, json::object{{"run_id", run_id}, {"tool", tool}, {"revoked", true}}));
  });
}

void Api::WithdrawUnheard(std::string agent_id, std::string principal, std::string call_id) {
  Blocking([this, agent_id = std::move(agent_id), principal = std::move(principal),
            call_id = std::move(call_id)] {
    auto a = calls_.approvals().WithdrawUnheard(call_id, agent_id, principal);
    if (!a.ok()) {
      // The approval stays pending until its deadline (the sweeper then times it out).
      std::fprintf(stderr,
                   "interlock: approval of call %s not withdrawn after its client hung up: %s\n",
                   call_id.c_str(), a.error().message.c_str());
      return;
    }
    if (*a) NotifyCall(call_id);
  });
}

void Api::HandleWithdraw(const Caller& c, const HttpRequest& req, std::string approval_id,
                         Responder r) {
  auto body = ParseObjectBody(req, options_.max_body_bytes, /*allow_empty=*/true);
  if (!body.ok()) return r.Send(InvalidRequest(body.error().message));
  std::string reason;
  for (const auto& kv : *body) {
    if (kv.key() != "reason") {
      return r.Send(InvalidRequest("unknown field '" + std::string(kv.key()) + "'"));
    }
    if (!kv.value().is_null()) {
      Result<std::string> text = FreeText(kv.value(), "reason");
      if (!text.ok()) return r.Send(InvalidRequest(text.error().message));
      reason = std::move(text).value();
    }
  }
  Blocking([this, c, r, approval_id, reason] {
    auto a =
        calls_.approvals().Withdraw(approval_id, c.principal.agent_id, c.principal.name, reason);
    if (!a.ok()) return r.Send(StoreError(a.error()));
    NotifyCall(a->call_id);
    r.Send(JsonResponse(200, ApprovalJson(*a, clock_->Now())));
  });
}
}  // namespace interlock::server

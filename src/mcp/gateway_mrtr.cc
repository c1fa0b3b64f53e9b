// CallFlow (call_flow.h): approvals over MCP multi round-trip requests (MCP 2026-07-28,
// docs/mcp.md#approvals-over-mrtr). A held call of a 2026-07-28 client is answered
// `input_required` with a sealed requestState (core/app/approval_states.h) instead of being held
// open; the client's retry carries the state back and is answered with the verdict. The
// call was decided and counted once, when it first came: a retry is never decided again.
#include <algorithm>
#include <chrono>

#include <boost/json.hpp>

#include "common/json.h"
#include "core/app/approval_states.h"
#include "core/app/approvals.h"
#include "mcp/call_flow.h"
#include "mcp/framing.h"
#include "mcp/gateway_internal.h"
#include "mcp/revision.h"

namespace interlock::mcp {

namespace json = boost::json;

using gateway_internal::kGatewayRule;
using gateway_internal::Log;

namespace {

// The key of Interlock's one input request in inputRequests / inputResponses.
constexpr char kInputKey[] = "interlock_approval";
constexpr char kApprovalMetaKey[] = "interlock.dev/approval";
// Approvals of states issued and not yet retried that the gateway remembers to withdraw when
// the client goes; beyond this they end at their own timeout.
constexpr size_t kMaxOpenStates = 1024;
// A state for the person at the client outlives the approval's deadline by this much, so a
// retry at the deadline still opens and finds the approval timed out (not "expired state").
constexpr std::chrono::milliseconds kLocalStateSlack{5000};

const json::object* MetaOf(const json::value* params) {
  if (params == nullptr || !params->is_object()) return nullptr;
  const json::value* meta = params->get_object().if_contains("_meta");
  return meta != nullptr && meta->is_object() ? &meta->get_object() : nullptr;
}

}  // namespace

namespace gateway_internal {

ElicitModes ElicitModesOf(const json::object* capabilities) {
  ElicitModes modes;
  const json::value* e =
      capabilities != nullptr ? capabilities->if_contains("elicitation") : nullptr;
  if (e == nullptr || !e->is_object()) return modes;
  const json::object& o = e->get_object();
  modes.form = o.empty() || o.contains("form");
  modes.url = o.contains("url");
  return modes;
}

}  // namespace gateway_internal

core::ApprovalStates CallFlow::States() const {
  return core::ApprovalStates(options_.request_states);
}

void CallFlow::AnswerInputRequired(const json::value& id, const json::object& params,
                                   const std::string& tool, const json::object& args,
                                   Enforcer::Outcome pending) {
  pending.decision.tool = tool;
  const bool local = pending.ask_client;
  auto deny = [&](Code code, const std::string& reason) {
    if (!pending.approval_id.empty()) {
      WithdrawApproval(pending, reason);
    }
    Decision d = DenyDecision(code, reason, kGatewayRule);
    d.agent_id = options_.agent_id;
    d.tool = tool;
    link_.AnswerClient(ResultResponse(id, Denial(d)));
  };
  if (pending.call_id.empty() || pending.approval_id.empty()) {
    deny(Code::kStoreUnavailable,
         "approval required, but the core named no approval to answer it, so the call is denied");
    return;
  }
  const std::string run_id = options_.enforcer->RunId();
  if (run_id.empty()) {
    // A state is bound to its run: one bound to none would open in any run of the agent.
    deny(Code::kStoreUnavailable,
         "approval required, but the gateway has no run to bind the call's requestState to, "
         "so the call is denied");
    return;
  }
  const json::value params_value(params);
  const json::object* meta = MetaOf(&params_value);
  const json::value* caps = meta != nullptr ? meta->if_contains(kMetaClientCapabilities) : nullptr;
  const gateway_internal::ElicitModes modes = gateway_internal::ElicitModesOf(
      caps != nullptr && caps->is_object() ? &caps->get_object() : nullptr);
  // The person at the client stands in for one reviewer, never for two (the Enforcer should
  // not have asked; checked here again so a client's answer can never make up a quorum).
  if (local && pending.decision.approvals_required >= 2) {
    deny(Code::kApprovalRequired,
         "approval required from " + std::to_string(pending.decision.approvals_required) +
             " reviewers; the person at the MCP client is one, so the call is denied");
    return;
  }
  if (local && !modes.form) {
    deny(Code::kApprovalRequired,
         "approval required, and the MCP client did not declare form-mode elicitation in this "
         "request's capabilities to ask its user, so the call is denied");
    return;
  }
  const std::chrono::milliseconds ttl =
      local ? std::max(pending.time_left, std::chrono::milliseconds(0)) + kLocalStateSlack
            : options_.reviewer_state_ttl;
  const std::string state = States().Seal({options_.agent_id, run_id, options_.state_scope}, tool,
                                          args, {pending.call_id, pending.approval_id, local}, ttl);

  json::object approval{{"approval_id", pending.approval_id},
                        {"answered_by", local ? "the local user" : "reviewers"}};
  if (!pending.approval_url.empty()) approval["url"] = pending.approval_url;
  json::object requests;
  if (local) {
    gateway_internal::ApprovalQuestion q = gateway_internal::QuestionFor(tool, pending);
    requests[kInputKey] =
        json::object{{"method", "elicitation/create"},
                     {"params", json::object{{"mode", "form"},
                                             {"message", std::move(q.message)},
                                             {"requestedSchema", std::move(q.schema)}}}};
  } else if (modes.url && !pending.approval_url.empty()) {
    requests[kInputKey] = json::object{
        {"method", "elicitation/create"},
        {"params",
         json::object{{"mode", "url"},
                      {"message", "Interlock: " + tool + " waits for approval by reviewers (" +
                                      pending.approval_id +
                                      "). The reviewer page shows the call; retrying the call "
                                      "answers with their verdict."},
                      {"url", pending.approval_url}}}};
  }
  // Without a request the client can show, the state alone: the client may retry at once,
  // and the retry waits up to mrtr_wait for the verdict.
  json::object result{{"resultType", "input_required"}};
  if (!requests.empty()) result["inputRequests"] = std::move(requests);
  result["requestState"] = state;
  result["_meta"] = json::object{{kApprovalMetaKey, std::move(approval)}};
  {
    std::lock_guard lock(mu_);
    if (open_states_.size() < kMaxOpenStates) open_states_[pending.approval_id] = pending;
  }
  link_.AnswerClient(ResultResponse(id, result));
}

void CallFlow::HandleStateRetry(json::value doc, const json::value& id, const std::string& tool,
                                const json::object& args) {
  json::value& params_value = doc.get_object()["params"];
  json::object& params = params_value.get_object();
  const json::value* sv = params.if_contains("requestState");
  const core::ApprovalStates::Holder holder{options_.agent_id, options_.enforcer->RunId(),
                                            options_.state_scope};
  Result<core::ApprovalStates::HeldApproval> claims =
      sv != nullptr && sv->is_string() ? States().Open(sv->get_string(), holder, tool, args)
                                       : Result<core::ApprovalStates::HeldApproval>(
                                             Error::Denied("requestState refused: not a string"));
  if (!claims.ok()) {
    // Forged, replayed, swapped or expired: recorded through the core like every refusal,
    // and never answered with anyone's verdict.
    Enforcer::Outcome o = DecideRefusal(&params_value, claims.error().message + "; not forwarded");
    Log("refused a retry's requestState: " + claims.error().message + " (call " + o.call_id + ")");
    link_.AnswerClient(ResultResponse(id, Denial(o.decision)));
    return;
  }
  {
    std::lock_guard lock(mu_);
    open_states_.erase(claims->approval_id);
  }
  std::optional<json::value> answer;
  if (const json::value* r = params.if_contains("inputResponses"); r != nullptr && r->is_object()) {
    if (const json::value* a = r->get_object().if_contains(kInputKey)) answer = *a;
  }
  std::optional<json::value> progress_token;
  if (const json::object* meta = MetaOf(&params_value)) {
    if (const json::value* t = meta->if_contains("progressToken")) progress_token = *t;
  }
  // Ours: the server never sees them.
  params.erase("requestState");
  params.erase("inputResponses");

  Enforcer::Outcome pending;
  pending.call_id = claims->call_id;
  pending.approval_id = claims->approval_id;
  pending.decision.verdict = Verdict::kApprovalRequired;
  pending.decision.code = Code::kApprovalRequired;
  pending.decision.agent_id = options_.agent_id;
  pending.decision.tool = tool;

  if (!claims->ask_client) {
    // Only the reviewers' verdict counts: whatever the agent's own client put in
    // inputResponses is not read, so it can never be taken for a vote (two-person rule
    // included).
    auto held = std::make_shared<Held>();
    std::lock_guard lock(mu_);
    held_.emplace(IdKey(id), held);
    held->thread = std::thread(&CallFlow::AwaitReviewersForRetry, this, std::move(doc), id, tool,
                               args, std::move(pending), std::move(progress_token), held);
    return;
  }
  // The person at the client (standalone, one approver): their answer is the local user's vote.
  pending.ask_client = true;
  if (!answer) {
    // Nothing answered (MRTR: ask again while the approval is pending).
    Enforcer::Outcome now = options_.enforcer->CheckApproval(pending);
    now.decision.tool = tool;
    if (now.call_id.empty()) now.call_id = pending.call_id;
    if (now.approval_id.empty()) now.approval_id = pending.approval_id;
    if (now.decision.verdict == Verdict::kApprovalRequired) {
      now.ask_client = true;
      AnswerInputRequired(id, params, tool, args, std::move(now));
      return;
    }
    AnswerVerdict(std::move(doc), id, tool, args, std::move(now));
    return;
  }
  const Enforcer::ClientAnswer a = gateway_internal::ReadElicitAnswer(
      json::object{{"result", std::move(*answer)}}, "the local user");
  Enforcer::Outcome final = options_.enforcer->AnswerAtClient(pending, a);
  final.decision.tool = tool;
  if (final.call_id.empty()) final.call_id = pending.call_id;
  AnswerVerdict(std::move(doc), id, tool, args, std::move(final));
}

void CallFlow::AwaitReviewersForRetry(json::value doc, json::value id, std::string tool,
                                      json::object args, Enforcer::Outcome pending,
                                      std::optional<json::value> progress_token,
                                      std::shared_ptr<Held> held) {
  const auto deadline = std::chrono::steady_clock::now() + options_.mrtr_wait;
  int ticks = 0;
  const std::string waiting = "Interlock: waiting for reviewers to approve " + tool +
                              " (approval " + pending.approval_id + ")";
  auto progress = [&] {
    if (!progress_token || held->cancelled) return;
    SendProgress(*progress_token, ++ticks, waiting);
  };
  Enforcer::Outcome r = options_.enforcer->AwaitApproval(
      pending,
      [&] { return held->cancelled.load() || std::chrono::steady_clock::now() >= deadline; },
      progress);
  // AwaitApproval answers the pending outcome when told to stop: the approval as it stands
  // decides. A final verdict is never read twice (the second read of a granted call is
  // not a release: core::Approvals::ReleaseToRun).
  if (!held->cancelled.load() && r.decision.verdict == Verdict::kApprovalRequired) {
    r = options_.enforcer->CheckApproval(pending);
  }
  r.decision.tool = tool;
  if (r.call_id.empty()) r.call_id = pending.call_id;
  if (r.approval_id.empty()) r.approval_id = pending.approval_id;
  const bool cancelled = held->cancelled.load();
  // The client stopped waiting (its retry cancelled: it holds no state any more), or the
  // approval cannot be looked up: withdrawn, as for a held call.
  if (cancelled || r.decision.code == Code::kStoreUnavailable) {
    const std::string why =
        cancelled ? held->Why()
                  : "the MCP gateway could not look up the verdict: " + r.decision.reason;
    WithdrawApproval(pending, why);
  }
  RetireHeld(id, held);
  if (cancelled) {
    link_.ReleaseClientId(id);
    return;
  }
  if (r.decision.verdict == Verdict::kApprovalRequired) {
    r.ask_client = false;
    AnswerInputRequired(id, doc.get_object().at("params").get_object(), tool, args, std::move(r));
    return;
  }
  AnswerVerdict(std::move(doc), id, tool, args, std::move(r));
}

void CallFlow::AnswerVerdict(json::value doc, const json::value& id, const std::string& tool,
                             const json::object& args, Enforcer::Outcome final) {
  if (final.decision.verdict == Verdict::kAllow) {
    // A reviewer's edit: the server receives the edited arguments (docs/approvals.md).
    ContinueAllowed(std::move(doc), id, tool,
                    final.decision.arguments ? *final.decision.arguments : args, final);
    return;
  }
  if (final.decision.rule == core::kReleasedBeforeRule) {
    // A retry whose approval already ran its call (a state replayed after a restart or to
    // another daemon of the fleet, whose replay memory did not see it): refused and
    // recorded like a replay this process saw.
    const json::value* params = doc.get_object().if_contains("params");
    Enforcer::Outcome o =
        DecideRefusal(params, "requestState refused: " + final.decision.reason + "; not forwarded");
    Log("refused a retry whose approval already released its call (call " + o.call_id + ")");
  } else if (final.decision.verdict != Verdict::kDeny) {
    final.decision =
        DenyDecision(Code::kApprovalDenied, "the approval did not settle", kGatewayRule);
    final.decision.agent_id = options_.agent_id;
    final.decision.tool = tool;
  }
  link_.AnswerClient(ResultResponse(id, Denial(final.decision)));
}

bool CallFlow::HasOpenStates() const {
  std::lock_guard lock(mu_);
  return !open_states_.empty();
}

void CallFlow::WithdrawOpenStates(std::string_view why) {
  if (!options_.withdraw_open_states_on_close) return;
  std::map<std::string, Enforcer::Outcome, std::less<>> open;
  {
    std::lock_guard lock(mu_);
    open.swap(open_states_);
  }
  for (const auto& [approval_id, pending] : open) {
    WithdrawApproval(pending, why);
  }
}

}  // namespace interlock::mcp

// CallFlow (call_flow.h): the tools/call path: decide, hold for approval or rehearsal,
// refuse, or forward the allowed call.
#include "mcp/call_flow.h"

#include <algorithm>
#include <iostream>

#include <boost/json.hpp>

#include "common/crypto.h"
#include "common/json.h"
#include "core/app/approval_states.h"
#include "core/app/call_span.h"
#include "core/app/tool_views.h"
#include "mcp/framing.h"
#include "mcp/gateway_internal.h"

namespace interlock::mcp {

namespace json = boost::json;

using gateway_internal::kGatewayRule;
using gateway_internal::kUnnamedTool;
using gateway_internal::Log;
using gateway_internal::OpenKey;
using gateway_internal::RecordedToolName;

void CallFlow::HandleToolsCall(json::value doc, const json::value& id) {
  const json::value* params = doc.get_object().if_contains("params");
  const json::value* name =
      params != nullptr && params->is_object() ? params->get_object().if_contains("name") : nullptr;
  const json::value* arguments =
      name != nullptr ? params->get_object().if_contains("arguments") : nullptr;
  std::string malformed;
  if (name == nullptr || !name->is_string()) {
    malformed = "tools/call needs params.name, a string";
  } else if (RecordedToolName(params) == kUnnamedTool) {
    malformed = "params.name is not a valid tool name (empty, over " +
                std::to_string(core::kMaxToolNameBytes) + " bytes or control characters)";
  } else if (arguments != nullptr && !arguments->is_object()) {
    malformed = "tools/call params.arguments must be an object";
  } else if (params->get_object().contains("task")) {
    malformed =
        "task-augmented tools/call is not supported through Interlock (its result would "
        "bypass the gateway's result handling)";
  }
  if (!malformed.empty()) {
    Enforcer::Outcome o = DecideRefusal(params, malformed + "; not forwarded");
    link_.AnswerClient(ResultResponse(id, Denial(o.decision)));
    return;
  }
  ToolCall call;
  call.tool = std::string(name->get_string());
  if (arguments != nullptr) call.args = arguments->get_object();
  call.mask_values = options_.secrets;
  const std::string tool = call.tool;
  const json::object args = call.args;
  // The retry of a call answered input_required (approvals over MRTR): answered with the
  // verdict, never decided again. A requestState of another issuer (the server's own) is
  // not Interlock's to open; the call is decided as any other.
  if (const json::value* state = params->get_object().if_contains("requestState");
      state != nullptr &&
      (!state->is_string() || core::ApprovalStates::IsOurs(state->get_string()))) {
    HandleStateRetry(std::move(doc), id, tool, args);
    return;
  }
  std::optional<json::value> progress_token;
  std::string_view traceparent;
  std::string_view tracestate;
  if (const json::value* meta = params->get_object().if_contains("_meta");
      meta != nullptr && meta->is_object()) {
    if (const json::value* t = meta->get_object().if_contains("progressToken")) progress_token = *t;
    // The caller's W3C trace context (MCP 2026-07-28 carries it in _meta): the core
    // parents the decision span on it and records it (docs/telemetry.md).
    if (const json::value* tp = meta->get_object().if_contains("traceparent");
        tp != nullptr && tp->is_string()) {
      traceparent = tp->get_string();
    }
    if (const json::value* ts = meta->get_object().if_contains("tracestate");
        ts != nullptr && ts->is_string()) {
      tracestate = ts->get_string();
    }
  }
  // This call's span (docs/telemetry.md#spans): the decision, approval wait and upstream
  // call are its children.
  std::shared_ptr<core::CallSpan> trace =
      core::CallSpan::Start(options_.telemetry, options_.agent_id, traceparent, tracestate, &call);
  if (trace) {
    std::lock_guard lock(mu_);
    link_.KeepTraceLocked(id, trace);
  }

  // The client's retry of a call the server answered input_required: the same call, decided
  // once (gateway.h). A retry no open call matches is decided as a new call.
  if (ContinueOpenCall(doc, id, tool, args)) return;

  // The labels the tool's annotations declare reach the engine with the call (it uses
  // them only where the policy writes none). A catalog that cannot be loaded declares
  // nothing; an allowed call is then refused by ContinueAllowed.
  if (link_.EnsureCatalog()) {
    std::lock_guard lock(mu_);
    if (const ToolCatalog::Entry* e = catalog_.Find(tool)) call.declared_labels = e->labels;
  }
  Enforcer::Outcome outcome = options_.enforcer->Decide(std::move(call));
  outcome.decision.tool = tool;
  if (trace) trace->SetDecision(outcome.decision, outcome.call_id);
  // The MCP doors' one mapping of the core's answer (interlock/outcome.h; docs/design.md
  // "One outcome"): an error is refused as a deny is, with the decision the core gave.
  switch (outcome.outcome().kind) {
    case OutcomeKind::kAllow:
      ContinueAllowed(std::move(doc), id, tool, args, outcome);
      return;
    case OutcomeKind::kDeny:
    case OutcomeKind::kError:
      link_.AnswerClient(ResultResponse(id, Denial(outcome.decision)));
      return;
    case OutcomeKind::kApprovalRequired: {
      auto held = std::make_shared<Held>();
      std::lock_guard lock(mu_);
      held_.emplace(IdKey(id), held);
      held->thread = std::thread(&CallFlow::FinishHeld, this, std::move(doc), id, tool, args,
                                 std::move(outcome), std::move(progress_token), held);
      return;
    }
    case OutcomeKind::kRehearsalRequired: {
      if (!outcome.decision.rehearsal || outcome.decision.rehearsal->reported) {
        RefuseCall(id, tool, "", Code::kRehearsalFailed,
                   "the core asked for a rehearsal without saying what to rehearse");
        return;
      }
      ToolCall real;
      real.tool = tool;
      real.args = args;
      real.mask_values = options_.secrets;
      auto held = std::make_shared<Held>();
      std::lock_guard lock(mu_);
      held_.emplace(IdKey(id), held);
      held->thread =
          std::thread(&CallFlow::RehearseHeld, this, std::move(doc), id, tool, args,
                      std::move(real), std::move(outcome), std::move(progress_token), held);
      return;
    }
  }
}

void CallFlow::RetireHeld(const json::value& id, std::shared_ptr<Held> held) {
  std::lock_guard lock(mu_);
  held_.erase(IdKey(id));
  finished_held_.push_back(std::move(held));
}

void CallFlow::SendProgress(const json::value& token, int progress, const std::string& message) {
  link_.SendToClient(json::object{
      {"jsonrpc", "2.0"},
      {"method", "notifications/progress"},
      {"params",
       json::object{{"progressToken", token}, {"progress", progress}, {"message", message}}}});
}

void CallFlow::FinishHeld(json::value doc, json::value id, std::string tool, json::object args,
                          Enforcer::Outcome pending, std::optional<json::value> progress_token,
                          std::shared_ptr<Held> held) {
  // A 2026-07-28 client is answered input_required rather than held open (approvals over
  // MRTR, gateway_mrtr.cc).
  if (IsModern(ClientRevisionOf(doc.get_object()))) {
    RetireHeld(id, held);
    if (held->cancelled.load()) {
      WithdrawApproval(pending, held->Why());
      link_.ReleaseClientId(id);
      return;
    }
    AnswerInputRequired(id, doc.get_object().at("params").get_object(), tool, args,
                        std::move(pending));
    return;
  }
  std::shared_ptr<core::CallSpan> trace = link_.TraceOf(id);
  if (pending.ask_client) {
    pending.decision.tool = tool;
    // The wait for the person at the client is an approval wait like a reviewer's: its span,
    // and the call's verdict once answered.
    if (trace) trace->ApprovalWaitStarted();
    Enforcer::ClientAnswer answer = server_requests_.AskClient(tool, pending, held->cancelled);
    const bool cancelled = held->cancelled.load();
    Enforcer::Outcome final = pending;
    if (cancelled) {
      WithdrawApproval(pending, held->Why());
    } else {
      final = options_.enforcer->AnswerAtClient(pending, answer);
      final.decision.tool = tool;
      if (final.call_id.empty()) final.call_id = pending.call_id;
    }
    if (trace) {
      trace->ApprovalWaitEnded(final.decision, pending.approval_id);
      trace->SetDecision(final.decision, pending.call_id);
    }
    RetireHeld(id, held);
    if (cancelled) {  // the client no longer wants an answer (MCP cancellation)
      link_.ReleaseClientId(id);
      return;
    }
    if (final.decision.verdict == Verdict::kAllow) {
      ContinueAllowed(std::move(doc), id, tool, args, final);
    } else {
      if (final.decision.verdict != Verdict::kDeny) {
        final.decision = DenyDecision(
            Code::kApprovalDenied, "the approval at the MCP client did not settle", kGatewayRule);
        final.decision.agent_id = options_.agent_id;
        final.decision.tool = tool;
      }
      link_.AnswerClient(ResultResponse(id, Denial(final.decision)));
    }
    return;
  }
  int ticks = 0;
  std::string waiting = "Interlock: waiting for human approval of " + tool;
  if (!pending.approval_id.empty()) {
    waiting += " (approval " + pending.approval_id;
    if (!pending.approval_url.empty()) waiting += ", review at " + pending.approval_url;
    waiting += ")";
  }
  auto progress = [&] {
    if (!progress_token || held->cancelled) return;
    SendProgress(*progress_token, ++ticks, waiting);
  };
  if (trace) trace->ApprovalWaitStarted();
  Enforcer::Outcome final = options_.enforcer->AwaitApproval(
      pending, [&held] { return held->cancelled.load(); }, progress);
  final.decision.tool = tool;
  if (trace) {
    trace->ApprovalWaitEnded(final.decision, pending.approval_id);
    trace->SetDecision(final.decision, pending.call_id);
  }
  if (final.call_id.empty()) final.call_id = pending.call_id;
  const bool cancelled = held->cancelled.load();
  // Stopped waiting without a verdict: withdraw, so no reviewer decides a call nobody
  // waits for (an approval decided meanwhile answers kAlreadyExists and stays).
  if (cancelled || final.decision.verdict == Verdict::kApprovalRequired ||
      final.decision.code == Code::kStoreUnavailable) {
    const std::string why =
        cancelled ? held->Why()
                  : "the MCP gateway could not wait for the verdict: " + final.decision.reason;
    WithdrawApproval(pending, why);
  }
  RetireHeld(id, held);
  if (cancelled) {  // the client no longer wants an answer (MCP cancellation)
    link_.ReleaseClientId(id);
    return;
  }
  if (final.decision.verdict == Verdict::kAllow) {
    // A reviewer's edit: the server receives the edited arguments (docs/approvals.md).
    ContinueAllowed(std::move(doc), id, tool,
                    final.decision.arguments ? *final.decision.arguments : args, final);
  } else {
    if (final.decision.verdict == Verdict::kApprovalRequired) {
      final.decision = DenyDecision(Code::kApprovalTimeout, "approval still pending", kGatewayRule);
      final.decision.agent_id = options_.agent_id;
      final.decision.tool = tool;
    }
    link_.AnswerClient(ResultResponse(id, DenialResult(final.decision)));
  }
}

bool CallFlow::ContinueOpenCall(json::value& doc, const json::value& id, const std::string& tool,
                                const json::object& args) {
  // The answer to a 2025 server's own question (gateway_relay.cc): the call is still there.
  if (server_requests_.ContinueRelayedCall(doc, id, tool, args)) return true;
  const json::object& params = doc.get_object().at("params").get_object();
  if (!params.contains("inputResponses") && !params.contains("requestState")) return false;
  OpenCall c;
  {
    std::lock_guard lock(mu_);
    auto it = open_calls_.find(OpenKey(tool, args));
    if (it == open_calls_.end()) return false;
    c = std::move(it->second);
    open_calls_.erase(it);
  }
  if (std::chrono::steady_clock::now() - c.opened > kOpenCallTtl) {
    RecordNeverRetried(c, "the client answered the MCP server's input_required too late");
    return false;  // decided as a new call
  }
  ContinueAllowed(std::move(doc), id, tool, args, *c.outcome, c.input_rounds);
  return true;
}

void CallFlow::RefuseCall(const json::value& id, const std::string& tool,
                          const std::string& call_id, Code code, const std::string& reason) {
  if (!call_id.empty()) {
    ToolResult r =
        ToolResult::Failure(secrets_.Mask("not forwarded by the MCP gateway: " + reason));
    if (Status s = options_.enforcer->RecordResult(call_id, r); !s.ok()) {
      Log("could not record the refusal of " + call_id + ": " + s.error().message);
    }
  }
  Decision d = DenyDecision(code, reason, kGatewayRule);
  d.agent_id = options_.agent_id;
  d.tool = tool;
  link_.AnswerClient(ResultResponse(id, Denial(d)));
}

void CallFlow::ContinueAllowed(json::value doc, const json::value& id, const std::string& tool,
                               const json::object& args, const Enforcer::Outcome& outcome,
                               int input_rounds) {
  // A call continued after the server's input_required (the client's retry, or the answers a
  // 2025 client gave) was decided once, rounds ago: a kill switch engaged since still stops it.
  if (input_rounds > 0) {
    if (Status s = options_.enforcer->KillSwitchClear(); !s.ok()) {
      const bool kill = s.error().kind == ErrorKind::kPermissionDenied;
      RefuseCall(id, tool, outcome.call_id, kill ? Code::kKillSwitch : Code::kStoreUnavailable,
                 (kill ? std::string() : "the kill switch could not be checked: ") +
                     s.error().message + "; the continued call is not forwarded");
      return;
    }
  }
  if (!link_.EnsureCatalog()) {
    RefuseCall(id, tool, outcome.call_id, Code::kInvalidRequest,
               "the MCP server's tool list could not be loaded, so the call cannot be checked "
               "against the tool's declared schema");
    return;
  }
  std::optional<JsonSchema> schema;
  Code refuse_code = Code::kToolNotAllowed;
  std::string refuse_why;
  {
    std::lock_guard lock(mu_);
    const ToolCatalog::Entry* e = catalog_.Find(tool);
    if (e == nullptr) {
      refuse_why = "the MCP server does not declare a tool named \"" + tool + "\"";
    } else if (!e->pin_ok) {
      refuse_why = "the definition of " + tool +
                   " changed since it was pinned (possible rug pull); an operator must review "
                   "it with `interlock mcp pins show " +
                   tool + "` and `interlock mcp pins accept " + tool + "`";
    } else if (!e->param_headers_invalid.empty()) {
      refuse_why =
          "the MCP server's definition of " + tool + " is invalid: " + e->param_headers_invalid;
    } else {
      schema = e->schema;
    }
  }
  if (!refuse_why.empty()) {
    RefuseCall(id, tool, outcome.call_id, refuse_code, refuse_why);
    return;
  }
  if (schema) {
    if (Status s = schema->Validate(args); !s.ok()) {
      RefuseCall(id, tool, outcome.call_id, Code::kInvalidRequest,
                 "arguments do not match the tool's inputSchema: " + s.error().message);
      return;
    }
  }
  // A reviewer's edit: the server runs the tool with the edited arguments, never the
  // agent's (docs/approvals.md, "Editing the arguments").
  if (outcome.decision.arguments) {
    json::object* o = doc.if_object();
    json::value* params = o != nullptr ? o->if_contains("params") : nullptr;
    if (params == nullptr || !params->is_object()) {
      RefuseCall(id, tool, outcome.call_id, Code::kInvalidRequest,
                 "the approved call cannot carry the reviewer's edited arguments");
      return;
    }
    params->get_object()["arguments"] = *outcome.decision.arguments;
  }
  std::optional<GatewayOptions::ForwardCredential> credential;
  if (options_.credential_for) {
    auto c = options_.credential_for(outcome.decision);
    if (!c.ok()) {
      RefuseCall(id, tool, outcome.call_id, Code::kCredentialUnavailable, c.error().message);
      return;
    }
    credential = std::move(*c);
  }
  std::optional<std::string> closed_why;
  {
    std::lock_guard lock(mu_);
    if (std::string why; link_.UpstreamClosedLocked(&why)) {
      closed_why = why;
    } else {
      Pending p;
      p.method = "tools/call";
      p.tool = tool;
      p.call_id = outcome.call_id;
      p.outcome = std::make_shared<const Enforcer::Outcome>(outcome);
      p.input_rounds = input_rounds;
      p.open_key = OpenKey(tool, args);
      if (const json::value* params = doc.get_object().if_contains("params");
          params != nullptr && params->is_object()) {
        p.params = params->get_object();
      }
      if (credential) {
        p.credential_json = credential->record_json;
        p.authorization = credential->authorization;
      }
      link_.ForwardToServerLocked(doc, id, std::move(p));
      link_.TraceUpstreamStartedLocked(id);
    }
  }
  if (closed_why) {
    RefuseCall(id, tool, outcome.call_id, Code::kInvalidRequest,
               "the MCP server is gone (" + *closed_why + ")");
    return;
  }
  if (credential && options_.to_server_authorized) {
    options_.to_server_authorized(doc, credential->authorization);
    return;
  }
  link_.SendToServer(doc);
}

void CallFlow::WithdrawApproval(const Enforcer::Outcome& pending, std::string_view why) {
  if (Status s = options_.enforcer->Withdraw(pending, why);
      !s.ok() && s.error().kind != ErrorKind::kAlreadyExists) {
    Log("could not withdraw approval " + pending.approval_id + ": " + s.error().message);
  }
}

}  // namespace interlock::mcp

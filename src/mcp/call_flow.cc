// CallFlow (call_flow.h): what the call flow's files share: refusals and denials, a tool's
// result recorded and reduced to its scope, input_required kept open for the retry, a call
// failed, and the held calls' end. The tools/call path is in gateway_calls.cc, rehearsals in
// gateway_rehearsal.cc, approvals over MRTR in gateway_mrtr.cc, tasks in gateway_tasks.cc.
#include "mcp/call_flow.h"

#include <algorithm>

#include <boost/json.hpp>

#include "common/json.h"
#include "mcp/framing.h"
#include "mcp/gateway_internal.h"

namespace interlock::mcp {

namespace json = boost::json;

using gateway_internal::kDecisionMetaKey;
using gateway_internal::kGatewayRule;
using gateway_internal::Log;
using gateway_internal::Quoted;
using gateway_internal::RecordedToolName;

CallFlow::CallFlow(Link& link, std::mutex& mu, const GatewayOptions& options,
                   const core::SecretMask& secrets, const ToolCatalog& catalog,
                   ServerRequestHandlers& server_requests)
    : link_(link),
      mu_(mu),
      options_(options),
      secrets_(secrets),
      catalog_(catalog),
      server_requests_(server_requests) {}

bool CallFlow::CancelHeldLocked(std::string_view key, std::string_view why) {
  auto it = held_.find(key);
  if (it == held_.end()) return false;
  it->second->Cancel(why);
  return true;
}

void CallFlow::EndOpenCalls() {
  std::map<std::string, OpenCall, std::less<>> open;
  {
    std::lock_guard lock(mu_);
    open.swap(open_calls_);
  }
  for (const auto& [key, c] : open) {
    RecordNeverRetried(c,
                       "the session ended before the client answered the server's "
                       "input_required");
  }
}

void CallFlow::CancelAllHeld(std::string_view why) {
  std::vector<std::shared_ptr<Held>> all;
  {
    std::lock_guard lock(mu_);
    for (auto& [key, h] : held_) all.push_back(h);
    all.insert(all.end(), finished_held_.begin(), finished_held_.end());
  }
  for (auto& h : all) h->Cancel(why);
  for (auto& h : all) {
    if (h->thread.joinable()) h->thread.join();
  }
}

json::object CallFlow::DenialResult(const Decision& d) {
  std::string text =
      "Interlock denied " + d.tool + " (" + std::string(CodeName(d.code)) + "): " + d.reason;
  return json::object{{"content", json::array{json::object{{"type", "text"}, {"text", text}}}},
                      {"isError", true},
                      {"_meta", json::object{{kDecisionMetaKey, DecisionToJson(d)}}}};
}

json::object CallFlow::Denial(const Decision& d) const {
  json::object out = DenialResult(d);
  json::value decision = DecisionToJson(d);
  {
    // The client validates structuredContent against the outputSchema of the tools it
    // was shown (the catalog's `shown`); it holds no schema for a tool it never saw.
    std::lock_guard lock(mu_);
    const ToolCatalog::Entry* e = catalog_.Find(d.tool);
    if (e != nullptr && e->shown && e->has_output_schema &&
        (!e->output_schema || !e->output_schema->Validate(decision).ok())) {
      return out;
    }
  }
  out["structuredContent"] = std::move(decision);
  return out;
}

Enforcer::Outcome CallFlow::DecideRefusal(const json::value* params, const std::string& reason) {
  ToolCall call;
  call.tool = RecordedToolName(params);
  if (params != nullptr && params->is_object()) {
    if (const json::value* a = params->get_object().if_contains("arguments");
        a != nullptr && a->is_object()) {
      call.args = a->get_object();
    }
  }
  call.refusal_reason = reason;
  call.refusal_rule = kGatewayRule;
  call.mask_values = options_.secrets;
  const std::string tool = call.tool;
  Enforcer::Outcome out = options_.enforcer->Decide(std::move(call));
  if (out.decision.verdict != Verdict::kDeny) {
    // The engine refuses before any other check; an Enforcer answering otherwise is
    // broken, and the refusal stands.
    Log("the core did not refuse a refused call of " + tool + "; refused anyway");
    out.decision = DenyDecision(Code::kInvalidRequest, reason, kGatewayRule);
    out.decision.agent_id = options_.agent_id;
  }
  out.decision.tool = tool;
  return out;
}

ToolResult CallFlow::TakeToolResult(const std::string& tool, json::value& result) {
  ToolResult r;
  const json::value* is_error = result.get_object().if_contains("isError");
  r.ok = !(is_error != nullptr && is_error->is_bool() && is_error->get_bool());
  r.output_json = CanonicalJson(result);
  // scope: the client sees only the allowed top-level fields of structuredContent.
  if (json::value* sc = result.get_object().if_contains("structuredContent");
      sc != nullptr && sc->is_object()) {
    ReduceToScope(tool, sc->get_object());
  }
  return r;
}

void CallFlow::HandleToolResult(json::object& msg, const Pending& p) {
  ToolResult r;
  if (json::value* result = msg.if_contains("result"); result != nullptr && result->is_object()) {
    r = TakeToolResult(p.tool, *result);
  } else {
    r.ok = false;
    r.output_json = "null";
    const json::value* error = msg.if_contains("error");
    const json::value* m = error != nullptr && error->is_object()
                               ? error->get_object().if_contains("message")
                               : nullptr;
    r.error = m != nullptr && m->is_string() ? std::string(m->get_string()) : "JSON-RPC error";
  }
  if (auto trace = link_.TraceOf(p.client_id)) trace->UpstreamEnded(r.ok, r.error);
  if (!p.call_id.empty()) {
    if (options_.egress_receipts) r.egress_json = options_.egress_receipts(p.call_id);
    r.credential_json = p.credential_json;
    if (Status s = options_.enforcer->RecordResult(p.call_id, r); !s.ok()) {
      Log("could not record the result of " + p.call_id + ": " + s.error().message);
    }
  }
}

void CallFlow::ReduceToScope(const std::string& tool, json::object& structured) {
  Result<ToolViewSource::View> view = options_.tools->ViewTools({tool});
  if (!view.ok()) {
    // Fail closed: without the scope the agent sees none of the structured content.
    Log("structuredContent of " + tool +
        " withheld: the agent's tool view failed: " + view.error().message);
    structured.clear();
    return;
  }
  auto it = view->find(tool);
  if (it == view->end() || !it->second.scope) return;
  const std::vector<std::string>& scope = *it->second.scope;
  json::object reduced;
  for (const auto& kv : structured) {
    if (std::find(scope.begin(), scope.end(), kv.key()) != scope.end()) {
      reduced.emplace(kv.key(), kv.value());
    }
  }
  structured = std::move(reduced);
}

void CallFlow::FailCall(const Pending& p, const std::string& why, const std::string& output_json) {
  ToolResult r;
  r.ok = false;
  r.output_json = output_json;
  r.error = why;
  r.credential_json = p.credential_json;
  if (auto trace = link_.TraceOf(p.client_id)) trace->UpstreamEnded(false, why);
  if (!p.call_id.empty()) {
    if (options_.egress_receipts) r.egress_json = options_.egress_receipts(p.call_id);
    if (Status s = options_.enforcer->RecordResult(p.call_id, r); !s.ok()) {
      Log("could not record the result of " + p.call_id + ": " + s.error().message);
    }
  }
  link_.AnswerClient(ResultResponse(
      p.client_id, json::object{{"content", json::array{json::object{
                                                {"type", "text"}, {"text", "Interlock: " + why}}}},
                                {"isError", true}}));
}

void CallFlow::RecordNeverRetried(const OpenCall& c, const std::string& why) {
  if (!c.outcome || c.outcome->call_id.empty()) return;
  ToolResult r = ToolResult::Failure(why);
  r.credential_json = c.credential_json;
  if (Status s = options_.enforcer->RecordResult(c.outcome->call_id, r); !s.ok()) {
    Log("could not record the result of " + c.outcome->call_id + ": " + s.error().message);
  }
}

std::string CallFlow::RefusedInputRequests(const json::value* requests) const {
  // What the server asks for passes the same rule as a server's own requests to the client
  // (RelayServerRequest): only the MCP methods a server may send the client.
  if (requests == nullptr) return "";
  if (!requests->is_object()) return "the MCP server's inputRequests is not an object";
  for (const auto& kv : requests->get_object()) {
    if (gateway_internal::ReservedInputKey(kv.key())) {
      // Interlock's own question (its approval) goes under this key: a server's request
      // under it would reach the client as Interlock's.
      return "the MCP server asked the client for input under Interlock's reserved key " +
             Quoted(std::string(kv.key()).substr(0, 64)) +
             " (a server's question posing as Interlock's approval)";
    }
    const json::value* m =
        kv.value().is_object() ? kv.value().get_object().if_contains("method") : nullptr;
    const std::string method =
        m != nullptr && m->is_string() ? std::string(m->get_string()) : std::string();
    const bool relayed = method == "elicitation/create" || method == "sampling/createMessage" ||
                         method == "roots/list";
    if (!relayed || !link_.ForwardsServerRequest(method)) {
      return "the MCP server asked the client for input with " + Quoted(method.substr(0, 64)) +
             ", which Interlock does not relay";
    }
  }
  return "";
}

bool CallFlow::HandleInputRequired(json::object& msg, const Pending& p) {
  json::value* result = msg.if_contains("result");
  if (result == nullptr || !result->is_object() ||
      !(IsInputRequired(result->get_object()) || IsTaskResult(result->get_object()))) {
    return false;
  }
  std::string refuse;
  if (IsTaskResult(result->get_object())) {
    // Followed for a client that declared the extension (gateway_tasks.cc); else its result
    // would come back through tasks/get to a client that never asks.
    if (OpenTaskOf(msg, p, &refuse)) return true;
  } else if (p.input_rounds + 1 > kMaxInputRounds) {
    refuse = "the MCP server asked for input more than " + std::to_string(kMaxInputRounds) +
             " times in one call; the call did not complete";
  } else if (!p.outcome) {
    refuse = "the MCP server asked for input for a call Interlock cannot continue";
  } else {
    refuse = RefusedInputRequests(result->get_object().if_contains("inputRequests"));
  }
  if (refuse.empty() && link_.ClientIsLegacy())
    refuse = server_requests_.AskLegacyClient(result->get_object(), p);
  if (!refuse.empty()) {
    FailCall(p, refuse, CanonicalJson(*result));
    return true;
  }
  if (link_.ClientIsLegacy()) return true;  // asked; the last answer retries the call
  // Open until the client's retry: nothing is recorded yet (the call has no result).
  std::optional<OpenCall> evicted;
  {
    std::lock_guard lock(mu_);
    if (auto it = open_calls_.find(p.open_key); it != open_calls_.end()) {
      evicted = std::move(it->second);
      open_calls_.erase(it);
    } else if (open_calls_.size() >= kMaxOpenCalls) {
      auto oldest = std::min_element(
          open_calls_.begin(), open_calls_.end(),
          [](const auto& a, const auto& b) { return a.second.seq < b.second.seq; });
      evicted = std::move(oldest->second);
      open_calls_.erase(oldest);
    }
    OpenCall c;
    c.outcome = p.outcome;
    c.credential_json = p.credential_json;
    c.input_rounds = p.input_rounds + 1;
    c.seq = next_open_seq_++;
    c.opened = std::chrono::steady_clock::now();
    open_calls_[p.open_key] = std::move(c);
  }
  if (evicted) {
    RecordNeverRetried(*evicted, "the client never answered the MCP server's input_required");
  }
  if (auto trace = link_.TraceOf(p.client_id)) trace->UpstreamEnded(true, "input_required");
  msg["id"] = p.client_id;
  link_.AnswerClient(msg);
  return true;
}

}  // namespace interlock::mcp

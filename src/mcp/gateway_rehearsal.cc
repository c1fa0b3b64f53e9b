// CallFlow (call_flow.h): rehearsals of a held call, on the server itself or a staging
// upstream, and the real call's decision after them.
#include "mcp/call_flow.h"

#include <algorithm>
#include <iostream>

#include <boost/json.hpp>

#include "common/crypto.h"
#include "common/json.h"
#include "mcp/framing.h"
#include "mcp/gateway_internal.h"

namespace interlock::mcp {

namespace json = boost::json;

using gateway_internal::kGatewayRule;

namespace {

// The text of an isError result's content (its "text" parts), for REHEARSAL_FAILED.
std::string ErrorText(const json::object& result) {
  std::string text;
  if (const json::value* c = result.if_contains("content"); c != nullptr && c->is_array()) {
    for (const json::value& part : c->get_array()) {
      const json::value* t = part.is_object() ? part.get_object().if_contains("text") : nullptr;
      if (t == nullptr || !t->is_string()) continue;
      if (!text.empty()) text += "\n";
      text += std::string(t->get_string());
      if (text.size() > kMaxRehearsalOutputBytes) break;
    }
  }
  return text.empty() ? std::string("the rehearsal's result is an error (isError)") : text;
}

}  // namespace

Result<json::object> CallFlow::CallOwnUpstream(const std::string& tool, const json::object& args,
                                               Held& held) {
  if (!link_.EnsureCatalog())
    return Error::Unavailable("the MCP server's tool list could not be loaded");
  std::optional<JsonSchema> schema;
  {
    std::lock_guard lock(mu_);
    const ToolCatalog::Entry* e = catalog_.Find(tool);
    if (e == nullptr) {
      return Error::NotFound("the MCP server does not declare a tool named \"" + tool + "\"");
    }
    if (!e->pin_ok) return Error::Invalid("the definition of " + tool + " changed");
    schema = e->schema;
  }
  if (schema) {
    if (Status s = schema->Validate(args); !s.ok()) {
      return Error::Invalid("the rehearsal's arguments do not match the tool's inputSchema: " +
                            s.error().message);
    }
  }
  auto wait = std::make_shared<RehearsalWait>();
  json::value id;
  {
    std::lock_guard lock(mu_);
    if (std::string why; link_.UpstreamClosedLocked(&why)) {
      return Error::Unavailable("the MCP server is gone (" + why + ")");
    }
    id = link_.IssueServerIdLocked();
    Pending p = Pending::Internal("tools/call");
    p.tool = tool;
    p.rehearsal = wait;
    link_.PutCallLocked(IdKey(id), std::move(p));
  }
  link_.SendToServer(json::object{{"jsonrpc", "2.0"},
                                  {"id", id},
                                  {"method", "tools/call"},
                                  {"params", json::object{{"name", tool}, {"arguments", args}}}});
  const auto deadline = std::chrono::steady_clock::now() + options_.rehearsal_timeout;
  std::unique_lock lock(wait->mu);
  while (!wait->response && wait->failed.empty() && !held.cancelled.load()) {
    if (wait->cv.wait_until(lock, std::min(deadline, std::chrono::steady_clock::now() +
                                                         std::chrono::milliseconds(200))) ==
            std::cv_status::timeout &&
        std::chrono::steady_clock::now() >= deadline) {
      break;
    }
  }
  std::optional<json::object> response = std::move(wait->response);
  const std::string failed = wait->failed;
  lock.unlock();
  if (!response) {
    {
      std::lock_guard g(mu_);
      (void)link_.TakeCallLocked(IdKey(id));  // a late answer is dropped
    }
    if (!failed.empty()) return Error::Unavailable(failed);
    if (held.cancelled.load()) return Error::Unavailable("cancelled: " + held.Why());
    return Error{ErrorKind::kTimeout,
                 "no answer within " + std::to_string(options_.rehearsal_timeout.count()) + " ms"};
  }
  return std::move(*response);
}

ToolResult CallFlow::RunRehearsal(const std::string& tool, const Rehearsal& r, Held& held) {
  Result<json::object> response = Error::Internal("not sent");
  if (r.upstream.empty()) {
    response = CallOwnUpstream(tool, r.args, held);
  } else if (auto it = options_.rehearsal_upstreams.find(r.upstream);
             it == options_.rehearsal_upstreams.end() || it->second == nullptr) {
    response = Error::NotFound("no staging upstream named \"" + r.upstream +
                               "\" is configured for this gateway");
  } else {
    response = it->second->CallTool(tool, r.args, options_.rehearsal_timeout);
  }
  ToolResult out;
  out.ok = false;
  out.output_json = "null";
  if (!response.ok()) {
    out.error = "the rehearsal could not run: " + response.error().message;
  } else if (json::value* res = response->if_contains("result");
             res != nullptr && res->is_object()) {
    json::value v = *res;
    secrets_.MaskJson(&v);  // a staging server's too
    const json::value* is_error = v.get_object().if_contains("isError");
    out.ok = !(is_error != nullptr && is_error->is_bool() && is_error->get_bool());
    out.output_json = CanonicalJson(v);
    if (!out.ok) out.error = ErrorText(v.get_object());
  } else {
    const json::value* e = response->if_contains("error");
    const json::value* m =
        e != nullptr && e->is_object() ? e->get_object().if_contains("message") : nullptr;
    out.error = "JSON-RPC error: " + (m != nullptr && m->is_string() ? std::string(m->get_string())
                                                                     : std::string("(no message)"));
  }
  out.error = secrets_.Mask(std::move(out.error));
  return out;
}

void CallFlow::RehearseHeld(json::value doc, json::value id, std::string tool, json::object args,
                            ToolCall call, Enforcer::Outcome pending,
                            std::optional<json::value> progress_token, std::shared_ptr<Held> held) {
  if (progress_token) {
    SendProgress(*progress_token, 0, "Interlock: rehearsing " + tool + " first");
  }
  ToolResult rehearsal = RunRehearsal(tool, *pending.decision.rehearsal, *held);
  if (held->cancelled.load() && rehearsal.ok) {
    rehearsal.ok = false;
    rehearsal.error = "the call was cancelled during its rehearsal: " + held->Why();
  }
  Enforcer::Outcome final = options_.enforcer->Rehearsed(pending, std::move(call), rehearsal);
  final.decision.tool = tool;
  if (final.decision.verdict == Verdict::kApprovalRequired && !held->cancelled.load()) {
    FinishHeld(std::move(doc), std::move(id), std::move(tool), std::move(args), std::move(final),
               std::move(progress_token), std::move(held));
    return;
  }
  RetireHeld(id, held);
  bool upstream_closed = false;
  {
    std::lock_guard lock(mu_);
    upstream_closed = link_.UpstreamClosedLocked(nullptr);
  }
  // A cancelled call gets no answer (MCP cancellation), except a deny after the server
  // died during the rehearsal: the gateway then stops, and the client still learns why.
  if (held->cancelled.load() && (final.decision.verdict != Verdict::kDeny || !upstream_closed)) {
    if (final.decision.verdict == Verdict::kApprovalRequired) {
      (void)options_.enforcer->Withdraw(final, held->Why());
    }
    link_.ReleaseClientId(id);
    return;
  }
  if (final.decision.verdict == Verdict::kAllow) {
    // A reviewer's edit: the server receives the edited arguments (docs/approvals.md).
    ContinueAllowed(std::move(doc), id, tool,
                    final.decision.arguments ? *final.decision.arguments : args, final);
    return;
  }
  if (final.decision.verdict == Verdict::kRehearsalRequired) {
    final.decision = DenyDecision(
        Code::kRehearsalFailed, "the core asked for a second rehearsal of one call", kGatewayRule);
    final.decision.agent_id = options_.agent_id;
    final.decision.tool = tool;
  }
  link_.AnswerClient(ResultResponse(id, Denial(final.decision)));
}

}  // namespace interlock::mcp

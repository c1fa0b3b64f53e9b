#include "mcp/gateway.h"

#include <algorithm>
#include <iostream>

#include <boost/json.hpp>

#include "audit/redact.h"
#include "common/crypto.h"
#include "common/json.h"
#include "core/app/tool_views.h"
#include "mcp/framing.h"
#include "mcp/tool_catalog.h"

namespace interlock::mcp {

namespace json = boost::json;

namespace {

constexpr size_t kMaxRecordedOutputBytes = 64 * 1024;
constexpr char kGatewayRule[] = "mcp.gateway";
// The _meta key of the decision object in a denial (MCP _meta naming: a reverse-DNS-like
// prefix the specification does not reserve, then a name).
constexpr char kDecisionMetaKey[] = "interlock.dev/decision";
constexpr char kUnnamedTool[] = "(invalid tool name)";
// Interlock's own requests to the client (elicitation/create): this prefix and 128 random
// bits. A server request with an id beginning so is refused, whatever follows.
constexpr std::string_view kOwnIdPrefix = "interlock-";
// Server requests waiting for the client's answer; more are refused (a server that never
// sees its requests answered cannot grow the gateway's maps without bound).
constexpr size_t kMaxServerRequestsInFlight = 1024;
// Refusals of server requests in Interlock's id space recorded through the core per
// gateway; later ones are refused and logged only (a server cannot flood the audit trail).
constexpr size_t kMaxRecordedServerRefusals = 32;

bool InOwnIdSpace(const json::value& id) {
  return id.is_string() && id.get_string().starts_with(kOwnIdPrefix);
}

// The gateway issues positive integers; anything else is not one of its ids.
std::optional<uint64_t> IssuedId(const json::value& id) {
  if (id.is_uint64() && id.get_uint64() > 0) return id.get_uint64();
  if (id.is_int64() && id.get_int64() > 0) return static_cast<uint64_t>(id.get_int64());
  return std::nullopt;
}

void Log(std::string_view what) { std::cerr << "interlock mcp: " << what << '\n'; }

// The name a refused message is recorded under: params.name when the store and the
// daemon accept it as a tool name (core::ValidToolName), a placeholder otherwise.
std::string RecordedToolName(const json::value* params) {
  const json::value* name =
      params != nullptr && params->is_object() ? params->get_object().if_contains("name") : nullptr;
  if (name == nullptr || !name->is_string()) return kUnnamedTool;
  const json::string& n = name->get_string();
  if (!core::ValidToolName(n)) return kUnnamedTool;
  return std::string(n);
}

std::string Quoted(std::string_view s) { return CanonicalJson(json::value(json::string(s))); }

std::string CapOutput(const json::value& v) {
  std::string text = CanonicalJson(v);
  if (text.size() <= kMaxRecordedOutputBytes) return text;
  return CanonicalJson(json::object{{"truncated", true},
                                    {"bytes", text.size()},
                                    {"sha256", Sha256Hex(text)},
                                    {"prefix", text.substr(0, 1024)}});
}

}  // namespace

Gateway::Gateway(GatewayOptions options, SendFn to_client, SendFn to_server)
    : options_(std::move(options)),
      to_client_(std::move(to_client)),
      to_server_(std::move(to_server)),
      forward_methods_(options_.forward_methods) {
  std::sort(forward_methods_.begin(), forward_methods_.end());
}

Gateway::~Gateway() { CancelAllHeld("the MCP gateway stopped"); }

void Gateway::CancelAllHeld(std::string_view why) {
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

void Gateway::OnClientClosed(std::string_view why) { CancelAllHeld(why); }

void Gateway::CancelHeld(const json::value& id, std::string_view why) {
  std::lock_guard lock(mu_);
  if (auto it = held_.find(IdKey(id)); it != held_.end()) it->second->Cancel(why);
}

std::vector<std::string> Gateway::InFlightCallIds() const {
  std::lock_guard lock(mu_);
  std::vector<std::string> out;
  for (const auto& [key, p] : pending_) {
    if (!p.call_id.empty()) {
      out.push_back(p.call_id);
    } else if (p.rehearsal) {
      // A rehearsal sent to this server is in flight too: what connects meanwhile may be it,
      // so it is counted (as "", attributable to no call).
      out.emplace_back();
    }
  }
  return out;
}

std::optional<json::value> Gateway::ClientIdOf(const json::value& server_id) const {
  std::lock_guard lock(mu_);
  auto it = pending_.find(IdKey(server_id));
  if (it == pending_.end() || it->second.client_id.is_null()) return std::nullopt;
  return it->second.client_id;
}

void Gateway::ReleaseClientId(const json::value& id) {
  std::lock_guard lock(mu_);
  client_ids_.erase(IdKey(id));
}

void Gateway::AnswerClient(const json::object& response) {
  if (const json::value* id = response.if_contains("id")) ReleaseClientId(*id);
  SendToClient(response);
}

std::string Gateway::negotiated_version() const {
  std::lock_guard lock(mu_);
  return negotiated_version_;
}

json::object Gateway::DenialResult(const Decision& d) {
  std::string text =
      "Interlock denied " + d.tool + " (" + std::string(CodeName(d.code)) + "): " + d.reason;
  return json::object{{"content", json::array{json::object{{"type", "text"}, {"text", text}}}},
                      {"isError", true},
                      {"_meta", json::object{{kDecisionMetaKey, DecisionToJson(d)}}}};
}

json::object Gateway::Denial(const Decision& d) const {
  json::object out = DenialResult(d);
  json::value decision = DecisionToJson(d);
  {
    // The client validates structuredContent against the outputSchema of the tools it
    // was shown (the catalog's `shown`); it holds no schema for a tool it never saw.
    std::lock_guard lock(mu_);
    auto it = catalog_.find(d.tool);
    if (it != catalog_.end() && it->second.shown && it->second.has_output_schema &&
        (!it->second.output_schema || !it->second.output_schema->Validate(decision).ok())) {
      return out;
    }
  }
  out["structuredContent"] = std::move(decision);
  return out;
}

bool Gateway::Forwarded(MessageKind kind, std::string_view method, bool from_client) const {
  if (LooksLikeToolsCall(method) && !(from_client && method == "tools/call")) return false;
  const bool request = kind == MessageKind::kRequest;
  const bool spec =
      from_client ? (request ? IsClientRequestMethod(method) : IsClientNotificationMethod(method))
                  : (request ? IsServerRequestMethod(method) : IsServerNotificationMethod(method));
  return spec || std::binary_search(forward_methods_.begin(), forward_methods_.end(), method);
}

Enforcer::Outcome Gateway::DecideRefusal(const json::value* params, const std::string& reason) {
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

void Gateway::OnClientOversized() {
  SendToClient(ErrorResponse(nullptr, kInvalidRequest,
                             "message exceeds " + std::to_string(kMaxClientMessageBytes) +
                                 " bytes; dropped by Interlock"));
}

void Gateway::OnServerOversized() { Log("dropped an oversized message from the server"); }

void Gateway::OnClientLine(std::string_view line) {
  if (line.find_first_not_of(" \t\r") == std::string_view::npos) return;
  int code = kParseError;
  auto msg = ParseMessage(line, kMaxClientMessageBytes, &code);
  if (!msg.ok()) {
    // The id is not echoed: one the client could not send exactly may not be read back.
    SendToClient(ErrorResponse(nullptr, code, "Interlock: " + msg.error().message));
    return;
  }
  const json::object* o = msg->doc.if_object();
  const json::value* params = o != nullptr ? o->if_contains("params") : nullptr;
  switch (msg->kind) {
    case MessageKind::kBatch:
      for (const json::value& e : msg->doc.get_array()) {
        const json::value* m = e.is_object() ? e.get_object().if_contains("method") : nullptr;
        if (m != nullptr && m->is_string() && LooksLikeToolsCall(m->get_string())) {
          (void)DecideRefusal(e.get_object().if_contains("params"),
                              "a tools/call inside a JSON-RPC batch (batches are not part of "
                              "MCP 2025-06-18 and later); not forwarded");
        }
      }
      SendToClient(ErrorResponse(nullptr, kInvalidRequest,
                                 "JSON-RPC batches are not part of MCP 2025-06-18 and later"));
      return;
    case MessageKind::kNotification:
      if (LooksLikeToolsCall(msg->method)) {
        // No id: no answer is possible, but the refusal is decided and recorded.
        (void)DecideRefusal(params, "the tool call " + Quoted(msg->method) +
                                        " was sent as a notification (without an id); "
                                        "not forwarded");
        return;
      }
      if (!Forwarded(msg->kind, msg->method, /*from_client=*/true)) {
        Log("dropped the client notification " + Quoted(msg->method) +
            " (not an MCP method; see --forward-method)");
        return;
      }
      if (msg->method == "notifications/cancelled") {
        json::value* params = msg->doc.get_object().if_contains("params");
        json::value* rid = params != nullptr && params->is_object()
                               ? params->get_object().if_contains("requestId")
                               : nullptr;
        if (rid != nullptr) {
          std::string why = "the MCP client cancelled the request";
          const json::value* r = params->get_object().if_contains("reason");
          if (r != nullptr && r->is_string() && !r->get_string().empty()) {
            why += ": " + std::string(r->get_string().subview(0, 200));
          }
          std::lock_guard lock(mu_);
          if (auto it = held_.find(IdKey(*rid)); it != held_.end()) {
            it->second->Cancel(why);
            return;  // the upstream never saw this request
          }
          // The server knows the request by the gateway's id; one it never received (or
          // a made-up id, perhaps one of the gateway's own requests) cancels nothing.
          auto c = client_ids_.find(IdKey(*rid));
          if (c == client_ids_.end() || c->second == 0) {
            Log("dropped notifications/cancelled for a request the server does not have");
            return;
          }
          *rid = json::value(c->second);
        }
      }
      to_server_(msg->doc);
      return;
    case MessageKind::kResponse: {  // to a request of the server (sampling, roots, ...)
      // An answer to one of the gateway's own requests (elicitation) never reaches the
      // server, whatever it holds.
      if (InOwnIdSpace(msg->id)) {
        HandleOwnResponse(msg->doc, IdKey(msg->id));
        return;
      }
      // Else it answers a server request only through the id the gateway gave it.
      json::value server_id;
      {
        std::lock_guard lock(mu_);
        std::optional<uint64_t> cid = IssuedId(msg->id);
        auto it = cid ? server_requests_.find(*cid) : server_requests_.end();
        if (it != server_requests_.end()) {
          server_id = std::move(it->second);
          server_requests_.erase(it);
          server_request_ids_.erase(IdKey(server_id));
        }
      }
      if (server_id.is_null()) {
        Log("dropped a client response to no request of the server: " +
            IdKey(msg->id).substr(0, 100));
        return;
      }
      msg->doc.get_object()["id"] = std::move(server_id);
      to_server_(msg->doc);
      return;
    }
    case MessageKind::kRequest:
      if (msg->method != "tools/call" && LooksLikeToolsCall(msg->method)) {
        Enforcer::Outcome o = DecideRefusal(
            params, "the method " + Quoted(msg->method) +
                        " is not \"tools/call\" but could be taken for it; not forwarded");
        SendToClient(ErrorResponse(msg->id, kMethodNotFound,
                                   "Method not found: Interlock denied " + o.decision.tool + " (" +
                                       std::string(CodeName(o.decision.code)) +
                                       "): " + o.decision.reason));
        return;
      }
      if (!Forwarded(msg->kind, msg->method, /*from_client=*/true)) {
        SendToClient(ErrorResponse(msg->id, kMethodNotFound,
                                   "Method not found: Interlock does not forward " +
                                       Quoted(msg->method) +
                                       " (not an MCP method; see --forward-method)"));
        return;
      }
      HandleClientRequest(std::move(msg->doc), msg->id, msg->method);
      return;
  }
}

void Gateway::HandleClientRequest(json::value doc, const json::value& id,
                                  const std::string& method) {
  const std::string key = IdKey(id);
  std::string closed_why;
  bool in_use = false;
  {
    std::lock_guard lock(mu_);
    if (upstream_closed_) closed_why = "the MCP server is gone (" + upstream_closed_why_ + ")";
    in_use = client_ids_.count(key) != 0;
    if (closed_why.empty() && !in_use) client_ids_.emplace(key, 0);  // reserved until answered
  }
  if (!closed_why.empty() || in_use) {
    const std::string why = in_use ? std::string(
                                         "request id already in use by a request in flight "
                                         "(ids must be unique among a client's requests)")
                                   : closed_why;
    if (method == "tools/call") {
      const json::value* params = doc.get_object().if_contains("params");
      Enforcer::Outcome o = DecideRefusal(params, why + "; not forwarded");
      if (!in_use) {
        SendToClient(ResultResponse(id, Denial(o.decision)));
        return;
      }
    }
    SendToClient(ErrorResponse(id, in_use ? kInvalidRequest : kInternalError, "Interlock: " + why));
    return;
  }
  if (method == "tools/call") {
    HandleToolsCall(std::move(doc), id);
    return;
  }
  if (method == "initialize") {
    // Form-mode elicitation: `elicitation: {}` (2025-06-18) or with a `form` member
    // (2025-11-25); a client declaring only `url` mode cannot show the question.
    const json::value* params = doc.get_object().if_contains("params");
    const json::value* caps = params != nullptr && params->is_object()
                                  ? params->get_object().if_contains("capabilities")
                                  : nullptr;
    const json::value* e = caps != nullptr && caps->is_object()
                               ? caps->get_object().if_contains("elicitation")
                               : nullptr;
    const bool form = e != nullptr && e->is_object() &&
                      (e->get_object().empty() || e->get_object().contains("form"));
    options_.enforcer->SetClientElicitation(form);
  }
  Pending p;
  p.method = method;
  if (method == "tools/list") {
    const json::value* params = doc.get_object().if_contains("params");
    p.list_first_page =
        params == nullptr || !params->is_object() || !params->get_object().contains("cursor");
  }
  {
    std::lock_guard lock(mu_);
    ForwardToServerLocked(doc, id, std::move(p));
  }
  to_server_(doc);
}

void Gateway::ForwardToServerLocked(json::value& doc, const json::value& client_id, Pending p) {
  json::value sid = IssueServerIdLocked();
  json::object& o = doc.get_object();
  json::value* params = o.if_contains("params");
  json::value* meta = params != nullptr && params->is_object()
                          ? params->get_object().if_contains("_meta")
                          : nullptr;
  if (meta != nullptr && meta->is_object()) {
    if (json::value* token = meta->get_object().if_contains("progressToken")) {
      p.client_progress_token = std::move(*token);
      *token = sid;
    }
  }
  p.client_id = client_id;
  client_ids_[IdKey(client_id)] = sid.get_uint64();
  pending_.emplace(IdKey(sid), std::move(p));
  o["id"] = std::move(sid);  // the server never sees the client's id
}

void Gateway::HandleToolsCall(json::value doc, const json::value& id) {
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
    AnswerClient(ResultResponse(id, Denial(o.decision)));
    return;
  }
  ToolCall call;
  call.tool = std::string(name->get_string());
  if (arguments != nullptr) call.args = arguments->get_object();
  call.mask_values = options_.secrets;
  const std::string tool = call.tool;
  const json::object args = call.args;
  std::optional<json::value> progress_token;
  if (const json::value* meta = params->get_object().if_contains("_meta");
      meta != nullptr && meta->is_object()) {
    if (const json::value* t = meta->get_object().if_contains("progressToken")) progress_token = *t;
  }

  // The labels the tool's annotations declare reach the engine with the call (it uses
  // them only where the policy writes none). A catalog that cannot be loaded declares
  // nothing; an allowed call is then refused by ContinueAllowed.
  if (EnsureCatalog()) {
    std::lock_guard lock(mu_);
    if (auto it = catalog_.find(tool); it != catalog_.end())
      call.declared_labels = it->second.labels;
  }
  Enforcer::Outcome outcome = options_.enforcer->Decide(std::move(call));
  outcome.decision.tool = tool;
  switch (outcome.decision.verdict) {
    case Verdict::kAllow:
      ContinueAllowed(std::move(doc), id, tool, args, outcome);
      return;
    case Verdict::kDeny:
      AnswerClient(ResultResponse(id, Denial(outcome.decision)));
      return;
    case Verdict::kApprovalRequired: {
      auto held = std::make_shared<Held>();
      std::lock_guard lock(mu_);
      held_.emplace(IdKey(id), held);
      held->thread = std::thread(&Gateway::FinishHeld, this, std::move(doc), id, tool, args,
                                 std::move(outcome), std::move(progress_token), held);
      return;
    }
    case Verdict::kRehearsalRequired: {
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
          std::thread(&Gateway::RehearseHeld, this, std::move(doc), id, tool, args, std::move(real),
                      std::move(outcome), std::move(progress_token), held);
      return;
    }
  }
}

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

Result<json::object> Gateway::CallOwnUpstream(const std::string& tool, const json::object& args,
                                              Held& held) {
  if (!EnsureCatalog()) return Error::Unavailable("the MCP server's tool list could not be loaded");
  std::optional<JsonSchema> schema;
  {
    std::lock_guard lock(mu_);
    auto it = catalog_.find(tool);
    if (it == catalog_.end()) {
      return Error::NotFound("the MCP server does not declare a tool named \"" + tool + "\"");
    }
    if (!it->second.pin_ok) return Error::Invalid("the definition of " + tool + " changed");
    schema = it->second.schema;
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
    if (upstream_closed_)
      return Error::Unavailable("the MCP server is gone (" + upstream_closed_why_ + ")");
    id = IssueServerIdLocked();
    Pending p;
    p.method = "tools/call";
    p.tool = tool;
    p.internal = true;
    p.rehearsal = wait;
    pending_.emplace(IdKey(id), std::move(p));
  }
  to_server_(json::object{{"jsonrpc", "2.0"},
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
      pending_.erase(IdKey(id));  // a late answer is dropped
    }
    if (!failed.empty()) return Error::Unavailable(failed);
    if (held.cancelled.load()) return Error::Unavailable("cancelled: " + held.Why());
    return Error{ErrorKind::kTimeout,
                 "no answer within " + std::to_string(options_.rehearsal_timeout.count()) + " ms"};
  }
  return std::move(*response);
}

ToolResult Gateway::RunRehearsal(const std::string& tool, const Rehearsal& r, Held& held) {
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
    audit::Redactor::MaskSecretsInJson(&v, options_.secrets);  // a staging server's too
    const json::value* is_error = v.get_object().if_contains("isError");
    out.ok = !(is_error != nullptr && is_error->is_bool() && is_error->get_bool());
    out.output_json = CapOutput(v);
    if (!out.ok) out.error = ErrorText(v.get_object());
  } else {
    const json::value* e = response->if_contains("error");
    const json::value* m =
        e != nullptr && e->is_object() ? e->get_object().if_contains("message") : nullptr;
    out.error = "JSON-RPC error: " + (m != nullptr && m->is_string() ? std::string(m->get_string())
                                                                     : std::string("(no message)"));
  }
  out.error = audit::Redactor::MaskSecrets(out.error, options_.secrets);
  return out;
}

void Gateway::RehearseHeld(json::value doc, json::value id, std::string tool, json::object args,
                           ToolCall call, Enforcer::Outcome pending,
                           std::optional<json::value> progress_token, std::shared_ptr<Held> held) {
  if (progress_token) {
    SendToClient(json::object{
        {"jsonrpc", "2.0"},
        {"method", "notifications/progress"},
        {"params", json::object{{"progressToken", *progress_token},
                                {"progress", 0},
                                {"message", "Interlock: rehearsing " + tool + " first"}}}});
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
  {
    std::lock_guard lock(mu_);
    held_.erase(IdKey(id));
    finished_held_.push_back(held);
  }
  bool upstream_closed = false;
  {
    std::lock_guard lock(mu_);
    upstream_closed = upstream_closed_;
  }
  // A cancelled call gets no answer (MCP cancellation), except a deny after the server
  // died during the rehearsal: the gateway then stops, and the client still learns why.
  if (held->cancelled.load() && (final.decision.verdict != Verdict::kDeny || !upstream_closed)) {
    if (final.decision.verdict == Verdict::kApprovalRequired) {
      (void)options_.enforcer->Withdraw(final, held->Why());
    }
    ReleaseClientId(id);
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
  AnswerClient(ResultResponse(id, Denial(final.decision)));
}

void Gateway::FinishHeld(json::value doc, json::value id, std::string tool, json::object args,
                         Enforcer::Outcome pending, std::optional<json::value> progress_token,
                         std::shared_ptr<Held> held) {
  if (pending.ask_client) {
    pending.decision.tool = tool;
    Enforcer::ClientAnswer answer = AskClient(tool, pending, *held);
    const bool cancelled = held->cancelled.load();
    Enforcer::Outcome final = pending;
    if (cancelled) {
      if (Status s = options_.enforcer->Withdraw(pending, held->Why());
          !s.ok() && s.error().kind != ErrorKind::kAlreadyExists) {
        Log("could not withdraw approval " + pending.approval_id + ": " + s.error().message);
      }
    } else {
      final = options_.enforcer->AnswerAtClient(pending, answer);
      final.decision.tool = tool;
      if (final.call_id.empty()) final.call_id = pending.call_id;
    }
    {
      std::lock_guard lock(mu_);
      held_.erase(IdKey(id));
      finished_held_.push_back(held);
    }
    if (cancelled) {  // the client no longer wants an answer (MCP cancellation)
      ReleaseClientId(id);
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
      AnswerClient(ResultResponse(id, Denial(final.decision)));
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
    ++ticks;
    SendToClient(json::object{{"jsonrpc", "2.0"},
                              {"method", "notifications/progress"},
                              {"params", json::object{{"progressToken", *progress_token},
                                                      {"progress", ticks},
                                                      {"message", waiting}}}});
  };
  Enforcer::Outcome final = options_.enforcer->AwaitApproval(
      pending, [&held] { return held->cancelled.load(); }, progress);
  final.decision.tool = tool;
  if (final.call_id.empty()) final.call_id = pending.call_id;
  const bool cancelled = held->cancelled.load();
  // Stopped waiting without a verdict: withdraw, so no reviewer decides a call nobody
  // waits for (an approval decided meanwhile answers kAlreadyExists and stays).
  if (cancelled || final.decision.verdict == Verdict::kApprovalRequired ||
      final.decision.code == Code::kStoreUnavailable) {
    const std::string why =
        cancelled ? held->Why()
                  : "the MCP gateway could not wait for the verdict: " + final.decision.reason;
    if (Status s = options_.enforcer->Withdraw(pending, why);
        !s.ok() && s.error().kind != ErrorKind::kAlreadyExists) {
      Log("could not withdraw approval " + pending.approval_id + ": " + s.error().message);
    }
  }
  {
    // Keep the Held alive (the destructor joins it) but free the id for reuse.
    std::lock_guard lock(mu_);
    held_.erase(IdKey(id));
    finished_held_.push_back(held);
  }
  if (cancelled) {  // the client no longer wants an answer (MCP cancellation)
    ReleaseClientId(id);
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
    AnswerClient(ResultResponse(id, DenialResult(final.decision)));
  }
}

namespace {

constexpr size_t kMaxElicitCommentBytes = 1024;
constexpr size_t kMaxShownArgsBytes = 4096;
constexpr size_t kMaxElicitsRemembered = 4096;

// The answer to elicitation/create (MCP 2025-06-18 / 2025-11-25): {"action": "accept",
// "content": {"approve": bool, "comment"?: string}} | {"action": "decline"|"cancel"}.
// Anything else is refused: an answer that cannot be read is never an approval.
Enforcer::ClientAnswer ReadElicitAnswer(const json::object& msg, const std::string& who) {
  using Kind = Enforcer::ClientAnswer::Kind;
  auto refused = [](std::string why) {
    return Enforcer::ClientAnswer{Kind::kRefused,
                                  "the MCP client's answer to the approval question is not "
                                  "valid (" +
                                      std::move(why) + "), so the call is denied"};
  };
  if (const json::value* e = msg.if_contains("error")) {
    const json::value* m = e->is_object() ? e->get_object().if_contains("message") : nullptr;
    std::string text =
        m != nullptr && m->is_string()
            ? std::string(m->get_string().subview(0, std::min<size_t>(m->get_string().size(), 200)))
            : std::string("no message");
    return {Kind::kRefused,
            "the MCP client could not ask its user (error: " + text + "), so the call is denied"};
  }
  const json::value* r = msg.if_contains("result");
  if (r == nullptr || !r->is_object()) return refused("no result object");
  const json::object& result = r->get_object();
  for (const auto& kv : result) {
    if (kv.key() != "action" && kv.key() != "content" && kv.key() != "_meta") {
      return refused("unknown field " + Quoted(std::string(kv.key().substr(0, 64))));
    }
  }
  const json::value* action = result.if_contains("action");
  if (action == nullptr || !action->is_string()) return refused("no action");
  if (action->get_string() == "decline") {
    return {Kind::kDeny, "declined at the MCP client by " + who};
  }
  if (action->get_string() == "cancel") {
    return {Kind::kDeny, "dismissed at the MCP client by " + who + " (cancel)"};
  }
  if (action->get_string() != "accept") return refused("action is not accept, decline or cancel");
  const json::value* content = result.if_contains("content");
  if (content == nullptr || !content->is_object()) return refused("accept without content");
  const json::value* approve = nullptr;
  std::string comment;
  for (const auto& kv : content->get_object()) {
    if (kv.key() == "approve") {
      approve = &kv.value();
    } else if (kv.key() == "comment") {
      if (!kv.value().is_string() || kv.value().get_string().size() > kMaxElicitCommentBytes) {
        return refused("comment is not a string of at most 1024 bytes");
      }
      comment = std::string(kv.value().get_string());
    } else {
      return refused("unknown content field");
    }
  }
  if (approve == nullptr || !approve->is_bool()) return refused("approve is not true or false");
  std::string text =
      (approve->get_bool() ? "approved at the MCP client by " : "denied at the MCP client by ") +
      who;
  if (!comment.empty()) text += ": " + comment;
  return {approve->get_bool() ? Kind::kApprove : Kind::kDeny, std::move(text)};
}

}  // namespace

Enforcer::ClientAnswer Gateway::AskClient(const std::string& tool, const Enforcer::Outcome& pending,
                                          Held& held) {
  using Kind = Enforcer::ClientAnswer::Kind;
  auto wait = std::make_shared<RehearsalWait>();
  std::string id;
  {
    std::lock_guard lock(mu_);
    // Unguessable and never shown to the server: only the client that was asked can answer.
    id = std::string(kOwnIdPrefix) +
         HexEncode(reinterpret_cast<const uint8_t*>(RandomBytes(16).data()), 16);
    elicits_.emplace(IdKey(json::value(id)), wait);
  }
  const auto left = pending.time_left;
  const std::string left_s = std::to_string((left.count() + 999) / 1000) + " s";
  std::string args = pending.shown_args_json;
  if (args.size() > kMaxShownArgsBytes) {
    args = args.substr(0, kMaxShownArgsBytes) + "... (" + std::to_string(args.size()) + " bytes)";
  }
  const std::string message =
      "Interlock: approve this tool call?\n"
      "Tool: " +
      tool + "\n" + "Arguments (as audited; redacted fields masked): " + args + "\n" +
      "Why: " + pending.decision.reason + "\n" + "Time left: " + left_s +
      " (then the call is denied)\n" +
      "Your answer is recorded as the verdict of the local user (approval " + pending.approval_id +
      ").";
  json::object schema{
      {"type", "object"},
      {"properties",
       json::object{{"approve", json::object{{"type", "boolean"},
                                             {"title", "Approve this call of " + tool + "?"},
                                             {"default", false}}},
                    {"comment", json::object{{"type", "string"},
                                             {"title", "Comment (optional)"},
                                             {"maxLength", kMaxElicitCommentBytes}}}}},
      {"required", json::array{"approve"}}};
  SendToClient(json::object{
      {"jsonrpc", "2.0"},
      {"id", id},
      {"method", "elicitation/create"},
      {"params", json::object{{"message", message}, {"requestedSchema", std::move(schema)}}}});
  const auto deadline = std::chrono::steady_clock::now() + left;
  std::unique_lock lock(wait->mu);
  while (!wait->response && !held.cancelled.load() && std::chrono::steady_clock::now() < deadline) {
    wait->cv.wait_until(lock, std::min(deadline, std::chrono::steady_clock::now() +
                                                     std::chrono::milliseconds(200)));
  }
  std::optional<json::object> response = std::move(wait->response);
  lock.unlock();
  {
    std::lock_guard g(mu_);
    elicits_.erase(IdKey(json::value(id)));
    if (elicits_done_.size() >= kMaxElicitsRemembered) elicits_done_.clear();
    elicits_done_[IdKey(json::value(id))] = tool;
  }
  if (!response) {
    // The question is withdrawn at the client (MCP cancellation of our own request).
    SendToClient(json::object{
        {"jsonrpc", "2.0"},
        {"method", "notifications/cancelled"},
        {"params",
         json::object{{"requestId", id},
                      {"reason", held.cancelled.load() ? std::string("the tool call was cancelled")
                                                       : std::string("the approval timed out")}}}});
    return {Kind::kTimeout, "no answer at the MCP client within " + left_s +
                                " (the approval's timeout), so the call is denied"};
  }
  return ReadElicitAnswer(*response, "the local user");
}

void Gateway::HandleOwnResponse(const json::value& doc, const std::string& key) {
  std::shared_ptr<RehearsalWait> wait;
  std::string tool;
  bool answered = false;
  {
    std::lock_guard lock(mu_);
    if (auto it = elicits_.find(key); it != elicits_.end()) {
      wait = it->second;
      elicits_.erase(it);  // a second answer finds it answered
      if (elicits_done_.size() >= kMaxElicitsRemembered) elicits_done_.clear();
      elicits_done_[key] = "";
    } else if (auto d = elicits_done_.find(key); d != elicits_done_.end()) {
      answered = true;
      tool = d->second;
    }
  }
  if (wait) {
    {
      std::lock_guard lock(wait->mu);
      wait->response = doc.get_object();
    }
    wait->cv.notify_all();
    return;
  }
  // Not an answer to a question still open: recorded as a refusal through the core, never
  // taken for a verdict.
  const std::string shown = key.substr(0, std::min<size_t>(key.size(), 100));
  const std::string reason =
      answered ? "the MCP client answered Interlock's request " + shown +
                     " again (already answered or timed out); the answer is ignored"
               : "the MCP client answered Interlock's request " + shown +
                     ", which Interlock never sent (or is not waiting for); the answer is ignored";
  json::object params;
  if (!tool.empty()) params["name"] = tool;
  const json::value pv(std::move(params));
  Enforcer::Outcome o = DecideRefusal(&pv, reason);
  Log("refused a client response: " + reason + " (call " + o.call_id + ")");
}

void Gateway::RefuseCall(const json::value& id, const std::string& tool, const std::string& call_id,
                         Code code, const std::string& reason) {
  if (!call_id.empty()) {
    ToolResult r;
    r.ok = false;
    r.output_json = "null";
    r.error = audit::Redactor::MaskSecrets("not forwarded by the MCP gateway: " + reason,
                                           options_.secrets);
    if (Status s = options_.enforcer->RecordResult(call_id, r); !s.ok()) {
      Log("could not record the refusal of " + call_id + ": " + s.error().message);
    }
  }
  Decision d = DenyDecision(code, reason, kGatewayRule);
  d.agent_id = options_.agent_id;
  d.tool = tool;
  AnswerClient(ResultResponse(id, Denial(d)));
}

void Gateway::ContinueAllowed(json::value doc, const json::value& id, const std::string& tool,
                              const json::object& args, const Enforcer::Outcome& outcome) {
  if (!EnsureCatalog()) {
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
    auto it = catalog_.find(tool);
    if (it == catalog_.end()) {
      refuse_why = "the MCP server does not declare a tool named \"" + tool + "\"";
    } else if (!it->second.pin_ok) {
      refuse_why = "the definition of " + tool +
                   " changed since it was pinned (possible rug pull); an operator must review "
                   "it with `interlock mcp pins show " +
                   tool + "` and `interlock mcp pins accept " + tool + "`";
    } else {
      schema = it->second.schema;
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
  std::optional<std::string> closed_why;
  {
    std::lock_guard lock(mu_);
    if (upstream_closed_) {
      closed_why = upstream_closed_why_;
    } else {
      Pending p;
      p.method = "tools/call";
      p.tool = tool;
      p.call_id = outcome.call_id;
      ForwardToServerLocked(doc, id, std::move(p));
    }
  }
  if (closed_why) {
    RefuseCall(id, tool, outcome.call_id, Code::kInvalidRequest,
               "the MCP server is gone (" + *closed_why + ")");
    return;
  }
  to_server_(doc);
}

bool Gateway::EnsureCatalog() {
  std::unique_lock lock(mu_);
  if (catalog_complete_) return true;
  if (upstream_closed_) return false;
  if (!catalog_loading_) {
    catalog_loading_ = true;
    const json::value id = IssueServerIdLocked();
    Pending p;
    p.method = "tools/list";
    p.internal = true;
    p.list_first_page = true;
    pending_.emplace(IdKey(id), std::move(p));
    lock.unlock();
    to_server_(json::object{{"jsonrpc", "2.0"}, {"id", id}, {"method", "tools/list"}});
    lock.lock();
  }
  catalog_cv_.wait_for(lock, options_.catalog_timeout, [this] {
    return catalog_complete_ || upstream_closed_ || !catalog_loading_;
  });
  return catalog_complete_;
}

void Gateway::FilterToolList(json::object& result, bool first_page) {
  json::value* tools = result.if_contains("tools");
  if (tools == nullptr || !tools->is_array()) return;
  std::vector<std::string> names;
  for (const json::value& t : tools->get_array()) {
    const json::value* name = t.is_object() ? t.get_object().if_contains("name") : nullptr;
    if (name != nullptr && name->is_string()) names.emplace_back(name->get_string());
  }
  // Fail closed: without the agent's view no tool is shown.
  Result<ToolViewSource::View> view = options_.tools->ViewTools(names);
  if (!view.ok()) Log("no tool is shown: the agent's tool view failed: " + view.error().message);
  auto visible = [&view](const std::string& n) {
    if (!view.ok()) return false;
    auto it = view->find(n);
    return it != view->end() && it->second.visible;
  };
  std::vector<std::pair<std::string, CatalogEntry>> seen;
  json::array kept;
  for (json::value& t : tools->get_array()) {
    const json::value* name = t.is_object() ? t.get_object().if_contains("name") : nullptr;
    if (name == nullptr || !name->is_string()) continue;  // malformed: never shown
    const std::string tool_name(name->get_string());
    CatalogEntry e;
    e.definition = t;
    if (const json::value* s = t.get_object().if_contains("inputSchema")) {
      if (auto compiled = JsonSchema::Compile(*s); compiled.ok()) {
        e.schema = std::move(compiled).value();
      } else {
        // An input schema the gateway cannot read: accept no arguments rather than any.
        e.schema = JsonSchema::Compile(json::value(false)).value();
      }
    }
    if (const json::value* s = t.get_object().if_contains("outputSchema")) {
      e.has_output_schema = true;
      if (auto compiled = JsonSchema::Compile(*s); compiled.ok()) {
        e.output_schema = std::move(compiled).value();
      }
    }
    auto pin = options_.pins->Check(options_.agent_id, tool_name, t);
    if (!pin.ok()) {
      Log(pin.error().message);
    } else if (*pin == PinState::kChanged) {
      Log("tool " + tool_name +
          " changed since it was pinned; hidden and blocked until `interlock mcp pins accept`");
    }
    e.pin_ok = pin.ok() && *pin != PinState::kChanged;
    e.labels = AnnotationLabels(t);
    e.shown = e.pin_ok && visible(tool_name);
    if (e.shown) kept.push_back(t);
    seen.emplace_back(tool_name, std::move(e));
  }
  *tools = std::move(kept);
  const json::value* cursor = result.if_contains("nextCursor");
  const bool last = cursor == nullptr || cursor->is_null();
  std::lock_guard lock(mu_);
  if (first_page) catalog_next_.clear();
  for (auto& [n, e] : seen) catalog_next_[n] = std::move(e);
  if (last) {
    catalog_ = std::move(catalog_next_);
    catalog_next_.clear();
    catalog_complete_ = true;
    catalog_cv_.notify_all();
  }
}

void Gateway::HandleToolResult(json::object& msg, const Pending& p) {
  ToolResult r;
  if (json::value* result = msg.if_contains("result"); result != nullptr && result->is_object()) {
    const json::value* is_error = result->get_object().if_contains("isError");
    r.ok = !(is_error != nullptr && is_error->is_bool() && is_error->get_bool());
    r.output_json = CapOutput(*result);
    // scope: the client sees only the allowed top-level fields of structuredContent.
    if (json::value* sc = result->get_object().if_contains("structuredContent");
        sc != nullptr && sc->is_object()) {
      ReduceToScope(p.tool, sc->get_object());
    }
  } else {
    r.ok = false;
    r.output_json = "null";
    const json::value* error = msg.if_contains("error");
    const json::value* m = error != nullptr && error->is_object()
                               ? error->get_object().if_contains("message")
                               : nullptr;
    r.error = m != nullptr && m->is_string() ? std::string(m->get_string()) : "JSON-RPC error";
  }
  if (!p.call_id.empty()) {
    if (options_.egress_receipts) r.egress_json = options_.egress_receipts(p.call_id);
    if (Status s = options_.enforcer->RecordResult(p.call_id, r); !s.ok()) {
      Log("could not record the result of " + p.call_id + ": " + s.error().message);
    }
  }
}

void Gateway::ReduceToScope(const std::string& tool, json::object& structured) {
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

void Gateway::OnServerLine(std::string_view line) {
  if (line.find_first_not_of(" \t\r") == std::string_view::npos) return;
  auto msg = ParseMessage(line, kMaxServerMessageBytes);
  if (!msg.ok()) {
    Log("dropped a malformed message from the server: " + msg.error().message);
    return;
  }
  if (msg->kind == MessageKind::kBatch) {
    Log("dropped a JSON-RPC batch from the server (not part of MCP 2025-06-18 and later)");
    return;
  }
  {
    // The one place every server message passes: credentials are masked before the
    // gateway reads, records or relays anything. The id is left as the server sent it: the
    // client never sees it (the gateway's own ids replace it both ways).
    json::object& o = msg->doc.get_object();
    json::value* id = o.if_contains("id");
    json::value kept = id != nullptr ? std::move(*id) : json::value();
    audit::Redactor::MaskSecretsInJson(&msg->doc, options_.secrets);
    if (id != nullptr) o["id"] = std::move(kept);
    if (const json::value* m = o.if_contains("method"); m != nullptr && m->is_string()) {
      msg->method = std::string(m->get_string());
    }
  }
  if (msg->kind == MessageKind::kNotification) {
    if (!Forwarded(msg->kind, msg->method, /*from_client=*/false)) {
      Log("dropped the server notification " + Quoted(msg->method) +
          " (not an MCP method; see --forward-method)");
      return;
    }
    if (msg->method == "notifications/tools/list_changed") {
      std::lock_guard lock(mu_);
      catalog_complete_ = false;
    } else if (msg->method == "notifications/progress") {
      // Progress only for a request of the client's that is at the server now, under the
      // token the gateway gave it: never for a held call, another client's token, or one of
      // the gateway's own requests.
      json::value* params = msg->doc.get_object().if_contains("params");
      json::value* token = params != nullptr && params->is_object()
                               ? params->get_object().if_contains("progressToken")
                               : nullptr;
      std::lock_guard lock(mu_);
      auto it =
          token != nullptr && IssuedId(*token) ? pending_.find(IdKey(*token)) : pending_.end();
      if (it == pending_.end() || it->second.client_progress_token.is_null()) {
        Log("dropped the server's notifications/progress for no request of the client's at "
            "the server");
        return;
      }
      *token = it->second.client_progress_token;
    } else if (msg->method == "notifications/cancelled") {
      // The server withdraws one of its own requests: the client knows it by the
      // gateway's id. Any other id (a client request's, Interlock's) cancels nothing.
      json::value* params = msg->doc.get_object().if_contains("params");
      json::value* rid = params != nullptr && params->is_object()
                             ? params->get_object().if_contains("requestId")
                             : nullptr;
      if (rid != nullptr) {
        std::lock_guard lock(mu_);
        auto it = server_request_ids_.find(IdKey(*rid));
        if (it == server_request_ids_.end()) {
          Log("dropped the server's notifications/cancelled for no request of its own");
          return;
        }
        *rid = json::value(it->second);
        server_requests_.erase(it->second);
        server_request_ids_.erase(it);
      }
    }
    SendToClient(msg->doc);
    return;
  }
  if (msg->kind == MessageKind::kRequest) {  // sampling, elicitation, roots, ping
    if (!Forwarded(msg->kind, msg->method, /*from_client=*/false)) {
      to_server_(ErrorResponse(msg->id, kMethodNotFound,
                               "Method not found: Interlock does not forward " +
                                   Quoted(msg->method) + " to the client"));
      return;
    }
    RelayServerRequest(std::move(msg->doc), msg->id);
    return;
  }
  HandleServerResponse(std::move(msg->doc), msg->id);
}

void Gateway::RelayServerRequest(json::value doc, const json::value& id) {
  const std::string key = IdKey(id);
  bool own = InOwnIdSpace(id);
  bool duplicate = false;
  bool full = false;
  uint64_t client_side = 0;
  bool record = false;
  {
    std::lock_guard lock(mu_);
    own = own || elicits_.count(key) != 0 || elicits_done_.count(key) != 0;
    if (own) record = recorded_server_refusals_++ < kMaxRecordedServerRefusals;
    duplicate = server_request_ids_.count(key) != 0;
    full = server_requests_.size() >= kMaxServerRequestsInFlight;
    if (!own && !duplicate && !full) {
      client_side = next_client_side_id_++;
      server_requests_.emplace(client_side, id);
      server_request_ids_.emplace(key, client_side);
    }
  }
  if (own) {
    // A server posing as Interlock (an elicitation under the id of Interlock's approval
    // question) is refused and recorded, never relayed.
    const std::string reason =
        "the MCP server sent a request (" +
        Quoted(std::string(doc.get_object().at("method").get_string().subview(0, 64))) +
        ") with an id in Interlock's own id space (" + key.substr(0, 100) +
        "); refused, never shown to the client";
    if (record) {
      Enforcer::Outcome o = DecideRefusal(nullptr, reason);
      Log("refused a server request: " + reason + " (call " + o.call_id + ")");
    } else {
      Log("refused a server request (not recorded: over " +
          std::to_string(kMaxRecordedServerRefusals) + " this session): " + reason);
    }
    to_server_(ErrorResponse(id, kInvalidRequest,
                             "Interlock refuses a request id in Interlock's own id space"));
    return;
  }
  if (duplicate || full) {
    const std::string why = duplicate ? "request id already in use by a request in flight"
                                      : "too many requests to the client in flight";
    Log("refused a server request: " + why);
    to_server_(ErrorResponse(id, kInvalidRequest, "Interlock: " + why));
    return;
  }
  doc.get_object()["id"] = client_side;
  SendToClient(doc);
}

void Gateway::HandleServerResponse(json::value doc, const json::value& id) {
  std::optional<Pending> p;
  {
    std::lock_guard lock(mu_);
    // Only an id the gateway issued and is still waiting on: never a client's own id, a
    // rounded neighbour, or an id already answered.
    if (auto it = IssuedId(id) ? pending_.find(IdKey(id)) : pending_.end(); it != pending_.end()) {
      p = std::move(it->second);
      pending_.erase(it);
    }
  }
  json::object& o = doc.get_object();
  if (p && p->rehearsal) {
    {
      std::lock_guard lock(p->rehearsal->mu);
      p->rehearsal->response = o;
    }
    p->rehearsal->cv.notify_all();
    return;
  }
  if (!p) {
    // No request of the gateway's is waiting for it (never sent, already answered, or an
    // id the server made up or rounded): matching it to anything would let the server
    // answer one call as another.
    Log("dropped a server response to no pending request of the gateway: " +
        IdKey(id).substr(0, 100));
    return;
  }
  if (p->method == "tools/list") {
    json::value* result = o.if_contains("result");
    if (result != nullptr && result->is_object()) {
      FilterToolList(result->get_object(), p->list_first_page);
      if (p->internal) {
        const json::value* cursor = result->get_object().if_contains("nextCursor");
        if (cursor != nullptr && !cursor->is_null()) {
          json::value next_id;
          Pending next;
          next.method = "tools/list";
          next.internal = true;
          {
            std::lock_guard lock(mu_);
            next_id = IssueServerIdLocked();
            pending_.emplace(IdKey(next_id), std::move(next));
          }
          to_server_(json::object{{"jsonrpc", "2.0"},
                                  {"id", next_id},
                                  {"method", "tools/list"},
                                  {"params", json::object{{"cursor", *cursor}}}});
          return;
        }
      }
    }
    if (p->internal) {
      std::lock_guard lock(mu_);
      catalog_loading_ = false;
      catalog_cv_.notify_all();
      return;
    }
  } else if (p->method == "tools/call") {
    HandleToolResult(o, *p);
  } else if (p->method == "initialize") {
    const json::value* result = o.if_contains("result");
    const json::value* v = result != nullptr && result->is_object()
                               ? result->get_object().if_contains("protocolVersion")
                               : nullptr;
    if (v != nullptr && v->is_string()) {
      std::lock_guard lock(mu_);
      negotiated_version_ = std::string(v->get_string());
    }
    // Task-augmented tools/call is refused (header comment): do not offer it.
    json::value* caps = result != nullptr && result->is_object()
                            ? o["result"].get_object().if_contains("capabilities")
                            : nullptr;
    json::value* tasks =
        caps != nullptr && caps->is_object() ? caps->get_object().if_contains("tasks") : nullptr;
    json::value* requests = tasks != nullptr && tasks->is_object()
                                ? tasks->get_object().if_contains("requests")
                                : nullptr;
    if (requests != nullptr && requests->is_object()) requests->get_object().erase("tools");
  }
  o["id"] = p->client_id;  // exactly as the client sent it
  AnswerClient(o);
}

void Gateway::OnUpstreamClosed(std::string_view why) {
  std::map<std::string, Pending, std::less<>> pending;
  {
    std::lock_guard lock(mu_);
    upstream_closed_ = true;
    upstream_closed_why_ = std::string(why);
    pending.swap(pending_);
    server_requests_.clear();
    server_request_ids_.clear();
    catalog_loading_ = false;
    catalog_cv_.notify_all();
  }
  for (auto& [key, p] : pending) {
    if (p.rehearsal) {
      {
        std::lock_guard lock(p.rehearsal->mu);
        p.rehearsal->failed = "the MCP server exited before answering (" + std::string(why) + ")";
      }
      p.rehearsal->cv.notify_all();
      continue;
    }
    if (p.internal || p.client_id.is_null()) continue;
    if (p.method == "tools/call") {
      const std::string reason = "the MCP server exited before answering (" + std::string(why) +
                                 "); the call may or may not have run and Interlock does not "
                                 "retry it";
      ToolResult r;
      r.ok = false;
      r.output_json = "null";
      r.error = reason;
      if (!p.call_id.empty()) {
        if (options_.egress_receipts) r.egress_json = options_.egress_receipts(p.call_id);
        (void)options_.enforcer->RecordResult(p.call_id, r);
      }
      AnswerClient(ResultResponse(
          p.client_id,
          json::object{{"content", json::array{json::object{{"type", "text"},
                                                            {"text", "Interlock: " + reason}}}},
                       {"isError", true}}));
    } else {
      AnswerClient(ErrorResponse(p.client_id, kInternalError,
                                 "Interlock: the MCP server exited (" + std::string(why) + ")"));
    }
  }
}

}  // namespace interlock::mcp

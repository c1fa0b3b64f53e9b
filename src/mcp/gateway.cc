// Gateway (gateway.h): the session, the client's messages and the shared helpers.
// The tools/call path is in gateway_calls.cc, rehearsals in gateway_rehearsal.cc, approvals
// asked at the client in gateway_elicit.cc, the server's messages in gateway_server.cc.
#include "mcp/gateway.h"

#include <algorithm>
#include <iostream>

#include <boost/json.hpp>

#include "common/json.h"
#include "core/app/tool_views.h"
#include "mcp/framing.h"
#include "mcp/gateway_internal.h"
#include "mcp/upstream_revision.h"

namespace interlock::mcp {

namespace json = boost::json;

using gateway_internal::InOwnIdSpace;
using gateway_internal::IssuedId;
using gateway_internal::kDecisionMetaKey;
using gateway_internal::kGatewayRule;
using gateway_internal::kOwnIdPrefix;
using gateway_internal::kUnnamedTool;
using gateway_internal::Log;
using gateway_internal::Quoted;
using gateway_internal::RecordedToolName;

namespace gateway_internal {

bool InOwnIdSpace(const json::value& id) {
  return id.is_string() && id.get_string().starts_with(kOwnIdPrefix);
}

std::optional<uint64_t> IssuedId(const json::value& id) {
  if (id.is_uint64() && id.get_uint64() > 0) return id.get_uint64();
  if (id.is_int64() && id.get_int64() > 0) return static_cast<uint64_t>(id.get_int64());
  return std::nullopt;
}

void Log(std::string_view what) { std::cerr << "interlock mcp: " << what << '\n'; }

std::string RecordedToolName(const json::value* params) {
  const json::value* name =
      params != nullptr && params->is_object() ? params->get_object().if_contains("name") : nullptr;
  if (name == nullptr || !name->is_string()) return kUnnamedTool;
  const json::string& n = name->get_string();
  if (!core::ValidToolName(n)) return kUnnamedTool;
  return std::string(n);
}

std::string Quoted(std::string_view s) { return CanonicalJson(json::value(json::string(s))); }

}  // namespace gateway_internal

Gateway::Gateway(GatewayOptions options, SendFn to_client, SendFn to_server)
    : options_(std::move(options)),
      secrets_(options_.secrets),
      to_client_(std::move(to_client)),
      server_requests_(*this, mu_, options_.enforcer, options_.relay_round_timeout),
      forward_methods_(options_.forward_methods),
      calls_(*this, mu_, options_, secrets_, catalog_, server_requests_) {
  std::sort(forward_methods_.begin(), forward_methods_.end());
  // Every message to the server passes here, so each is shaped for the upstream's era
  // (a modern server is never sent a request without its `_meta`).
  to_server_ = [this, send = std::move(to_server)](const json::value& v) {
    if (auto shaped = ForUpstream(v)) send(*shaped);
  };
  if (options_.to_server_authorized) {
    options_.to_server_authorized = [this, send = std::move(options_.to_server_authorized)](
                                        const json::value& v, const std::string& authorization) {
      if (auto shaped = ForUpstream(v)) send(*shaped, authorization);
    };
  }
}

Gateway::~Gateway() {
  server_requests_.Stop("the session ended before the MCP client answered");
  calls_.CancelAllHeld("the MCP gateway stopped");
  calls_.EndOpenTasks("the session ended");
  calls_.WithdrawOpenStates("the MCP gateway stopped before the client retried the call");
  calls_.EndOpenCalls();
  server_requests_.EndInputAsks();
}

std::optional<json::value> Gateway::ForUpstream(const json::value& v) const {
  if (static_cast<UpstreamEra>(upstream_era_.load()) != UpstreamEra::kModern || !v.is_object()) {
    return v;
  }
  const json::object& o = v.get_object();
  const json::value* m = o.if_contains("method");
  if (m == nullptr || !m->is_string()) return v;  // a response to the server
  if (!o.contains("id")) {
    // No handshake on this revision: a legacy client's notifications/initialized has no
    // counterpart (the modern server would answer it with an error it cannot send).
    if (m->get_string() == "notifications/initialized") return std::nullopt;
    return v;
  }
  // A server may answer a 2026-07-28 client's own tools/call with a task, which the gateway
  // follows (gateway_tasks.cc); everything else, and a 2025 client's requests, never offer it.
  const std::string_view method = m->get_string();
  const bool tasks_followed =
      method.starts_with("tasks/") ||
      (method == "tools/call" && IsModern(ClientRevisionOf(o)) && DeclaresTasksExtension(o));
  json::value out = v;
  {
    std::lock_guard meta(meta_mu_);
    StampModernMeta(out.get_object(), client_capabilities_, client_info_);
  }
  if (!tasks_followed) WithoutTasksExtension(out.get_object());
  return out;
}

void Gateway::NoteInitialize(const json::value& doc) {
  legacy_client_ = true;
  const json::value* params = doc.get_object().if_contains("params");
  if (params == nullptr || !params->is_object()) return;
  std::lock_guard meta(meta_mu_);
  const json::value* caps = params->get_object().if_contains("capabilities");
  if (caps != nullptr && caps->is_object()) {
    client_capabilities_ = ModernCapabilitiesOfLegacyClient(caps->get_object());
  }
  if (const json::value* info = params->get_object().if_contains("clientInfo")) {
    client_info_ = *info;
  }
}

UpstreamEra Gateway::EnsureUpstreamEra(const json::value& doc, const std::string& method) {
  std::unique_lock lock(mu_);
  auto era = [this] { return static_cast<UpstreamEra>(upstream_era_.load()); };
  if (era() != UpstreamEra::kUnknown) return era();
  if (options_.discover_timeout.count() <= 0) {
    upstream_era_ = static_cast<int>(UpstreamEra::kLegacy);
    return era();
  }
  if (probing_) {
    // Another request is probing: wait for its verdict (bounded; then legacy, like no
    // answer).
    probe_cv_.wait_for(lock, options_.discover_timeout + std::chrono::seconds(1),
                       [&] { return !probing_; });
    if (era() == UpstreamEra::kUnknown) upstream_era_ = static_cast<int>(UpstreamEra::kLegacy);
    return era();
  }
  probing_ = true;
  if (method == "initialize") NoteInitialize(doc);
  const json::value id = IssueServerIdLocked();
  auto wait = std::make_shared<RehearsalWait>();
  Pending p = Pending::Internal("server/discover");
  p.probe = true;
  p.rehearsal = wait;
  pending_.emplace(IdKey(id), std::move(p));
  json::object probe;
  {
    std::lock_guard meta(meta_mu_);
    probe = DiscoverRequest(id, client_capabilities_, client_info_);
  }
  lock.unlock();
  to_server_(probe);
  json::value response;
  {
    std::unique_lock w(wait->mu);
    wait->cv.wait_for(w, options_.discover_timeout,
                      [&] { return wait->response.has_value() || !wait->failed.empty(); });
    if (wait->response) response = std::move(*wait->response);
  }
  ProbeVerdict verdict = ClassifyDiscoverResponse(response);
  lock.lock();
  pending_.erase(IdKey(id));  // a late answer is dropped, never matched
  probe_verdict_ = verdict;
  if (verdict.kind == ProbeVerdict::Kind::kLegacy) {
    upstream_era_ = static_cast<int>(UpstreamEra::kLegacy);
  } else {
    if (verdict.kind == ProbeVerdict::Kind::kModern) {
      discover_result_ = response.get_object().at("result").get_object();
      Log("the MCP server speaks " + std::string(kModernRevision) +
          ": no initialize, every request carries its _meta");
    } else {
      Log("the MCP server speaks none of Interlock's protocol revisions: " +
          CanonicalJson(json::value(verdict.error)).substr(0, 300));
    }
    upstream_era_ = static_cast<int>(UpstreamEra::kModern);
  }
  probing_ = false;
  probe_cv_.notify_all();
  return era();
}

void Gateway::OnClientClosed(std::string_view why) {
  calls_.CancelAllHeld(why);
  calls_.WithdrawOpenStates(why);
}

bool Gateway::HasOpenStates() const { return calls_.HasOpenStates(); }

json::object Gateway::DenialResult(const Decision& d) { return CallFlow::DenialResult(d); }

void Gateway::CancelHeld(const json::value& id, std::string_view why) {
  if (EndListen(id, /*answer=*/true)) return;
  std::lock_guard lock(mu_);
  (void)calls_.CancelHeldLocked(IdKey(id), why);
}

std::vector<std::string> Gateway::InFlightCallIds() const {
  std::lock_guard lock(mu_);
  std::vector<std::string> out;
  for (const auto& [key, p] : pending_) {
    if (!p.call_id.empty()) {
      out.push_back(p.call_id);
    } else if (p.rehearsal && !p.probe) {
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
  std::shared_ptr<core::CallSpan> done;  // its span is sent outside the lock
  std::lock_guard lock(mu_);
  client_ids_.erase(IdKey(id));
  if (auto it = traces_.find(IdKey(id)); it != traces_.end()) {
    done = std::move(it->second);
    traces_.erase(it);
  }
}

std::shared_ptr<core::CallSpan> Gateway::TraceOf(const json::value& client_id) {
  std::lock_guard lock(mu_);
  auto it = traces_.find(IdKey(client_id));
  return it == traces_.end() ? nullptr : it->second;
}

json::object Gateway::ClientCapabilities() const {
  std::lock_guard meta(meta_mu_);
  return client_capabilities_;
}

Gateway::Pending* Gateway::CallLocked(std::string_view server_key) {
  auto it = pending_.find(server_key);
  return it == pending_.end() ? nullptr : &it->second;
}

std::optional<Gateway::Pending> Gateway::TakeCallLocked(std::string_view server_key) {
  auto it = pending_.find(server_key);
  if (it == pending_.end()) return std::nullopt;
  std::optional<Pending> p = std::move(it->second);
  pending_.erase(it);
  return p;
}

void Gateway::PutCallLocked(const std::string& server_key, Pending p) {
  pending_.emplace(server_key, std::move(p));
}

void Gateway::ForEachCallLocked(const std::function<void(const std::string&, Pending&)>& f) {
  for (auto& [key, p] : pending_) f(key, p);
}

void Gateway::BindClientIdLocked(const json::value& client_id, uint64_t server_id) {
  client_ids_[IdKey(client_id)] = server_id;
}

void Gateway::TraceUpstreamStartedLocked(const json::value& client_id) {
  if (auto t = traces_.find(IdKey(client_id)); t != traces_.end()) t->second->UpstreamStarted("");
}

bool Gateway::UpstreamClosedLocked(std::string* why) const {
  if (!upstream_closed_) return false;
  if (why != nullptr) *why = upstream_closed_why_;
  return true;
}

void Gateway::KeepTraceLocked(const json::value& client_id, std::shared_ptr<core::CallSpan> trace) {
  traces_[IdKey(client_id)] = std::move(trace);
}

bool Gateway::CountRefusalLocked() {
  return recorded_server_refusals_++ < gateway_internal::kMaxRecordedServerRefusals;
}

void Gateway::AnswerClient(const json::object& response) {
  if (const json::value* id = response.if_contains("id")) ReleaseClientId(*id);
  SendToClient(response);
}

std::string Gateway::negotiated_version() const {
  std::lock_guard lock(mu_);
  return negotiated_version_;
}

bool Gateway::Forwarded(MessageKind kind, std::string_view method, bool from_client) const {
  if (LooksLikeToolsCall(method) && !(from_client && method == "tools/call")) return false;
  const bool request = kind == MessageKind::kRequest;
  const bool spec =
      from_client ? (request ? IsClientRequestMethod(method) : IsClientNotificationMethod(method))
                  : (request ? IsServerRequestMethod(method) : IsServerNotificationMethod(method));
  return spec || std::binary_search(forward_methods_.begin(), forward_methods_.end(), method);
}

bool Gateway::ForwardedNotification(std::string_view method, bool from_client) const {
  if (Forwarded(MessageKind::kNotification, method, from_client)) return true;
  Log(std::string("dropped the ") + (from_client ? "client" : "server") + " notification " +
      Quoted(method) + " (not an MCP method; see --forward-method)");
  return false;
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
      if (!ForwardedNotification(msg->method, /*from_client=*/true)) return;
      if (msg->method == "notifications/cancelled" && !MapClientCancel(msg->doc)) return;
      if (msg->method == "notifications/initialized" && upstream_notified_.exchange(true)) {
        return;  // the server was told once (AnswerInitializeFromUpstream)
      }
      to_server_(msg->doc);
      return;
    case MessageKind::kResponse:                // to a request of the server (sampling, roots, ...)
      server_requests_.OnClientResponse(*msg);  // server_request_handlers.cc
      return;
    case MessageKind::kRequest:
      if (HandleRevision(*msg)) return;
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
      if (msg->method == "subscriptions/listen" &&
          IsModern(ClientRevisionOf(msg->doc.get_object()))) {
        HandleClientRequest(std::move(msg->doc), msg->id, msg->method);  // gateway_listen.cc
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

bool Gateway::MapClientCancel(json::value& doc) {
  json::value* params = doc.get_object().if_contains("params");
  json::value* rid = params != nullptr && params->is_object()
                         ? params->get_object().if_contains("requestId")
                         : nullptr;
  if (rid != nullptr) {
    std::string why = "the MCP client cancelled the request";
    const json::value* r = params->get_object().if_contains("reason");
    if (r != nullptr && r->is_string() && !r->get_string().empty()) {
      why += ": " + std::string(r->get_string().subview(0, 200));
    }
    // A subscription ends without an answer (the client stopped listening); one the
    // gateway forwarded is cancelled at the server under the gateway's id.
    if (EndListen(*rid, /*answer=*/false)) return false;
    std::lock_guard lock(mu_);
    if (calls_.CancelHeldLocked(IdKey(*rid), why)) {
      return false;  // the upstream never saw this request
    }
    // The server knows the request by the gateway's id; one it never received (or
    // a made-up id, perhaps one of the gateway's own requests) cancels nothing.
    auto c = client_ids_.find(IdKey(*rid));
    if (c == client_ids_.end() || c->second == 0) {
      Log("dropped notifications/cancelled for a request the server does not have");
      return false;
    }
    *rid = json::value(c->second);
  }
  return true;
}

void Gateway::HandleClientRequest(json::value doc, const json::value& id,
                                  const std::string& method) {
  if (!ReserveClientId(doc, id, method)) return;
  const UpstreamEra era = EnsureUpstreamEra(doc, method);
  std::string closed_why;
  {
    // The probe may have outlived the upstream: nothing more is forwarded to it.
    std::lock_guard lock(mu_);
    if (upstream_closed_) closed_why = "the MCP server is gone (" + upstream_closed_why_ + ")";
  }
  if (!closed_why.empty()) {
    if (method == "tools/call") {
      Enforcer::Outcome o =
          DecideRefusal(doc.get_object().if_contains("params"), closed_why + "; not forwarded");
      AnswerClient(ResultResponse(id, Denial(o.decision)));
    } else {
      AnswerClient(ErrorResponse(id, kInternalError, "Interlock: " + closed_why));
    }
    return;
  }
  if (era == UpstreamEra::kModern) {
    ProbeVerdict verdict;
    {
      std::lock_guard lock(mu_);
      verdict = probe_verdict_;
    }
    if (verdict.kind == ProbeVerdict::Kind::kUnsupported) {
      // The server's own UnsupportedProtocolVersionError, as it came: the client learns
      // which versions the server speaks (never a -32603 of Interlock's).
      if (method == "tools/call") {
        (void)DecideRefusal(doc.get_object().if_contains("params"),
                            "the MCP server speaks none of Interlock's protocol revisions; not "
                            "forwarded");
      }
      AnswerClient(json::object{{"jsonrpc", "2.0"}, {"id", id}, {"error", verdict.error}});
      return;
    }
  }
  if (method.starts_with("tasks/")) {
    // Only a task this session's tools/call created (gateway_tasks.cc): any other id names a
    // task of another session, perhaps another agent's on a shared server.
    calls_.HandleTaskRequest(std::move(doc), id, method);
    return;
  }
  if (era == UpstreamEra::kLegacy && IsModern(ClientRevisionOf(doc.get_object())) &&
      !EnsureUpstreamInitialized(&doc.get_object()) && method != "tools/call") {
    // A modern client in front of a legacy server: the gateway initializes the server for
    // it first (once). (A tools/call is decided all the same: without the upstream's
    // catalog an allowed call is refused after its decision, and recorded.)
    AnswerClient(ErrorResponse(id, kInternalError,
                               "Interlock: the MCP server did not answer the gateway's "
                               "initialize; try again"));
    return;
  }
  if (method == "tools/call") {
    calls_.HandleToolsCall(std::move(doc), id);
    return;
  }
  if (method == "subscriptions/listen") {
    HandleListen(std::move(doc), id, era);
    return;
  }
  if (method == "initialize" && HandleInitialize(doc, id, era)) return;
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

bool Gateway::ReserveClientId(const json::value& doc, const json::value& id,
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
  if (closed_why.empty() && !in_use) return true;
  const std::string why = in_use ? std::string(
                                       "request id already in use by a request in flight "
                                       "(ids must be unique among a client's requests)")
                                 : closed_why;
  if (method == "tools/call") {
    const json::value* params = doc.get_object().if_contains("params");
    Enforcer::Outcome o = DecideRefusal(params, why + "; not forwarded");
    if (!in_use) {
      SendToClient(ResultResponse(id, Denial(o.decision)));
      return false;
    }
  }
  SendToClient(ErrorResponse(id, in_use ? kInvalidRequest : kInternalError, "Interlock: " + why));
  return false;
}

bool Gateway::HandleInitialize(const json::value& doc, const json::value& id, UpstreamEra era) {
  {
    // Form-mode elicitation: `elicitation: {}` (2025-06-18) or with a `form` member
    // (2025-11-25); a client declaring only `url` mode cannot show the question.
    const json::value* params = doc.get_object().if_contains("params");
    const json::value* caps = params != nullptr && params->is_object()
                                  ? params->get_object().if_contains("capabilities")
                                  : nullptr;
    options_.enforcer->SetClientElicitation(
        gateway_internal::ElicitModesOf(caps != nullptr && caps->is_object() ? &caps->get_object()
                                                                             : nullptr)
            .form);
    if (era != UpstreamEra::kModern) {
      // The server is initialized once, whoever asked first.
      if (AnswerInitializeFromUpstream(id)) return true;
    } else {
      std::lock_guard lock(mu_);
      if (upstream_init_ == UpstreamInit::kNone) upstream_init_ = UpstreamInit::kClient;
    }
  }
  if (static_cast<UpstreamEra>(upstream_era_.load()) != UpstreamEra::kModern) return false;
  {
    NoteInitialize(doc);
    // A modern server has no initialize: the gateway answers it from the DiscoverResult.
    const json::value* params = doc.get_object().if_contains("params");
    const json::value* v = params != nullptr && params->is_object()
                               ? params->get_object().if_contains("protocolVersion")
                               : nullptr;
    json::object result;
    {
      std::lock_guard lock(mu_);
      result = InitializeResultFromDiscover(
          discover_result_,
          v != nullptr && v->is_string() ? std::string_view(v->get_string()) : std::string_view());
      negotiated_version_ = std::string(result.at("protocolVersion").get_string());
    }
    AnswerClient(ResultResponse(id, std::move(result)));
  }
  return true;
}

void Gateway::ForwardToServerLocked(json::value& doc, const json::value& client_id, Pending p) {
  // A legacy upstream (2025-11-25) is not shown a modern client's _meta keys; a modern
  // upstream takes them (ForUpstream stamps them for a legacy client).
  if (static_cast<UpstreamEra>(upstream_era_.load()) != UpstreamEra::kModern) {
    StripModernMeta(doc);
  }
  json::value sid = IssueServerIdLocked();
  json::object& o = doc.get_object();
  if (json::object* meta = MetaOf(o)) {
    if (json::value* token = meta->if_contains("progressToken")) {
      p.client_progress_token = std::move(*token);
      *token = sid;
    }
  }
  p.client_id = client_id;
  client_ids_[IdKey(client_id)] = sid.get_uint64();
  pending_.emplace(IdKey(sid), std::move(p));
  o["id"] = std::move(sid);  // the server never sees the client's id
}

void Gateway::OnUpstreamClosed(std::string_view why) {
  std::map<std::string, Pending, std::less<>> pending;
  std::map<std::string, Subscription, std::less<>> listens;
  {
    std::lock_guard lock(mu_);
    listens = subscriptions_.TakeAll();
    upstream_closed_ = true;
    upstream_closed_why_ = std::string(why);
    pending.swap(pending_);
    server_requests_.UpstreamClosedLocked();
    catalog_.StopLoading();
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
    if (p.relayed && p.client_id.is_null() && !p.call_id.empty()) {
      // Its round is open (gateway_relay.cc): recorded now; the client's retry is told the
      // server is gone.
      ToolResult r = ToolResult::Failure("the MCP server exited (" + std::string(why) +
                                         ") while the client was asked a question of its");
      r.credential_json = p.credential_json;
      (void)options_.enforcer->RecordResult(p.call_id, r);
      continue;
    }
    if (p.internal || p.client_id.is_null()) continue;
    if (p.method == "tools/call") {
      const std::string reason = "the MCP server exited before answering (" + std::string(why) +
                                 "); the call may or may not have run and Interlock does not "
                                 "retry it";
      ToolResult r = ToolResult::Failure(reason);
      if (!p.call_id.empty()) {
        if (options_.egress_receipts) r.egress_json = options_.egress_receipts(p.call_id);
        r.credential_json = p.credential_json;
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
  calls_.EndOpenTasks("the MCP server exited");
  for (const auto& [key, l] : listens) {
    // The subscriptions the gateway served end gracefully (their closing result); the
    // forwarded ones were answered with the error above.
    auto id = ParseJsonStrict(key);
    if (l.server_id != 0 || !id.ok()) continue;
    AnswerClient(
        ResultResponse(*id, json::object{{"resultType", "complete"},
                                         {"_meta", json::object{{kMetaSubscriptionId, *id}}}}));
  }
}

}  // namespace interlock::mcp

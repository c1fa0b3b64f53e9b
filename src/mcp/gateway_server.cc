// Gateway (gateway.h): the server's messages: the tool list (catalog, pins, view),
// tool results, server requests relayed to the client, and responses.
#include "mcp/gateway.h"

#include <algorithm>
#include <iostream>

#include <boost/json.hpp>

#include "common/crypto.h"
#include "common/json.h"
#include "mcp/framing.h"
#include "mcp/gateway_internal.h"
#include "mcp/upstream_revision.h"

namespace interlock::mcp {

namespace json = boost::json;

using gateway_internal::IssuedId;
using gateway_internal::kMaxServerRequestsInFlight;
using gateway_internal::kRelayError;
using gateway_internal::Log;
using gateway_internal::Quoted;

bool Gateway::EnsureCatalog() {
  std::unique_lock lock(mu_);
  if (catalog_.complete()) return true;
  if (upstream_closed_) return false;
  if (catalog_.StartLoad()) {
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
    return catalog_.complete() || upstream_closed_ || !catalog_.loading();
  });
  return catalog_.complete();
}

void Gateway::FilterToolList(json::object& result, bool first_page) {
  std::optional<ToolCatalog::Page> page =
      ToolCatalog::ReadPage(result, *options_.tools, *options_.pins, options_.agent_id);
  if (!page) return;
  std::lock_guard lock(mu_);
  if (catalog_.AddPage(std::move(*page), first_page)) catalog_cv_.notify_all();
}

ToolResult Gateway::TakeToolResult(const std::string& tool, json::value& result) {
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

void Gateway::HandleToolResult(json::object& msg, const Pending& p) {
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
  if (auto trace = TraceOf(p.client_id)) trace->UpstreamEnded(r.ok, r.error);
  if (!p.call_id.empty()) {
    if (options_.egress_receipts) r.egress_json = options_.egress_receipts(p.call_id);
    r.credential_json = p.credential_json;
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

void Gateway::OnServerLine(std::string_view line, const json::value* related) {
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
    secrets_.MaskJson(&msg->doc);
    if (options_.more_secrets) {
      core::SecretMask(options_.more_secrets()).MaskJson(&msg->doc);
    }
    if (id != nullptr) o["id"] = std::move(kept);
    if (const json::value* m = o.if_contains("method"); m != nullptr && m->is_string()) {
      msg->method = std::string(m->get_string());
    }
    ScreenServerMessage(msg->doc, msg->kind == MessageKind::kNotification, msg->method);
  }
  if (msg->kind == MessageKind::kNotification) {
    // On a subscription (subscriptions/listen) only what the client asked for, under its id.
    if (ClientSpeaksModern() && RelayListenNotification(msg->doc.get_object(), msg->method)) {
      return;
    }
    if (!ForwardedNotification(msg->method, /*from_client=*/false)) return;
    if (msg->method == "notifications/tools/list_changed") {
      std::lock_guard lock(mu_);
      catalog_.MarkStale();
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
      // A question put to a 2026-07-28 client in a round (gateway_relay.cc): withdrawn there.
      if (rid != nullptr && server_requests_.ForgetRelayedRequest(*rid)) return;
      if (rid != nullptr) {
        std::lock_guard lock(mu_);
        std::optional<uint64_t> client_side = server_requests_.CancelLocked(IdKey(*rid));
        if (!client_side) {
          Log("dropped the server's notifications/cancelled for no request of its own");
          return;
        }
        *rid = json::value(*client_side);
      }
    }
    if (ClientSpeaksModern() && msg->method != "notifications/progress") {
      // 2026-07-28 has change notifications only on subscriptions/listen (a legacy server's
      // go to the subscriptions the gateway serves) and log messages only where a request
      // asked for them.
      if (static_cast<UpstreamEra>(upstream_era_.load()) != UpstreamEra::kModern) {
        FanOutToListens(msg->doc.get_object(), msg->method);
      }
      return;
    }
    SendToClient(msg->doc);
    return;
  }
  if (msg->kind == MessageKind::kRequest) {  // sampling, elicitation, roots, ping
    if (ClientSpeaksModern()) {
      if (static_cast<UpstreamEra>(upstream_era_.load()) != UpstreamEra::kModern) {
        // A 2025 server asks a 2026-07-28 client: put as an input_required round of the
        // client's call (gateway_relay.cc).
        server_requests_.HandleServerRequestForModernClient(std::move(msg->doc), msg->id,
                                                            msg->method, related);
        return;
      }
      // A modern server asks through input_required (MRTR), never with a request.
      to_server_(ErrorResponse(msg->id, kMethodNotFound,
                               "Method not found: the MCP client behind Interlock speaks "
                               "2026-07-28, which has no server-to-client requests"));
      return;
    }
    if (!Forwarded(msg->kind, msg->method, /*from_client=*/false)) {
      to_server_(ErrorResponse(msg->id, kMethodNotFound,
                               "Method not found: Interlock does not forward " +
                                   Quoted(msg->method) + " to the client"));
      return;
    }
    server_requests_.RelayServerRequest(std::move(msg->doc), msg->id);
    return;
  }
  HandleServerResponse(std::move(msg->doc), msg->id);
}

void Gateway::HandleServerResponse(json::value doc, const json::value& id) {
  std::optional<Pending> p;
  using RelayedAnswer = ServerRequestHandlers::RelayedAnswer;
  RelayedAnswer relayed = RelayedAnswer::kNotRelayed;
  std::vector<json::object> stale;  // a relayed call's questions the answer made moot
  {
    std::lock_guard lock(mu_);
    // Only an id the gateway issued and is still waiting on: never a client's own id, a
    // rounded neighbour, or an id already answered.
    if (auto it = IssuedId(id) ? pending_.find(IdKey(id)) : pending_.end(); it != pending_.end()) {
      p = std::move(it->second);
      pending_.erase(it);
      // A call whose server asked the 2026-07-28 client a question (gateway_relay.cc): while
      // the round is open the answer waits for the client's retry.
      if (p->method == "tools/call" && !p->rehearsal && !p->internal) {
        relayed = server_requests_.KeepRelayedAnswerLocked(doc, p, &stale);
      }
    }
  }
  for (const json::object& q : stale) {
    to_server_(ErrorResponse(q.at("id"), kRelayError, "Interlock: the call has ended"));
  }
  if (relayed == RelayedAnswer::kKept) return;
  json::object& o = doc.get_object();
  if (relayed == RelayedAnswer::kRecord) {
    HandleToolResult(o, *p);  // nobody to relay it to
    return;
  }
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
  if (p->method == "initialize" && p->internal) {
    UpstreamInitialized(o);
    return;
  }
  if (p->internal && p->method == "tasks/cancel") return;  // CancelTaskAtServer's: nobody waits
  json::value* modern_result = o.if_contains("result");
  if (modern_result != nullptr && modern_result->is_object() && ClientSpeaksModern() &&
      static_cast<UpstreamEra>(upstream_era_.load()) != UpstreamEra::kModern) {
    // A legacy server has no resultType to give (no input_required before 2026-07-28):
    // whatever it put there is not taken; SendToClient sets "complete".
    modern_result->get_object().erase("resultType");
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
      catalog_.StopLoading();
      catalog_cv_.notify_all();
      return;
    }
  } else if (p->method == "tools/call") {
    if (HandleInputRequired(o, *p)) return;
    HandleToolResult(o, *p);
  } else if (!p->task_id.empty()) {
    HandleTaskAnswer(o, *p);
  } else if (p->method == "subscriptions/listen") {
    ListenEnded(o, *p);
  } else if (p->method == "initialize") {
    KeepUpstreamInitialize(o);
  }
  if (modern_result != nullptr && modern_result->is_object() && ClientSpeaksModern()) {
    ToModernResult(p->method, modern_result->get_object());
  }
  o["id"] = p->client_id;  // exactly as the client sent it
  ToLegacyClient(o);
  AnswerClient(o);
}

void Gateway::KeepUpstreamInitialize(json::object& o) {
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
  // A later legacy client's initialize is answered from this (AnswerInitializeFromUpstream).
  if (result != nullptr && result->is_object() && v != nullptr && v->is_string()) {
    std::lock_guard lock(mu_);
    upstream_init_result_ = o["result"].get_object();
  }
}

void Gateway::ToLegacyClient(json::object& response) const {
  if (static_cast<UpstreamEra>(upstream_era_.load()) != UpstreamEra::kModern ||
      !legacy_client_.load()) {
    return;
  }
  json::value* result = response.if_contains("result");
  if (result == nullptr || !result->is_object()) return;  // errors pass as they came
  if (IsTaskResult(result->get_object())) {
    json::value id = response.at("id");
    response = ErrorResponse(id, kInternalError,
                             "Interlock: the MCP server turned the request into a task, which "
                             "Interlock does not follow");
    return;
  }
  if (IsInputRequired(result->get_object())) {
    // A legacy client has no multi round-trip: it would take the result for a complete one.
    json::value id = response.at("id");
    response = ErrorResponse(id, kInternalError,
                             "Interlock: the MCP server asked the client for input "
                             "(input_required), which Interlock does not relay to a client of "
                             "a 2025 revision");
    return;
  }
  ToLegacyResult(result->get_object());
}

void Gateway::FailCall(const Pending& p, const std::string& why, const std::string& output_json) {
  ToolResult r;
  r.ok = false;
  r.output_json = output_json;
  r.error = why;
  r.credential_json = p.credential_json;
  if (auto trace = TraceOf(p.client_id)) trace->UpstreamEnded(false, why);
  if (!p.call_id.empty()) {
    if (options_.egress_receipts) r.egress_json = options_.egress_receipts(p.call_id);
    if (Status s = options_.enforcer->RecordResult(p.call_id, r); !s.ok()) {
      Log("could not record the result of " + p.call_id + ": " + s.error().message);
    }
  }
  AnswerClient(ResultResponse(
      p.client_id, json::object{{"content", json::array{json::object{
                                                {"type", "text"}, {"text", "Interlock: " + why}}}},
                                {"isError", true}}));
}

namespace gateway_internal {

std::string OpenKey(const std::string& tool, const json::object& args) {
  return tool + '\n' + CanonicalJson(json::value(args));
}

}  // namespace gateway_internal

void Gateway::RecordNeverRetried(const OpenCall& c, const std::string& why) {
  if (!c.outcome || c.outcome->call_id.empty()) return;
  ToolResult r = ToolResult::Failure(why);
  r.credential_json = c.credential_json;
  if (Status s = options_.enforcer->RecordResult(c.outcome->call_id, r); !s.ok()) {
    Log("could not record the result of " + c.outcome->call_id + ": " + s.error().message);
  }
}

std::string Gateway::RefusedInputRequests(const json::value* requests) const {
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
    if (!relayed || !Forwarded(MessageKind::kRequest, method, /*from_client=*/false)) {
      return "the MCP server asked the client for input with " + Quoted(method.substr(0, 64)) +
             ", which Interlock does not relay";
    }
  }
  return "";
}

bool Gateway::HandleInputRequired(json::object& msg, const Pending& p) {
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
  if (refuse.empty() && legacy_client_.load())
    refuse = server_requests_.AskLegacyClient(result->get_object(), p);
  if (!refuse.empty()) {
    FailCall(p, refuse, CanonicalJson(*result));
    return true;
  }
  if (legacy_client_.load()) return true;  // asked; the last answer retries the call
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
  if (auto trace = TraceOf(p.client_id)) trace->UpstreamEnded(true, "input_required");
  msg["id"] = p.client_id;
  AnswerClient(msg);
  return true;
}

}  // namespace interlock::mcp

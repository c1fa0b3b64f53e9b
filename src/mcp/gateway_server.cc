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
    Pending p = Pending::Internal("tools/list");
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
    if (calls_.HandleInputRequired(o, *p)) return;
    HandleToolResult(o, *p);
  } else if (!p->task_id.empty()) {
    calls_.HandleTaskAnswer(o, *p);
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

namespace gateway_internal {

std::string OpenKey(const std::string& tool, const json::object& args) {
  return tool + '\n' + CanonicalJson(json::value(args));
}

}  // namespace gateway_internal

}  // namespace interlock::mcp

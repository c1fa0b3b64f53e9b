// ServerRequestHandlers (server_request_handlers.h): a server's requests relayed to a 2025
// client, a server's input requests put to one, and the client's answers to both. The rounds
// of a 2026-07-28 client are in gateway_relay.cc, the gateway's own question in
// gateway_elicit.cc.
#include "mcp/server_request_handlers.h"

#include <boost/json.hpp>

#include "mcp/framing.h"
#include "mcp/gateway_internal.h"

namespace interlock::mcp {

namespace json = boost::json;

using gateway_internal::InOwnIdSpace;
using gateway_internal::IssuedId;
using gateway_internal::kMaxServerRequestsInFlight;
using gateway_internal::Log;
using gateway_internal::Quoted;

ServerRequestHandlers::ServerRequestHandlers(Link& link, std::mutex& mu, Enforcer* enforcer,
                                             std::chrono::milliseconds relay_round_timeout)
    : link_(link), mu_(mu), enforcer_(enforcer), relay_round_timeout_(relay_round_timeout) {}

ServerRequestHandlers::~ServerRequestHandlers() {
  // Stop joined it; this is for an owner that never called Stop.
  {
    std::lock_guard lock(mu_);
    relay_stop_ = true;
  }
  relay_cv_.notify_all();
  if (relay_reaper_.joinable()) relay_reaper_.join();
}

void ServerRequestHandlers::Stop(std::string_view why) {
  {
    std::lock_guard lock(mu_);
    relay_stop_ = true;
  }
  relay_cv_.notify_all();
  if (relay_reaper_.joinable()) relay_reaper_.join();
  ReapRelayedCalls(/*all=*/true, why);
}

void ServerRequestHandlers::EndInputAsks() {
  std::map<InputAsk*, std::shared_ptr<InputAsk>> asks;  // each call once
  {
    std::lock_guard lock(mu_);
    for (auto& [id, a] : input_asks_) asks[a.first.get()] = a.first;
    input_asks_.clear();
  }
  for (const auto& [raw, ask] : asks) {
    OpenCall c;
    c.outcome = ask->call.outcome;
    c.credential_json = ask->call.credential_json;
    link_.RecordNeverRetried(c,
                             "the session ended before the client answered the server's question");
  }
}

void ServerRequestHandlers::RelayServerRequest(json::value doc, const json::value& id) {
  const std::string key = IdKey(id);
  bool duplicate = false;
  std::optional<uint64_t> client_side;
  if (RefusedOwnIdSpace(doc, id)) return;  // gateway_relay.cc
  {
    std::lock_guard lock(mu_);
    client_side = ids_.Relay(key, id, &duplicate);
  }
  if (!client_side) {
    const std::string why = duplicate ? "request id already in use by a request in flight"
                                      : "too many requests to the client in flight";
    Log("refused a server request: " + why);
    link_.SendToServer(ErrorResponse(id, kInvalidRequest, "Interlock: " + why));
    return;
  }
  doc.get_object()["id"] = *client_side;
  link_.SendToClient(doc);
}

void ServerRequestHandlers::OnClientResponse(Message& msg) {
  // An answer to one of the gateway's own requests (elicitation) never reaches the
  // server, whatever it holds.
  if (InOwnIdSpace(msg.id)) {
    HandleOwnResponse(msg.doc, IdKey(msg.id));
    return;
  }
  // An answer to a server's input request put to this (legacy) client: collected for the
  // call's retry, never relayed as a response.
  {
    std::shared_ptr<InputAsk> ask;
    std::string key;
    {
      std::lock_guard lock(mu_);
      std::optional<uint64_t> cid = IssuedId(msg.id);
      if (auto it = cid ? input_asks_.find(*cid) : input_asks_.end(); it != input_asks_.end()) {
        ask = std::move(it->second.first);
        key = std::move(it->second.second);
        input_asks_.erase(it);
      }
    }
    if (ask) {
      HandleInputAnswer(msg.doc, std::move(ask), key);
      return;
    }
  }
  // Else it answers a server request only through the id the gateway gave it.
  json::value server_id;
  {
    std::lock_guard lock(mu_);
    std::optional<uint64_t> cid = IssuedId(msg.id);
    if (std::optional<json::value> answered = cid ? ids_.Answer(*cid) : std::nullopt) {
      server_id = std::move(*answered);
    }
  }
  if (server_id.is_null()) {
    Log("dropped a client response to no request of the server: " + IdKey(msg.id).substr(0, 100));
    return;
  }
  msg.doc.get_object()["id"] = std::move(server_id);
  link_.SendToServer(msg.doc);
}

std::string ServerRequestHandlers::AskLegacyClient(const json::object& result,
                                                   const PendingRequest& p) {
  const json::value* requests = result.if_contains("inputRequests");
  if (requests == nullptr || !requests->is_object() || requests->get_object().empty()) {
    return "the MCP server asked the client for input without saying for what";
  }
  // The client must have declared what it is asked for (the server was told it did).
  json::object caps;
  caps = link_.ClientCapabilities();
  for (const auto& kv : requests->get_object()) {
    const std::string method(kv.value().get_object().at("method").get_string());
    const char* cap = method == "elicitation/create"       ? "elicitation"
                      : method == "sampling/createMessage" ? "sampling"
                                                           : "roots";
    if (!caps.contains(cap)) {
      return "the MCP server asked the client for input with " + Quoted(method) +
             ", which the client did not declare; the call did not complete";
    }
  }
  auto ask = std::make_shared<InputAsk>();
  ask->call = p;
  if (const json::value* s = result.if_contains("requestState")) ask->request_state = *s;
  std::vector<json::object> questions;
  {
    std::lock_guard lock(mu_);
    if (input_asks_.size() + requests->get_object().size() > kMaxServerRequestsInFlight) {
      return "too many questions to the client in flight; the call did not complete";
    }
    for (const auto& kv : requests->get_object()) {
      const uint64_t id = ids_.Issue();
      input_asks_.emplace(id, std::make_pair(ask, std::string(kv.key())));
      ++ask->waiting;
      json::object q{{"jsonrpc", "2.0"}, {"id", id}, {"method", kv.value().at("method")}};
      if (const json::value* params = kv.value().get_object().if_contains("params")) {
        q["params"] = *params;
      }
      questions.push_back(std::move(q));
    }
  }
  for (const json::object& q : questions) link_.SendToClient(q);
  return "";
}

void ServerRequestHandlers::HandleInputAnswer(const json::value& doc, std::shared_ptr<InputAsk> ask,
                                              const std::string& key) {
  const json::object& o = doc.get_object();
  bool done = false;
  std::string failed;
  json::object responses;
  {
    std::lock_guard lock(mu_);
    if (const json::value* r = o.if_contains("result"); r != nullptr && r->is_object()) {
      ask->responses[key] = *r;
    } else if (ask->failed.empty()) {
      ask->failed = "the client did not answer the MCP server's question (" +
                    Quoted(key.substr(0, 64)) + "); the call did not complete";
    }
    done = --ask->waiting == 0;
    failed = ask->failed;
    if (done) responses = ask->responses;
  }
  if (!done) return;
  const PendingRequest& p = ask->call;
  if (!failed.empty()) {
    link_.FailCall(p, failed, "null");
    return;
  }
  // The retry of the same call, decided once: the server's state and the client's answers.
  json::object params = p.params;
  params["inputResponses"] = std::move(responses);
  if (!ask->request_state.is_null()) params["requestState"] = ask->request_state;
  json::object args;
  if (const json::value* a = params.if_contains("arguments"); a != nullptr && a->is_object()) {
    args = a->get_object();
  }
  json::value retry = json::object{
      {"jsonrpc", "2.0"}, {"id", p.client_id}, {"method", "tools/call"}, {"params", params}};
  link_.ContinueAllowed(std::move(retry), p.client_id, p.tool, args, *p.outcome,
                        p.input_rounds + 1);
}

}  // namespace interlock::mcp

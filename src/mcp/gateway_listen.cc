// Gateway (gateway.h): subscriptions/listen, the 2026-07-28 notification stream
// (basic/patterns/subscriptions; docs/mcp.md#subscriptions). A modern server gets the request
// under the gateway's id and its notifications come back under the client's; for a legacy
// server the gateway serves it itself from the server's unsolicited list-changed
// notifications. Either way the client receives only the kinds it asked for, and nothing
// else a server might put on the stream.
#include <optional>

#include <boost/json.hpp>

#include "common/json.h"
#include "mcp/framing.h"
#include "mcp/gateway.h"
#include "mcp/gateway_internal.h"
#include "mcp/revision.h"
#include "mcp/subscriptions.h"

namespace interlock::mcp {

namespace json = boost::json;

using gateway_internal::IssuedId;
using gateway_internal::Log;

void Gateway::HandleListen(json::value doc, const json::value& id, UpstreamEra era) {
  Result<Subscription> filter = Subscription::Read(doc);
  if (!filter.ok()) {
    AnswerClient(ErrorResponse(id, kInvalidParams, "Interlock: " + filter.error().message));
    return;
  }
  const std::string key = IdKey(id);
  bool full = false;
  {
    std::lock_guard lock(mu_);
    Subscription* s = subscriptions_.Open(key, *filter);
    full = s == nullptr;
    if (!full) {
      // Served by the gateway: resource updates are not asked of a legacy server for the
      // client, so none is relayed either (the acknowledgment says so).
      if (era != UpstreamEra::kModern) s->uris.clear();
      if (era == UpstreamEra::kModern) {
        Pending p;
        p.method = "subscriptions/listen";
        ForwardToServerLocked(doc, id, std::move(p));
        s->server_id = client_ids_[key];
      }
    }
  }
  if (full) {
    AnswerClient(ErrorResponse(id, kInvalidRequest,
                               "Interlock: too many subscriptions open (at most " +
                                   std::to_string(Subscriptions::kMaxOpen) + "); close one first"));
    return;
  }
  if (era == UpstreamEra::kModern) {
    // Task status notifications are not relayed (they would carry a task's result past the
    // gateway's result handling; docs/mcp.md#tasks): the server is not asked for them.
    if (json::object* params = doc.get_object().if_contains("params") != nullptr
                                   ? doc.get_object()["params"].if_object()
                                   : nullptr) {
      if (json::value* n = params->if_contains("notifications"); n != nullptr && n->is_object()) {
        n->get_object().erase("taskIds");
      }
    }
    to_server_(doc);
    return;
  }
  // A legacy server announces list changes unasked (to the gateway, its one client); resource
  // updates would need resources/subscribe, which is not made on the client's behalf.
  const json::object offer{
      {"toolsListChanged", true}, {"promptsListChanged", true}, {"resourcesListChanged", true}};
  SendToClient(json::object{
      {"jsonrpc", "2.0"},
      {"method", "notifications/subscriptions/acknowledged"},
      {"params", WithSubscriptionId(json::object{{"notifications", filter->Honored(offer)}}, id)}});
}

bool Gateway::RelayListenNotification(json::object& n, const std::string& method) {
  json::object* meta = MetaOf(n);
  json::value* sub = meta != nullptr ? meta->if_contains(kMetaSubscriptionId) : nullptr;
  if (sub == nullptr) return false;
  json::value client_id;
  Subscription listen;
  {
    std::lock_guard lock(mu_);
    // Only a subscription the gateway forwarded, under the id it issued for it.
    auto p = IssuedId(*sub) ? pending_.find(IdKey(*sub)) : pending_.end();
    if (p != pending_.end() && p->second.method == "subscriptions/listen") {
      client_id = p->second.client_id;
      if (std::optional<Subscription> l = subscriptions_.Find(IdKey(client_id)))
        listen = std::move(*l);
      else
        client_id = nullptr;
    }
  }
  if (client_id.is_null()) {
    Log("dropped the server's " + method.substr(0, 64) + " for no subscription of the client's");
    return true;
  }
  json::object& pa = n.at("params").get_object();  // an object: it holds _meta
  if (method == "notifications/subscriptions/acknowledged") {
    const json::value* offered = pa.if_contains("notifications");
    pa["notifications"] = listen.Honored(
        offered != nullptr && offered->is_object() ? offered->get_object() : json::object{});
  } else if (!listen.Wants(method, pa)) {
    Log("dropped the server's " + method.substr(0, 64) +
        " on a subscription that did not ask for it");
    return true;
  }
  if (method == "notifications/tools/list_changed") {
    std::lock_guard lock(mu_);
    catalog_.MarkStale();  // the next call lists the tools again (pins, view)
  }
  *sub = client_id;
  SendToClient(n);
  return true;
}

void Gateway::FanOutToListens(const json::object& n, const std::string& method) {
  const json::value* params = n.if_contains("params");
  const json::object empty;
  const json::object& pa = params != nullptr && params->is_object() ? params->get_object() : empty;
  std::vector<json::value> to;
  {
    std::lock_guard lock(mu_);
    to = subscriptions_.ServedWanting(method, pa);
  }
  for (const json::value& id : to) {
    json::object p = pa;
    p.erase("_meta");
    SendToClient(json::object{
        {"jsonrpc", "2.0"}, {"method", method}, {"params", WithSubscriptionId(std::move(p), id)}});
  }
}

bool Gateway::EndListen(const json::value& id, bool answer) {
  uint64_t server_id = 0;
  {
    std::lock_guard lock(mu_);
    std::optional<uint64_t> closed = subscriptions_.Close(IdKey(id));
    if (!closed) return false;
    server_id = *closed;
    if (server_id != 0) pending_.erase(IdKey(json::value(server_id)));  // its end is not awaited
  }
  if (server_id != 0) {
    to_server_(json::object{{"jsonrpc", "2.0"},
                            {"method", "notifications/cancelled"},
                            {"params", json::object{{"requestId", server_id},
                                                    {"reason", "the client closed the stream"}}}});
  }
  if (answer) {
    AnswerClient(
        ResultResponse(id, json::object{{"resultType", "complete"},
                                        {"_meta", json::object{{kMetaSubscriptionId, id}}}}));
  } else {
    ReleaseClientId(id);
  }
  return true;
}

void Gateway::ListenEnded(json::object& response, const Pending& p) {
  {
    std::lock_guard lock(mu_);
    (void)subscriptions_.Close(IdKey(p.client_id));
  }
  json::value* result = response.if_contains("result");
  if (result == nullptr || !result->is_object()) return;
  json::value& meta = result->get_object()["_meta"];
  if (!meta.is_object()) meta = json::object{};
  meta.get_object()[kMetaSubscriptionId] = p.client_id;
}

}  // namespace interlock::mcp

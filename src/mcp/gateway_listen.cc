// Gateway (gateway.h): subscriptions/listen, the 2026-07-28 notification stream
// (basic/patterns/subscriptions; docs/mcp.md#subscriptions). A modern server gets the request
// under the gateway's id and its notifications come back under the client's; for a legacy
// server the gateway serves it itself from the server's unsolicited list-changed
// notifications. Either way the client receives only the kinds it asked for, and nothing
// else a server might put on the stream.
#include <algorithm>

#include <boost/json.hpp>

#include "common/json.h"
#include "mcp/framing.h"
#include "mcp/gateway.h"
#include "mcp/gateway_internal.h"
#include "mcp/revision.h"

namespace interlock::mcp {

namespace json = boost::json;

using gateway_internal::IssuedId;
using gateway_internal::Log;

namespace {

constexpr size_t kMaxListenUriBytes = 4096;

}  // namespace

Result<Gateway::Listen> Gateway::ReadListenFilter(const json::value& doc) {
  Listen l;
  const json::value* params = doc.get_object().if_contains("params");
  const json::value* n = params != nullptr && params->is_object()
                             ? params->get_object().if_contains("notifications")
                             : nullptr;
  if (n == nullptr) return l;  // every field optional: a subscription to nothing
  if (!n->is_object()) return Error::Invalid("params.notifications must be an object");
  for (auto [key, flag] :
       {std::pair{"toolsListChanged", &l.tools}, std::pair{"promptsListChanged", &l.prompts},
        std::pair{"resourcesListChanged", &l.resources}}) {
    const json::value* v = n->get_object().if_contains(key);
    if (v == nullptr) continue;
    if (!v->is_bool())
      return Error::Invalid(std::string("notifications.") + key + " must be a boolean");
    *flag = v->get_bool();
  }
  if (const json::value* uris = n->get_object().if_contains("resourceSubscriptions")) {
    if (!uris->is_array()) {
      return Error::Invalid("notifications.resourceSubscriptions must be an array of URIs");
    }
    if (uris->get_array().size() > kMaxListenUris) {
      return Error::Invalid("notifications.resourceSubscriptions names more than " +
                            std::to_string(kMaxListenUris) + " resources");
    }
    for (const json::value& u : uris->get_array()) {
      if (!u.is_string() || u.get_string().empty() || u.get_string().size() > kMaxListenUriBytes) {
        return Error::Invalid("notifications.resourceSubscriptions must hold URIs (strings)");
      }
      l.uris.emplace_back(u.get_string());
    }
    std::sort(l.uris.begin(), l.uris.end());
    l.uris.erase(std::unique(l.uris.begin(), l.uris.end()), l.uris.end());
  }
  return l;
}

namespace {

bool Flag(const json::object& o, std::string_view key) {
  const json::value* v = o.if_contains(key);
  return v != nullptr && v->is_bool() && v->get_bool();
}

}  // namespace

json::object Gateway::Honored(const Listen& asked, const json::object& offered) {
  json::object out;
  if (asked.tools && Flag(offered, "toolsListChanged")) out["toolsListChanged"] = true;
  if (asked.prompts && Flag(offered, "promptsListChanged")) out["promptsListChanged"] = true;
  if (asked.resources && Flag(offered, "resourcesListChanged")) out["resourcesListChanged"] = true;
  json::array uris;
  if (const json::value* o = offered.if_contains("resourceSubscriptions");
      o != nullptr && o->is_array()) {
    for (const json::value& u : o->get_array()) {
      if (u.is_string() &&
          std::binary_search(asked.uris.begin(), asked.uris.end(), std::string(u.get_string()))) {
        uris.push_back(u);
      }
    }
  }
  if (!uris.empty()) out["resourceSubscriptions"] = std::move(uris);
  return out;
}

namespace {

json::object WithSubscriptionId(json::object params, const json::value& id) {
  json::value& meta = params["_meta"];
  if (!meta.is_object()) meta = json::object{};
  meta.get_object()[kMetaSubscriptionId] = id;
  return params;
}

}  // namespace

bool Gateway::Listen::Wants(std::string_view method, const json::object& params) const {
  if (method == "notifications/tools/list_changed") return tools;
  if (method == "notifications/prompts/list_changed") return prompts;
  if (method == "notifications/resources/list_changed") return resources;
  if (method == "notifications/resources/updated") {
    const json::value* uri = params.if_contains("uri");
    return uri != nullptr && uri->is_string() &&
           std::binary_search(uris.begin(), uris.end(), std::string(uri->get_string()));
  }
  // Progress and log messages belong to requests, never to the stream; anything else (a
  // server's own kind, one naming a tool) is not the client's to see here.
  return false;
}

void Gateway::HandleListen(json::value doc, const json::value& id, UpstreamEra era) {
  Result<Listen> filter = ReadListenFilter(doc);
  if (!filter.ok()) {
    AnswerClient(ErrorResponse(id, kInvalidParams, "Interlock: " + filter.error().message));
    return;
  }
  const std::string key = IdKey(id);
  bool full = false;
  {
    std::lock_guard lock(mu_);
    full = listens_.size() >= kMaxListens;
    if (!full) {
      Listen& l = listens_.emplace(key, *filter).first->second;
      // Served by the gateway: resource updates are not asked of a legacy server for the
      // client, so none is relayed either (the acknowledgment says so).
      if (era != UpstreamEra::kModern) l.uris.clear();
      if (era == UpstreamEra::kModern) {
        Pending p;
        p.method = "subscriptions/listen";
        ForwardToServerLocked(doc, id, std::move(p));
        listens_[key].server_id = client_ids_[key];
      }
    }
  }
  if (full) {
    AnswerClient(ErrorResponse(id, kInvalidRequest,
                               "Interlock: too many subscriptions open (at most " +
                                   std::to_string(kMaxListens) + "); close one first"));
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
      {"params",
       WithSubscriptionId(json::object{{"notifications", Honored(*filter, offer)}}, id)}});
}

bool Gateway::RelayListenNotification(json::object& n, const std::string& method) {
  json::object* meta = MetaOf(n);
  json::value* sub = meta != nullptr ? meta->if_contains(kMetaSubscriptionId) : nullptr;
  if (sub == nullptr) return false;
  json::value client_id;
  Listen listen;
  {
    std::lock_guard lock(mu_);
    // Only a subscription the gateway forwarded, under the id it issued for it.
    auto p = IssuedId(*sub) ? pending_.find(IdKey(*sub)) : pending_.end();
    if (p != pending_.end() && p->second.method == "subscriptions/listen") {
      client_id = p->second.client_id;
      if (auto l = listens_.find(IdKey(client_id)); l != listens_.end())
        listen = l->second;
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
    pa["notifications"] =
        Honored(listen, offered != nullptr && offered->is_object() ? offered->get_object()
                                                                   : json::object{});
  } else if (!listen.Wants(method, pa)) {
    Log("dropped the server's " + method.substr(0, 64) +
        " on a subscription that did not ask for it");
    return true;
  }
  if (method == "notifications/tools/list_changed") {
    std::lock_guard lock(mu_);
    catalog_complete_ = false;  // the next call lists the tools again (pins, view)
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
    for (const auto& [key, l] : listens_) {
      if (l.server_id != 0 || !l.Wants(method, pa)) continue;
      auto id = ParseJsonStrict(key);
      if (id.ok()) to.push_back(std::move(*id));
    }
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
    auto l = listens_.find(IdKey(id));
    if (l == listens_.end()) return false;
    server_id = l->second.server_id;
    listens_.erase(l);
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
    listens_.erase(IdKey(p.client_id));
  }
  json::value* result = response.if_contains("result");
  if (result == nullptr || !result->is_object()) return;
  json::value& meta = result->get_object()["_meta"];
  if (!meta.is_object()) meta = json::object{};
  meta.get_object()[kMetaSubscriptionId] = p.client_id;
}

}  // namespace interlock::mcp

// Subscriptions (subscriptions.h): the filter of a subscriptions/listen and the table of those
// open.
#include "mcp/subscriptions.h"

#include <algorithm>
#include <utility>

#include <boost/json.hpp>

#include "common/json.h"
#include "mcp/revision.h"

namespace interlock::mcp {

namespace json = boost::json;

namespace {

constexpr size_t kMaxListenUriBytes = 4096;

bool OfferFlag(const json::object& o, std::string_view key) {
  const json::value* v = o.if_contains(key);
  return v != nullptr && v->is_bool() && v->get_bool();
}

}  // namespace

Result<Subscription> Subscription::Read(const json::value& doc) {
  Subscription l;
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
    if (uris->get_array().size() > kMaxUris) {
      return Error::Invalid("notifications.resourceSubscriptions names more than " +
                            std::to_string(kMaxUris) + " resources");
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

json::object Subscription::Honored(const json::object& offered) const {
  json::object out;
  if (tools && OfferFlag(offered, "toolsListChanged")) out["toolsListChanged"] = true;
  if (prompts && OfferFlag(offered, "promptsListChanged")) out["promptsListChanged"] = true;
  if (resources && OfferFlag(offered, "resourcesListChanged")) out["resourcesListChanged"] = true;
  json::array granted;
  if (const json::value* o = offered.if_contains("resourceSubscriptions");
      o != nullptr && o->is_array()) {
    for (const json::value& u : o->get_array()) {
      if (u.is_string() &&
          std::binary_search(uris.begin(), uris.end(), std::string(u.get_string()))) {
        granted.push_back(u);
      }
    }
  }
  if (!granted.empty()) out["resourceSubscriptions"] = std::move(granted);
  return out;
}

bool Subscription::Wants(std::string_view method, const json::object& params) const {
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

json::object WithSubscriptionId(json::object params, const json::value& id) {
  json::value& meta = params["_meta"];
  if (!meta.is_object()) meta = json::object{};
  meta.get_object()[kMetaSubscriptionId] = id;
  return params;
}

Subscription* Subscriptions::Open(const std::string& key, Subscription s) {
  if (open_.size() >= kMaxOpen) return nullptr;
  return &open_.emplace(key, std::move(s)).first->second;
}

std::optional<Subscription> Subscriptions::Find(std::string_view key) const {
  auto it = open_.find(key);
  if (it == open_.end()) return std::nullopt;
  return it->second;
}

std::optional<uint64_t> Subscriptions::Close(std::string_view key) {
  auto it = open_.find(key);
  if (it == open_.end()) return std::nullopt;
  const uint64_t server_id = it->second.server_id;
  open_.erase(it);
  return server_id;
}

std::vector<json::value> Subscriptions::ServedWanting(std::string_view method,
                                                      const json::object& params) const {
  std::vector<json::value> to;
  for (const auto& [key, s] : open_) {
    if (s.server_id != 0 || !s.Wants(method, params)) continue;
    auto id = ParseJsonStrict(key);
    if (id.ok()) to.push_back(std::move(*id));
  }
  return to;
}

std::map<std::string, Subscription, std::less<>> Subscriptions::TakeAll() {
  std::map<std::string, Subscription, std::less<>> all;
  all.swap(open_);
  return all;
}

}  // namespace interlock::mcp

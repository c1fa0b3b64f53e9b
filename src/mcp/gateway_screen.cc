// Gateway (gateway.h): what a server's message may not carry, whatever it is (a response,
// a notification, a request): Interlock's own `_meta` namespace and input keys, and
// parameters a notification's specification does not define. Pure functions over the
// message, applied in OnServerLine before anything reads, records or relays it.
#include <mutex>
#include <string>
#include <vector>

#include <boost/json.hpp>

#include "mcp/gateway.h"
#include "mcp/gateway_internal.h"
#include "mcp/revision.h"

namespace interlock::mcp::gateway_internal {

namespace json = boost::json;

bool InterlockMetaKey(std::string_view key) {
  // Compared without case: "Interlock.dev/approval" is a look-alike, not another namespace.
  constexpr std::string_view kPrefix = kInterlockMetaPrefix;
  if (key.size() < kPrefix.size()) return false;
  for (size_t i = 0; i < kPrefix.size(); ++i) {
    const char c = key[i] >= 'A' && key[i] <= 'Z' ? static_cast<char>(key[i] - 'A' + 'a') : key[i];
    if (c != kPrefix[i]) return false;
  }
  return true;
}

bool ReservedInputKey(std::string_view key) {
  constexpr std::string_view kPrefix = "interlock";
  if (key.size() < kPrefix.size()) return false;
  for (size_t i = 0; i < kPrefix.size(); ++i) {
    const char c = key[i] >= 'A' && key[i] <= 'Z' ? static_cast<char>(key[i] - 'A' + 'a') : key[i];
    if (c != kPrefix[i]) return false;
  }
  return true;
}

std::vector<std::string> StripInterlockMeta(json::value& message) {
  std::vector<std::string> removed;
  // Iterative: the depth is bounded by the parser (kMaxMessageDepth), the stack by the size.
  std::vector<json::value*> stack{&message};
  while (!stack.empty()) {
    json::value* v = stack.back();
    stack.pop_back();
    if (v->is_array()) {
      for (json::value& e : v->get_array()) stack.push_back(&e);
      continue;
    }
    if (!v->is_object()) continue;
    json::object& o = v->get_object();
    if (json::value* meta = o.if_contains("_meta"); meta != nullptr && meta->is_object()) {
      json::object& m = meta->get_object();
      for (auto it = m.begin(); it != m.end();) {
        if (InterlockMetaKey(it->key())) {
          removed.emplace_back(it->key().substr(0, 64));
          it = m.erase(it);
        } else {
          ++it;
        }
      }
    }
    for (auto& kv : o) stack.push_back(&kv.value());
  }
  return removed;
}

bool KeepSpecNotificationParams(json::object& notification, std::string_view method) {
  const bool list_changed = method == "notifications/tools/list_changed" ||
                            method == "notifications/prompts/list_changed" ||
                            method == "notifications/resources/list_changed";
  const bool updated = method == "notifications/resources/updated";
  if (!list_changed && !updated) return false;
  json::object kept;
  json::value* params = notification.if_contains("params");
  if (params != nullptr && params->is_object()) {
    json::object& p = params->get_object();
    // resources/updated: the uri (and, 2025-06-18 on, nothing else the client reads).
    if (const json::value* uri = p.if_contains("uri"); updated && uri != nullptr) {
      kept["uri"] = *uri;
    }
    // _meta: only the subscription a 2026-07-28 server sends it on (the gateway routes by it
    // and replaces it with the client's id).
    if (const json::object* meta = MetaOf(notification)) {
      if (const json::value* sub = meta->if_contains(kMetaSubscriptionId)) {
        kept["_meta"] = json::object{{kMetaSubscriptionId, *sub}};
      }
    }
  }
  const bool changed = params != nullptr && (!params->is_object() || params->get_object() != kept);
  if (kept.empty() && !updated) {
    notification.erase("params");
  } else {
    notification["params"] = std::move(kept);
  }
  return changed;
}

}  // namespace interlock::mcp::gateway_internal

namespace interlock::mcp {

namespace json = boost::json;

using gateway_internal::Log;

void Gateway::ScreenServerMessage(json::value& doc, bool notification, const std::string& method) {
  const std::vector<std::string> removed = gateway_internal::StripInterlockMeta(doc);
  if (notification && gateway_internal::KeepSpecNotificationParams(doc.get_object(), method)) {
    Log("removed from the server's " + method.substr(0, 64) +
        " what its specification does not define");
  }
  if (removed.empty()) return;
  std::string keys;
  for (const std::string& k : removed) keys += (keys.empty() ? "" : ", ") + k;
  const std::string reason = "the MCP server used Interlock's own _meta namespace (" +
                             keys.substr(0, 256) + ") in " +
                             (method.empty() ? std::string("a response")
                                             : gateway_internal::Quoted(method.substr(0, 64))) +
                             "; removed, never shown to the client as Interlock's";
  bool record = false;
  {
    std::lock_guard lock(mu_);
    record = recorded_server_refusals_++ < gateway_internal::kMaxRecordedServerRefusals;
  }
  if (record) {
    Enforcer::Outcome o = DecideRefusal(nullptr, reason);
    Log(reason + " (call " + o.call_id + ")");
  } else {
    Log(reason + " (not recorded: over " +
        std::to_string(gateway_internal::kMaxRecordedServerRefusals) + " this session)");
  }
}

}  // namespace interlock::mcp

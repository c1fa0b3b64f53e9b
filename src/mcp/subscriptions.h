// The subscriptions of a 2026-07-28 client's session (subscriptions/listen, the notification
// stream; basic/patterns/subscriptions, docs/mcp.md#subscriptions): what each one asked for
// and whom it belongs to. The Gateway decides what to do with a subscription (forward it to a
// modern server under its own id, or serve it for a legacy one: gateway_listen.cc); this is
// the filter a client asks for, what a server's offer narrows it to, and the table of those
// open, by the client's request id.
// Thread-safety: Subscription is a value. Subscriptions is not synchronized: its owner (the
// Gateway) calls it with its own lock (Gateway::mu_) held, in the same hold as the requests
// at the server (Gateway::pending_) that a forwarded subscription is one of, so the two never
// disagree.
#ifndef INTERLOCK_MCP_SUBSCRIPTIONS_H_
#define INTERLOCK_MCP_SUBSCRIPTIONS_H_

#include <cstddef>
#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <boost/json/object.hpp>
#include <boost/json/value.hpp>

#include "interlock/result.h"

namespace interlock::mcp {

// One subscriptions/listen: the kinds of notification the client asked for, and whether
// the gateway forwarded it (server_id) or serves it.
struct Subscription {
  static constexpr size_t kMaxUris = 256;
  bool tools = false;
  bool prompts = false;
  bool resources = false;
  std::vector<std::string> uris;  // resourceSubscriptions, sorted
  uint64_t server_id = 0;         // forwarded under this id; 0: served by the gateway
  // The filter a client asks for (params.notifications of `request`), or why it cannot be
  // read.
  static Result<Subscription> Read(const boost::json::value& request);
  // Whether the server's notification `method` (with `params`) is one this subscription asked
  // for. Progress and log messages belong to requests, never to the stream.
  bool Wants(std::string_view method, const boost::json::object& params) const;
  // This filter narrowed to what `offered` grants (the server's acknowledgment, or the
  // gateway's own offer for a legacy server).
  boost::json::object Honored(const boost::json::object& offered) const;
};

// `params` with its _meta's subscription id (kMetaSubscriptionId) set to `id`.
boost::json::object WithSubscriptionId(boost::json::object params, const boost::json::value& id);

// The subscriptions open, by IdKey of the client's request id. Not synchronized (see above).
class Subscriptions {
 public:
  static constexpr size_t kMaxOpen = 16;
  // Opens `s` as the client's request `key` (kept as it is if that key is open already);
  // null when kMaxOpen are open.
  Subscription* Open(const std::string& key, Subscription s);
  // A copy of the subscription of `key`, if open.
  std::optional<Subscription> Find(std::string_view key) const;
  // Ends the subscription of `key`: its server_id (0: served by the gateway); nullopt when
  // none is open.
  std::optional<uint64_t> Close(std::string_view key);
  // The client request ids of the subscriptions the gateway serves that want `method`.
  std::vector<boost::json::value> ServedWanting(std::string_view method,
                                                const boost::json::object& params) const;
  // Every subscription, taken out (the upstream is gone).
  std::map<std::string, Subscription, std::less<>> TakeAll();

 private:
  std::map<std::string, Subscription, std::less<>> open_;
};

}  // namespace interlock::mcp

#endif  // INTERLOCK_MCP_SUBSCRIPTIONS_H_

// The ids of the server's requests the gateway relays to the client (sampling, elicitation,
// roots, ping to a 2025 client; docs/mcp.md#request-ids). The client never sees a server's own
// id: each request goes to it under an id the gateway issues (a positive integer of the
// client-side id space, which the gateway's other requests to a legacy client, the server's
// input requests put as server-to-client requests, share), and the client's answer is mapped
// back to the server's id. A server id already in flight is refused, and at most kMaxInFlight
// are.
// Thread-safety: not synchronized. Its owner (the Gateway) calls it with its own lock
// (Gateway::mu_) held.
#ifndef INTERLOCK_MCP_SERVER_REQUEST_IDS_H_
#define INTERLOCK_MCP_SERVER_REQUEST_IDS_H_

#include <cstddef>
#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <string_view>

#include <boost/json/value.hpp>

namespace interlock::mcp {

class ServerRequestIds {
 public:
  // Server requests waiting for the client's answer; more are refused (a server that never
  // sees its requests answered cannot grow the gateway's maps without bound).
  static constexpr size_t kMaxInFlight = 1024;

  // A new id of the client-side space (also for the gateway's own requests to the client).
  uint64_t Issue() { return next_++; }

  // Relays the server's request `server_id` (`server_key`: its IdKey): the id it goes to the
  // client with. Refused (nullopt; *duplicate says why) when the server's id is in flight
  // already or kMaxInFlight are.
  std::optional<uint64_t> Relay(const std::string& server_key, const boost::json::value& server_id,
                                bool* duplicate);
  // The client answered `client_side`: the server's id it answers (taken out), if it is one.
  std::optional<boost::json::value> Answer(uint64_t client_side);
  // The server withdrew its request `server_key` (notifications/cancelled): the client-side id
  // it was relayed under (taken out), if it is one.
  std::optional<uint64_t> Cancel(std::string_view server_key);
  // Forgets every request (the upstream is gone). Ids issued stay issued.
  void Clear();

 private:
  std::map<uint64_t, boost::json::value> by_client_side_;   // the server's own id
  std::map<std::string, uint64_t, std::less<>> by_server_;  // by IdKey of the server's id
  uint64_t next_ = 1;
};

}  // namespace interlock::mcp

#endif  // INTERLOCK_MCP_SERVER_REQUEST_IDS_H_

// ServerRequestIds (server_request_ids.h).
#include "mcp/server_request_ids.h"

#include <utility>

#include "mcp/framing.h"

namespace interlock::mcp {

std::optional<uint64_t> ServerRequestIds::Relay(const std::string& server_key,
                                                const boost::json::value& server_id,
                                                bool* duplicate) {
  *duplicate = by_server_.count(server_key) != 0;
  if (*duplicate || by_client_side_.size() >= kMaxInFlight) return std::nullopt;
  const uint64_t client_side = Issue();
  by_client_side_.emplace(client_side, server_id);
  by_server_.emplace(server_key, client_side);
  return client_side;
}

std::optional<boost::json::value> ServerRequestIds::Answer(uint64_t client_side) {
  auto it = by_client_side_.find(client_side);
  if (it == by_client_side_.end()) return std::nullopt;
  boost::json::value server_id = std::move(it->second);
  by_client_side_.erase(it);
  by_server_.erase(IdKey(server_id));
  return server_id;
}

std::optional<uint64_t> ServerRequestIds::Cancel(std::string_view server_key) {
  auto it = by_server_.find(server_key);
  if (it == by_server_.end()) return std::nullopt;
  const uint64_t client_side = it->second;
  by_client_side_.erase(client_side);
  by_server_.erase(it);
  return client_side;
}

void ServerRequestIds::Clear() {
  by_client_side_.clear();
  by_server_.clear();
}

}  // namespace interlock::mcp

// SessionLink: what every part of the MCP Gateway (ServerRequestHandlers, CallFlow) asks of
// the session it belongs to, the Gateway, which implements it: sending either way, the
// client's final answer, a call's span, and the requests at the server (the Gateway's
// `pending_`). Each part's own Link adds what only it needs.
// Thread-safety: methods ending in Locked are called with the Gateway's mutex held (the one
// the parts are handed), the others without it.
#ifndef INTERLOCK_MCP_SESSION_LINK_H_
#define INTERLOCK_MCP_SESSION_LINK_H_

#include <memory>
#include <optional>
#include <string>
#include <string_view>

#include <boost/json/object.hpp>
#include <boost/json/value.hpp>

#include "core/app/call_span.h"
#include "mcp/pending_request.h"

namespace interlock::mcp {

class SessionLink {
 public:
  // Without the mutex held.
  // Every message to the client (a modern client's result gets resultType).
  virtual void SendToClient(const boost::json::value& v) = 0;
  // Every message to the server (shaped for the upstream's era).
  virtual void SendToServer(const boost::json::value& v) = 0;
  // The final answer to a client request: frees its id, then sends `response`.
  virtual void AnswerClient(const boost::json::object& response) = 0;
  // The span of the client's tools/call `client_id` in flight, or null.
  virtual std::shared_ptr<core::CallSpan> TraceOf(const boost::json::value& client_id) = 0;
  // Whether the gateway relays the server's request `method` to the client at all.
  virtual bool ForwardsServerRequest(std::string_view method) const = 0;

  // With the mutex held: the requests at the server (by IdKey of the gateway's id).
  // Puts `p` at the server under `server_key` (an id the gateway issued).
  virtual void PutCallLocked(const std::string& server_key, PendingRequest p) = 0;
  // Takes the request `server_key` out (nullopt: none).
  virtual std::optional<PendingRequest> TakeCallLocked(std::string_view server_key) = 0;
  // The span of the client's tools/call `client_id` is told it is at the server.
  virtual void TraceUpstreamStartedLocked(const boost::json::value& client_id) = 0;

 protected:
  ~SessionLink() = default;
};

}  // namespace interlock::mcp

#endif  // INTERLOCK_MCP_SESSION_LINK_H_

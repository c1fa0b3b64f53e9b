// McpEndpoint: how the API door (doors/http_api/api.h) mounts the MCP-over-HTTP door
// (doors/mcp_http/mcp_http.h) at /mcp/{upstream} without either naming the other: the
// daemon hands the Api the service as this interface (Api::SetMcpEndpoint).
#ifndef INTERLOCK_HTTP_MCP_ENDPOINT_H_
#define INTERLOCK_HTTP_MCP_ENDPOINT_H_

#include <optional>
#include <string>
#include <string_view>

#include "core/app/authn.h"
#include "http/exchange.h"

namespace interlock::server {

// The MCP Streamable HTTP endpoint /mcp/{upstream} (src/doors/mcp_http/mcp_http.h), behind the
// same listener and token table as /v1. The Api checks the method, calls CheckOrigin,
// authenticates (agent tokens only) and hands the request over; both run on the
// connection strand and must not block.
class McpEndpoint {
 public:
  virtual ~McpEndpoint() = default;
  // nullopt when the request's Origin is acceptable, else the 403 to send.
  virtual std::optional<HttpResponse> CheckOrigin(const HttpRequest& req) const = 0;
  // `identity`: the verified JWT or OAuth identity behind the agent (empty issuer for an
  // Interlock token); recorded with every decision of the session, and a session is found
  // again only under the identity that opened it.
  virtual void Handle(std::string upstream, const core::Principal& agent,
                      const core::CallerIdentity& identity, HttpRequest req, Responder r) = 0;
  // Whether /mcp/{upstream} exists (the OAuth metadata routes).
  virtual bool HasUpstream(std::string_view upstream) const = 0;
};

}  // namespace interlock::server

#endif  // INTERLOCK_HTTP_MCP_ENDPOINT_H_

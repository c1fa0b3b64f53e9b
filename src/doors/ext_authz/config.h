// ExtAuthzConfig: the `ext_authz:` section of the daemon's config file
// (docs/gateways.md#configuration) as a plain value. The daemon reads the YAML
// (daemon/config_ext_authz.cc, every error with file:line:column) and validates it once at
// start-up; the door never reads its config file.
//
//   ext_authz:
//     listen: 127.0.0.1:9191        # HOST:PORT (port 0: any free port); required
//     tls_cert: cert.pem            # with tls_key: gRPC over TLS; both or neither
//     tls_key: key.pem
//     max_body_bytes: 1048576       # a larger (or partial) body is refused, never guessed at
//     run_header: mcp-session-id    # the request header whose value keys the agent's run
//     routes:                       # first match wins; none: every request is MCP
//       - {host: mcp.example, path_prefix: /mcp, mcp: true}
//       - {method: POST, path_prefix: /api/tickets, tool: tickets.create}
//
// Plain gRPC is refused on an address other than loopback (as the HTTP listener's rule).
// Thread-safety: a value.
#ifndef INTERLOCK_DOORS_EXT_AUTHZ_CONFIG_H_
#define INTERLOCK_DOORS_EXT_AUTHZ_CONFIG_H_

#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

#include "interlock/result.h"

namespace interlock::doors::ext_authz {

// Which requests a rule covers and how they are decided: an MCP endpoint (`mcp: true`,
// JSON-RPC in the body) or a plain route decided as the tool `tool`.
struct RouteRule {
  std::string host;               // the :authority without port, exact; empty: any
  std::string path_prefix = "/";  // the path (before '?') starts with this
  std::string method;             // exact (GET, POST, ...); empty: any
  bool mcp = false;
  std::string tool;  // plain routes: the tool the request is decided as
};

struct ExtAuthzConfig {
  bool enabled = false;  // the section is present
  std::string host = "127.0.0.1";
  uint16_t port = 0;
  std::string tls_cert;  // PEM chain; empty: plain gRPC (loopback only)
  std::string tls_key;
  size_t max_body_bytes = 1 << 20;
  std::string run_header = "mcp-session-id";  // lower case
  std::vector<RouteRule> routes;              // empty: every request is MCP
};

// The rules across the section's fields, over the value: tls_cert and tls_key go together,
// and plain gRPC listens on loopback only. Ok, or the first rule broken ("ext_authz: ...").
Status CheckExtAuthzConfig(const ExtAuthzConfig& c);

}  // namespace interlock::doors::ext_authz

#endif  // INTERLOCK_DOORS_EXT_AUTHZ_CONFIG_H_

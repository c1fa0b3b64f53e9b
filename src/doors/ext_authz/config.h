// ExtAuthzConfig: the `ext_authz:` section of the daemon's config file
// (docs/gateways.md#configuration), validated once at start-up into a value.
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
#include <string_view>
#include <vector>

#include "interlock/result.h"
#include "policy/yaml_tree.h"

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

// Reads the section `node` of `file` (its line:column in every error). Relative paths are
// resolved against `base_dir`. Reads the whole section whatever it finds: every error
// (an unknown key with its nearest known one) is appended to `all_errors` when given, and
// the first is returned; `out` is set only when there was none.
Status ReadExtAuthzConfig(const YamlNode& node, std::string_view file, std::string_view base_dir,
                          ExtAuthzConfig* out, std::vector<std::string>* all_errors = nullptr);

}  // namespace interlock::doors::ext_authz

#endif  // INTERLOCK_DOORS_EXT_AUTHZ_CONFIG_H_

// The `mcp:` section of the daemon's config file as the MCP-over-HTTP door takes it
// (docs/mcp.md#streamable-http, docs/operations.md#configuration): the upstreams it serves
// at /mcp/{name} and its limits. The daemon reads the file (daemon/config.h, whose
// McpConfig adds each upstream's credentials, which only the daemon reads) and hands the
// door this section. Thread-safety: values.
#ifndef INTERLOCK_DOORS_MCP_HTTP_CONFIG_H_
#define INTERLOCK_DOORS_MCP_HTTP_CONFIG_H_

#include <chrono>
#include <map>
#include <string>
#include <utility>
#include <vector>

#include "mcp/revision.h"

namespace interlock::server {

// One MCP server the daemon proxies at /mcp/{name} (docs/mcp.md#streamable-http).
// Exactly one of `command` (a stdio child per session) and `url` (an HTTP server).
struct McpHttpUpstream {
  std::string name;                  // [a-z0-9-]+
  std::vector<std::string> command;  // argv; argv[0] looked up in PATH
  // The server's environment is explicit (mcp/server_env.h, docs/mcp.md): the base
  // variables, pass_env and sandbox_env, env, then its own secrets; nothing else of
  // Interlock's environment, and never another upstream's secret.
  std::map<std::string, std::string> env;           // literal values
  std::vector<std::string> pass_env;                // Interlock's variables passed on
  std::vector<std::string> secret_env;              // Interlock's variables, masked
  std::map<std::string, std::string> secret_files;  // NAME -> file whose content is NAME
  std::string url;                                  // http(s)://HOST[:PORT]/PATH
  std::string ca_file;  // https: trust only these CAs (PEM) instead of the system's
  // url: how long a connection stays open for the next message (0: one per message).
  std::chrono::milliseconds keep_alive{2000};
  std::map<std::string, std::string> headers;         // literal header values
  std::map<std::string, std::string> secret_headers;  // header -> Interlock's variable
  // Methods forwarded beyond the MCP specification's; McpHttpService::Create checks each
  // with mcp::ValidForwardMethod.
  std::vector<std::string> forward_methods;
  // `sandbox: true` or `sandbox: {write: [DIR, ...]}` (command: upstreams only): run the
  // server under bubblewrap with the session's egress proxy as its only way out, exactly
  // as `interlock mcp --sandbox` does (mcp/sandbox.h, docs/mcp.md#sandbox-and-egress).
  bool sandbox = false;
  std::vector<std::string> sandbox_write;  // absolute
  std::vector<std::string> sandbox_read;   // absolute: `sandbox: {read: [PATH, ...]}`
  std::vector<std::string> sandbox_env;    // sandbox: {env: [NAME, ...]}, as pass_env
  // credentials: (docs/identity.md#upstream-credentials): a credential from an identity
  // provider per call (url:) or per session (command:), which the door asks the daemon's
  // UpstreamCredentials for (doors/mcp_http/upstream_credentials.h).
  bool has_credentials = false;
};

// The door's settings, whatever the upstreams' type (McpHttpConfig here, the daemon's
// McpConfig with each upstream's credentials).
struct McpHttpSettings {
  // Origins allowed to call /mcp/* (browsers send Origin; agents usually do not). A
  // request with an Origin not listed here is 403. Entries are exact
  // ("http://localhost:3000") or "*" (any).
  std::vector<std::string> allowed_origins;
  // Host names (or host:port) a request to /mcp/* may name in its Host header, besides the
  // loopback names (localhost, 127.0.0.1, [::1]) which are always accepted: DNS-rebinding
  // protection. A daemon reached by another name (behind a proxy, on a LAN) lists it here;
  // "*" turns the check off.
  std::vector<std::string> allowed_hosts;
  int max_sessions = 64;
  int max_sessions_per_agent = 8;
  std::chrono::milliseconds session_idle_timeout{30 * 60 * 1000};
  std::chrono::milliseconds sse_after{5000};   // a held JSON answer switches to SSE
  std::chrono::milliseconds keepalive{15000};  // SSE comment on quiet streams
  // How long a 2026-07-28 client's retry of a call held for reviewers waits for their
  // verdict before it is answered input_required again (Approvals over MRTR, docs/mcp.md):
  // under the client's request timeout (the SDKs': 60 s).
  std::chrono::milliseconds approval_retry_wait{
      std::chrono::seconds(mcp::kDefaultRetryWaitSeconds)};
  std::chrono::milliseconds child_grace{1000};  // stdin closed -> terminate
  // Set by `interlock serve` for sandboxed upstreams (mcp/sandbox.h): the SQLite store
  // ("" on PostgreSQL) and what else no sandbox may write or see, as {what, path} (keys,
  // checkpoints, config, policies, TLS key).
  std::string sandbox_store;
  std::vector<std::pair<std::string, std::string>> sandbox_trusted;
  // The daemon's own secrets (set by `interlock serve`: the metrics token, the OIDC client
  // secret, a PostgreSQL password, an inherited INTERLOCK_TOKEN), masked like every
  // upstream's in all that reaches an agent.
  std::vector<std::string> masked_values;
};

struct McpHttpConfig : McpHttpSettings {
  std::map<std::string, McpHttpUpstream> upstreams;
};

}  // namespace interlock::server

#endif  // INTERLOCK_DOORS_MCP_HTTP_CONFIG_H_

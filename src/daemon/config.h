// ServerConfig: the daemon's YAML configuration file (docs/operations.md#configuration),
// validated once at startup into a plain struct. Unknown keys and wrong types are
// errors with file:line, like policy files: a typo must not silently change a limit.
// Relative paths in the file are resolved against the file's directory.
// Thread-safety: free functions; the result is a value.
#ifndef INTERLOCK_DAEMON_CONFIG_H_
#define INTERLOCK_DAEMON_CONFIG_H_

#include <chrono>
#include <cstdint>
#include <map>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "doors/ext_authz/config.h"
#include "doors/http_api/http_server.h"
#include "doors/mcp_http/config.h"
#include "identity/credential_broker.h"
#include "identity/oauth.h"
#include "identity/oidc_signin.h"
#include "identity/verifier.h"
#include "interlock/result.h"
#include "mcp/revision.h"
#include "telemetry/options.h"

namespace interlock::server {

// One MCP server the daemon proxies at /mcp/{name}: the door's section of it
// (doors/mcp_http/config.h) and its credentials, which only the daemon reads.
struct McpUpstreamConfig : McpHttpUpstream {
  // credentials: {token_exchange: {...}} or {client_credentials: {...}}
  // (docs/identity.md#upstream-credentials): a credential from an identity provider per
  // call (url:) or per session (command:, in the variable `env`). The client secrets are
  // read from the files at start-up (daemon/upstream_credentials.h) into
  // `credentials.client` and `credentials.agents`.
  identity::CredentialConfig credentials;
  std::string credentials_secret_file;
  std::string credentials_assertion_key_file;  // client_assertion: {key_file}
  std::map<std::string, std::string> credentials_agent_secret_files;  // agent -> file
};

// mcp: (docs/mcp.md#streamable-http): the door's settings and the upstreams.
struct McpConfig : McpHttpSettings {
  std::map<std::string, McpUpstreamConfig> upstreams;
};

// slack: approvals as interactive Slack messages (docs/approvals.md, "Approving from
// Slack"). Empty `channel`: off.
struct SlackConfig {
  std::string api_base = "https://slack.com/api";  // Web API base; http only on loopback
  std::string bot_token_file;                      // xoxb-... (chat:write)
  std::string signing_secret_file;                 // the app's signing secret
  std::string channel;                             // channel id messages are posted to
  std::map<std::string, std::string> users;        // Slack user id -> reviewer name
  // An unmapped Slack user votes as their verified e-mail (users.info), the reviewer the
  // console's sign-in names them (identity.oidc.name_claim: email, required). Off unless set.
  bool users_by_email = false;
  std::string state_file;  // (approval -> channel, ts); "" = next to the store
  std::string ca_file;     // https api_base: PEM CA bundle ("" = the system CAs)
};

struct ServerConfig {
  std::string host = "127.0.0.1";
  uint16_t port = 8181;
  int threads = 0;
  std::vector<std::string> policies;  // files or directories
  // What ${workspace} in policies stands for (docs/policy.md, "Variables"); relative to
  // the config file's directory. Empty: the daemon's current directory.
  std::string workspace;
  std::string store;         // empty: DefaultStorePath() ($INTERLOCK_STORE, else XDG state)
  bool durable_full = true;  // durability: full | normal
  std::string tls_cert;
  std::string tls_key;
  // Serve plain HTTP on an address other than loopback (bearer tokens and tool arguments
  // then cross the network in clear): refused at start unless this is set
  // (`allow_plain_http: true` or --allow-plain-http), or TLS is configured.
  bool allow_plain_http = false;
  std::string metrics_token_file;  // GET /metrics needs this file's secret as bearer token
  ServerLimits limits;
  int max_wait_seconds = 60;
  size_t max_output_bytes = 64 * 1024;
  // limits.max_run_depth, limits.max_live_children (docs/governance.md#child-runs): how
  // deep a tree of runs grows and how many children of one run may be running at once.
  int max_run_depth = 4;
  int max_live_children = 16;
  // role_policies (docs/governance.md#child-runs): "agent/role" -> the policy id a child
  // run of that agent in that role (a Claude Code sub-agent's agent_type) decides under.
  std::map<std::string, std::string, std::less<>> role_policies;
  std::chrono::milliseconds auth_cache_ttl{0};
  std::chrono::milliseconds policy_poll{1000};
  std::map<std::string, std::string> webhooks;  // channel -> http:// URL
  int webhook_attempts = 5;
  std::string webhook_ca_file;  // notifier.ca_file: CA bundle for https webhooks
  std::chrono::milliseconds webhook_backoff{250};
  size_t notifier_queue = 1024;
  // approvals: (docs/approvals.md)
  int approval_timeout_seconds = 300;          // default when a tool sets none
  int approval_max_wait_seconds = 3600;        // hard maximum with escalation
  std::string public_url;                      // base of links in notifications; "" = listener
  std::string approval_channel = "approvals";  // webhook channel when the policy has none
  std::chrono::milliseconds approval_sweep{250};
  McpConfig mcp;  // mcp: (docs/operations.md#configuration)
  // audit: retention (docs/audit.md#retention). 0 days: the daemon never prunes.
  int audit_retention_days = 90;
  std::chrono::milliseconds audit_prune_interval{24 * 3600 * 1000};
  std::chrono::milliseconds audit_prune_first{10 * 60 * 1000};  // after start
  // governance: the console's reports (docs/console.md#governance-over-a-large-log).
  std::chrono::milliseconds governance_wait{100};
  std::chrono::milliseconds governance_min_interval{30 * 1000};
  // drill.warn_after_days (docs/drill.md): a kill-switch drill older than this (or none)
  // is overdue in doctor and the console. 0: never.
  std::chrono::milliseconds drill_warn_after{30LL * 24 * 3600 * 1000};
  // ext_authz: Envoy's external authorization over gRPC (docs/gateways.md); off unless set.
  doors::ext_authz::ExtAuthzConfig ext_authz;
  // identity.jwt: issuers whose JWTs agents may present as bearer tokens
  // (docs/identity.md). Empty: only Interlock's own tokens.
  std::vector<identity::IssuerConfig> jwt_issuers;
  // identity.oauth: /mcp/{upstream} as OAuth 2.1 protected resources (docs/identity.md).
  identity::OAuthConfig oauth;
  // identity.oidc: reviewer and admin sign-in on /ui/ with OpenID Connect
  // (docs/identity.md). Empty issuer: not configured.
  identity::OidcConfig oidc;
  // telemetry: OpenTelemetry export (docs/telemetry.md); the OTEL_* variables are laid
  // over it by the serving commands (telemetry::ApplyEnvironment), not here.
  telemetry::TelemetryOptions telemetry;
  SlackConfig slack;  // slack: (docs/approvals.md, "Approving from Slack")
};

// "127.0.0.1:8181", "[::1]:8181" or ":8181" (loopback) into host and port.
Status ParseListen(std::string_view listen, ServerConfig* config);

// Reads `path` over the defaults in `config`.
Status LoadServerConfig(const std::string& path, ServerConfig* config);

}  // namespace interlock::server

#endif  // INTERLOCK_DAEMON_CONFIG_H_

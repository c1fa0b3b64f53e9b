// McpHttpService: MCP's Streamable HTTP transport in the daemon (MCP 2025-06-18,
// 2025-11-25 and 2026-07-28, "Transports / Streamable HTTP"; docs/mcp.md#streamable-http).
//
// `interlock serve` serves /mcp/{upstream} for every upstream in the config's `mcp:`
// section. Agents authenticate with their bearer token (the Api does that; the agent comes
// from the token only). Each MCP session is one mcp::Gateway (the same enforcement as the
// stdio gateway: tools/list filtered, tools/call decided by the shared core before it is
// forwarded, schema and pin checks, results recorded and masked), one daemon run (budgets
// per session), one McpEnforcer (the daemon's Guard and approval queue) and its own
// upstream connection (a stdio child per session, or an upstream HTTP session).
//
// Transport rules (status codes carry a JSON-RPC error body with id null):
//   POST   one JSON-RPC message. initialize without MCP-Session-Id creates a session (503
//          over max_sessions; over max_sessions_per_agent the agent's least recently used
//          idle session is ended, 429 when all are busy); the response to initialize
//          carries MCP-Session-Id. Any other message needs the header (400 without, 404 for
//          an unknown or ended session, or a session of another agent or upstream).
//          Notifications and responses: 202. Requests: application/json with the one
//          response, or text/event-stream when something must precede it (progress while
//          an approval is held, server requests) or it is held longer than sse_after; the
//          stream ends after the response. Malformed JSON: 400 with a parse error;
//          batches: 400; Accept without application/json or text/event-stream: 406.
//   GET    Accept: text/event-stream opens the session's stream for server-initiated
//          messages not tied to a request (one per session: 409 for a second).
//   DELETE ends the session: the upstream child is stopped, held approvals are
//          withdrawn, the run is ended; later requests get 404. A session that expires
//          (idle) or ends with the daemon withdraws its held approvals too, and so does a
//          request whose stream the client closes before its answer.
//   MCP-Protocol-Version, when present, must be one Interlock speaks (400 with -32022 and
//   the supported list otherwise); absent, 2025-03-26 is assumed (the transport rules
//   above are the same for it).
//   2026-07-28 requests (the header or params._meta names it; docs/mcp.md#revisions) have
//   no session: Mcp-Method/Mcp-Name (and Mcp-Param-*) are checked against the body first
//   (400 -32020), server/discover is answered without a session, and every other request
//   runs in the stateless session of (agent, identity, upstream, bearer token): one run.
//   GET and DELETE under 2026-07-28 are 405.
//   Host must be a loopback name or in mcp.allowed_hosts, and Origin, when present, must
//   be the same origin or in mcp.allowed_origins (403 otherwise; DNS-rebinding defence).
// Quiet SSE streams get a comment every `keepalive`; sessions without requests for
// session_idle_timeout are ended. SSE event ids and resumption are not offered.
//
// Threading: CheckOrigin and Handle run on connection strands and never block: messages
// go to a per-session worker thread that runs Gateway::OnClientLine (which may block on a
// decision or a catalog load); upstream callbacks run on the upstream's thread; one
// service thread runs timers (SSE upgrade, keep-alive, idle) and session teardown
// (which joins threads and stops children). Shutdown() ends every session and stream; call
// it before the Api and the HttpServer shut down.
#ifndef INTERLOCK_DOORS_MCP_HTTP_MCP_HTTP_H_
#define INTERLOCK_DOORS_MCP_HTTP_MCP_HTTP_H_

#include <condition_variable>
#include <deque>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "common/http_connector.h"
#include "common/time.h"
#include "core/app/call_waiters.h"
#include "core/app/calls.h"
#include "core/app/door_metrics.h"
#include "core/app/policy_source.h"
#include "core/app/session_egress.h"
#include "core/guard.h"
#include "doors/mcp_http/config.h"
#include "doors/mcp_http/upstream_credentials.h"
#include "http/mcp_endpoint.h"
#include "mcp/framing.h"
#include "mcp/pins.h"
#include "mcp/sandbox.h"

namespace interlock::core {
class RequestStates;
}  // namespace interlock::core

namespace interlock::server {

// MCP protocol versions accepted in MCP-Protocol-Version.
bool SupportedMcpProtocolVersion(std::string_view v);

// An upstream with its secrets resolved (from Interlock's environment and files).
struct ResolvedUpstream {
  McpHttpUpstream config;
  std::map<std::string, std::string> child_env;  // the complete environment (stdio)
  std::map<std::string, std::string> headers;    // headers + secret headers (http)
  std::vector<std::string> secrets;              // this upstream's secret values
};

// Reads secret_env / secret_files / secret_headers and builds the server's complete
// environment (mcp/server_env.h: base variables, pass_env, sandbox.env, env, its own
// secrets; nothing else of the daemon's). Errors name the variable or file, never a value.
// (The credentials' client secrets are the daemon's: daemon/upstream_credentials.h.)
Result<ResolvedUpstream> ResolveUpstream(const McpHttpUpstream& config);

struct McpHttpDeps {
  core::Guard* guard = nullptr;
  core::Store* store = nullptr;  // only to build core::Calls
  const core::PolicySource* policies = nullptr;
  const Clock* clock = nullptr;
  core::CallWaiters* waiters = nullptr;
  mcp::PinStore* pins = nullptr;
  core::DoorMetrics* metrics = nullptr;  // optional: session gauges and counters
  // The reviewer page's link for an approval id (Api::ApprovalUrl); optional.
  std::function<std::string(std::string_view approval_id)> approval_url;
  // Approvals over MRTR: the daemon's requestState sealer, keyed from its audit keys so a
  // state outlives a restart and opens on every daemon of a fleet (core/request_state.h).
  // Null: the gateway's per-process random key.
  core::RequestStates* request_states = nullptr;
  // Starts a session's egress proxy, the only way out of its `sandbox:` upstreams and
  // staging servers (docs/mcp.md#sandbox-and-egress). Unset: they are refused.
  core::SessionEgressStarter sandbox_egress;
  // Upstream credentials (docs/identity.md#upstream-credentials): every upstream with
  // `has_credentials` gets its tokens here. Null when no upstream has any; an upstream
  // that has some is then refused at Create.
  UpstreamCredentials* credentials = nullptr;
  // The outbound client url: upstreams (and staging servers) are reached through
  // (common/http_connector.h); required when an upstream has a url.
  const HttpConnector* connector = nullptr;
};

class McpHttpService final : public McpEndpoint {
 public:
  // Resolves every upstream's secrets (an error names what is missing); starts the
  // service thread. Collaborators in `deps` must outlive the service.
  static Result<std::unique_ptr<McpHttpService>> Create(McpHttpConfig config, McpHttpDeps deps);
  ~McpHttpService() override;
  McpHttpService(const McpHttpService&) = delete;
  McpHttpService& operator=(const McpHttpService&) = delete;

  std::optional<HttpResponse> CheckOrigin(const HttpRequest& req) const override;
  void Handle(std::string upstream, const core::Principal& agent,
              const core::CallerIdentity& identity, HttpRequest req, Responder r) override;
  bool HasUpstream(std::string_view upstream) const override {
    return upstreams_.find(std::string(upstream)) != upstreams_.end();
  }

  // Ends every session (bounded by the children's grace) and refuses new ones.
  // Idempotent; never call from an io thread.
  void Shutdown();

  size_t session_count() const;

  class Session;  // defined in the .cc

 private:
  McpHttpService(McpHttpConfig config, McpHttpDeps deps,
                 std::map<std::string, ResolvedUpstream> ups);

  // Who asks: the agent and the identity behind it (Handle's arguments).
  struct Asker {
    const core::Principal& agent;
    const core::CallerIdentity& identity;
  };
  void HandlePost(const std::string& upstream, const Asker& who, HttpRequest req, Responder r);
  // A request under 2025-06-18 or earlier: an initialize without MCP-Session-Id opens a session
  // (OpenLegacySession); anything else goes to the session its MCP-Session-Id names.
  void HandleLegacyPost(const std::string& upstream, const Asker& who, const mcp::Message& msg,
                        bool accept_json, bool accept_sse, HttpRequest req, Responder r);
  void OpenLegacySession(const std::string& upstream, const Asker& who, const mcp::Message& msg,
                         bool accept_json, bool accept_sse, HttpRequest req, Responder r);
  // A 2026-07-28 request (docs/mcp.md#revisions): server/discover answered here without a
  // session; any other request goes to the agent's stateless session for its token.
  void HandleModernPost(const std::string& upstream, const Asker& who, const mcp::Message& msg,
                        bool accept_json, bool accept_sse, HttpRequest req, Responder r);
  // The stateless session of (agent, identity, upstream, bearer token), created (and
  // *created set) when there is none. nullptr and *error when over the session limits.
  std::shared_ptr<Session> StatelessSession(const std::string& upstream, const Asker& who,
                                            const HttpRequest& req, bool* created,
                                            HttpResponse* error);
  // Counts a new session of `agent_id` against max_sessions and max_sessions_per_agent
  // (mu_ held): over max_sessions_per_agent, the agent's least recently used session with
  // no request in flight is ended (audited, its held approvals withdrawn) to make room;
  // false and *refused when over max_sessions, or when every session of the agent is busy.
  bool AdmitSessionLocked(const std::string& agent_id, HttpResponse* refused);
  void HandleGet(const Asker& who, const std::string& upstream, HttpRequest req, Responder r);
  void HandleDelete(const Asker& who, const std::string& upstream, const HttpRequest& req,
                    Responder r);
  // Host header check for DNS-rebinding protection (loopback names or mcp.allowed_hosts).
  bool HostAllowed(std::string_view authority) const;
  // The session named by the request's MCP-Session-Id, if it belongs to agent/upstream.
  std::shared_ptr<Session> Find(const HttpRequest& req, const Asker& who,
                                const std::string& upstream, HttpResponse* error);
  // Removes the session from the table and queues its teardown.
  void CloseSession(const std::shared_ptr<Session>& s, const std::string& why);
  void CloseSessionLocked(const std::shared_ptr<Session>& s, const std::string& why);  // mu_ held
  void ServiceLoop();
  // What a `sandbox:` upstream's sandbox is made of (mcp/sandbox.h): its read and write
  // paths, and what no write dir may reach: the store, keys, config, policies.
  static mcp::SandboxRequest SandboxRequestFor(const McpHttpConfig& config,
                                               const McpHttpUpstream& upstream);
  mcp::SandboxRequest SandboxRequestFor(const McpHttpUpstream& upstream) const {
    return SandboxRequestFor(config_, upstream);
  }

  const McpHttpConfig config_;
  const McpHttpDeps deps_;
  // Runs and results of the sessions (core/app/calls.h), over deps_.store.
  mutable core::Calls calls_;
  const std::map<std::string, ResolvedUpstream> upstreams_;
  // Masked in everything every session's server sends: all upstreams' secrets and the
  // daemon's own (config_.masked_values). Set in the constructor, then read-only.
  std::vector<std::string> masked_;

  mutable std::mutex mu_;
  std::condition_variable cv_;
  std::map<std::string, std::shared_ptr<Session>, std::less<>> sessions_;  // by session id
  std::map<std::string, int, std::less<>> per_agent_;
  std::deque<std::shared_ptr<Session>> teardown_;
  bool stopping_ = false;
  bool stopped_ = false;
  std::thread service_thread_;
};

}  // namespace interlock::server

#endif  // INTERLOCK_DOORS_MCP_HTTP_MCP_HTTP_H_

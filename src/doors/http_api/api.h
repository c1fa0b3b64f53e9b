// Api: the daemon's HTTP routes (docs/api.md), a thin front door over core::Guard.
//
// Authenticates the bearer token (the agent a request acts for comes only from its
// token), parses every body with ParseJsonStrict, and translates: decisions come from
// Guard::DecideAsync and nothing here re-implements a check. A decision is always 200,
// deny included; only requests that cannot be evaluated get 4xx.
//
// The Api holds the core's facades (core/app/: Calls, Approvals, Kills, AuditTrail,
// Authenticator) and never the store: it parses a request, calls a facade and serialises
// the answer (docs/design.md, "Layers and the rule").
//
// Threading: Handle() runs on a connection strand and never blocks it on a commit. The
// decision path answers from the store's callback by posting to the strand; other facade
// calls run on a small blocking pool owned by the Api. Long polls park timers on
// the connection strand (CallWaiters). Every collaborator must outlive the Api.
#ifndef INTERLOCK_DOORS_HTTP_API_API_H_
#define INTERLOCK_DOORS_HTTP_API_API_H_

#include <array>
#include <chrono>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>
#include <unordered_set>
#include <vector>

#include <boost/asio/steady_timer.hpp>
#include <boost/asio/thread_pool.hpp>
#include <boost/json/array.hpp>
#include <boost/json/value.hpp>

#include "common/time.h"
#include "core/app/audit.h"
#include "core/app/authn.h"
#include "core/app/authzen.h"
#include "core/app/call_waiters.h"
#include "core/app/calls.h"
#include "core/app/console_signin.h"
#include "core/app/door_metrics.h"
#include "core/app/drills.h"
#include "core/app/egress_receipt_book.h"
#include "core/app/governance.h"
#include "core/app/kills.h"
#include "core/app/policy_source.h"
#include "core/app/slack_interactions.h"
#include "core/guard.h"
#include "doors/claude_code/contract.h"
#include "doors/http_api/http_server.h"
#include "http/mcp_endpoint.h"

namespace interlock::server {

struct Route;           // a matched request target (api_routes.cc)
struct AuthzenPending;  // one AuthZEN request's decisions (api_authzen.cc)

struct ApiOptions {
  size_t max_body_bytes = 1 << 20;
  int max_wait_seconds = 60;            // cap of ?wait= on GET /v1/calls/{id}
  size_t max_output_bytes = 64 * 1024;  // result output kept, canonical JSON
  // The bounds on trees of runs (limits.max_run_depth, limits.max_live_children).
  core::ChildRunLimits child_runs;
  // How bearer credentials are checked (core/app/authn.h), as the daemon configures it:
  // authn.cache_ttl, an extra positive-auth cache in front of the store (which caches for
  // 500 ms itself; 0: off), and authn.jwt, the trusted JWT issuers (identity.jwt,
  // docs/identity.md: a bearer shaped like a JWT is verified and its agent is the policy
  // whose agent.identity equals its agent claim; null: only Interlock's own tokens; must
  // outlive the Api). authn.count_failure is the Api's own (its metrics).
  core::AuthnOptions authn;
  int blocking_threads = 4;
  // When set, GET /metrics needs "Authorization: Bearer <metrics_token>" (a scrape secret,
  // not a store token: Prometheus' credentials_file). Empty: /metrics is open.
  std::string metrics_token;
  // Base of the reviewer page's links (`approval_url` in call answers): the config's
  // approvals.public_url, else set with Api::SetPublicUrl once the listener is bound.
  std::string public_url;
  // identity.oauth: /mcp/{upstream} as OAuth 2.1 protected resources (RFC 9728 metadata,
  // RFC 8707 audiences, docs/identity.md#mcp-clients-with-oauth-21). Needs `authn.jwt`.
  core::McpOAuth oauth;
  // The Governance page's reports (GET /v1/governance/...), computed off the request path
  // by the daemon (core/app/governance.h). Null: those routes are 404. Must outlive the Api.
  core::CachedReports* reports = nullptr;
  // Outcome receipts of proxies that ask this daemon (`interlock mcp --sandbox --daemon`):
  // egress decisions made with an in_flight_call_id, listed on that call's result record
  // when the agent posts it (docs/mcp.md#outcome-receipts). Kept by the daemon; null: none
  // are kept. Must outlive the Api.
  core::EgressReceiptBook* egress_receipts = nullptr;
  // identity.oidc: reviewer and admin sign-in on /ui/ (GET /ui/oidc/login, callback,
  // session; POST /ui/oidc/logout). Null: those routes are 404 and no session cookie is
  // read. Must outlive the Api.
  core::ConsoleSignIn* oidc = nullptr;
  // The session cookie is `__Host-interlock_session; Secure` (TLS, or an https public URL)
  // instead of `interlock_session` (plain http on loopback).
  bool secure_cookies = false;
  // drill.warn_after (docs/drill.md): GET /v1/drills says `overdue` when the last
  // kill-switch drill is older than this, or there has been none. 0: never overdue.
  std::chrono::seconds drill_warn_after{30 * 24 * 3600};
};

// How Api routes a request target (path, ids and query filters), without serving it: the
// pure part of request handling, for the fuzz target (fuzz/http_request). `route` is 0 for
// "no such endpoint"; `bad_query` is the 400 reason a bad filter gets.
struct RouteInfo {
  int route = 0;
  std::string id;
  bool bad_id = false;
  std::string bad_query;
};
RouteInfo DescribeRoute(std::string_view target);

// One route the daemon serves, from the router's table (api.cc): its method, its path as
// OpenAPI writes it ("/v1/runs/{run_id}/calls"), and who may call it: "none" (no token),
// "metrics" (the scrape secret, when one is set), "agent", "admin", "reviewer,admin" or
// "any" (any valid token). docs/openapi.yaml must document exactly these
// (tests/integration/openapi).
struct ApiRoute {
  std::string_view method;
  std::string_view path;
  std::string_view role;
};
std::vector<ApiRoute> ApiRoutes();

// The query of GET /v1/governance/{report}: the report's question (core/app/governance.h)
// and how the door's cache answers it.
struct GovernanceQuery : core::GovernanceQuery {
  bool refresh = false;  // ?refresh=1: compute now even if a recent report exists
};

class Api final : public RequestHandler {
 public:
  // `store` is handed to the core's facades only (none of the Api's code calls it).
  Api(ApiOptions options, core::Guard* guard, core::Store* store,
      const core::PolicySource* policies, const Clock* clock, core::DoorMetrics* metrics);
  ~Api() override;

  void Handle(HttpRequest request, Responder responder) override;

  // Wakes long polls on call_id; the approvals feature calls this when a verdict lands.
  void NotifyCall(std::string_view call_id) { waiters_.Notify(call_id); }
  // The reviewer page's link for one approval ("{public_url}/ui/#/approvals/{id}"), or ""
  // while no public URL is known. Any thread.
  std::string ApprovalUrl(std::string_view approval_id) const;
  // Sets the base of ApprovalUrl when the config gave none (the listener's address).
  void SetPublicUrl(std::string url);
  // The long-poll registry, shared with in-daemon waiters (MCP sessions awaiting approval).
  core::CallWaiters* call_waiters() { return &waiters_; }
  // The core's Authenticator the Api asks, for another door of the same daemon (ext_authz):
  // one token cache and one coalesced auth_failed trail.
  core::Authenticator* authenticator() { return authn_.get(); }
  // Serves /mcp/{upstream} through `mcp` (not owned; outlives the Api). Call before the
  // server starts; without it /mcp/* is 404.
  void SetMcpEndpoint(McpEndpoint* mcp) { mcp_ = mcp; }
  // Serves POST /v1/slack/interactions with `slack` (not owned; outlives the Api). Call
  // before the server starts; without it the route is 404.
  void SetSlack(core::SlackInteractions* slack) { slack_ = slack; }

  // A door beyond the Api's own that kill-switch drills ask too (/mcp/{upstream}, the
  // ext_authz listener): not owned; outlives the Api. Call before the server starts.
  void AddDrillProbe(core::DrillProbe* probe) { extra_probes_.push_back(probe); }

  // Answers every long poll now and drains the blocking pool. Call after the HTTP
  // server stopped accepting; idempotent.
  void Shutdown();

  // A request-scoped view of who is calling (from the credential only; core/app/authn.h).
  using Caller = core::Caller;

 private:
  class AuthnExec;

  // Reads the bearer and asks the core's Authenticator. On failure returns the response
  // to send (401, or 503 when the store is down).
  std::optional<HttpResponse> Authenticate(const HttpRequest& req, Caller* caller);
  // The HTTP answer to a refused credential (`challenge`: the WWW-Authenticate value).
  static HttpResponse RefusalResponse(const core::AuthnRefusal& refusal, std::string challenge);

  // Reviewer sign-in with OpenID Connect (oidc_routes.cc, docs/identity.md). A request
  // without Authorization whose session cookie decodes is that session's reviewer or admin;
  // a state-changing one also needs X-Interlock-CSRF and, when sent, a same-origin Origin.
  // nullopt when `caller` was set; otherwise the response to send.
  std::optional<HttpResponse> AuthenticateSession(const HttpRequest& req, Caller* caller);
  // The session cookie's value in `req` ("" when absent).
  std::string SessionCookie(const HttpRequest& req) const;
  std::string SessionCookieName() const;
  // "scheme://host[:port]" of the public URL: the only Origin a cookie request may have.
  std::string OwnOrigin() const;
  void HandleOidcLogin(Responder r);
  void HandleOidcCallback(const HttpRequest& req, Responder r);
  void HandleOidcSession(const HttpRequest& req, Responder r);
  void HandleOidcLogout(const HttpRequest& req, Responder r);

  // OAuth 2.1 for /mcp/{upstream} (identity.oauth; the block "MCP OAuth" in api.cc).
  // The base the resources are named under: identity.oauth.resource_base, else the
  // public URL (approvals.public_url or the listener's address), never the Host header.
  std::string OAuthResourceBase() const;
  // GET /.well-known/oauth-protected-resource/mcp/{upstream}: RFC 9728 metadata.
  void HandleOAuthMetadata(const HttpRequest& req, std::string_view path, Responder r);
  // Authenticate for /mcp/{upstream} when OAuth is on: a JWT must be an access token for
  // this resource (its agent is identity.oauth.agents[upstream], its sub on_behalf_of);
  // Interlock tokens as before. Every 401 carries the resource_metadata challenge.
  std::optional<HttpResponse> AuthenticateMcp(const HttpRequest& req, const std::string& upstream,
                                              Caller* caller);

  // The routes that need a token, after the open ones (api_routes.cc).
  void HandleAuthenticated(Route& route, HttpRequest req, Responder r);
  // POST /v1/hooks/claude-code: Claude Code's HTTP hook (api_hooks.cc, docs/mcp.md). Reads
  // its own bearer: a refusal is a deny in the hook's JSON, never a status Claude Code
  // would take as "proceed". `defer`: ?on_approval=defer; `bad_query`: a bad query's reason.
  void HandleClaudeCodeHook(const Route& route, HttpRequest req, bool defer, std::string bad_query,
                            Responder r);
  // The event of a session whose run `run_id` is joined: decided or recorded.
  void ServeHookEvent(const Caller& c, const std::string& run_id, claude_code::HookInput in,
                      bool defer, Responder r);
  // PreToolUse and PermissionRequest: the decision, answered by claude_code::HookAnswerFor.
  void DecideHook(const Caller& c, const std::string& run_id, claude_code::HookInput in, bool defer,
                  Responder r);
  // PostToolUse (the result of the call its PreToolUse allowed; an incident when the
  // call was denied or held for approval; else a record that an undecided call ran) and
  // PermissionDenied (a record of Claude Code's own denial).
  void RecordHookReport(const Caller& c, const std::string& run_id, claude_code::HookInput in,
                        Responder r);
  // A PostToolUse of a tool use decided `g` (replayed): its result when the call is
  // allowed now, else the incident claude_code::HookRanAnywayCall records. On a pool thread.
  void RecordRanOrResult(const Caller& c, const std::string& run_id, claude_code::HookInput in,
                         core::GuardResponse g, Responder r);
  void HandleDecide(const Caller& c, HttpRequest req, Responder r, std::string run_id);
  // POST /access/v1/evaluation (`batch` false) and /access/v1/evaluations: the AuthZEN 1.0
  // evaluation API (api_authzen.cc, docs/gateways.md#authzen), decided through the Guard.
  void HandleAuthzen(const Caller& c, HttpRequest req, bool batch, Responder r);
  // The AuthZEN run `run_id` of the caller, started when new (cached in hook_runs_). Blocking.
  Status JoinAuthzenRun(const Caller& c, const std::string& run_id);
  // `join` run `run_id` unless this process has joined it already (hook_runs_, at most
  // 65,536 ids, cleared when full: joining again is harmless); a store that cannot answer
  // is counted. The Claude Code hook's and AuthZEN's runs. Blocking.
  Status JoinRunOnce(const std::string& run_id, const std::function<Status()>& join);
  // Decides the request's next evaluation through Guard::DecideAsync (no thread waits for
  // the commit); AuthzenFinish answers once all are decided, a semantic stops them, or the
  // named run cannot take them.
  void AuthzenDecideNext(std::shared_ptr<AuthzenPending> p);
  void AuthzenFinish(std::shared_ptr<AuthzenPending> p);
  // Decides `call` in run_id through the Guard and answers with the decision (the tail of
  // HandleDecide and HandleEgress).
  // `observe`, when set, sees the Guard's answer first (HandleEgress: outcome receipts).
  void DecideAndReply(const Caller& c, std::string run_id, ToolCall&& call, Responder r,
                      std::string traceparent,
                      std::function<void(const core::GuardResponse&)> observe = {},
                      core::IdempotencyKey idempotency = {});
  // POST /v1/runs/{id}/egress {"host","port","address"[,"in_flight_call_id"]}: one
  // connection of an egress proxy, decided as a call of kind kEgress (set here only).
  void HandleEgress(const Caller& c, const HttpRequest& req, Responder r, std::string run_id);
  // POST /v1/calls/{id}/egress-result {"ok","bytes_up","bytes_down"[,"error"]}.
  void HandleEgressResult(const Caller& c, const HttpRequest& req, std::string call_id,
                          Responder r);
  // POST /v1/runs; with {"claude_code_session": ID} the session's one run
  // (claude_code::ClaudeCodeRunId), joined or started (the command hook with --daemon).
  void HandleCreateRun(const Caller& c, const HttpRequest& req, Responder r);
  // POST /v1/runs with {"parent_run_id", "role"?}: a child run of a run of the caller's
  // agent (docs/governance.md#child-runs).
  void CreateChildRun(const Caller& c, const boost::json::value& parent,
                      const boost::json::value* role, Responder r);
  // The ids of the run's children (at most 1000, newest first), or the store's error: an
  // unreadable list is never shown as "no children".
  Result<boost::json::array> ChildRunIds(const std::string& run_id);
  // The Claude Code session run `run_id` of `agent_id`, joined or started (remembered in
  // hook_runs_; a store that cannot answer is counted). Blocking.
  // `origin`: the session's cwd and the caller's token roots, the workspace of a run started
  // now (core::Calls::JoinRun).
  Status JoinHookRun(const std::string& agent_id, const std::string& run_id,
                     const core::SessionOrigin& origin);
  // The child run `child_id` of session run `run_id` for a Claude Code sub-agent of type
  // `agent_type` (claude_code::ClaudeCodeSubagentRunId), joined or started under the session's
  // run, itself joined first (docs/governance.md#child-runs). Blocking.
  Status JoinHookChildRun(const std::string& agent_id, const std::string& run_id,
                          const std::string& child_id, const std::string& agent_type);
  // SubagentStart and SubagentStop: the sub-agent's child run started, or ended. Blocking.
  void ServeSubagentEvent(const Caller& c, const std::string& child_id, claude_code::HookInput in,
                          Responder r);
  void HandleGetRun(const Caller& c, std::string run_id, Responder r);
  void HandleListRuns(core::RunFilter filter, Responder r);
  void HandleUsage(const Caller& c, const HttpRequest& req, std::string run_id, Responder r);
  void HandleEndRun(const Caller& c, std::string run_id, Responder r);
  void HandleGetCall(const Caller& c, std::string call_id, int wait_seconds, Responder r);
  void HandleResult(const Caller& c, const HttpRequest& req, std::string call_id, Responder r);
  // POST /v1/calls/{id}/rehearsal: Guard::CompleteRehearsal, answered like a decision.
  void HandleRehearsal(const Caller& c, const HttpRequest& req, std::string call_id, Responder r);
  // {"ok","output","error","usage"} of a result or a rehearsal's outcome.
  Result<core::CallResult> ParseResultBody(const boost::json::object& o) const;
  // The answer to a decision: the decision object, call_id, approval_id/url, run state.
  std::string DecideReply(const core::GuardResponse& g) const;  // the JSON text
  void HandleSetKill(const Caller& c, const HttpRequest& req, Responder r);
  // GET /v1/audit: one page of the console's search, as JSON or (format=jsonl) JSON lines.
  void HandleAudit(audit::AuditQuery query, bool jsonl, Responder r);
  // GET /v1/runs/{id}/replay: the run from the audit log (AuditTrail::ReplayRun) and whether
  // each of its records still hashes to its stored hash.
  void HandleReplay(std::string run_id, Responder r);
  void HandleListKill(const Caller& c, Responder r);
  void HandleReady(Responder r);
  // Approvals (docs/approvals.md): reviewer and admin tokens only.
  void HandleListApprovals(const Caller& c, std::string state, size_t limit, Responder r);
  void HandleGetApproval(const Caller& c, std::string approval_id, Responder r);
  void HandleVote(const Caller& c, const HttpRequest& req, std::string approval_id, Responder r);
  // POST /v1/approvals/{id}/withdraw: the agent that made the call stops waiting.
  void HandleRevokeRunGrant(const Caller& c, const HttpRequest& req, std::string run_id,
                            Responder r);
  // The answer that queued the approval of `call_id` did not reach its client
  // (core::Approvals::WithdrawUnheard), off the network thread.
  void WithdrawUnheard(std::string agent_id, std::string principal, std::string call_id);
  void HandleWithdraw(const Caller& c, const HttpRequest& req, std::string approval_id,
                      Responder r);
  // POST /v1/slack/interactions: a Slack button press (api_slack.cc). Authenticated by
  // Slack's request signature, not a token; the vote goes through core::Approvals::Vote.
  void HandleSlackInteraction(const HttpRequest& req, Responder r);
  // The vote of a Slack button press as `reviewer_name` (api_slack.cc).
  void SlackVote(core::SlackAction action, const std::string& reviewer_name, Responder r);
  // POST /v1/tools/view: the agent's view of the tools (engine::ViewTool).
  void HandleToolView(const Caller& c, const HttpRequest& req, Responder r);
  // The reviewer page's static assets (no token: the page signs in itself).
  void HandleUi(const std::string& path, Responder r);
  void HandleMetrics(Responder r);
  // GET /v1/metrics/summary: the daemon's own counters as JSON (DoorMetrics::Summarize), with
  // pending approvals and engaged kill switches. Reviewer and admin tokens.
  void HandleMetricsSummary(Responder r);
  // GET /v1/governance/{drift,trust,fatigue}: the same functions as
  // `interlock drift` and `interlock trust report`, over AuditTrail::History. Admin.
  void HandleGovernance(std::string report, GovernanceQuery query, Responder r);
  // Kill-switch drills (api_drills.cc, docs/drill.md): POST /v1/drills runs one through
  // every door this daemon serves; GET /v1/drills reports the last and whether it is overdue.
  void HandleRunDrill(const Caller& c, const HttpRequest& req, Responder r);
  void HandleDrillStatus(Responder r);
  // One request through this Api's router, in process, as the network would bring it;
  // the answer, or nullopt when none came within `bound`. Never on the blocking pool.
  std::optional<HttpResponse> Dispatch(HttpRequest req, const Responder& like,
                                       std::chrono::milliseconds bound);

  // Answers GET /v1/calls/{id} (blocking pool only).
  HttpResponse CallResponse(const Caller& c, const std::string& call_id, bool* pending);
  HttpResponse StoreError(const Error& e);

  template <class Fn>
  void Blocking(Fn&& fn);

  bool MetricsTokenMatches(const HttpRequest& req) const;
  // Counts a request refused for authentication and writes the auth_failed audit record
  // (core::Authenticator::NoteFailure: coalesced, never lost). `who`: a refused sign-in
  // whose person the provider named, listed in the record.
  void NoteAuthFailure(std::string_view why, const core::RefusedSignIn* who = nullptr);

  ApiOptions options_;
  core::Guard* guard_;
  const core::PolicySource* policies_;
  const Clock* clock_;
  core::DoorMetrics* metrics_;
  core::Calls calls_;  // runs, calls and results; calls_.approvals(): the approvals
  core::Kills kills_;
  core::Drills drills_;
  core::AuditTrail audit_;  // audit pages, replay, governance history, sign-in records
  core::CallWaiters waiters_;
  boost::asio::thread_pool pool_;
  // Drills run here, off the blocking pool their doors' requests use; one at a time.
  boost::asio::thread_pool drill_pool_{1};
  std::atomic<bool> drill_busy_{false};
  std::vector<core::DrillProbe*> extra_probes_;
  std::atomic<bool> shut_down_{false};
  McpEndpoint* mcp_ = nullptr;
  core::SlackInteractions* slack_ = nullptr;
  mutable std::mutex url_mu_;
  std::string public_url_;  // guarded by url_mu_
  // The Claude Code hook's session runs known to exist and to be their agent's (a run's
  // agent never changes, runs are never deleted): a later event of the session skips
  // JoinRun, a store round trip on the blocking pool. Bounded: cleared when full.
  std::mutex hook_runs_mu_;
  std::unordered_set<std::string> hook_runs_;  // guarded by hook_runs_mu_
  // Authentication (core/app/authn.h); declared last so it is destroyed first, while the
  // pool its failure records are written on still exists.
  std::unique_ptr<core::TokenTable> tokens_;
  std::unique_ptr<AuthnExec> authn_exec_;
  std::unique_ptr<core::Authenticator> authn_;
};

}  // namespace interlock::server

#endif  // INTERLOCK_DOORS_HTTP_API_API_H_

// Gateway: the MCP policy enforcement point, independent of the transport.
//
// A transport (stdio: src/doors/mcp_stdio/stdio_gateway.cc; Streamable HTTP:
// src/doors/mcp_http/mcp_http.cc) feeds each message line from the client (OnClientLine) and from
// the upstream server (OnServerLine), and gives it two SendFn to deliver messages the other way.
// The gateway changes only:
//   - tools/list results: tools the agent's view (ToolViewSource: engine::ViewTool on
//     the local policy, or the daemon's POST /v1/tools/view) does not show, and tools whose
//     pinned definition changed, are removed; notifications/tools/list_changed is passed
//     on and marks the catalog stale;
//   - tools/call: decided through the Enforcer (which calls the shared Guard) before
//     anything is forwarded, with the labels the tool's annotations declare
//     (AnnotationLabels, ToolCall::declared_labels: the engine uses them only for a tool
//     whose policy rule writes no labels), so the catalog is loaded first (EnsureCatalog;
//     a catalog that cannot be loaded declares no labels, and the call is refused after
//     the decision anyway). A call the Guard allows is then checked against the tool's
//     pinned definition and its declared inputSchema; a call failing those is not
//     forwarded either (its call record gets a failed result "not forwarded: ..."), so
//     every tools/call is decided, counted and audited by the core exactly once;
//   - tools/call results: recorded (Enforcer::RecordResult) and structuredContent reduced
//     to the tool's `scope` (from the same view; no view, no structuredContent);
//   - every message from the server (responses, notifications, requests): the upstream's
//     credentials (`secrets`) masked in every string, keys included, before anything
//     else looks at it (so neither the client nor a record ever holds them);
//   - which methods pass at all: exactly the MCP specification's methods for the direction
//     (framing.h: IsClientRequestMethod, ...) plus `forward_methods`. A client request for
//     any other method is answered -32601 and not forwarded; a client notification is
//     dropped; a server request is answered -32601 to the server; a server notification
//     and a server response to no pending request are dropped.
// Ids (docs/mcp.md#request-ids): the gateway owns every id on both of its links, so a
// server can never answer one call as another and never speak in Interlock's name:
//   - every request it sends the server (a client's request it forwards, its own
//     tools/list and rehearsals) carries an id of its own, a small integer issued once;
//     the answer is matched on that id alone and relayed to the client with the client's
//     own id, exactly as the client sent it (string or integer). An answer with an id the
//     gateway did not issue, or already answered, is dropped and logged, never matched;
//     notifications/cancelled from the client is translated the same way (dropped when
//     the request never reached the server). A forwarded request's progress token is
//     replaced by its server-side id, and the server's notifications/progress is relayed
//     with the client's token only while that request is at the server (else dropped), so
//     a server cannot post progress (say, "approval granted") on a held call or another
//     request.
//   - a client request id must be unique among the client's requests in flight (decided,
//     held, or at the server): a duplicate is answered -32600 and not forwarded. Ids that
//     are not strings or integers within +-(2^53-1) are refused (-32600) by ParseMessage.
//   - a server's request to the client is relayed with an id the gateway issues (an
//     integer), mapped back when the client answers; the client's answer with any other
//     id is dropped. A server request whose id is in Interlock's own space (a string
//     beginning "interlock-", or one of Interlock's ids) is refused (-32600 to the server)
//     and recorded through the core (DecideRefusal; the first 32 per gateway, the rest
//     logged, so a server cannot flood the trail).
//   - Interlock's own requests to the client (elicitation/create) carry "interlock-" and
//     128 random bits (common/crypto.h), never shown to the server.
// Clients of MCP 2026-07-28 (gateway_modern.cc; docs/mcp.md#revisions): a request naming
// an unserved version in _meta is answered -32022; server/discover is answered by the
// gateway; the legacy upstream is initialized by the gateway; results get resultType and
// cacheable ones cacheScope "private"; a legacy upstream is told the client capabilities the
// gateway can carry, and its elicitation/create, sampling/createMessage and roots/list reach
// the client as input_required rounds of the one call at the server, the client's answers
// returned as the JSON-RPC responses (gateway_relay.cc); its ping is answered by the gateway.
// Approvals at the MCP client (standalone; docs/mcp.md#approvals-at-the-mcp-client): the
// client's initialize request, or each modern request's _meta capabilities, tell the
// Enforcer whether it declared `elicitation` (SetClientElicitation). A held call the Enforcer
// answers `ask_client` is put to the person at the client with elicitation/create (id: "interlock-"
// + 128 random bits; tool, redacted arguments, reason, time left); their answer goes to
// Enforcer::AnswerAtClient. No answer within the approval's time left: timeout (the
// gateway sends notifications/cancelled for the elicitation). A client response whose id
// carries the "interlock-" prefix is never relayed to the server: a malformed answer to a
// pending elicitation denies the call; an answer to an elicitation already answered (or
// timed out) or never sent is refused and recorded through the core (DecideRefusal).
// Approvals over MRTR (docs/mcp.md#approvals-over-mrtr; gateway_mrtr.cc): a held call of a
// 2026-07-28 client is not held open but answered `input_required` (a URL-mode elicitation to
// the reviewer page, or the form question for the person at the client, standalone) with a
// requestState sealed by core::ApprovalStates (agent, run, arguments digest, call, approval,
// who may answer, expiry, nonce). Its retry is answered with the verdict (forwarded, the
// denial, or input_required again with a fresh state), never decided again; for reviewers the
// client's inputResponses are not read. A state that does not open (forged, replayed, swapped,
// expired) is refused through the core (DecideRefusal).
// A call held for approval sends notifications/progress (when the client gave a progress
// token) naming the approval id and the reviewer page's link from the Enforcer's answer.
// When the gateway stops waiting without a verdict (notifications/cancelled for it, the
// client gone: OnClientClosed or destruction, or the wait failed) it withdraws the
// approval (Enforcer::Withdraw), so no approval is left in the queue for nobody.
// Anything that could be taken for a tool call and is not decided normally is refused
// through the core (a ToolCall with refusal_reason, rule "mcp.gateway": decided
// INVALID_REQUEST and recorded like any call): a tools/call without an id (a
// notification), a method that LooksLikeToolsCall but is not exactly "tools/call", a
// tools/call in a batch, a malformed tools/call (no name, arguments not an object), a
// task-augmented tools/call (its result would come back through tasks/result, past the
// result handling; the tools part of the server's tasks capability is removed from the
// initialize result so spec-following clients never send one), and a tools/call after
// the upstream is gone. Batches (JSON arrays) are rejected (MCP 2025-06-18 and later
// have none). Arguments are decided as sent; the store records them with `secrets`
// masked (ToolCall::mask_values).
//
// A denied or refused call gets a JSON-RPC *result*, not an error:
//   {"content":[{"type":"text","text":"Interlock denied <tool> (<CODE>): <reason>"}],
//    "isError":true,"_meta":{"interlock.dev/decision":{<decision object>}},
//    "structuredContent":{<decision object>}}
// MCP clients hand tool results (isError included) to the model, which can read the
// reason and adapt; a JSON-RPC error is usually shown to the user or aborts the turn.
// structuredContent is left out when the client was shown the tool (tools/list) with an
// outputSchema the decision object does not satisfy (clients such as the TypeScript SDK validate
// structuredContent against it even when isError is set, and would throw instead of showing the
// denial).
//
// Upstream revisions (docs/mcp.md#revisions, upstream_revision.h): before the first client
// request is handled the gateway probes the upstream once with server/discover (bounded by
// discover_timeout). A legacy server (an error that is not -32022, or no answer) is spoken
// to as before: the client's initialize is forwarded. A 2026-07-28 server is never sent
// initialize: a legacy client's initialize is answered from the DiscoverResult, every
// request the gateway sends it carries the modern `_meta` (protocol version, the client's
// capabilities less the 2025 tasks one, clientInfo), and
// its results reach a legacy client without resultType/ttlMs/cacheScope. A modern server
// that speaks none of the gateway's revisions (its -32022 names none) answers every
// request with its own error, as it came. A tools/call result with resultType
// "input_required" (the server asks the client for input) is never recorded as the call's
// result. Every input request must be a method the gateway relays from servers
// (elicitation/create, sampling/createMessage, roots/list), else the call fails (an isError
// result, recorded as a failed call). To a legacy client each is put as that server-to-client
// request (an id of the gateway's; only for a capability the client declared), and when all
// are answered the same call is sent again with inputResponses and the server's requestState
// under its first decision. To a modern client the result is relayed, and the call stays
// open: the client's retry of the same tool and arguments (with inputResponses or
// requestState) is forwarded under the same call without a second decision, and its final
// result is recorded once (at most kMaxInputRounds rounds, kMaxOpenCalls calls open, a retry
// within kOpenCallTtl; a call never retried is recorded as failed when evicted, expired or
// when the gateway ends).
//
// Tasks (io.modelcontextprotocol/tasks; gateway_tasks.cc, docs/mcp.md#tasks-the-tasks-extension):
// a 2026-07-28 server may answer a 2026-07-28 client's tools/call that declared the extension
// with a task. The gateway keeps it (OpenTask, by the server's task id) and forwards the
// client's tasks/get, tasks/update and tasks/cancel for its own tasks only (any other id is
// -32602); tasks/get and tasks/update ask the kill switch again; the call's outcome is recorded
// once, when a tasks/get first shows it terminal (else "not observed" when it is forgotten).
//
// Threading: OnClientLine runs on the transport's client thread and may block (the
// decision, loading the tool catalog from the upstream for at most kCatalogTimeout);
// OnServerLine and OnUpstreamClosed run on the transport's server thread and never wait
// for the client thread. Calls held for approval wait on their own thread so the client
// thread keeps reading (notifications/cancelled). SendFn must be thread-safe and may be
// called from any of these threads. The destructor joins approval threads (cancelling
// and withdrawing them first). The Gateway does not own the Enforcer, ToolViewSource or
// PinStore.
// Its parts (docs/design.md#the-mcp-gateway): the Gateway itself is the session (framing,
// revisions, ids, the server's messages: gateway.cc, gateway_modern.cc, gateway_server.cc,
// gateway_listen.cc, gateway_screen.cc); what the server asks of the client is a
// ServerRequestHandlers (server_request_handlers.h), a tools/call from its decision to its
// recorded result a CallFlow (call_flow.h). Both take the Gateway's one mutex and reach it
// through a Link it implements privately.
#ifndef INTERLOCK_MCP_GATEWAY_H_
#define INTERLOCK_MCP_GATEWAY_H_

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

#include <boost/json/object.hpp>
#include <boost/json/value.hpp>

#include "core/app/approval_states.h"
#include "core/app/call_span.h"
#include "core/app/secret_mask.h"
#include "interlock/decision.h"
#include "interlock/result.h"
#include "interlock/tool_call.h"
#include "mcp/call_flow.h"
#include "mcp/enforcer.h"
#include "mcp/framing.h"
#include "mcp/gateway_catalog.h"
#include "mcp/gateway_options.h"
#include "mcp/json_schema.h"
#include "mcp/pending_request.h"
#include "mcp/pins.h"
#include "mcp/revision.h"
#include "mcp/server_request_handlers.h"
#include "mcp/subscriptions.h"
#include "mcp/task_table.h"
#include "mcp/upstream_revision.h"

namespace interlock::mcp {

class Gateway final : private ServerRequestHandlers::Link, private CallFlow::Link {
 public:
  using SendFn = std::function<void(const boost::json::value&)>;
  Gateway(GatewayOptions options, SendFn to_client, SendFn to_server);
  ~Gateway();
  Gateway(const Gateway&) = delete;
  Gateway& operator=(const Gateway&) = delete;

  void OnClientLine(std::string_view line);
  void OnClientOversized();
  // `related`: the gateway's id of the request on whose reply stream the line came (an
  // HTTP upstream's SSE answer to it), or null; a 2025 server's question to a 2026-07-28
  // client then belongs to that call even when the client has others at the server.
  void OnServerLine(std::string_view line, const boost::json::value* related = nullptr);
  void OnServerOversized();
  // The upstream is gone: every pending request gets an error (tools/call: an isError
  // result saying the call may or may not have run); later requests are refused.
  void OnUpstreamClosed(std::string_view why);
  // The client is gone (stdin EOF, the HTTP session ended): every call held for approval
  // stops waiting and its approval is withdrawn with `why`. Returns after the
  // withdrawals (bounded by the Enforcer's timeouts).
  void OnClientClosed(std::string_view why);
  // The client no longer waits for request `id` (its HTTP stream closed): like
  // notifications/cancelled for it. A call held for approval is withdrawn; a
  // subscriptions/listen ends (answered with its closing result, so the transport frees
  // the request). No-op for anything else.
  void CancelHeld(const boost::json::value& id, std::string_view why);

  // The client's id of the request the gateway sent the server as `server_id` (still
  // unanswered), for a transport that must route what the server sent on that request's
  // reply stream (mcp_http.cc); nullopt for an id the gateway did not issue or its own.
  std::optional<boost::json::value> ClientIdOf(const boost::json::value& server_id) const;

  // The protocol version the server answered to initialize ("" before that).
  std::string negotiated_version() const;

  // Whether a requestState was issued to the client and not yet retried (approvals over
  // MRTR): a door whose client outlives the gateway keeps the run open for the retry.
  bool HasOpenStates() const;

  // The revision the client speaks (mcp/revision.h): k2026_07_28 once a request named it
  // in _meta (ClientRevisionOf), else the legacy revision. Per request is what counts: a
  // caller holding the request should read ClientRevisionOf(request) instead. Any thread.
  McpRevision client_revision() const { return client_revision_.load(); }
  bool ClientSpeaksModern() const { return IsModern(client_revision()); }

  // The call ids of the tools/call requests forwarded to the server and not yet answered
  // (for the egress proxy's attribution of connections to calls), with "" for each
  // rehearsal sent to the server and not yet answered (it has no call of its own to be
  // attributed to, and makes the attribution of another call's connection ambiguous).
  // Any thread.
  std::vector<std::string> InFlightCallIds() const;

  // The denial result for `d` without structuredContent (safe for any tool; see the
  // header comment). `Denial` adds structuredContent where the tool's schema allows it.
  static boost::json::object DenialResult(const Decision& d);

  // The gateway's answer to server/discover (docs/mcp.md#revisions): its supported
  // versions, the capabilities it serves and its identity; the same for every agent and
  // made without the upstream, so a door can answer a probe before any run or server
  // exists.
  static boost::json::object DiscoverResult();

  // Streamable HTTP's custom headers (x-mcp-header, docs/mcp.md#revisions): for a
  // tools/call `request`, the tool's parameters its inputSchema marks `x-mcp-header` must
  // arrive as Mcp-Param-{Name} headers equal to the arguments (Base64 sentinel decoded),
  // and no such header may come without its argument; `param_headers` maps the lower-cased
  // {Name} to the value as received. The reason for the HeaderMismatch (-32020) answer, or
  // nullopt when they agree (or the request is no tools/call). Initializes the upstream and
  // loads the catalog when needed (client thread; may block like OnClientLine).
  std::optional<std::string> ParamHeaderMismatch(
      const boost::json::object& request,
      const std::map<std::string, std::string, std::less<>>& param_headers);

 private:
  // The requests at the server (pending_): pending_request.h.
  using Pending = PendingRequest;
  // The span of each client tools/call in flight, by IdKey of the client's id; dropped
  // (and so sent) when the client is answered (ReleaseClientId). Guarded by mu_.
  std::map<std::string, std::shared_ptr<core::CallSpan>> traces_;
  std::shared_ptr<core::CallSpan> TraceOf(const boost::json::value& client_id) override;
  // Learns the upstream's era once (the probe; upstream_revision.h) and returns it. `doc` is
  // the client's first request (its initialize gives the capabilities the server is told).
  UpstreamEra EnsureUpstreamEra(const boost::json::value& doc, const std::string& method);
  // A request, notification or response on its way to the server, as the upstream's era needs
  // it (modern: `_meta` stamped on requests, notifications/initialized dropped); null: drop.
  std::optional<boost::json::value> ForUpstream(const boost::json::value& v) const;
  // A legacy client's initialize: it is one, and what a modern server is to be told of it.
  void NoteInitialize(const boost::json::value& doc);
  // A response from a modern server on its way to a legacy client (false: refused and
  // answered already).
  void ToLegacyClient(boost::json::object& response) const;
  // What no server message carries (gateway_screen.cc), before anything reads it: Interlock's
  // `_meta` namespace removed (and recorded through the core), a notification's params
  // reduced to what its specification defines.
  void ScreenServerMessage(boost::json::value& doc, bool notification, const std::string& method);
  // Ends a tools/call that cannot complete: recorded as failed, the client gets isError.
  void FailCall(const Pending& p, const std::string& why, const std::string& output_json) override {
    calls_.FailCall(p, why, output_json);
  }
  void RecordNeverRetried(const OpenCall& c, const std::string& why) override {
    calls_.RecordNeverRetried(c, why);
  }
  void HandleClientRequest(boost::json::value doc, const boost::json::value& id,
                           const std::string& method);
  // Reserves the client's request id until its answer (true); false: answered already (the
  // id is in use by a request in flight, or the upstream is gone; a tools/call is refused
  // through the core and recorded).
  bool ReserveClientId(const boost::json::value& doc, const boost::json::value& id,
                       const std::string& method);
  // A client's initialize: notes its elicitation modes and answers it when the gateway
  // does (from the legacy upstream's one answer, or from a modern upstream's
  // DiscoverResult). False: forward it.
  bool HandleInitialize(const boost::json::value& doc, const boost::json::value& id,
                        UpstreamEra era);
  // A client's notifications/cancelled: ends a subscription or a held call, or maps the
  // request id to the gateway's. False: nothing to tell the server (dropped).
  bool MapClientCancel(boost::json::value& doc);
  // A method this gateway forwards (the spec's for the direction, or configured).
  bool Forwarded(MessageKind kind, std::string_view method, bool from_client) const;
  // Forwarded for a notification, which has nobody to answer: a dropped one is logged.
  bool ForwardedNotification(std::string_view method, bool from_client) const;
  // Decides a refusal through the core (see the header comment): always a deny, recorded
  // under params.name (or a placeholder) with the message's arguments.
  Enforcer::Outcome DecideRefusal(const boost::json::value* params,
                                  const std::string& reason) override {
    return calls_.DecideRefusal(params, reason);
  }
  // DenialResult plus structuredContent when the tool's outputSchema allows it.
  boost::json::object Denial(const Decision& d) const override { return calls_.Denial(d); }
  void ContinueAllowed(boost::json::value doc, const boost::json::value& id,
                       const std::string& tool, const boost::json::object& args,
                       const Enforcer::Outcome& outcome, int input_rounds) override {
    calls_.ContinueAllowed(std::move(doc), id, tool, args, outcome, input_rounds);
  }
  void RefuseCall(const boost::json::value& id, const std::string& tool, const std::string& call_id,
                  Code code, const std::string& reason) override {
    calls_.RefuseCall(id, tool, call_id, code, reason);
  }
  // Filters a tools/list result in place and updates the catalog.
  void FilterToolList(boost::json::object& result, bool first_page);
  // Makes sure the catalog is complete, asking the upstream itself when needed.
  bool EnsureCatalog() override;
  void HandleToolResult(boost::json::object& msg, const Pending& p) override {
    calls_.HandleToolResult(msg, p);
  }
  // Every message to the client: a result to a modern client gets resultType
  // (gateway_modern.cc).
  void SendToClient(const boost::json::value& v) override;
  // The revision of a client request (gateway_modern.cc): an unsupported version in
  // _meta is answered -32022, server/discover is answered by the gateway; true when
  // answered. A modern request's client capabilities are passed on to the Enforcer.
  bool HandleRevision(const Message& msg);
  // A modern client has no initialize: the gateway initializes the legacy upstream itself
  // once (2025-11-25, no client capabilities) and waits for it, for at most
  // catalog_timeout. True when the upstream is initialized (by the gateway or a legacy
  // client's own initialize).
  // `request`, when given, is the modern client's request whose `_meta` capabilities the
  // server is told of (CarriedCapabilities), so it may ask what the client can answer.
  bool EnsureUpstreamInitialized(const boost::json::object* request = nullptr);
  // The client capabilities a 2026-07-28 client `declared` (its _meta) that the gateway
  // carries to a 2025 server's requests: elicitation (form, url), sampling (context, tools),
  // roots (without listChanged). Nothing else.
  static boost::json::object CarriedCapabilities(const boost::json::object* declared);
  // The upstream's answer to the gateway's own initialize.
  void UpstreamInitialized(const boost::json::object& response);
  // subscriptions/listen of a 2026-07-28 client (gateway_listen.cc; docs/mcp.md#subscriptions):
  // forwarded to a modern server under the gateway's id, or served by the gateway for a
  // legacy one (the list-changed kinds only). What reaches the client is what it asked for,
  // under its own request id (the filter and the table: subscriptions.h).
  void HandleListen(boost::json::value doc, const boost::json::value& id, UpstreamEra era);
  // A server notification carrying a subscription id: relayed to the subscription the gateway
  // forwarded under that id (rewritten to the client's), or dropped. False: it carries none.
  bool RelayListenNotification(boost::json::object& notification, const std::string& method);
  // A legacy server's list-changed notification, to every subscription the gateway serves
  // that asked for it.
  void FanOutToListens(const boost::json::object& notification, const std::string& method);
  // Ends the subscription of the client's request `id` (false: there is none): a forwarded
  // one is cancelled at the server; `answer`: the client gets the closing result.
  bool EndListen(const boost::json::value& id, bool answer);
  // The server's answer to a forwarded subscriptions/listen (its end): the subscription id in
  // its _meta rewritten to the client's.
  void ListenEnded(boost::json::object& response, const Pending& p);
  // A legacy client's initialize in front of a legacy server (docs/mcp.md#revisions): the
  // first one is forwarded (false). Once the server is initialized (by the gateway for a
  // 2026-07-28 client of the same process, or by an earlier initialize) it is never
  // initialized again: the client is answered from the server's own answer (true).
  bool AnswerInitializeFromUpstream(const boost::json::value& id);
  // Removes the modern _meta keys from a request to the (legacy) upstream.
  static void StripModernMeta(boost::json::value& doc);
  // A legacy server's result of `method` as a modern client expects it: tools sorted by
  // name, caching hints on cacheable results (private, ttlMs 0).
  static void ToModernResult(std::string_view method, boost::json::object& result);
  // The final answer to a client request the gateway accepted: frees its id for reuse,
  // then sends `response` (whose id is the client's).
  void AnswerClient(const boost::json::object& response) override;
  void ReleaseClientId(const boost::json::value& id) override;
  // A new id for a request to the server (mu_ held).
  boost::json::value IssueServerIdLocked() override {
    return boost::json::value(next_server_id_++);
  }
  // Registers the client's request `doc` (id `client_id`) as `p` under a new server-side id
  // and rewrites doc's id, and its progress token if any, to the gateway's (mu_ held).
  void ForwardToServerLocked(boost::json::value& doc, const boost::json::value& client_id,
                             Pending p) override;
  // A server response, matched on the gateway's id and relayed with the client's.
  void HandleServerResponse(boost::json::value doc, const boost::json::value& id) override;
  // The rest of ServerRequestHandlers::Link (server_request_handlers.h; gateway.cc).
  void SendToServer(const boost::json::value& v) override { to_server_(v); }
  bool ForwardsServerRequest(std::string_view method) const override {
    return Forwarded(MessageKind::kRequest, method, /*from_client=*/false);
  }
  boost::json::object ClientCapabilities() const override;
  Pending* CallLocked(std::string_view server_key) override;
  std::optional<Pending> TakeCallLocked(std::string_view server_key) override;
  void PutCallLocked(const std::string& server_key, Pending p) override;
  void ForEachCallLocked(const std::function<void(const std::string&, Pending&)>& f) override;
  void BindClientIdLocked(const boost::json::value& client_id, uint64_t server_id) override;
  void TraceUpstreamStartedLocked(const boost::json::value& client_id) override;
  bool CountRefusalLocked() override;
  // The rest of CallFlow::Link (call_flow.h; gateway.cc).
  bool ClientIsLegacy() const override { return legacy_client_.load(); }
  bool UpstreamClosedLocked(std::string* why) const override;
  void KeepTraceLocked(const boost::json::value& client_id,
                       std::shared_ptr<core::CallSpan> trace) override;
  // The upstream's answer to the client's initialize, before it is relayed: the version it
  // negotiated and its result are kept, its offer of task-augmented tools/call removed.
  void KeepUpstreamInitialize(boost::json::object& response);

  GatewayOptions options_;
  const core::SecretMask secrets_;  // options_.secrets
  SendFn to_client_;
  SendFn to_server_;

  mutable std::mutex mu_;
  // Waited on for the catalog's listing (EnsureCatalog) and the upstream's initialize by
  // the gateway (EnsureUpstreamInitialized); notified when either ends or the upstream goes.
  std::condition_variable catalog_cv_;
  std::map<std::string, Pending, std::less<>> pending_;  // by IdKey of the server-side id
  uint64_t next_server_id_ = 1;
  // Every client request accepted and not yet answered, by IdKey of the client's id: the
  // server-side id it was forwarded with (0: not forwarded, being decided or held).
  std::map<std::string, uint64_t, std::less<>> client_ids_;
  // A server's requests to the client and the client's answers (server_request_handlers.h):
  // no lock of its own, it takes mu_.
  ServerRequestHandlers server_requests_;
  size_t recorded_server_refusals_ = 0;  // mu_: the server's refusals recorded so far
  ToolCatalog catalog_;                  // mu_ (gateway_catalog.h)
  bool upstream_closed_ = false;
  std::string upstream_closed_why_;
  std::string negotiated_version_;
  std::atomic<McpRevision> client_revision_{McpRevision::k2025_11_25};
  // Who initialized the upstream: nobody yet, the gateway (pending, done) or the client.
  enum class UpstreamInit { kNone, kPending, kDone, kClient };
  UpstreamInit upstream_init_ = UpstreamInit::kNone;  // guarded by mu_
  boost::json::object upstream_init_result_;          // the server's initialize result; mu_
  std::atomic<bool> upstream_notified_{false};        // notifications/initialized sent to it
  std::vector<std::string> forward_methods_;          // sorted
  // The upstream's era (an UpstreamEra; atomic: ForUpstream reads it on any thread).
  std::atomic<int> upstream_era_{static_cast<int>(UpstreamEra::kUnknown)};
  bool probing_ = false;  // mu_: a probe is in flight; others wait on probe_cv_
  std::condition_variable probe_cv_;
  ProbeVerdict probe_verdict_;              // mu_
  boost::json::object discover_result_;     // mu_: the modern server's DiscoverResult
  std::atomic<bool> legacy_client_{false};  // the client opened with initialize
  // What a modern server is told of the client (from its initialize). Guarded by meta_mu_
  // (ForUpstream reads them on any thread, perhaps with mu_ held).
  mutable std::mutex meta_mu_;
  boost::json::object client_capabilities_;
  boost::json::value client_info_;
  Subscriptions subscriptions_;  // mu_
  // The tools/call flow, its held calls, open calls, tasks and MRTR states (call_flow.h): no
  // lock of its own, it takes mu_.
  CallFlow calls_;
};

}  // namespace interlock::mcp

#endif  // INTERLOCK_MCP_GATEWAY_H_

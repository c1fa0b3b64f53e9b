// GatewayOptions: what a door hands the MCP Gateway (gateway.h) and its parts (call_flow.h)
// when it makes one, and RehearsalUpstream, the staging server a rehearsal goes to. Read once;
// the Gateway keeps its copy for its life.
#ifndef INTERLOCK_MCP_GATEWAY_OPTIONS_H_
#define INTERLOCK_MCP_GATEWAY_OPTIONS_H_

#include <chrono>
#include <functional>
#include <map>
#include <string>
#include <vector>

#include <boost/json/object.hpp>
#include <boost/json/value.hpp>

#include "core/app/approval_states.h"  // core::RequestStates
#include "core/app/call_span.h"        // telemetry::Sink
#include "interlock/decision.h"
#include "interlock/result.h"
#include "mcp/enforcer.h"
#include "mcp/gateway_catalog.h"
#include "mcp/pins.h"
#include "mcp/revision.h"

namespace interlock::mcp {

// A staging MCP server that rehearsals of `rehearse: {upstream: NAME}` are sent to
// (docs/mcp.md#rehearsal). Implementations: StdioRehearsalUpstream (a child process).
// Thread-safety: any thread; calls may block up to `timeout`.
class RehearsalUpstream {
 public:
  virtual ~RehearsalUpstream() = default;
  // Sends tools/call {name: tool, arguments: args} and returns the server's JSON-RPC
  // response (with "result" or "error"), or an error (timeout, the server died, ...).
  virtual Result<boost::json::object> CallTool(const std::string& tool,
                                               const boost::json::object& args,
                                               std::chrono::milliseconds timeout) = 0;
};

struct GatewayOptions {
  std::string agent_id;
  ToolViewSource* tools = nullptr;   // required
  Enforcer* enforcer = nullptr;      // required
  PinStore* pins = nullptr;          // required
  std::vector<std::string> secrets;  // values masked in everything from the server
  // Methods forwarded beyond the MCP specification's (docs/mcp.md#forwarded-methods), in
  // either direction. A name that LooksLikeToolsCall is never forwarded undecided.
  std::vector<std::string> forward_methods;
  std::chrono::milliseconds catalog_timeout{10000};
  // Staging upstreams by name, for `rehearse: {upstream: NAME}` (not owned), and how long a
  // rehearsal may take before it counts as failed.
  std::map<std::string, RehearsalUpstream*, std::less<>> rehearsal_upstreams;
  std::chrono::milliseconds rehearsal_timeout{30000};
  // Outcome receipts (docs/mcp.md#outcome-receipts): when set, the gateway asks it for a
  // forwarded call's receipts (egress::ReceiptBook::TakeJson) as it records the call's
  // result, and the result carries them (ToolResult::egress_json). Any thread.
  std::function<std::string(const std::string& call_id)> egress_receipts;
  // Upstream credentials (docs/identity.md#upstream-credentials). When set, an allowed
  // tools/call first asks credential_for (on the client's thread; it may block on the
  // identity provider, bounded) for the credential its decision grants, and is then sent
  // with to_server_authorized instead of to_server. An error is a deny
  // CREDENTIAL_UNAVAILABLE: nothing is forwarded and the call's result records why.
  struct ForwardCredential {
    std::string authorization;  // the Authorization header value; "" for none (stdio)
    std::string record_json;    // ToolResult::credential_json
  };
  std::function<Result<ForwardCredential>(const Decision& decision)> credential_for;
  std::function<void(const boost::json::value&, const std::string& authorization)>
      to_server_authorized;
  // Values masked like `secrets`, asked for at each server message: the credentials
  // issued during the session (a server echoing its Authorization header shows nothing).
  std::function<std::vector<std::string>()> more_secrets;
  // Where tools/call spans go (docs/telemetry.md); null: the process's default sink
  // (core::CallSpan).
  telemetry::Sink* telemetry = nullptr;
  // Approvals over MRTR (docs/mcp.md#approvals-over-mrtr): the sealer and replay memory of
  // the requestStates issued to 2026-07-28 clients (not owned; any thread), which the
  // gateway seals and opens through core::ApprovalStates. Null: one per process under a
  // random key made at first use (states do not survive a restart).
  core::RequestStates* request_states = nullptr;
  // The client's stable scope a state names beside its run (core/app/approval_states.h): set by
  // a door whose client outlives a run (the daemon's stateless HTTP sessions: a retry that
  // reaches a restarted daemon or another daemon of the fleet opens in a new run of the
  // same scope). "": a state opens only in the run it was issued in.
  std::string state_scope;
  // How long a retry waits for the reviewers' verdict before it is answered
  // input_required again (below the SDKs' 60 s request timeout), and how long a state
  // issued for reviewers stays good (each answer carries a fresh one).
  std::chrono::milliseconds mrtr_wait{std::chrono::seconds(kDefaultRetryWaitSeconds)};
  std::chrono::milliseconds reviewer_state_ttl{15 * 60 * 1000};
  // Whether OnClientClosed and the destructor withdraw the approvals of states issued and
  // not yet retried (the client is gone for good: stdio, a session). A transport whose
  // gateways do not live as long as their client (stateless HTTP) sets false; those
  // approvals then end at their own timeout.
  bool withdraw_open_states_on_close = true;
  // How long the probe of the upstream's revision (server/discover, upstream_revision.h)
  // waits for an answer before the upstream is taken for a legacy server. 0: no probe, the
  // upstream is legacy (initialize).
  std::chrono::milliseconds discover_timeout{5000};
  // How long a legacy server's question relayed to a 2026-07-28 client as an input_required
  // round (gateway_relay.cc, docs/mcp.md#revisions) waits for the client's retry; then the
  // server is answered with an error and the call's outcome is recorded when it comes.
  std::chrono::milliseconds relay_round_timeout{std::chrono::minutes(10)};
};

}  // namespace interlock::mcp

#endif  // INTERLOCK_MCP_GATEWAY_OPTIONS_H_

// How the MCP gateway reaches the shared core (Enforcer) and what it reports of a call that
// ran (ToolResult). The Gateway (gateway.h) and the parts it is made of (task_table.h, ...)
// use them; the implementations are GuardEnforcer (guard_enforcer.h), DaemonEnforcer
// (daemon_enforcer.h) and, inside the daemon, server::McpEnforcer.
// Thread-safety: ToolResult is a value; an Enforcer is called from any thread.
#ifndef INTERLOCK_MCP_ENFORCER_H_
#define INTERLOCK_MCP_ENFORCER_H_

#include <chrono>
#include <functional>
#include <optional>
#include <string>
#include <string_view>

#include "interlock/decision.h"
#include "interlock/outcome.h"
#include "interlock/result.h"
#include "interlock/tool_call.h"

namespace interlock::mcp {

// What the gateway reports after an allowed call ran (mirrors store::CallResult).
struct ToolResult {
  // A call that did not complete: no output, `why` as the error.
  static ToolResult Failure(std::string why) {
    ToolResult r;
    r.ok = false;
    r.output_json = "null";
    r.error = std::move(why);
    return r;
  }
  bool ok = true;
  // Canonical JSON, the upstreams' secrets masked; whole: the core masks the call's
  // redacted values in it before cutting it (core::ResultJson).
  std::string output_json;
  std::string error;
  // Outcome receipts: the connections the server made during the call (canonical JSON
  // array, GatewayOptions::egress_receipts); empty: none.
  std::string egress_json;
  // The upstream credential the call was forwarded with (GatewayOptions::credential_for:
  // kind, issuer, audience, scopes, subject, fingerprint; never the token), canonical
  // JSON; empty: none.
  std::string credential_json;
};

// How the gateway reaches the shared core. Implementations: GuardEnforcer (standalone,
// the local Guard on the embedded store), DaemonEnforcer (HTTP to a daemon) and, inside
// the daemon, server::McpEnforcer.
// Every method fails closed: an Enforcer that cannot decide returns a deny decision
// (STORE_UNAVAILABLE and the like), never an allow. Thread-safety: any thread.
class Enforcer {
 public:
  struct Outcome {
    Outcome() = default;
    Outcome(Decision d, std::string call) : decision(std::move(d)), call_id(std::move(call)) {}
    Decision decision;
    std::string call_id;  // empty when nothing was recorded
    // The core could not decide (core::GuardResponse::error): the decision is then a deny.
    std::optional<ErrorKind> error;
    // What the answer is (interlock/outcome.h), for the gateway's one mapping of it onto
    // MCP (CallFlow::HandleToolsCall); derived, never stored.
    interlock::Outcome outcome() const { return OutcomeOf(decision, error); }
    // APPROVAL_REQUIRED: the pending approval and its reviewer page (from the core's
    // answer; approval_url is empty where there is no reviewer page).
    std::string approval_id;
    std::string approval_url;
    // APPROVAL_REQUIRED that only the person at the MCP client can answer (standalone
    // `interlock mcp` when the client declared elicitation: GuardEnforcer). The gateway
    // asks them (elicitation/create, docs/mcp.md#approvals-at-the-mcp-client) instead of
    // AwaitApproval, and reports their answer with AnswerAtClient. False everywhere else.
    bool ask_client = false;
    std::chrono::milliseconds time_left{0};  // ask_client: until the approval's timeout
    std::string shown_args_json;             // ask_client: the arguments as audited (redacted)
  };
  // What the person at the MCP client answered (or that nobody did in time).
  struct ClientAnswer {
    enum class Kind { kApprove, kDeny, kTimeout, kRefused } kind = Kind::kDeny;
    std::string comment;  // their comment, or why (decline, cancel, a refused answer)
  };
  virtual ~Enforcer() = default;
  // The MCP client's initialize request declared (or not) the elicitation capability.
  // Only an Enforcer without a reviewer service of its own (GuardEnforcer) uses it.
  virtual void SetClientElicitation(bool supported) { (void)supported; }
  // The answer to an `ask_client` approval, recorded as the local user's verdict through
  // the core's approval path (vote, grant or deny, audit); returns the final outcome
  // (allow after the release, or a deny with the reason). Default: fails closed.
  virtual Outcome AnswerAtClient(const Outcome& pending, const ClientAnswer& answer) {
    (void)answer;
    Outcome out = pending;
    out.decision =
        DenyDecision(Code::kApprovalDenied, "this enforcer cannot take approvals at the MCP client",
                     "mcp.gateway");
    out.decision.tool = pending.decision.tool;
    return out;
  }
  virtual Outcome Decide(ToolCall call) = 0;
  // Blocks until the approval of a call decided APPROVAL_REQUIRED is resolved, or until
  // cancelled() returns true (then returns anything; the gateway drops it). Calls
  // progress() about once a second while waiting.
  virtual Outcome AwaitApproval(const Outcome& pending, const std::function<bool()>& cancelled,
                                const std::function<void()>& progress) = 0;
  virtual Status RecordResult(std::string_view call_id, const ToolResult& result) = 0;
  // The rehearsal of `pending` (decided REHEARSAL_REQUIRED) ran with `result`: the core
  // records it and decides the real call `call` (core::Guard::CompleteRehearsal), answered
  // like Decide (allow, APPROVAL_REQUIRED, or a deny such as REHEARSAL_FAILED).
  // The default fails closed: an Enforcer that cannot report rehearsals denies the call.
  virtual Outcome Rehearsed(const Outcome& pending, ToolCall call, const ToolResult& result) {
    (void)result;
    Decision d = DenyDecision(Code::kRehearsalFailed,
                              "this enforcer cannot report rehearsals, so the call is not run",
                              "mcp.gateway");
    d.tool = call.tool;
    return {std::move(d), pending.call_id};
  }
  // The caller stopped waiting for the approval of `pending` (`reason` says why: the
  // client cancelled, timed out or disconnected): the approval is withdrawn so that no
  // reviewer decides a call nobody waits for. An approval decided meanwhile stays
  // decided (kAlreadyExists). Errors are values; the caller logs them.
  virtual Status Withdraw(const Outcome& pending, std::string_view reason) = 0;
  // The approval of `pending` as it stands now, without waiting (approvals over MRTR,
  // docs/mcp.md#approvals-over-mrtr): a final verdict (allow, the call released on this
  // delivery; or a deny), or APPROVAL_REQUIRED while it is pending, with approval_url set
  // (and, for an approval asked at the client, ask_client, time_left and shown_args_json).
  // The default fails closed: an Enforcer that cannot look denies the call.
  virtual Outcome CheckApproval(const Outcome& pending) {
    Outcome out = pending;
    out.ask_client = false;
    out.decision = DenyDecision(Code::kStoreUnavailable,
                                "this enforcer cannot look up an approval without waiting for it",
                                "mcp.gateway");
    out.decision.tool = pending.decision.tool;
    return out;
  }
  // The run this enforcer decides in ("" when it has none yet): a requestState is bound to it.
  virtual std::string RunId() const { return {}; }
  // Ok when no kill switch covers this enforcer's agent and run now. Asked before a call
  // decided earlier is continued without a new decision (the client's retry of the
  // server's own input_required): a switch engaged meanwhile stops it. kPermissionDenied
  // names the switch; any other error means it could not be looked up. The default
  // fails closed: an enforcer that cannot look continues nothing.
  virtual Status KillSwitchClear() {
    return Error::Unavailable("this enforcer cannot look up the kill switch");
  }
};

}  // namespace interlock::mcp

#endif  // INTERLOCK_MCP_ENFORCER_H_

// DaemonEnforcer: the Enforcer that asks a central `interlock serve` over HTTP/1.1
// (docs/api.md), so approvals, budgets and the audit trail are shared by every front door.
//
//   run:      POST /v1/runs once per session (the agent comes from the token), or an
//             existing run id given by the caller (the Claude Code hook reuses one run per
//             Claude Code session);
//   Decide:   POST /v1/runs/{run}/calls {"tool","args"} -> the decision object, call_id
//             and, for approval_required, approval_id;
//   AwaitApproval: GET /v1/calls/{call_id}?wait=N in a loop until the verdict is final
//             (allow or deny) or the caller cancels;
//   RecordResult: POST /v1/calls/{call_id}/result {"ok","output","error"};
//   Rehearsed: POST /v1/calls/{call_id}/rehearsal {"ok","output","error","args"} -> the
//             decision of the real call (docs/api.md#rehearsals);
//   CheckApproval: GET /v1/calls/{call_id} once, without waiting (approvals over MRTR);
//   Withdraw: POST /v1/approvals/{approval_id}/withdraw {"reason"} (the approval id and
//             its reviewer link come with the APPROVAL_REQUIRED decision);
//   ViewTools (ToolViewSource): POST /v1/tools/view {"tools":[...]} -> the agent's view
//             of each tool (visible, scope), so the gateway needs no local policy.
//
// Fail closed: every failure (daemon unreachable, connect/read timeout, a non-2xx status,
// a body that is not the expected JSON) is a deny with code STORE_UNAVAILABLE and a reason
// naming what went wrong, never an allow; a tool view that cannot be had is an error,
// so the gateway shows no tool. The bearer token is held in memory only and is
// never put into a reason, a log line or an error message.
//
// Transport: the daemon client the composition root hands in (core/app/daemon_channel.h:
// one connection per request, TLS verified, connect and per-request timeouts); this class
// holds no transport of its own.
// Thread-safety: any thread; concurrent calls each use their own connection. The run id
// is guarded by a mutex.
#ifndef INTERLOCK_MCP_DAEMON_ENFORCER_H_
#define INTERLOCK_MCP_DAEMON_ENFORCER_H_

#include <chrono>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <vector>

#include "core/app/daemon_channel.h"
#include "interlock/result.h"
#include "mcp/gateway.h"

namespace interlock::mcp {

// Where the daemon is and how to reach it (core::DaemonAddress: url, ca_file, token,
// user_agent, connect_timeout, and poll_interval, which also paces the approval polls),
// and the enforcer's own waits.
struct DaemonOptions : core::DaemonAddress {
  std::chrono::milliseconds request_timeout{15000};  // whole exchange, added to long polls
  int wait_seconds = 30;                             // long-poll length per GET
};

// The run the daemon started: ids as the daemon answered.
struct DaemonRun {
  std::string run_id;
  std::string agent_id;
};

class DaemonEnforcer final : public Enforcer, public ToolViewSource {
 public:
  // Opens the channel through `connector` (which validates the URL, the token and the CA
  // file: core::DaemonConnector); connects to nothing.
  static Result<std::unique_ptr<DaemonEnforcer>> Create(const core::DaemonConnector& connector,
                                                        DaemonOptions options);
  ~DaemonEnforcer() override;

  // POST /v1/runs: starts a run for the token's agent and uses it from now on. With a
  // Claude Code session id, the daemon's one run of that session instead (joined or started:
  // core::ClaudeCodeRunId), with the session's `cwd` (the workspace of a run started now).
  Result<DaemonRun> StartRun(std::string_view claude_code_session = {}, std::string_view cwd = {});
  // The run in use, started first (StartRun) when none is set yet: one start at a time, so
  // the first tool call and the first egress connection of a session share one run.
  Result<std::string> EnsureRun();
  // Uses an existing run (the hook's run of a Claude Code session).
  void UseRun(std::string run_id);
  std::string run_id() const;
  // POST /v1/runs/{run}/end (best effort at session end).
  Status EndRun();

  // Starts a run first when none is set yet (a failure is a STORE_UNAVAILABLE deny).
  Outcome Decide(ToolCall call) override { return Decide(std::move(call), {}); }
  // Decide, sent with `idempotency_key` as the request's Idempotency-Key (docs/api.md
  // #idempotency; "": none): the same call under the same key is answered the verdict already
  // given, decided and counted once (the Claude Code hook's events of one tool use). A key
  // that is not 1 to 255 printable ASCII characters is not sent.
  Outcome Decide(ToolCall call, std::string_view idempotency_key);
  Outcome AwaitApproval(const Outcome& pending, const std::function<bool()>& cancelled,
                        const std::function<void()>& progress) override;
  Status RecordResult(std::string_view call_id, const ToolResult& result) override;
  Outcome Rehearsed(const Outcome& pending, ToolCall call, const ToolResult& result) override;
  Status Withdraw(const Outcome& pending, std::string_view reason) override;
  // GET /v1/calls/{call_id} without waiting (approvals over MRTR).
  Outcome CheckApproval(const Outcome& pending) override;
  std::string RunId() const override { return run_id(); }
  // GET /v1/runs/{run_id}: its "kill_switch" (null when none covers the run).
  Status KillSwitchClear() override;
  Result<View> ViewTools(const std::vector<std::string>& tools) override;

  // One HTTP exchange over the channel (core::DaemonChannel::Exchange), public for the hook
  // and tests: status and body of the reply, or an error (unreachable, timeout, cancelled
  // by keep_going() returning false).
  using Reply = core::DaemonReply;
  // The Outcome of a reply that holds a decision (POST .../calls, POST .../rehearsal).
  Outcome DecisionOutcome(const std::string& tool, const Result<Reply>& r);
  // `traceparent`: the caller's W3C trace context, sent as the header of that name.
  Result<Reply> Exchange(std::string_view method, std::string_view target, std::string body,
                         std::chrono::milliseconds timeout,
                         const std::function<bool()>& keep_going = {},
                         std::string_view traceparent = {},
                         std::string_view idempotency_key = {}) const {
    return channel_->Exchange(method, target, std::move(body), timeout, keep_going, traceparent,
                              idempotency_key);
  }
  // The daemon client this enforcer asks through (the egress decider of the same session
  // shares it).
  const core::DaemonChannel& channel() const { return *channel_; }

 private:
  DaemonEnforcer(DaemonOptions options, std::unique_ptr<core::DaemonChannel> channel);

  Decision Unavailable(std::string_view tool, const std::string& what) const;

  const DaemonOptions options_;
  const std::unique_ptr<core::DaemonChannel> channel_;
  std::mutex start_mu_;  // one lazy StartRun at a time
  mutable std::mutex mu_;
  std::string run_id_;
};

// The enforcer of `--daemon URL --token-env NAME` over `connector`'s client: the token is
// read from the environment variable NAME (never from argv). Errors name the flag or
// variable, never the token.
Result<std::unique_ptr<DaemonEnforcer>> DaemonEnforcerFromEnv(
    const core::DaemonConnector& connector, const std::string& url, const std::string& token_env,
    const std::string& ca_file = "");

}  // namespace interlock::mcp

#endif  // INTERLOCK_MCP_DAEMON_ENFORCER_H_

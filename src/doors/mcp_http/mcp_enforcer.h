// McpEnforcer: the Enforcer of the daemon's MCP sessions (src/doors/mcp_http/mcp_http.h). It
// decides through the daemon's own core::Guard on the daemon's store, in the run of its
// session, so approvals, budgets, kill switches and the audit trail are the same for
// /mcp/* as for /v1/* (no HTTP call to itself).
//
// APPROVAL_REQUIRED is awaited on the daemon's approval queue: the waiter registers with
// the Api's CallWaiters (woken when a reviewer's vote settles the approval or the sweeper
// times it out) and re-reads the call from the store; it also re-reads at least once per
// progress interval, calling progress() each time. Fail closed: a store error while
// deciding is the Guard's STORE_UNAVAILABLE deny; a store error or a shutdown while waiting
// is a STORE_UNAVAILABLE deny, never an allow. A call needing approval carries the
// approval id and its reviewer page's link (`approval_url`, the Api's ApprovalUrl);
// Withdraw withdraws the approval on the store and wakes its long polls.
// Thread-safety: any thread. Does not own its collaborators; they must outlive it.
#ifndef INTERLOCK_DOORS_MCP_HTTP_MCP_ENFORCER_H_
#define INTERLOCK_DOORS_MCP_HTTP_MCP_ENFORCER_H_

#include <chrono>
#include <functional>
#include <string>
#include <string_view>

#include "common/time.h"
#include "core/app/call_waiters.h"
#include "core/app/calls.h"
#include "core/app/drills.h"
#include "core/guard.h"
#include "mcp/gateway.h"

namespace interlock::server {

class McpEnforcer final : public mcp::Enforcer {
 public:
  // The reviewer page's link for an approval id ("" when there is none).
  using ApprovalUrlFn = std::function<std::string(std::string_view approval_id)>;

  McpEnforcer(core::Guard* guard, core::Calls* calls, core::CallWaiters* waiters,
              std::string agent_id, std::string principal, std::string run_id,
              std::chrono::milliseconds progress_interval = std::chrono::seconds(1),
              ApprovalUrlFn approval_url = {})
      : guard_(guard),
        calls_(calls),
        waiters_(waiters),
        agent_id_(std::move(agent_id)),
        principal_(std::move(principal)),
        run_id_(std::move(run_id)),
        progress_interval_(progress_interval),
        approval_url_(std::move(approval_url)) {}

  Outcome Decide(ToolCall call) override;
  Outcome AwaitApproval(const Outcome& pending, const std::function<bool()>& cancelled,
                        const std::function<void()>& progress) override;
  Status RecordResult(std::string_view call_id, const mcp::ToolResult& result) override;
  Outcome Rehearsed(const Outcome& pending, ToolCall call, const mcp::ToolResult& result) override;
  Status Withdraw(const Outcome& pending, std::string_view reason) override;
  // The call as the store holds it, released when granted (approvals over MRTR).
  Outcome CheckApproval(const Outcome& pending) override;
  Status KillSwitchClear() override { return calls_->KillSwitchClear(agent_id_, run_id_); }
  std::string RunId() const override { return run_id_; }

  const std::string& run_id() const { return run_id_; }
  // The verified JWT / OAuth identity behind the session (docs/identity.md): recorded in
  // every decision's audit record. Call before the first Decide.
  void SetIdentity(core::CallerIdentity identity) { identity_ = std::move(identity); }

 private:
  Decision Unavailable(const std::string& tool, const std::string& why) const;
  // The core's answer as the gateway reads it: a pending approval with its id and page.
  Outcome AnswerOf(core::GuardResponse r) const;

  core::Guard* guard_;
  core::Calls* calls_;  // runs and results; calls_->approvals(): release and withdrawal
  core::CallWaiters* waiters_;
  const std::string agent_id_;
  const std::string principal_;
  const std::string run_id_;
  const std::chrono::milliseconds progress_interval_;
  const ApprovalUrlFn approval_url_;
  core::CallerIdentity identity_;  // empty issuer: an Interlock token
};

// The kill-switch drill's probe of /mcp/{upstream} (docs/drill.md): the decision step a
// session's tools/call takes (an McpEnforcer of the drill agent, in a run of its own, as a
// session's Setup starts one), so a drill never starts an upstream server or fetches its
// credential. The answer is the decision's code. Collaborators must outlive it.
class McpDrillProbe final : public core::DrillProbe {
 public:
  McpDrillProbe(core::Guard* guard, core::Store* store, const core::PolicySource* policies,
                const Clock* clock, core::CallWaiters* waiters)
      : guard_(guard), calls_(store, policies, clock), waiters_(waiters) {}
  std::string door() const override { return "mcp"; }
  core::DoorAnswer Probe(const core::DrillTarget& target) override;

 private:
  core::Guard* guard_;
  core::Calls calls_;
  core::CallWaiters* waiters_;
};

}  // namespace interlock::server

#endif  // INTERLOCK_DOORS_MCP_HTTP_MCP_ENFORCER_H_

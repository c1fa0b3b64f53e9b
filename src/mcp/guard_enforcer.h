// GuardEnforcer: the standalone Enforcer. Decides through the local core::Guard on the
// embedded store, in one run created for the gateway session.
//
// There is no approval service and no reviewer page in standalone mode (the approval
// queue lives in the daemon). A call that needs approval:
//   - when the MCP client declared the elicitation capability (SetClientElicitation) and
//     one approver suffices: stays pending and is answered `ask_client`; the gateway asks
//     the person at the client and AnswerAtClient records their answer as a vote of the
//     local user (reviewer name LocalReviewerName(): "local:<OS user>") through the
//     core's one "answer at the client" use case (core::Approvals::AnswerAsLocalUser: the
//     self-approval rule applies), which releases the call or answers the deny. No answer
//     by the approval's deadline: timed out (Approvals::ExpireOverdue, APPROVAL_TIMEOUT),
//     else withdrawn;
//   - when the policy needs two or more approvers: denied (one person at one prompt must
//     not stand in for two), the approval withdrawn;
//   - without elicitation: denied with a reason telling the operator to run the gateway
//     with --daemon (kNoApprovalServiceReason); the approval withdrawn.
// So no approval is ever left pending for nobody.
//
// Decide waits for the decision's audit record to be durable (no audit, no action).
// RecordResult does not wait for the result's record: it queues the write on the store's
// writer (core::Calls::RecordResultAsync), so it commits in order, before any later decision of
// this session, and the gateway answers the client without a second commit (an fsync with
// durability full) on its path; the writer holds it up to 5 ms so that it shares the next
// decision's commit instead of delaying it. It returns Ok once queued. A write that then fails is
// logged to stderr and counted (failed_results()); a process killed before the queued
// write commits loses that result record (the decision record stays). Destroying the
// store drains the queue, so a clean exit writes every result.
// Reaches the store only through the core's facades (core/app/: Calls, Approvals), built
// over the store it is given and the Guard's policies.
// Thread-safety: any thread (the Guard and the store are thread-safe). Does not own the
// Guard or the store; they must outlive it.
#ifndef INTERLOCK_MCP_GUARD_ENFORCER_H_
#define INTERLOCK_MCP_GUARD_ENFORCER_H_

#include <atomic>
#include <cstdint>
#include <memory>
#include <string>

#include "core/app/approvals.h"
#include "core/app/calls.h"
#include "core/guard.h"
#include "mcp/gateway.h"

namespace interlock::mcp {

inline constexpr char kNoApprovalServiceReason[] =
    "approval required; standalone interlock mcp has no approval service and no reviewer "
    "page, and the MCP client did not declare the elicitation capability to ask its user, so "
    "the call is denied (run `interlock mcp --daemon URL --token-env NAME` for reviewers to "
    "approve it; see docs/mcp.md#approvals)";

// "local:" + the OS user this process runs as (or "local:uid-N"): the reviewer an answer
// given at the MCP client is recorded under.
std::string LocalReviewerName();

class GuardEnforcer final : public Enforcer {
 public:
  GuardEnforcer(core::Guard* guard, core::Store* store, const Clock* clock, std::string agent_id,
                std::string run_id)
      : guard_(guard),
        clock_(clock),
        calls_(store, guard->policy_source(), clock),
        agent_id_(std::move(agent_id)),
        run_id_(std::move(run_id)),
        reviewer_(LocalReviewerName()) {}

  Outcome Decide(ToolCall call) override;
  Outcome AwaitApproval(const Outcome& pending, const std::function<bool()>& cancelled,
                        const std::function<void()>& progress) override;
  Status RecordResult(std::string_view call_id, const ToolResult& result) override;
  Outcome Rehearsed(const Outcome& pending, ToolCall call, const ToolResult& result) override;
  Status Withdraw(const Outcome& pending, std::string_view reason) override;
  void SetClientElicitation(bool supported) override { client_elicitation_ = supported; }
  Outcome AnswerAtClient(const Outcome& pending, const ClientAnswer& answer) override;
  // An `ask_client` approval as it stands (approvals over MRTR): still pending (ask_client,
  // time_left, shown_args_json refreshed), timed out once past its deadline, or released.
  Outcome CheckApproval(const Outcome& pending) override;
  Status KillSwitchClear() override;
  std::string RunId() const override { return run_id_; }

  // The reviewer name answers at the MCP client are recorded under (tests).
  void set_local_reviewer(std::string name) { reviewer_ = std::move(name); }

  // Results whose queued write failed after RecordResult returned.
  uint64_t failed_results() const { return failed_results_->load(); }

 private:
  // APPROVAL_REQUIRED becomes `ask_client` or a deny (header comment).
  Outcome Answer(core::GuardResponse r, const std::string& tool);
  // `pending` answered with a deny of `code` for `reason` (rule "approval"), no longer
  // asking the client.
  Outcome DenyApproval(const Outcome& pending, Code code, std::string reason) const;
  // Withdraws the approval of `out` and turns it into a deny with `reason`.
  void DenyPending(Outcome& out, const std::string& tool, Code code, const std::string& reason);
  core::Approvals& approvals() { return calls_.approvals(); }
  core::Guard* guard_;
  const Clock* clock_;
  core::Calls calls_;  // results, kill switches; approvals(): withdraw, answer at the client
  std::string agent_id_;
  std::string run_id_;
  std::string reviewer_;
  std::atomic<bool> client_elicitation_{false};
  // Shared with pending callbacks, which may run after this enforcer is gone.
  std::shared_ptr<std::atomic<uint64_t>> failed_results_ =
      std::make_shared<std::atomic<uint64_t>>(0);
};

}  // namespace interlock::mcp

#endif  // INTERLOCK_MCP_GUARD_ENFORCER_H_

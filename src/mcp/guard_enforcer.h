// GuardEnforcer: the standalone Enforcer. Decides through the local core::Guard on the
// embedded store, in one run created for the gateway session.
//
// There is no approval service and no reviewer page in standalone mode (the approval
// queue lives in the daemon), so a call that needs approval is denied (fail closed) with a
// reason saying so and telling the operator to run the gateway with --daemon; the pending
// approval the store created for it is withdrawn at once, so none is left in the queue.
//
// Decide waits for the decision's audit record to be durable (no audit, no action).
// RecordResult does not wait for the result's record: it queues the write on the store's
// writer (Store::RecordResultAsync), so it commits in order, before any later decision of
// this session, and the gateway answers the client without a second commit (an fsync with
// durability full) on its path; the writer holds it up to 5 ms so that it shares the next
// decision's commit instead of delaying it. It returns Ok once queued. A write that then fails is
// logged to stderr and counted (failed_results()); a process killed before the queued
// write commits loses that result record (the decision record stays). Destroying the
// store drains the queue, so a clean exit writes every result.
// Thread-safety: any thread (the Guard and the store are thread-safe). Does not own the
// Guard or the store; they must outlive it.
#ifndef INTERLOCK_MCP_GUARD_ENFORCER_H_
#define INTERLOCK_MCP_GUARD_ENFORCER_H_

#include <atomic>
#include <cstdint>
#include <memory>
#include <string>

#include "core/guard.h"
#include "mcp/gateway.h"
#include "store/store.h"

namespace interlock::mcp {

inline constexpr char kNoApprovalServiceReason[] =
    "approval required; standalone interlock mcp has no approval service and no reviewer "
    "page, so the call is denied (run with --daemon URL for human approval)";

class GuardEnforcer final : public Enforcer {
 public:
  GuardEnforcer(core::Guard* guard, store::Store* store, const Clock* clock, std::string agent_id,
                std::string run_id)
      : guard_(guard),
        store_(store),
        clock_(clock),
        agent_id_(std::move(agent_id)),
        run_id_(std::move(run_id)) {}

  Outcome Decide(ToolCall call) override;
  Outcome AwaitApproval(const Outcome& pending, const std::function<bool()>& cancelled,
                        const std::function<void()>& progress) override;
  Status RecordResult(std::string_view call_id, const ToolResult& result) override;
  Outcome Rehearsed(const Outcome& pending, ToolCall call, const ToolResult& result) override;
  Status Withdraw(const Outcome& pending, std::string_view reason) override;

  // Results whose queued write failed after RecordResult returned.
  uint64_t failed_results() const { return failed_results_->load(); }

 private:
  // APPROVAL_REQUIRED becomes a deny here (no approval service); its approval is withdrawn.
  Outcome Answer(core::GuardResponse r, const std::string& tool);
  core::Guard* guard_;
  store::Store* store_;
  const Clock* clock_;
  std::string agent_id_;
  std::string run_id_;
  // Shared with pending callbacks, which may run after this enforcer is gone.
  std::shared_ptr<std::atomic<uint64_t>> failed_results_ =
      std::make_shared<std::atomic<uint64_t>>(0);
};

}  // namespace interlock::mcp

#endif  // INTERLOCK_MCP_GUARD_ENFORCER_H_

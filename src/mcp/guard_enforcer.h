// GuardEnforcer: the standalone Enforcer. Decides through the local core::Guard on the
// embedded store, in one run created for the gateway session.
//
// There is no approval service in standalone mode (the approval queue lives in the
// daemon), so a call that needs approval is denied (fail closed) with a reason telling the
// operator to run the gateway with --daemon.
// Thread-safety: any thread (the Guard and the store are thread-safe). Does not own the
// Guard or the store; they must outlive it.
#ifndef INTERLOCK_MCP_GUARD_ENFORCER_H_
#define INTERLOCK_MCP_GUARD_ENFORCER_H_

#include <string>

#include "core/guard.h"
#include "mcp/gateway.h"
#include "store/store.h"

namespace interlock::mcp {

inline constexpr char kNoApprovalServiceReason[] =
    "approval required; no approval service in standalone mode, run with --daemon";

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

 private:
  core::Guard* guard_;
  store::Store* store_;
  const Clock* clock_;
  std::string agent_id_;
  std::string run_id_;
};

}  // namespace interlock::mcp

#endif  // INTERLOCK_MCP_GUARD_ENFORCER_H_

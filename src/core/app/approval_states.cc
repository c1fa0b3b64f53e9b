#include "core/app/approval_states.h"

#include <memory>
#include <utility>

#include "common/time.h"
#include "core/request_state.h"

namespace interlock::core {
namespace {

RequestStates* ProcessStates() {
  // One per process, under a key of 32 random bytes made at the first use: every door of
  // the process (each MCP session of a daemon) opens the others' states, still bound to the
  // agent and run; none survives a restart.
  static SystemClock clock;
  static const std::unique_ptr<RequestStates> shared = RequestStates::WithRandomKey(&clock);
  return shared.get();
}

}  // namespace

ApprovalStates::ApprovalStates(RequestStates* states)
    : states_(states != nullptr ? states : ProcessStates()) {}

bool ApprovalStates::IsOurs(std::string_view state) {
  return state.starts_with(kRequestStatePrefix);
}

std::string ApprovalStates::Seal(const Holder& holder, std::string_view tool,
                                 const boost::json::object& args, const HeldApproval& held,
                                 std::chrono::milliseconds ttl) const {
  RequestStateClaims claims;
  claims.agent_id = holder.agent_id;
  claims.run_id = holder.run_id;
  claims.args_digest = ArgumentsDigest(tool, args);
  claims.call_id = held.call_id;
  claims.approval_id = held.approval_id;
  claims.answerer = held.ask_client ? StateAnswerer::kLocalPerson : StateAnswerer::kReviewers;
  claims.scope = holder.scope;
  return states_->SealFor(std::move(claims), ttl);
}

Result<ApprovalStates::HeldApproval> ApprovalStates::Open(std::string_view state,
                                                          const Holder& holder,
                                                          std::string_view tool,
                                                          const boost::json::object& args) const {
  const RequestStateBinding binding{holder.agent_id, holder.run_id, ArgumentsDigest(tool, args),
                                    holder.scope};
  Result<RequestStateClaims> claims = states_->Open(state, binding);
  if (!claims.ok()) return claims.error();
  HeldApproval held;
  held.call_id = std::move(claims->call_id);
  held.approval_id = std::move(claims->approval_id);
  held.ask_client = claims->answerer == StateAnswerer::kLocalPerson;
  return held;
}

}  // namespace interlock::core

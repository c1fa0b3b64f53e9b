#include "approval/unheard.h"

#include <utility>

namespace interlock::approval {

Result<std::optional<core::Approval>> WithdrawUnheard(core::Store& store, std::string_view call_id,
                                                      std::string_view agent_id,
                                                      std::string_view principal, TimePoint now) {
  Result<core::Approval> a = store.WithdrawApproval(core::ApprovalIdForCall(call_id), agent_id,
                                                    principal, kUnheardReason, now);
  if (a.ok()) return std::optional<core::Approval>(std::move(a).value());
  // Decided meanwhile (kAlreadyExists) or never queued (kNotFound): the answer the client
  // missed is not the call's last word any more, or there is nothing to collect.
  if (a.error().kind == ErrorKind::kAlreadyExists || a.error().kind == ErrorKind::kNotFound) {
    return std::optional<core::Approval>();
  }
  return a.error();
}

}  // namespace interlock::approval

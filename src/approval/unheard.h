// WithdrawUnheard: the approval of a call whose asker can no longer hear the answer.
//
// A front door that queued an approval and then could not deliver the answer naming it
// (the client closed its connection before the decision was written: a Ctrl-C, a killed
// process) reports it here; nobody holds the approval id, so nobody would ever poll,
// re-submit or withdraw it, and it would sit in the reviewers' queue until its deadline
// for a call no one runs. This is the one place that decides what then happens, for
// every door: the approval is withdrawn in the name of the agent that made the call (and
// the principal it was decided under, which alone may withdraw it)
// (Store::WithdrawApproval: the call becomes deny/APPROVAL_DENIED, an "approval" audit
// record, event "withdrawn", with kUnheardReason as the comment, long polls wake). An
// approval that is no longer pending (decided meanwhile by a reviewer, the sweeper or a
// kill switch) is left as it is.
//
// Thread-safety: as the store's (any thread); blocks on the store: call it off the
// network threads.
#ifndef INTERLOCK_APPROVAL_UNHEARD_H_
#define INTERLOCK_APPROVAL_UNHEARD_H_

#include <optional>
#include <string_view>

#include "common/time.h"
#include "core/ports/store.h"
#include "interlock/result.h"

namespace interlock::approval {

inline constexpr std::string_view kUnheardReason =
    "the client closed its connection before the decision was written";

// Withdraws the pending approval of `call_id` (made by `agent_id`). nullopt: nothing to
// withdraw (no approval, or no longer pending). Errors: the store's (kUnavailable...).
Result<std::optional<core::Approval>> WithdrawUnheard(core::Store& store, std::string_view call_id,
                                                      std::string_view agent_id,
                                                      std::string_view principal, TimePoint now);

}  // namespace interlock::approval

#endif  // INTERLOCK_APPROVAL_UNHEARD_H_

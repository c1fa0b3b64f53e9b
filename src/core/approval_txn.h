// The approval operations, as transaction functions over the StateTxn port and its
// ApprovalRows (docs/design.md#state-port). Written once for every backend: a backend
// opens its transaction, hands one of these a StateTxn, and commits what it wrote (rows
// and audit events together) or nothing. The rules they apply are core/approval_rules.h;
// here is their order: what is read, what is checked, what is written, which audit record
// each change makes.
//
// Like DecideInTxn they check before they write and save the run row last
// (StateTxn::SaveRun), so a backend may run one again after a rollback; a function writes
// its outputs (`out`) from scratch each time.
#ifndef INTERLOCK_CORE_APPROVAL_TXN_H_
#define INTERLOCK_CORE_APPROVAL_TXN_H_

#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "audit/redact.h"
#include "core/approval_rules.h"
#include "core/ports/approvals.h"
#include "core/ports/run_store.h"
#include "core/ports/state_txn.h"
#include "engine/engine.h"
#include "interlock/result.h"

namespace interlock::core {

// --- inside a decision (DecideInTxn) ------------------------------------------------------

// One approval, one execution: the approval rq.call.approval_id names, when it may redeem
// `rq` (Resubmission::original_call_id), or why not (refusal). Both empty without one.
Result<Resubmission> FindResubmissionInTxn(StateTxn& txn, const DecideRequest& rq);

// For a call the engine decided APPROVAL_REQUIRED: the call id of an identical call (same
// run, agent, principal as a person, tool and canonical arguments) whose approval is still
// pending, or "" when there is none. The retry attaches to it instead of queueing another.
Result<std::string> PendingTwinInTxn(StateTxn& txn, const DecideRequest& rq);

// The verdict an identical retry gets (docs/approvals.md, "An identical call retried"), for
// a call the engine decided APPROVAL_REQUIRED that has no pending twin: the latest approval
// of an identical call (same run, agent, principal as a person, tool and canonical
// arguments) decided within its own timeout (Approval::timeout_seconds after its verdict,
// at most 7 days).
// A grant not yet released, of the arguments as sent (not a reviewer's edit): `call_id`
// with `redeem` (the retry releases it: one approval, one execution). A reviewer's deny:
// `call_id` without `redeem` (the retry is answered that deny). Anything else (a grant
// already released or edited, a timeout, a withdrawal, a cancellation, none within its
// timeout): empty `call_id`, the retry needs an approval of its own.
struct TwinVerdict {
  std::string call_id;
  bool redeem = false;
};
Result<TwinVerdict> DecidedTwinInTxn(StateTxn& txn, const DecideRequest& rq);

// After the call row is written: the pending approval of an APPROVAL_REQUIRED call (and
// its "requested" record). Nothing for any other decision.
Status AfterDecideInTxn(StateTxn& txn, const DecideRequest& rq, const std::string& call_id,
                        const engine::Evaluation& ev);

// The pending approval a decision creates, and the plan of its deadlines. nullopt unless
// the decision is APPROVAL_REQUIRED.
struct NewApproval {
  Approval approval;
  ApprovalPlan plan;
};
std::optional<NewApproval> ApprovalForDecision(const DecideRequest& rq, const std::string& call_id,
                                               const engine::Evaluation& ev,
                                               int default_timeout_seconds, int max_wait_seconds);

// --- the operations of core::ApprovalStore --------------------------------------------------

// The first delivery of an approved call's allow: when call_id's approval is granted and
// not yet released, either marks it released (an approval "released" record; the call
// proceeds now: *released_now) or, if a kill switch covers the call or its run is halted
// or ended (ctx), cancels it: the call's decision becomes deny KILL_SWITCH / RUN_HALTED and
// an approval "cancelled" record says why. An approval is released once: a second
// delivery (another read, an identical call attached to it) finds it used and releases
// nothing. No-op for any other call.
Status ReleaseInTxn(StateTxn& txn, const std::string& call_id, const ReleaseContext& ctx,
                    bool* released_now);

// A reviewer's vote (core::PlanVote): the vote row, and when it decides the approval the
// approval's state, the call's decision, the records the call consumes and a grant for the
// rest of the run (the run row, saved last). `redactor`: the audit key's, for an edit's
// arguments in the grant's record (an edit without one fails closed).
Status VoteInTxn(StateTxn& txn, const VoteRequest& rq, const audit::Redactor* redactor,
                 VoteOutcome* out);

// Withdrawal by the agent that made the call (core::CheckWithdraw). A refusal to another
// identity of the approval's agent is recorded (its record appended) and answered through
// *refused with Ok, so the backend commits the record; the caller answers the refusal.
Status WithdrawInTxn(StateTxn& txn, std::string_view approval_id, std::string_view agent_id,
                     std::string_view principal, std::string_view reason, TimePoint now,
                     Approval* out, std::optional<Error>* refused);

// The sweep: cancels the pending approvals covered by an engaged kill switch, then times
// out or escalates those whose deadline is at or before `now` (core::OnDeadline).
Status ExpireInTxn(StateTxn& txn, TimePoint now, std::vector<ApprovalChange>* out);

// A kill switch engaged in this transaction cancels every pending approval in its scope
// ("global" | "agent" | "run") at once (deny APPROVAL_DENIED, "cancelled" records).
Status CancelForKillInTxn(StateTxn& txn, const KillEntry& kill, TimePoint now,
                          std::vector<ApprovalChange>* out = nullptr);

}  // namespace interlock::core

#endif  // INTERLOCK_CORE_APPROVAL_TXN_H_

// The rules of a decision, as a transaction function over the StateTxn port.
//
// Every backend's RunStore::Decide runs DecideInTxn inside its atomic unit; the rules
// live here once (docs/design.md#state-port): run ownership, ended runs, usage and
// elapsed time, the kill switch, one approval one execution (a re-submission answers
// with the approved call, a retry of a pending call attaches to it), the effects of the
// evaluation, the call row, and the audit events the decision makes (decision, run
// halted, escalations, approval requested).
#ifndef INTERLOCK_CORE_DECIDE_TXN_H_
#define INTERLOCK_CORE_DECIDE_TXN_H_

#include <functional>
#include <string>
#include <vector>

#include "audit/redact.h"
#include "core/ports/run_store.h"
#include "core/ports/state_txn.h"
#include "engine/engine.h"

namespace interlock::core {

// Runs one decision in `txn`. Writes nothing before its checks pass, and saves the run
// row last (StateTxn::SaveRun), so a backend may run it again after a rollback. On
// success *rec is the record as stored; on failure the backend rolls the transaction
// back (nothing of it stays). `owned`: the request itself (&rq), when the caller gives
// it up (RunStore::DecideInto): its strings move into the record instead of being copied,
// once nothing can fail any more.
Status DecideInTxn(StateTxn& txn, const audit::Redactor& redactor, const DecideRequest& rq,
                   const DecideFn& decide, CallRecord* rec, DecideRequest* owned = nullptr);

// The release of an approved call (it proceeds now): applies what it adds to the run's
// sequence state (engine::ProceedEffects: labels, a transition `on: allowed`) to *state
// and counts it for the agent's rate limit and day quota. `agent` null: nothing. The
// caller saves the run. `call` is the call as recorded: its labels declared by the tool
// (MCP annotations) come back from its decision (Decision::declared_labels).
Status ApplyRelease(StateTxn& txn, const policy::AgentPolicy* agent, const CallRecord& call,
                    std::string_view agent_id, TimePoint now, RunState* state);

// The store's ReleaseCall, before its transaction (both backends): Denied for another
// agent's call, and for a call recorded under another principal than `principal` (the
// reader's, as its decisions record it; compared as IdentityRefusal compares an approval
// redemption's: an agent acting for mallory neither collects nor releases the call an
// approval was granted for for alice, issue 31); false when the call is answered as
// stored (only an approved call has a release), true when the writer must release it (and
// re-read everything in its transaction).
Result<bool> NeedsRelease(const CallRecord& call, std::string_view agent_id,
                          std::string_view principal);

// The audit record of a release NeedsRelease refused to another identity of the call's
// agent, when the call was sent for approval (`approval_id`, pending or granted): an
// "approval" record with event "release_refused", code IDENTITY_MISMATCH and the reason,
// under the refused principal, as the decide path records an approval redemption by
// another identity. nullopt for another agent's read or a call without an approval.
std::optional<audit::AuditEvent> RefusedReleaseRecord(const CallRecord& call,
                                                      std::string_view approval_id,
                                                      std::string_view agent_id,
                                                      std::string_view principal, TimePoint now);

// The store's ReleaseCall on the stored `call`, before its transaction, written once for
// every backend: NeedsRelease, and when it refuses another identity of the call's agent a
// call sent for approval, the refusal's record (RefusedReleaseRecord) appended first
// through `append` (the backend's own AppendRecords). Refused whether or not that record
// lands; an append that fails is the error returned. Exact before the transaction: the
// agent and principal a call is recorded under never change.
using AppendRecordsFn = std::function<Status(std::vector<audit::AuditEvent>)>;
Result<bool> CheckReleaseRead(const CallRecord& call, std::string_view agent_id,
                              std::string_view principal, TimePoint now,
                              const AppendRecordsFn& append);

// Turns an evaluation that is not already a deny into deny/APPROVAL_DENIED with
// `refusal` (no-op when it is empty): an approval that does not fit the call.
void RefuseApproval(const std::string& refusal, engine::Evaluation* ev);

}  // namespace interlock::core

#endif  // INTERLOCK_CORE_DECIDE_TXN_H_

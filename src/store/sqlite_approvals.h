// Approvals in the SQLite store: schema and the hooks SqliteStore's decide and kill
// switch steps call inside their transaction (internal to src/store).
//
// Every function here runs on the store's writer thread inside the open batch
// transaction (and the operation's savepoint); events it appends are committed with it.
#ifndef INTERLOCK_STORE_SQLITE_APPROVALS_H_
#define INTERLOCK_STORE_SQLITE_APPROVALS_H_

#include <optional>
#include <string>
#include <vector>

#include "audit/audit_log.h"
#include "core/ports/state_txn.h"
#include "core/ports/store.h"
#include "core/run_store.h"
#include "engine/engine.h"
#include "store/store_options.h"

struct sqlite3;

namespace interlock::store::internal {

// Schema migration 2 (additive): the approval queue and its votes.
inline constexpr const char* kApprovalsSchema =
    "CREATE TABLE approvals ("
    "  approval_id TEXT PRIMARY KEY,"
    "  call_id TEXT NOT NULL UNIQUE,"
    "  run_id TEXT NOT NULL,"
    "  agent_id TEXT NOT NULL,"
    "  principal TEXT NOT NULL,"
    "  tool TEXT NOT NULL,"
    "  args_sha256 TEXT NOT NULL,"
    "  required INTEGER NOT NULL,"
    "  state TEXT NOT NULL,"
    "  created_ms BIGINT NOT NULL,"
    "  deadline_ms BIGINT NOT NULL,"
    "  hard_deadline_ms BIGINT NOT NULL,"
    "  escalation_level INTEGER NOT NULL DEFAULT 0,"
    "  decided_ms BIGINT NULL,"
    "  timeout_s INTEGER NOT NULL,"
    "  auto_deny INTEGER NOT NULL,"
    "  records BIGINT NOT NULL DEFAULT 0,"
    "  reason TEXT NOT NULL DEFAULT '',"
    "  used_ms BIGINT NULL,"
    "  used_call_id TEXT NULL);"
    "CREATE INDEX approvals_state ON approvals(state, deadline_ms);"
    "CREATE INDEX approvals_decided ON approvals(decided_ms);"
    "CREATE TABLE approval_votes ("
    "  approval_id TEXT NOT NULL REFERENCES approvals(approval_id),"
    "  reviewer TEXT NOT NULL,"
    "  verdict TEXT NOT NULL,"
    "  comment TEXT NOT NULL,"
    "  time_ms BIGINT NOT NULL,"
    "  PRIMARY KEY (approval_id, reviewer));";

// One approval, one execution (docs/approvals.md): see core::Resubmission.
using Resubmission = core::Resubmission;
Result<Resubmission> ApprovalResubmission(sqlite3* db, const core::DecideRequest& rq);

// For a call the engine decided APPROVAL_REQUIRED: the call id of an identical call (same
// run, agent, principal as a person, tool and canonical arguments) whose approval is still
// pending, or "" when there is none. The retry attaches to it instead of queueing another.
Result<std::string> ApprovalPendingTwin(sqlite3* db, const core::DecideRequest& rq);

// What the release of a granted call checks, read in the same transaction.
using ReleaseContext = core::ReleaseContext;

// The first delivery of an approved call's allow (Store::ReleaseCall): when call_id's
// approval is granted and not yet released, either marks it released (used_ms, an
// approval "released" event) or, if a kill switch covers the call or its run is halted
// or ended, cancels it: the call's decision becomes deny KILL_SWITCH / RUN_HALTED and an
// approval "cancelled" event records why. No-op for any other call.
// *released_now (may be null): set when this call marked it released (the call proceeds).
Status ApprovalRelease(sqlite3* db, const std::string& call_id, const ReleaseContext& ctx,
                       std::vector<audit::AuditEvent>* events, bool* released_now = nullptr);

// After the call row is written: creates the pending approval (and its "requested"
// audit event) when the decision is APPROVAL_REQUIRED.
Status ApprovalAfterDecide(sqlite3* db, const StoreOptions& options, const core::DecideRequest& rq,
                           const std::string& call_id, const engine::Evaluation& ev,
                           std::vector<audit::AuditEvent>* events);

// After a kill switch row is written: an engaged switch cancels (denies, APPROVAL_DENIED)
// every pending approval in its scope at once.
Status ApprovalOnKill(sqlite3* db, const core::KillEntry& entry,
                      std::vector<audit::AuditEvent>* events);

}  // namespace interlock::store::internal

#endif  // INTERLOCK_STORE_SQLITE_APPROVALS_H_

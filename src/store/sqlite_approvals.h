// Approvals in the SQLite store: schema and the hooks SqliteStore's decide and kill
// switch steps call inside their transaction (internal to src/store).
//
// Every function here runs on the store's writer thread inside the open batch
// transaction (and the operation's savepoint); events it appends are committed with it.
#ifndef INTERLOCK_STORE_SQLITE_APPROVALS_H_
#define INTERLOCK_STORE_SQLITE_APPROVALS_H_

#include <string>
#include <vector>

#include "audit/audit_log.h"
#include "core/run_store.h"
#include "engine/engine.h"
#include "store/store.h"

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

// Right after the engine returned: when the call carries an approval_id, checks that
// the approval is granted, unused and bound to this agent, run, tool and arguments.
// Valid: an APPROVAL_REQUIRED evaluation becomes allow/ALLOWED (rule "approval").
// Invalid: deny APPROVAL_DENIED with the reason. An engine deny (kill switch, budget)
// stands either way. No-op for calls without approval_id.
Status ApprovalCheckRedeem(sqlite3* db, const core::DecideRequest& rq, engine::Evaluation* ev);

// After the call row is written: creates the pending approval (and its "requested"
// audit event) when the decision is APPROVAL_REQUIRED, or marks a redeemed approval used.
Status ApprovalAfterDecide(sqlite3* db, const StoreOptions& options, const core::DecideRequest& rq,
                           const std::string& call_id, const engine::Evaluation& ev,
                           std::vector<audit::AuditEvent>* events);

// After a kill switch row is written: an engaged switch cancels (denies, APPROVAL_DENIED)
// every pending approval in its scope at once.
Status ApprovalOnKill(sqlite3* db, const KillEntry& entry, std::vector<audit::AuditEvent>* events);

}  // namespace interlock::store::internal

#endif  // INTERLOCK_STORE_SQLITE_APPROVALS_H_

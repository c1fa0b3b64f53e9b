// SqliteStore::PruneCalls: retention of the per-call state (store.h). The audit log is
// pruned on its own, with signed anchors (audit/retention.h); these rows are the working
// copy the API serves (GET /v1/calls/{id}, results, approvals), not the record.
#include <sqlite3.h>

#include <algorithm>

#include "store/call_id.h"
#include "store/sqlite_stmt.h"
#include "store/sqlite_store.h"

namespace interlock::store {
namespace {

// The oldest calls first, through the primary key (call ids sort by time): `call_id < ?1`
// bounds the scan, `time_ms < ?2` is the rule (and keeps ids of the older, random format
// that happen to sort low). A call whose approval is still pending stays.
constexpr const char* kDeleteCalls =
    "DELETE FROM calls WHERE call_id IN (SELECT call_id FROM calls"
    " WHERE call_id < ?1 AND time_ms < ?2"
    " AND call_id NOT IN (SELECT call_id FROM approvals WHERE state = 'pending')"
    " ORDER BY call_id LIMIT ?3)";
// Decided approvals (never pending ones), oldest decision first; their votes and chat
// messages before them.
constexpr const char* kOldApprovals =
    "SELECT approval_id FROM approvals WHERE state <> 'pending' AND decided_ms < ?1"
    " ORDER BY decided_ms, approval_id LIMIT ?2";

}  // namespace

Result<int64_t> SqliteStore::PruneCalls(TimePoint cutoff, int64_t limit) {
  limit = std::max<int64_t>(1, limit);
  const int64_t cutoff_ms = ToUnixMillis(cutoff);
  int64_t deleted = 0;
  Status s = RunOnWriter([&](sqlite3* db, std::vector<audit::AuditEvent>*) -> Status {
    Stmt calls(db, kDeleteCalls);
    if (!calls.ok()) return SqlError(db, "prune calls");
    calls.Text(1, internal::CallIdTimePrefix(cutoff)).Int(2, cutoff_ms).Int(3, limit);
    if (calls.Step() != SQLITE_DONE) return SqlError(db, "prune calls");
    deleted += sqlite3_changes64(db);

    // Votes and chat messages (approval_messages) before their approval.
    Stmt votes(
        db, std::string("DELETE FROM approval_votes WHERE approval_id IN (") + kOldApprovals + ")");
    Stmt messages(db, std::string("DELETE FROM approval_messages WHERE approval_id IN (") +
                          kOldApprovals + ")");
    Stmt approvals(
        db, std::string("DELETE FROM approvals WHERE approval_id IN (") + kOldApprovals + ")");
    if (!votes.ok() || !messages.ok() || !approvals.ok()) return SqlError(db, "prune approvals");
    votes.Int(1, cutoff_ms).Int(2, limit);
    if (votes.Step() != SQLITE_DONE) return SqlError(db, "prune approval votes");
    messages.Int(1, cutoff_ms).Int(2, limit);
    if (messages.Step() != SQLITE_DONE) return SqlError(db, "prune approval messages");
    approvals.Int(1, cutoff_ms).Int(2, limit);
    if (approvals.Step() != SQLITE_DONE) return SqlError(db, "prune approvals");
    deleted += sqlite3_changes64(db);
    return Status::Ok();
  });
  if (!s.ok()) return s.error();
  return deleted;
}

}  // namespace interlock::store

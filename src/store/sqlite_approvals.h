// Approvals in the SQLite store (internal to src/store): the schema and the approval rows
// of the writer's batch transaction (core::ApprovalRows). The operations are the core's.
#ifndef INTERLOCK_STORE_SQLITE_APPROVALS_H_
#define INTERLOCK_STORE_SQLITE_APPROVALS_H_

#include <optional>
#include <string>
#include <vector>

#include "core/ports/approvals.h"
#include "core/ports/store.h"
#include "store/approvals_schema.h"
#include "store/store_options.h"

struct sqlite3;

namespace interlock::store::internal {

// core::ApprovalRows on the writer connection, inside the open batch transaction (and the
// operation's savepoint): the batch holds SQLite's write lock (BEGIN IMMEDIATE), so every
// row read is the transaction's until it commits. Rows only; the approval operations are
// core/approval_txn.h.
class SqliteApprovalRows final : public core::ApprovalRows {
 public:
  SqliteApprovalRows(sqlite3* db, const StoreOptions& options) : db_(db), options_(options) {}
  Result<std::optional<core::Approval>> Load(std::string_view approval_id) override;
  Result<std::vector<core::Approval>> Pending(const core::PendingQuery& q) override;
  Result<std::vector<core::Approval>> DecidedTwins(const core::PendingQuery& q,
                                                   TimePoint decided_since) override;
  Status Insert(const core::Approval& a) override;
  Status InsertVote(std::string_view approval_id, const core::ApprovalVote& vote) override;
  Status Update(const core::Approval& before, const core::Approval& after) override;
  Result<std::string> LoadDecisionJson(std::string_view call_id) override;
  Status SaveDecision(std::string_view call_id, std::string_view decision_json, Verdict verdict,
                      Code code) override;
  Result<std::vector<core::KillEntry>> EngagedKills() override;
  int DefaultTimeoutSeconds() const override { return options_.approval_default_timeout_seconds; }
  int MaxWaitSeconds() const override { return options_.approval_max_wait_seconds; }

 private:
  sqlite3* db_;
  const StoreOptions& options_;
};

}  // namespace interlock::store::internal

#endif  // INTERLOCK_STORE_SQLITE_APPROVALS_H_

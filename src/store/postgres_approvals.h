// Approvals in the PostgreSQL store (internal to src/store): the schema and the approval
// rows of a batch transaction (core::ApprovalRows). It holds no rule and no operation:
// who may vote, the two-person rule, the re-check on grant, releases, withdrawals and
// deadlines are core/approval_txn.h over these rows; this file maps rows.
//
// Concurrency (several daemons on one database): every writing transaction of every daemon
// first locks the audit head row (postgres_store.h), so the approval rows a batch reads
// after it are as of its own transaction and no other daemon changes them until it
// commits. core::Approval rows are also read FOR UPDATE, and every state change is a conditional
// UPDATE ... WHERE state = '<expected>' whose row count is checked
// (interlock_expect_rows: a mismatch aborts the transaction with SQLSTATE 40001 and the
// batch is re-run), so a verdict, a withdrawal, a timeout or a release is recorded once
// even if the head lock were ever removed.
//
// Reads inside a batch go to the database on the batch's connection, within its open
// transaction; writes are deferred into the batch's SQL (flushed in operation order after
// the call rows, before the COMMIT), and the rows as this batch leaves them are kept in
// PgApprovalBatch, so a later operation of the same batch sees an earlier one's changes.
//
// Wake-ups: every change of a call's decision (a verdict, a withdrawal, a timeout, a
// cancellation) adds `SELECT pg_notify('interlock_calls', call_id)` to the transaction;
// PostgreSQL delivers it to every listening daemon when, and only if, it commits.
#ifndef INTERLOCK_STORE_POSTGRES_APPROVALS_H_
#define INTERLOCK_STORE_POSTGRES_APPROVALS_H_

#include <functional>
#include <map>
#include <optional>
#include <set>
#include <string>
#include <string_view>
#include <vector>

#include "audit/audit_log.h"
#include "core/ports/run_store.h"
#include "core/ports/state_txn.h"
#include "core/ports/store.h"
#include "store/approvals_schema.h"
#include "store/postgres_conn.h"

namespace interlock::store::internal {

// Schema migration 4: the approval queue and its votes, as the SQLite store's
// (store/approvals_schema.h), and an index of pending twins (a partial index).
inline constexpr auto kPgApprovalsMigrationText = JoinSql(
    kApprovalsSchema,
    "CREATE INDEX approvals_twin ON approvals(run_id, tool, args_sha256) WHERE state = 'pending';");
inline constexpr const char* kPgApprovalsMigration = kPgApprovalsMigrationText.data();

// The NOTIFY channel of changed calls (payload: the call id).
inline constexpr const char* kPgCallsChannel = "interlock_calls";

// The approval rows of one batch transaction, as the batch leaves them.
struct PgApprovalBatch {
  std::map<std::string, core::Approval, std::less<>> rows;    // by approval id
  std::map<std::string, std::string, std::less<>> decisions;  // call id -> settled decision_json
  std::set<std::string, std::less<>> notify;                  // calls whose decision changed
};

// What approval code uses of the open batch transaction.
struct PgApprovalCtx {
  pg::PgConn* conn = nullptr;
  std::string* sqlstate = nullptr;
  PgApprovalBatch* batch = nullptr;
  std::string* sql = nullptr;  // deferred writes
  // A call inserted by this batch: its decision_json (to settle in place), or nullptr.
  std::function<std::string*(std::string_view call_id)> new_call_decision;
  // A call inserted by this batch, as recorded, or nullopt.
  std::function<std::optional<core::CallRecord>(std::string_view call_id)> new_call;
  int default_timeout_seconds = 300;
  int max_wait_seconds = 3600;
};

// core::ApprovalRows over the batch (see core/ports/approvals.h).
class PgApprovalRows final : public core::ApprovalRows {
 public:
  explicit PgApprovalRows(PgApprovalCtx ctx) : ctx_(std::move(ctx)) {}
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
  int DefaultTimeoutSeconds() const override { return ctx_.default_timeout_seconds; }
  int MaxWaitSeconds() const override { return ctx_.max_wait_seconds; }

 private:
  PgApprovalCtx ctx_;
};

// A call as recorded, in the batch: this batch's own rows and settled decisions first.
Result<core::CallRecord> PgLoadCallInBatch(const PgApprovalCtx& ctx, std::string_view call_id);

// Appends the NOTIFYs of the batch's changed calls (before its COMMIT).
void AppendPgNotifies(const PgApprovalBatch& b, std::string* sql);

// Reads on any connection (outside a batch).
Result<std::vector<core::Approval>> PgListApprovals(pg::PgConn& c,
                                                    const core::ApprovalFilter& filter);
Result<core::Approval> PgGetApproval(pg::PgConn& c, std::string_view approval_id);
Result<core::StoredCall> PgGetCall(pg::PgConn& c, std::string_view call_id);

}  // namespace interlock::store::internal

#endif  // INTERLOCK_STORE_POSTGRES_APPROVALS_H_

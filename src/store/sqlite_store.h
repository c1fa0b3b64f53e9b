// SqliteStore: the embedded backend of core::Store, one SQLite database in WAL mode.
//
// Connections: one writer connection owned by the writer thread (every write, in group
// commits of up to max_batch operations; a failing one never poisons the batch: decisions
// fail before their first write or the batch is re-run with a SAVEPOINT per operation,
// every other operation always has its own), and one reader connection behind a mutex for
// GetRun, GetCall, ListTokens, ListKills and Authenticate. A ":memory:" store routes reads
// through the writer thread instead (separate connections would see separate databases).
//
// The writer keeps the run rows it has read or written in memory (the run cache) and
// writes each decided run's row once per batch, inside the batch transaction. The cache
// is dropped whenever another connection has committed (PRAGMA data_version, read at the
// start of every batch under the write lock), a batch rolls back, or an approval
// operation wrote runs; so several processes on one file stay exact (docs/design.md).
//
// The schema is created or migrated on Open (table schema_version); a file that is not an
// Interlock database gives ErrorKind::kCorrupt and a newer schema kInvalidArgument.
// Kill switches are read inside every batch transaction, never cached, so a switch set by
// another process (`interlock kill engage --store`) applies to the next batch.
// Authenticate caches successful lookups for at most 500 ms; a revoke through this store
// clears the cache at once, a revoke by another process takes effect within 500 ms.
//
// The destructor stops accepting work (later calls fail with kUnavailable), drains the
// queue, joins the writer, checkpoints the WAL and closes. Thread-safety: every method
// may be called from any thread; DecideAsync callbacks run on the writer thread (on the
// syncer thread with durability full) and must not call this store synchronously (that
// would wait on a thread the store needs).
#ifndef INTERLOCK_STORE_SQLITE_STORE_H_
#define INTERLOCK_STORE_SQLITE_STORE_H_

#include <functional>
#include <memory>
#include <vector>

#include "audit/audit_log.h"
#include "core/ports/store.h"
#include "store/store_options.h"

struct sqlite3;

namespace interlock::store {

// The schema version this build creates and migrates to; a file with a higher one is
// refused (`interlock doctor` reads it without opening a store).
int SqliteSchemaVersion();

class SqliteStore final : public core::Store {
 public:
  static Result<std::unique_ptr<SqliteStore>> Open(const StoreOptions& options);
  ~SqliteStore() override;

  SqliteStore(const SqliteStore&) = delete;
  SqliteStore& operator=(const SqliteStore&) = delete;

  // core::RunStore
  Result<core::RunInfo> CreateRun(std::string_view agent_id, std::string_view run_id, TimePoint now,
                                  const core::RunWorkspace& workspace = {}) override;
  Result<core::RunInfo> CreateChildRun(const core::ChildRunRequest& rq) override;
  Result<core::RunInfo> GetRun(std::string_view run_id) override;
  Result<core::CallRecord> Decide(const core::DecideRequest& request,
                                  const core::DecideFn& decide) override;
  void DecideAsync(core::DecideRequest request, core::DecideFn decide,
                   DecideCallback done) override;
  Status AddUsage(std::string_view run_id, std::string_view agent_id, const Usage& usage) override;
  Status AddUsageOnce(std::string_view run_id, std::string_view agent_id, const Usage& usage,
                      const core::IdempotencyKey& key) override;
  bool KeepsSequenceState() const override { return true; }  // runs.sequence_json
  const audit::Redactor* redactor() const override;

  // Store
  Result<std::string> CreateToken(core::Role role, std::string_view name, std::string_view agent_id,
                                  TimePoint now,
                                  const std::vector<std::string>& workspace_roots = {}) override;
  Result<core::Principal> Authenticate(std::string_view bearer_token) override;
  std::optional<core::Principal> CachedPrincipal(std::string_view bearer_token) override;
  Result<std::vector<core::TokenInfo>> ListTokens() override;
  Status RevokeToken(std::string_view token_id, std::string_view actor, TimePoint now) override;
  Status SetKill(const core::KillEntry& entry) override;
  Result<std::vector<core::KillEntry>> ListKills() override;
  Status RecordPolicyLoad(const core::PolicyLoad& load) override;
  Status RecordAuthFailures(const core::AuthFailures& failures) override;
  Status RecordSignIn(const core::SignIn& s) override;
  Result<boost::json::array> QueryAudit(const audit::AuditQuery& query) override;
  Result<audit::AuditPage> QueryAuditPage(const audit::AuditQuery& query) override;
  Result<boost::json::object> ReplayRun(std::string_view run_id) override;
  Status ForEachRecord(const core::HistoryFilter& filter, const core::HistoryFn& fn) const override;
  Result<int64_t> LastSeq() const override;
  Result<core::StoredCall> GetCall(std::string_view call_id) override;
  Result<core::StoredCall> ReleaseCall(
      std::string_view call_id, std::string_view agent_id, std::string_view principal,
      TimePoint now, std::shared_ptr<const policy::PolicySet> policies = {}) override;
  Result<core::CallRecord> RecordRehearsal(std::string_view call_id, std::string_view agent_id,
                                           std::string_view principal,
                                           const core::CallResult& result, TimePoint now) override;
  Status RecordResult(std::string_view call_id, std::string_view agent_id,
                      std::string_view principal, const core::CallResult& result,
                      TimePoint now) override;
  void RecordResultAsync(std::string_view call_id, std::string_view agent_id,
                         std::string_view principal, const core::CallResult& result, TimePoint now,
                         StatusCallback done) override;
  Status EndRun(std::string_view run_id, std::string_view agent_id, TimePoint now) override;
  Status HaltRun(std::string_view run_id, std::string reason, std::string by,
                 TimePoint now) override;
  // Approvals: implemented in sqlite_approvals.cc, run on the writer thread.
  Result<std::vector<core::Approval>> ListApprovals(const core::ApprovalFilter& filter) override;
  Result<core::Approval> GetApproval(std::string_view approval_id) override;
  Result<core::VoteOutcome> Vote(const core::VoteRequest& request) override;
  Status RevokeRunGrant(std::string_view run_id, std::string_view tool,
                        const core::Principal& actor, std::string_view reason,
                        TimePoint now) override;
  Result<core::Approval> WithdrawApproval(std::string_view approval_id, std::string_view agent_id,
                                          std::string_view principal, std::string_view reason,
                                          TimePoint now) override;
  Result<std::vector<core::ApprovalChange>> ExpireApprovals(TimePoint now) override;
  Result<std::vector<core::CallSummary>> ListRunCalls(std::string_view run_id,
                                                      size_t limit) override;
  Result<core::RunPage> ListRuns(const core::RunFilter& filter) override;
  // Implemented in sqlite_retention.cc.
  Result<int64_t> PruneCalls(TimePoint cutoff, int64_t limit) override;
  Status AppendRecords(std::vector<audit::AuditEvent> events) override;
  Result<core::CallAuditRecord> FindCallRecord(std::string_view type,
                                               std::string_view call_id) override;
  // OpenSqlitePinRows on this store's file (":memory:": a database of the pins' own).
  Result<std::unique_ptr<core::PinRows>> OpenPinRows() override;
  // Chat messages posted for approvals (sqlite_messages.cc / postgres_messages.cc).
  Result<bool> PutApprovalMessage(const core::ApprovalMessage& message,
                                  bool only_if_absent) override;
  Result<std::optional<core::ApprovalMessage>> GetApprovalMessage(
      std::string_view approval_id, std::string_view service) override;
  Result<std::vector<core::ApprovalMessage>> ListOpenApprovalMessages(
      std::string_view service) override;

  // Kill switch engagements and token revocations committed although their anchor
  // (StoreOptions::checkpoint_signer) failed; each is also logged.
  uint64_t AnchorFailures() const;

  class Impl;

 private:
  explicit SqliteStore(std::unique_ptr<Impl> impl);
  // For sqlite_approvals.cc: runs `fn` on the writer thread inside a batch transaction
  // (its own savepoint); audit events it appends commit with it.
  using WriterFn = std::function<Status(sqlite3* db, std::vector<audit::AuditEvent>* events)>;
  Status RunOnWriter(const WriterFn& fn);
  // The same for a read (ListApprovals, GetApproval, ListRunCalls): on the writer so that
  // its answer waits for the sync of every commit it may have seen, like a decision's. It
  // keeps the writer's run cache, which RunOnWriter drops (the approval sweeper reads twice
  // a second: dropping the cache each time made every busy run reload its row); should
  // `fn` change a row after all, the cache is dropped as RunOnWriter drops it.
  Status ReadOnWriter(const WriterFn& fn);
  // For sqlite_approvals.cc: the audit key's redactor (edited arguments in a grant event).
  const audit::Redactor& AuditRedactor() const;
  std::unique_ptr<Impl> impl_;
};

namespace internal {
// The SELECT ListRuns prepares for `filter` (exposed for the query-plan test).
std::string ListRunsSql(const core::RunFilter& filter);
}  // namespace internal

}  // namespace interlock::store

#endif  // INTERLOCK_STORE_SQLITE_STORE_H_

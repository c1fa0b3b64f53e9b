// PostgresStore: the RunStore backend on PostgreSQL (issue 14, section 2), for several
// daemons sharing one state.
//
// It holds no rule: decisions run core::DecideInTxn over a StateTxn whose rows live in
// one PostgreSQL transaction. Writes go through one writer thread and one connection that
// batches concurrent operations into one transaction (group commit) in two round trips:
//   1. BEGIN; lock the audit head row (SELECT ... FOR UPDATE); read the engaged kill
//      switches; lock every run row the batch touches (SELECT ... FOR UPDATE).
//   2. The core's transaction functions have run in memory against these rows; then the
//      new run rows, the updated run rows (each with a version check), the call rows, the
//      audit records (one hash chain, serialized by the head row lock) and COMMIT go in
//      one multi-statement round trip.
// (An operation that must read other rows first, a result or a revocation, adds a round
// trip for them and one for the runs.)
// The head row lock serializes every writer of every daemon on the database, so a batch
// sees the kill switches and runs as of its own transaction (a switch engaged by another
// daemon applies to the next batch that starts after it commits) and two daemons never
// both spend the last step. A serialization failure, deadlock or version conflict re-runs
// the batch (at most 3 times); a batch that fails otherwise is re-run one operation per
// transaction so a bad operation fails alone.
//
// Durability is the database's COMMIT (synchronous_commit as the server has it; on by
// default). The schema is versioned (table interlock_schema_version); Open migrates under
// pg_advisory_xact_lock, so two daemons starting together migrate once, and refuses a
// database whose schema is newer than this binary knows (kInvalidArgument).
//
// Bounds: every wait on the database is bounded by PgLimits (connect 3 s per host,
// statements 5 s, locks 3 s, a silent peer 5 s); the round trip that writes and commits
// is also bounded by the client (statements + 1 s, then cancelled), because a COMMIT
// waiting for a synchronous standby ignores statement_timeout; a COMMIT the server reports
// done with a WARNING (that wait cancelled: maybe not on the standby) is kUnavailable, as
// is one whose connection dropped. An operation waits in the queue at most
// kMaxQueueWait (5 s) before it fails; after a failed connect the store answers
// kUnavailable at once for 1 s instead of reconnecting per batch. A request thread in
// Decide() therefore waits typically one batch, at worst the queue wait plus the batch it
// joins (its commit round trip bounded at 6 s, a reconnect at 3 s per host of the URI):
// about 11 s with one host, more with several (docs/operations.md, "Failover", has the
// measured figures). Every database failure
// is kUnavailable, which the Guard turns into deny STORE_UNAVAILABLE; the writer
// reconnects on the next batch, so the store recovers without a restart.
//
// Reads (GetRun) use a second connection behind a mutex. Thread-safety: every method may
// be called from any thread; DecideAsync callbacks run on the writer thread and must not
// block or call this store synchronously.
//
// Approvals (postgres_approvals.h): the queue, votes, withdrawals, deadlines and releases
// run in the same batches; every change of a call's decision NOTIFYs the calls channel in
// its transaction, and a dedicated LISTEN connection per store wakes the long polls of
// this daemon (SetCallListener), whichever daemon committed it.
// ListRuns, ListRunCalls, QueryAudit(Page), ReplayRun, LastSeq and PruneCalls run on the
// reader connection (postgres_read.h); ForEachRecord (governance's long reads) on a
// connection opened for the read; audit verify and export read through postgres_read.h's
// RecordSource.
// Anchors (docs/audit.md, "Anchors"): a kill switch change, a token created or revoked
// and a policy load commit in a transaction of their own that also inserts a signed
// checkpoint of their last record (PostgresOptions::checkpoint_signer) into
// audit_checkpoints; the checkpoint is copied to the local file after the commit.
// Checkpoints and retention of the chain: store/postgres_audit.h.
// The MCP tool pins (OpenPinRows, table mcp_tool_pins, postgres_pins.h) are read on the
// reader connection and written in the writer's batches, after the audit head's lock: a
// pin accepted through any daemon holds on all of them, with its record in the one chain.
// Authenticate caches a successful lookup for auth_cache_ttl (1 s): a revocation through
// this store clears the cache at once; one through another daemon applies within 1 s.
#ifndef INTERLOCK_STORE_POSTGRES_STORE_H_
#define INTERLOCK_STORE_POSTGRES_STORE_H_

#include <chrono>
#include <functional>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "audit/checkpoint.h"
#include "audit/replay.h"
#include "common/time.h"
#include "core/ports/run_store.h"
#include "core/ports/store.h"
#include "interlock/result.h"
#include "store/postgres_conn.h"
#include "store/store_options.h"

namespace interlock::store {

struct PostgresOptions : BackendOptions {
  std::string uri;      // postgresql://user@host:5432/db?... (libpq URI or conninfo)
  int max_batch = 256;  // operations per transaction at most
  pg::PgLimits limits;
  // How long a successful token lookup is reused (0: every request reads the table).
  std::chrono::milliseconds auth_cache_ttl{1000};
  // Wake-ups across daemons: LISTEN on a dedicated connection (postgres_approvals.h),
  // opened by the first SetCallListener; false: never.
  bool listen = true;
};

// True for "postgresql://..." and "postgres://..." (the store is PostgreSQL, not a file).
bool IsPostgresUri(std::string_view s);

class PostgresStore final : public core::Store {
 public:
  // The schema version this binary writes.
  static constexpr int kSchemaVersion = 15;

  // Connects and migrates. kUnavailable when the database cannot be reached,
  // kInvalidArgument for a schema newer than kSchemaVersion.
  static Result<std::unique_ptr<PostgresStore>> Open(const PostgresOptions& options);
  ~PostgresStore() override;  // drains the queue, joins the writer, closes
  PostgresStore(const PostgresStore&) = delete;
  PostgresStore& operator=(const PostgresStore&) = delete;

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
  // The same replay as a structure (`interlock replay --store postgresql://...` prints it).
  Result<audit::RunReplay> Replay(std::string_view run_id);
  Status ForEachRecord(const core::HistoryFilter& filter, const core::HistoryFn& fn) const override;
  Result<int64_t> LastSeq() const override;
  Result<core::StoredCall> GetCall(std::string_view call_id) override;
  Result<core::StoredCall> ReleaseCall(
      std::string_view call_id, std::string_view agent_id, std::string_view principal,
      TimePoint now, std::shared_ptr<const policy::PolicySet> policies = {}) override;
  Status RecordResult(std::string_view call_id, std::string_view agent_id,
                      std::string_view principal, const core::CallResult& result,
                      TimePoint now) override;
  Status EndRun(std::string_view run_id, std::string_view agent_id, TimePoint now) override;
  Status HaltRun(std::string_view run_id, std::string reason, std::string by,
                 TimePoint now) override;
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
  Result<core::RunPage> ListRuns(const core::RunFilter& filter) override;
  Result<std::vector<core::CallSummary>> ListRunCalls(std::string_view run_id,
                                                      size_t limit) override;
  Result<int64_t> PruneCalls(TimePoint cutoff, int64_t limit) override;
  Status AppendRecords(std::vector<audit::AuditEvent> events) override;
  Result<core::CallAuditRecord> FindCallRecord(std::string_view type,
                                               std::string_view call_id) override;
  // The pins in table mcp_tool_pins, shared by every daemon on this database.
  Result<std::unique_ptr<core::PinRows>> OpenPinRows() override;
  // Chat messages posted for approvals (sqlite_messages.cc / postgres_messages.cc).
  Result<bool> PutApprovalMessage(const core::ApprovalMessage& message,
                                  bool only_if_absent) override;
  Result<std::optional<core::ApprovalMessage>> GetApprovalMessage(
      std::string_view approval_id, std::string_view service) override;
  Result<std::vector<core::ApprovalMessage>> ListOpenApprovalMessages(
      std::string_view service) override;

  // Kill switch engagements and token revocations committed although their anchor
  // failed, and anchors committed in the database but not copied to the local checkpoint
  // file; each is also logged.
  uint64_t AnchorFailures() const;

  // Wake-ups across daemons: `fn` is called (on the store's listening thread, must not
  // block) with the id of a call whose decision any daemon changed (a verdict, a
  // withdrawal, a timeout, a cancellation), once its transaction committed; with "" when
  // any call may have changed (the listening connection was (re)established: re-read
  // every waiting call). The first listener opens the LISTEN connection (a thread that
  // reconnects every 500 ms while it is down). nullptr stops the calls; it returns after a
  // call in flight.
  void SetCallListener(std::function<void(std::string_view call_id)> fn);
  // True while the listening connection is up (tests, readiness).
  bool Listening() const;

  class Impl;

 private:
  explicit PostgresStore(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

}  // namespace interlock::store

#endif  // INTERLOCK_STORE_POSTGRES_STORE_H_

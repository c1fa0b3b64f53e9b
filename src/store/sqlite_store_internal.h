// Private to the SQLite backend: the pieces SqliteStore's source files share (statement
// texts, the connection wrapper, row helpers) and SqliteStore::Impl. sqlite_store.cc opens
// and migrates the database and holds the public methods, sqlite_writer.cc the writer,
// syncer and checkpointer threads and the run cache, sqlite_ops.cc the operations a batch
// runs. Include only from those files (and the other sqlite_*.cc of the backend).
#ifndef INTERLOCK_STORE_SQLITE_STORE_INTERNAL_H_
#define INTERLOCK_STORE_SQLITE_STORE_INTERNAL_H_

#include <fcntl.h>
#include <sqlite3.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <chrono>
#include <condition_variable>
#include <cstdio>
#include <cstring>
#include <deque>
#include <functional>
#include <future>
#include <mutex>
#include <thread>
#include <unordered_map>
#include <utility>

#include <boost/json.hpp>

#include "audit/canonical.h"
#include "audit/query.h"
#include "audit/replay.h"
#include "common/base64.h"
#include "common/crypto.h"
#include "common/decision_json.h"
#include "common/json.h"
#include "common/principal_name.h"
#include "common/thread_name.h"
#include "core/app/kills.h"
#include "core/approval_txn.h"
#include "core/decide_txn.h"
#include "core/ports/state_txn.h"
#include "core/roles.h"
#include "core/run_txn.h"
#include "store/call_id.h"
#include "store/read_sql.h"
#include "store/row_codec.h"
#include "store/sqlite_approvals.h"
#include "store/sqlite_audit_log.h"
#include "store/sqlite_audit_read.h"
#include "store/sqlite_audit_util.h"
#include "store/sqlite_history_source.h"
#include "store/sqlite_pins.h"
#include "store/sqlite_stmt.h"
#include "store/sqlite_store.h"
#include "store/sqlite_wal_buffer.h"

namespace interlock::store {
// Inline: the Impl members in each file name these unqualified; its own name keeps them
// apart from the PostgreSQL backend's helpers at link time.
inline namespace sqlite_internal {

using internal::AppendStateStoreJson;
using internal::NewId;
using internal::ParseRecords;

// Statements, prepared once per connection (keyed by these pointers) and reused.
inline constexpr const char* kBegin = "BEGIN IMMEDIATE";
inline constexpr const char* kCommit = "COMMIT";
inline constexpr const char* kRollback = "ROLLBACK";
inline constexpr const char* kSavepoint = "SAVEPOINT op";
inline constexpr const char* kRollbackTo = "ROLLBACK TO op";
inline constexpr const char* kRelease = "RELEASE op";
inline constexpr const char* kDataVersion = "PRAGMA data_version";
inline constexpr const char* kSelectKills =
    "SELECT scope, target, engaged, reason, actor, time_ms FROM kill_switches"
    " ORDER BY scope, target";
inline constexpr const char* kSelectEngagedKills =
    "SELECT scope, target, reason FROM kill_switches WHERE engaged = 1";
inline constexpr const char* kUpsertKill =
    "INSERT INTO kill_switches(scope, target, engaged, reason, actor, time_ms)"
    " VALUES (?,?,?,?,?,?) ON CONFLICT(scope, target) DO UPDATE SET"
    " engaged = excluded.engaged, reason = excluded.reason, actor = excluded.actor,"
    " time_ms = excluded.time_ms";
inline constexpr const char* kSelectRun =
    "SELECT agent_id, started_ms, steps, tokens, cost_micros, halted, halt_reason, ended,"
    " records_json, sequence_json, ended_ms, parent_run_id, role, depth FROM runs"
    " WHERE run_id = ?";
inline constexpr const char* kInsertRun =
    "INSERT INTO runs(run_id, agent_id, started_ms, sequence_json) VALUES (?,?,?,?)";
inline constexpr const char* kInsertChildRun =
    "INSERT INTO runs(run_id, agent_id, started_ms, sequence_json, parent_run_id, role, depth)"
    " VALUES (?,?,?,?,?,?,?)";
inline constexpr const char* kCountLiveChildren =
    "SELECT COUNT(*) FROM runs WHERE parent_run_id = ? AND ended = 0";
inline constexpr const char* kUpdateRun =
    "UPDATE runs SET steps = ?, tokens = ?, cost_micros = ?, halted = ?, halt_reason = ?,"
    " records_json = ?, sequence_json = ? WHERE run_id = ?";
inline constexpr const char* kEndRun = "UPDATE runs SET ended = 1, ended_ms = ? WHERE run_id = ?";
inline constexpr const char* kInsertCall =
    "INSERT INTO calls(call_id, run_id, agent_id, principal, time_ms, tool, args_json,"
    " usage_tokens, usage_cost_micros, decision_json, verdict, code, state_after_json,"
    " policy_sha256) VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?,?)";
inline constexpr const char* kSelectCallForResult =
    "SELECT run_id, agent_id, verdict, result_json, tool, args_json, principal FROM calls"
    " WHERE call_id = ?";
inline constexpr const char* kCountRateHits =
    "SELECT COUNT(*), MIN(at_ms) FROM rate_hits WHERE agent_id = ? AND rate_key = ? AND at_ms > ?";
inline constexpr const char* kPruneRateHits =
    "DELETE FROM rate_hits WHERE agent_id = ? AND rate_key = ? AND at_ms <= ?";
inline constexpr const char* kInsertRateHit =
    "INSERT INTO rate_hits(agent_id, rate_key, at_ms) VALUES (?,?,?)";
inline constexpr const char* kSelectDay =
    "SELECT calls, tokens, cost_micros FROM agent_days WHERE agent_id = ? AND day = ?";
// A day's row is updated in place, and inserted only by the day's first call: an upsert
// (INSERT ... ON CONFLICT DO UPDATE) first builds the row to insert and probes the key
// for the conflict on every call (docs/performance.md).
inline constexpr const char* kBumpDay =
    "UPDATE agent_days SET calls = calls + ?3,"
    " tokens = MIN(tokens + ?4, 9223372036854775807),"
    " cost_micros = MIN(cost_micros + ?5, 9223372036854775807)"
    " WHERE agent_id = ?1 AND day = ?2";
inline constexpr const char* kInsertDay =
    "INSERT INTO agent_days(agent_id, day, calls, tokens, cost_micros) VALUES (?,?,?,?,?)";
inline constexpr const char* kSelectCall =
    "SELECT run_id, agent_id, principal, time_ms, tool, args_json, usage_tokens,"
    " usage_cost_micros, decision_json, state_after_json, result_json, policy_sha256"
    " FROM calls WHERE call_id = ?";
inline constexpr const char* kSetResult =
    "UPDATE calls SET result_json = ?, result_ms = ? WHERE call_id = ?";
inline constexpr const char* kSelectIdempotency =
    "SELECT request_sha256, answer FROM idempotency_keys WHERE run_id = ? AND idem_key = ?";
inline constexpr const char* kInsertIdempotency =
    "INSERT INTO idempotency_keys(run_id, idem_key, request_sha256, answer, created_ms)"
    " VALUES (?,?,?,?,?)";
inline constexpr const char* kInsertToken =
    "INSERT INTO tokens(token_id, sha256, role, name, agent_id, created_ms, workspace_roots)"
    " VALUES (?,?,?,?,?,?,?)";
inline constexpr const char* kSelectTokenById =
    "SELECT role, name, agent_id, revoked_ms FROM tokens WHERE token_id = ?";
inline constexpr const char* kRevokeToken = "UPDATE tokens SET revoked_ms = ? WHERE token_id = ?";
inline constexpr const char* kSelectTokenByHash =
    "SELECT token_id, sha256, role, name, agent_id, revoked_ms, workspace_roots FROM tokens"
    " WHERE sha256 = ?";
inline constexpr const char* kSelectTokens =
    "SELECT token_id, role, name, agent_id, created_ms, revoked_ms, workspace_roots FROM tokens"
    " ORDER BY created_ms, token_id";

inline constexpr auto kAuthCacheTtl = std::chrono::milliseconds(500);
// WAL pages after which the checkpointer thread runs (SQLite's own default is 1000; we
// move the work off the writer thread so a checkpoint never delays a group commit).
inline constexpr int kCheckpointPages = 1000;
// WAL frames past which the writer itself finishes the checkpoint between two batches.
// Under continuous writes the background checkpointer never catches up with the last
// frame, and SQLite rewinds the WAL only when a write starts on a fully checkpointed log:
// without this the WAL grows without bound. The writer's pass copies only what the
// background one has not (plus the two syncs a checkpoint makes), then the next batch
// writes from the start of the file again. Bounds the WAL to about this many pages
// (64 MiB; 96 MiB at worst, see RewindWal). Each rewind pauses the writer for 5-25 ms on the
// benchmark VM; fewer, larger rewinds keep more of the pauses out of the p99 (docs/performance.md,
// Store).
inline constexpr int kRestartPages = 16000;
inline constexpr auto kCheckpointInterval = std::chrono::seconds(1);
inline constexpr size_t kAuthCacheMax = 10000;
// How long the writer holds writes nobody waits for (Op::lazy) for a waited-for write to
// share their commit.
inline constexpr auto kLazyDelay = std::chrono::milliseconds(5);
// Runs whose state the writer keeps in memory (see RunCache); past this the cache is
// emptied and refills from the database.
inline constexpr size_t kRunCacheMax = 100000;
// Page cache of the writer connection (KiB, SQLite's negative cache_size): the call and
// audit indexes are written at random keys, and SQLite's 2 MiB default made every commit
// re-read index pages from the OS.
inline constexpr int kWriterCacheKiB = 64 * 1024;

// A database connection with its prepared statements. Used by one thread at a time.
class Conn {
 public:
  Conn() = default;
  ~Conn() {
    for (auto& [sql, stmt] : stmts_) sqlite3_finalize(stmt);
    if (db_ != nullptr) sqlite3_close_v2(db_);
  }
  Conn(const Conn&) = delete;
  Conn& operator=(const Conn&) = delete;

  Status Open(const std::string& path, bool create, int busy_timeout_ms) {
    int flags = SQLITE_OPEN_READWRITE | SQLITE_OPEN_NOMUTEX;
    if (create) flags |= SQLITE_OPEN_CREATE;
    // WalBufferVfs: a commit's WAL frames in one write (sqlite_wal_buffer.h).
    const int rc = sqlite3_open_v2(path.c_str(), &db_, flags, WalBufferVfs());
    if (rc != SQLITE_OK) {
      std::string msg = db_ != nullptr ? sqlite3_errmsg(db_) : sqlite3_errstr(rc);
      return Error::Unavailable("cannot open store " + path + ": " + msg);
    }
    sqlite3_extended_result_codes(db_, 1);
    busy_deadline_ms_ = busy_timeout_ms;
    sqlite3_busy_handler(db_, &Conn::OnBusy, this);
    return Status::Ok();
  }

  sqlite3* db() const { return db_; }

  // Retries a locked database every 200 us until busy_timeout. SQLite's own handler backs
  // off to 100 ms sleeps, which never lands in the few microseconds a busy daemon's
  // writer leaves between group commits: `interlock kill engage --store` would starve.
  static int OnBusy(void* self, int attempt) {
    auto* c = static_cast<Conn*>(self);
    const auto now = std::chrono::steady_clock::now();
    if (attempt == 0) c->busy_since_ = now;
    if (now - c->busy_since_ >= std::chrono::milliseconds(c->busy_deadline_ms_)) return 0;
    std::this_thread::sleep_for(std::chrono::microseconds(200));
    return 1;
  }

  Result<sqlite3_stmt*> Get(const char* sql) {
    if (auto it = stmts_.find(sql); it != stmts_.end()) return it->second;
    sqlite3_stmt* s = nullptr;
    if (sqlite3_prepare_v3(db_, sql, -1, SQLITE_PREPARE_PERSISTENT, &s, nullptr) != SQLITE_OK) {
      return SqlError(db_, "prepare");
    }
    stmts_.emplace(sql, s);
    return s;
  }

  // Runs a statement that returns no rows.
  Status Exec(const char* sql, std::string_view what) {
    Result<sqlite3_stmt*> s = Get(sql);
    if (!s.ok()) return s.error();
    const int rc = sqlite3_step(*s);
    sqlite3_reset(*s);
    if (rc != SQLITE_DONE && rc != SQLITE_ROW) return SqlError(db_, what);
    return Status::Ok();
  }

  // Runs SQL text that may hold several statements (schema, pragmas).
  Status ExecScript(const std::string& sql, std::string_view what) {
    char* err = nullptr;
    if (sqlite3_exec(db_, sql.c_str(), nullptr, nullptr, &err) != SQLITE_OK) {
      std::string msg = err != nullptr ? err : sqlite3_errmsg(db_);
      sqlite3_free(err);
      return Error::Unavailable("store: " + std::string(what) + ": " + msg);
    }
    return Status::Ok();
  }

 private:
  sqlite3* db_ = nullptr;
  int busy_deadline_ms_ = 0;
  std::chrono::steady_clock::time_point busy_since_;
  std::unordered_map<const char*, sqlite3_stmt*> stmts_;
};

// A call id that sorts by creation time: 12 hex digits of Unix milliseconds, then the
// same 64 random bits as NewId. calls.call_id is the table's primary key, so random ids
// dirtied a random index page per decision (one 4 KiB WAL frame each); time-ordered ids
// append at the right edge of the index. Still unguessable; reveals only the call's time,
// which anyone holding the id can read anyway.
inline std::string NewCallId(TimePoint now) {
  std::string id = internal::CallIdTimePrefix(now);
  id += NewId("");
  return id;
}

inline int64_t Millis(TimePoint t) { return ToUnixMillis(t); }

// Parses JSON written by this store; a failure means the row was tampered with.
inline Result<boost::json::value> ParseStored(std::string_view text, std::string_view what) {
  Result<boost::json::value> v = ParseOwnJson(text);
  if (!v.ok()) return Error::Corrupt("store: " + std::string(what) + " is not valid JSON");
  return v;
}

// A run row as the writer caches it (dirty and version: cached only, never a column).
using RunRow = internal::StoredRunRow;

// A run row from the columns of kSelectRun, starting at column `first`.
template <class Q>
inline Result<RunRow> ReadRunColumns(const Q& q, int first) {
  RunRow row;
  row.agent_id = q.ColText(first);
  row.started_ms = q.ColInt(first + 1);
  row.state.steps = static_cast<uint64_t>(q.ColInt(first + 2));
  row.state.tokens = static_cast<uint64_t>(q.ColInt(first + 3));
  row.state.cost_micros = q.ColInt(first + 4);
  row.state.halted = q.ColInt(first + 5) != 0;
  row.state.halt_reason = q.ColText(first + 6);
  row.ended = q.ColInt(first + 7) != 0;
  auto records = ParseRecords(q.ColText(first + 8));
  if (!records.ok()) return records.error();
  row.state.records = std::move(records).value();
  if (Status s = core::ParseSequenceStoreJson(q.ColText(first + 9), &row.state); !s.ok()) {
    return s.error();
  }
  if (!q.ColNull(first + 10)) row.ended_ms = q.ColInt(first + 10);
  row.parent_run_id = q.ColText(first + 11);
  row.role = q.ColText(first + 12);
  row.depth = static_cast<int>(q.ColInt(first + 13));
  return row;
}

// Loads a run on `c`; NotFound when absent.
inline Result<RunRow> LoadRun(Conn& c, std::string_view run_id) {
  Result<sqlite3_stmt*> s = c.Get(kSelectRun);
  if (!s.ok()) return s.error();
  Query q(*s);
  if (Status st = q.StepToRow(c.db(), "run", run_id); !st.ok()) return st.error();
  return ReadRunColumns(q, 0);
}

inline core::RunInfo ToRunInfo(std::string_view run_id, RunRow row) {
  core::RunInfo info;
  info.run_id = std::string(run_id);
  info.agent_id = std::move(row.agent_id);
  info.started = FromUnixMillis(row.started_ms);
  info.state = std::move(row.state);
  info.ended = row.ended;
  if (row.ended && row.ended_ms) info.ended_at = FromUnixMillis(*row.ended_ms);
  info.parent_run_id = std::move(row.parent_run_id);
  info.role = std::move(row.role);
  info.depth = row.depth;
  return info;
}

// Reads one call on `c`; NotFound when absent.
inline Result<core::StoredCall> LoadCall(Conn& c, std::string_view call_id) {
  Result<sqlite3_stmt*> s = c.Get(kSelectCall);
  if (!s.ok()) return s.error();
  Query q(*s);
  if (Status st = q.StepToRow(c.db(), "call", call_id); !st.ok()) return st.error();
  // ColText copies: the views below outlive the next step of `q`.
  const std::string run_id = q.ColText(0), agent_id = q.ColText(1), principal = q.ColText(2),
                    tool = q.ColText(4), args = q.ColText(5), decision = q.ColText(8),
                    state_after = q.ColText(9), result = q.ColNull(10) ? "" : q.ColText(10),
                    policy_sha256 = q.ColText(11);
  internal::CallRowColumns row;
  row.call_id = call_id;
  row.run_id = run_id;
  row.agent_id = agent_id;
  row.principal = principal;
  row.time_ms = q.ColInt(3);
  row.tool = tool;
  row.args_json = args;
  row.usage_tokens = q.ColInt(6);
  row.usage_cost_micros = q.ColInt(7);
  row.decision_json = decision;
  row.state_after_json = state_after;
  if (!q.ColNull(10)) row.result_json = result;
  row.policy_sha256 = policy_sha256;
  return internal::DecodeCallRow(row);
}

}  // namespace sqlite_internal

class SqliteStore::Impl {
 public:
  // Context of one operation inside a batch transaction.
  struct Batch {
    core::EngagedKills kills;  // engaged, as read inside this batch transaction
    bool kills_stale = true;   // reload before the next decision
    std::vector<audit::AuditEvent>* events = nullptr;
  };

  // One queued write: `apply` runs on the writer thread inside the batch transaction and
  // its own savepoint; `finish` runs after commit (or failure) with the outcome.
  // `rerunnable`: apply may run again after a rollback (it only writes its outputs on
  // success, from scratch) and updates the run cache only after its last write. A batch
  // of such ops runs without per-op savepoints (RunBatch).
  struct Op {
    std::function<Status(Batch&)> apply;
    std::function<void(Status)> finish;
    bool rerunnable = false;
    // Nobody waits for this op (RecordResultAsync): the writer may hold it up to
    // kLazyDelay for a waited-for op to commit with, saving a commit (an fsync with
    // durability full). Order is unchanged.
    bool lazy = false;
    // A security-relevant op (kill switch, token, policy load): it runs in a batch of its
    // own, and StoreOptions::checkpoint_signer signs a checkpoint of its records before COMMIT, so
    // the records are anchored before the action takes effect. kRequired: an anchoring
    // failure fails the op (actions that widen access); kBestEffort: it is logged and
    // the op commits anyway (engaging a kill switch must never be blocked).
    core::AnchorNeed anchor = core::AnchorNeed::kNone;
    // When a lazy op was queued (commit_on_caller): the writer thread commits it once it
    // has waited kLazyDelay without a caller's commit carrying it.
    std::chrono::steady_clock::time_point queued_at{};
  };

  explicit Impl(const StoreOptions& o) : options_(o), redactor_(o.audit_key) {}
  const audit::Redactor& redactor() const { return redactor_; }

  ~Impl();

  Status Open();

  TimePoint Now() const {
    return options_.clock != nullptr ? options_.clock->Now() : std::chrono::system_clock::now();
  }

  // Queues a write. Fails it at once when the store is closing. With
  // StoreOptions::commit_on_caller a waited-for (not lazy) op is committed before this
  // returns, by this thread or by another caller that committed it with its own.
  void Submit(Op op);

  // True on this process's store writer and syncer threads (sqlite_writer.cc).
  static bool OnStoreThread();

  // Queues a write and waits for its outcome.
  Status SubmitAndWait(std::function<Status(Batch&)> apply,
                       core::AnchorNeed anchor = core::AnchorNeed::kNone);
  // SubmitAndWait of a batch that appends the one audit record `ev`.
  Status AppendEvent(audit::AuditEvent ev, core::AnchorNeed anchor = core::AnchorNeed::kNone) {
    return SubmitAndWait(
        [&ev](Batch& b) {
          b.events->push_back(std::move(ev));
          return Status::Ok();
        },
        anchor);
  }

  // Runs a read on the reader connection (or, in memory and one-shot, on the writer thread).
  // A read sees every write queued before it started, lazy ones included: a result queued
  // without waiting (RecordResultAsync) is answered to the agent before it commits, and
  // whoever reads next (a reviewer, the console, the agent itself) must find it. When such
  // a write is still uncommitted, the read first waits for a commit that carries it (an
  // empty write, queued after it). A read from an answer on the store's own writer or
  // syncer thread does not wait (it cannot: those threads make the commit).
  template <typename T>
  Result<T> Read(const std::function<Result<T>(Conn&)>& fn) {
    if (!memory_ && !options_.one_shot) {
      if (lazy_pending_.load(std::memory_order_acquire) > 0 && !OnStoreThread()) {
        if (Status s = SubmitAndWait([](Batch&) { return Status::Ok(); }); !s.ok()) {
          return s.error();
        }
      }
      std::lock_guard lock(reader_mu_);
      return fn(reader_);
    }
    std::optional<Result<T>> out;
    Status s = SubmitAndWait([&](Batch&) -> Status {
      out.emplace(fn(writer_));
      return Status::Ok();
    });
    if (!s.ok()) return s.error();
    return std::move(*out);
  }

  // Every row of the cached statement `sql` (bound to nothing), each made by `row`, on the
  // reader connection as Read; SqlError(db, WHAT) when a step fails.
  template <class T>
  Result<std::vector<T>> ReadRows(const char* sql, std::string_view what,
                                  const std::function<T(const Query&)>& row) {
    return Read<std::vector<T>>([&](Conn& c) -> Result<std::vector<T>> {
      Result<sqlite3_stmt*> s = c.Get(sql);
      if (!s.ok()) return s.error();
      Query q(*s);
      std::vector<T> out;
      int rc;
      while ((rc = q.Step()) == SQLITE_ROW) out.push_back(row(q));
      if (rc != SQLITE_DONE) return SqlError(c.db(), what);
      return out;
    });
  }

  // Governance's reads (ForEachRecord, LastSeq) on their own connection: a report that
  // streams a million records for seconds never holds the reader the console's other
  // pages and the agents' GetCall wait on (WAL: readers do not block each other).
  template <class T>
  Result<T> ReadHistory(const std::function<Result<T>(Conn&)>& fn) {
    if (memory_ || options_.one_shot) return Read<T>(fn);
    std::lock_guard lock(history_mu_);
    return fn(history_);
  }

  // --- operations, all on the writer thread -------------------------------------------

  Status ApplyCreateChildRun(Batch& b, const core::ChildRunRequest& rq, core::RunInfo* out);
  Status ApplyCreateRun(Batch& b, std::string_view agent_id, std::string run_id, TimePoint now,
                        const core::RunWorkspace& workspace, core::RunInfo* out);

  // The StateTxn of one operation inside a batch transaction: rows on the writer
  // connection, decided runs in the run cache (written by FlushRuns before COMMIT),
  // audit events into the batch. Holds no rule: core::DecideInTxn does.
  class Txn;

  // A decision: core::DecideInTxn in this batch. It writes nothing before its checks pass
  // and saves the run (into the cache) last: see Op::rerunnable.
  Status ApplyDecide(Batch& b, const core::DecideRequest& rq, const core::DecideFn& decide,
                     core::CallRecord* rec);

  // Store::ReleaseCall on the writer: the kill switches and the run as of this transaction.
  Status ApplyRelease(Batch& b, const std::string& call_id, TimePoint now,
                      const policy::PolicySet* policies,
                      std::optional<Result<core::StoredCall>>* out);

  // Approvals: the core's transaction functions (core/approval_txn.h) in this batch. A
  // vote saves the run (into the cache) last.
  Status ApplyVote(Batch& b, const core::VoteRequest& rq, core::VoteOutcome* out);
  Status ApplyWithdraw(Batch& b, std::string_view approval_id, std::string_view agent_id,
                       std::string_view principal, std::string_view reason, TimePoint now,
                       core::Approval* out, std::optional<Error>* refused);
  Status ApplyExpire(Batch& b, TimePoint now, std::vector<core::ApprovalChange>* out);

  // Usage, results and the end of a run: the core's transaction functions
  // (core/run_txn.h) in this batch. They save the run (into the cache) last.
  Status ApplyAddUsage(Batch& b, std::string_view run_id, std::string_view agent_id,
                       const Usage& usage, TimePoint now, const core::IdempotencyKey& key = {});

  Status ApplyRecordResult(Batch& b, std::string_view call_id, std::string_view agent_id,
                           std::string_view principal, const core::CallResult& result,
                           TimePoint now);

  Status ApplyRecordRehearsal(Batch& b, std::string_view call_id, std::string_view agent_id,
                              std::string_view principal, const core::CallResult& result,
                              TimePoint now, core::CallRecord* rec);

  Status ApplyEndRun(Batch& b, std::string_view run_id, std::string_view agent_id, TimePoint now);
  Status ApplyHaltRun(Batch& b, std::string_view run_id, std::string reason, std::string by,
                      TimePoint now);

  Status ApplySetKill(Batch& b, const core::KillEntry& e);

  Status ApplyCreateToken(Batch& b, core::Role role, std::string_view name,
                          std::string_view agent_id, TimePoint now,
                          const std::vector<std::string>& workspace_roots, std::string* token);

  Status ApplyRevokeToken(Batch& b, std::string_view token_id, std::string_view actor,
                          TimePoint now);

  // --- run cache (writer thread only) -------------------------------------------------
  // The writer keeps each run row it has read or written, so a decision does not re-read
  // and re-parse it. The database stays authoritative: every change is still written in
  // the op's transaction, the cache is updated only after the op's last write, and it is
  // emptied whenever it may differ from the database: another connection committed
  // (PRAGMA data_version, checked at the start of every batch, under the write lock), a
  // batch rolled back, or an op wrote runs behind its back (RunOnWriter).

  Result<RunRow*> FindRun(std::string_view run_id);

  RunRow* CacheRun(std::string run_id, RunRow row);

  void ForgetRuns();

  // Writes the rows of runs decided since the last flush. Runs before the batch commits
  // and before any op that is not a decision (which may read run rows with SQL).
  Status FlushRuns();

  // Empties the run cache when another connection has committed since this one last
  // looked. Called inside the batch transaction, after BEGIN IMMEDIATE: no other writer
  // can commit until this batch ends.
  Status CheckDataVersion();

  void ClearAuthCache();

  Result<core::Principal> Authenticate(std::string_view bearer);
  std::optional<core::Principal> CachedPrincipal(std::string_view bearer);

  const StoreOptions& options() const { return options_; }
  Conn& writer() { return writer_; }
  uint64_t anchor_failures() const { return anchor_failures_.load(); }

 private:
  Status CheckAndMigrate();

  Result<int> ReadVersion();

  static int WalHook(void* self, sqlite3*, const char*, int pages);

  // PASSIVE checkpoints on their own connection: they never block the writer, and a
  // failed one is retried at the next signal or interval.
  void CheckpointLoop();

  Status LoadKills(core::EngagedKills* out);

  void WriterLoop();

  // The writer thread with commit_on_caller: it commits only lazy ops that no caller's
  // commit carried within kLazyDelay.
  void LazyWriterLoop();

  // Moves the next batch out of queue_ (mu_ held): up to max_batch ops in order, an
  // anchored op alone.
  void PopBatch(std::vector<Op>* batch);

  // commit_on_caller: runs batches on this thread until the op queued as `ticket` has
  // been committed (here or by another caller), then answers the ops of the batches it
  // ran, after releasing commit_mu_ (an answer may queue a write of its own).
  void LeadUntil(uint64_t ticket);

  // Answers one op of a batch: at once (the writer thread), or after commit_mu_ is
  // released (commit_on_caller).
  void Answer(std::function<void(Status)>& finish, Status s);

  // One group commit. Every op gets exactly one finish(), after COMMIT.
  //
  // A batch of rerunnable ops (decisions) first runs without per-op savepoints: an op
  // that fails before writing anything (unknown run, another agent's run, ended run: the
  // only expected failures) leaves nothing to undo, which sqlite3_total_changes64 proves.
  // If an op fails after it wrote, the whole transaction is rolled back and the batch runs
  // again with a savepoint per op, as every other batch does.
  void RunBatch(std::vector<Op>& batch);

  // False: nothing was finished and the transaction was rolled back; run the batch again
  // with savepoints. Only returned when `savepoints` is false.
  bool RunBatchOnce(std::vector<Op>& batch, bool savepoints);

  // Anchors the records of a security-relevant op (Op::anchor, always alone in its
  // batch) before COMMIT: the signed checkpoint of `head`, written to the checkpoint file
  // (the signer's mirror; this log has no checkpoint table). An error only for a
  // kRequired op; a kBestEffort failure is logged and counted.
  Status AnchorBatch(const std::vector<Op>& batch, const audit::AuditHead& head);

  // Group commit with the fsync off the writer thread (durability full). The writer
  // commits with synchronous=NORMAL (the frames reach the OS, no fsync) and queues the
  // batch's answers here; this thread fdatasyncs the WAL and only then answers them, all
  // batches committed before the sync began at once. While one sync runs, the writer
  // builds and commits the next batches, so the fsync no longer adds to the writer's
  // time per batch. Durability is unchanged: nobody is answered before an fdatasync that
  // began after their commit, and the WAL is one file written in order, so what is on
  // disk is always a prefix of the commits. Other connections may read a commit before
  // it is synced; its caller is not answered, so its action has not run.
  //
  // A failed fsync leaves the page cache in an unknown state (the kernel may drop the
  // dirty pages): every answer of the batches is an error, and the store stays failed
  // (every later write is refused) until restarted.
  void SyncLoop();

  Status SyncWal();

  Status FailSync(int err, const std::string& what);

  std::string SyncError();

  // See kRestartPages. PASSIVE never waits: if the background checkpointer holds the
  // checkpoint lock this is skipped and tried again after the next batch. Failing is
  // harmless (the WAL only stays longer), so the result is not an error of any op.
  void RewindWal();

  StoreOptions options_;
  audit::Redactor redactor_;
  std::atomic<uint64_t> anchor_failures_{0};  // best-effort anchors that failed
  bool memory_ = false;
  Conn writer_;  // used only by the writer thread (and Open before it starts)
  // Writer thread only (declared after writer_: destroyed before its connection).
  std::unique_ptr<audit::AuditAppender> appender_;
  struct StringHash {
    using is_transparent = void;
    size_t operator()(std::string_view v) const { return std::hash<std::string_view>{}(v); }
  };
  std::unordered_map<std::string, RunRow, StringHash, std::equal_to<>> run_cache_;
  int64_t data_version_ = -1;
  std::vector<std::string> dirty_runs_;  // run ids with RunRow::dirty set
  std::string scratch_records_;          // reused buffers of ApplyDecide
  int wal_pages_ = 0;                    // frames in the WAL after the last commit
  bool committed_frames_ = false;        // the last COMMIT appended frames (WalHook ran)
  int wal_pages_signalled_ = 0;          // wal_pages_ when the checkpointer was last woken
  std::string scratch_state_;
  std::mutex reader_mu_;
  Conn reader_;  // guarded by reader_mu_; unused in memory
  std::mutex history_mu_;
  Conn history_;  // guarded by history_mu_; governance's long scans; unused in memory

  std::mutex mu_;
  std::condition_variable cv_;
  std::deque<Op> queue_;
  size_t eager_queued_ = 0;  // ops in queue_ that are not lazy
  // Lazy ops queued and not yet finished (committed or failed): Read's barrier.
  std::atomic<uint64_t> lazy_pending_{0};
  uint64_t queued_seq_ = 0;  // ops ever queued (an op's ticket is the count after it)
  uint64_t taken_seq_ = 0;   // ops ever moved into a batch (queue_ is FIFO)
  bool stopping_ = false;
  bool writer_idle_ = false;  // commit_on_caller: the writer thread waits for any op
  std::thread writer_thread_;

  // commit_on_caller (and one_shot): whichever thread holds commit_mu_ pops and runs the
  // next batch, so batches still commit one at a time and in queue order. It guards what
  // only the writer thread touches otherwise: writer_, the run cache, appender_,
  // committed_seq_, wal_fd_ and deferred_.
  bool caller_commits_ = false;
  std::mutex commit_mu_;
  struct Answered {
    std::function<void(Status)> finish;
    Status status;
  };
  std::vector<Answered> deferred_;  // answers of the batch just run, given after unlocking

  // The syncer (durability full, file store): see SyncLoop.
  struct Synced {
    std::vector<std::function<void(Status)>> finish;
    std::vector<Status> status;
    uint64_t seq = 0;  // committed_seq_ when queued: what its fdatasync covers
  };
  uint64_t committed_seq_ = 0;           // writer thread: COMMITs that appended frames
  std::atomic<uint64_t> synced_seq_{0};  // the committed_seq_ the last fdatasync covered
  std::mutex sync_mu_;
  std::condition_variable sync_cv_;
  std::vector<Synced> sync_queue_;
  bool sync_stop_ = false;
  int wal_fd_ = -1;  // syncer thread only
  std::atomic<bool> sync_failed_{false};
  std::mutex sync_error_mu_;
  std::string sync_error_;
  std::thread sync_thread_;

  Conn ckpt_;  // used only by the checkpointer thread
  // Held for one checkpoint pass (checkpointer or RewindWal): a pass that finds another
  // one running would fail with SQLITE_BUSY instead of waiting.
  std::mutex ckpt_pass_mu_;
  std::mutex ckpt_mu_;
  std::condition_variable ckpt_cv_;
  bool ckpt_wanted_ = false;
  bool ckpt_stop_ = false;
  std::thread ckpt_thread_;

  std::mutex auth_mu_;
  std::unordered_map<std::string, std::pair<core::Principal, std::chrono::steady_clock::time_point>>
      auth_cache_;
};

}  // namespace interlock::store

#endif  // INTERLOCK_STORE_SQLITE_STORE_INTERNAL_H_

// Private to the PostgreSQL backend: the pieces PostgresStore's source files share (row
// types, the column-array writer) and PostgresStore::Impl. postgres_store.cc migrates,
// listens and holds the public methods, postgres_writer.cc the writer thread, its batches
// and their reconciliation, postgres_flush.cc the SQL a batch's writes become. Include
// only from those files.
#ifndef INTERLOCK_STORE_POSTGRES_STORE_INTERNAL_H_
#define INTERLOCK_STORE_POSTGRES_STORE_INTERNAL_H_

#include <poll.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdio>
#include <deque>
#include <functional>
#include <future>
#include <initializer_list>
#include <iterator>
#include <map>
#include <mutex>
#include <optional>
#include <set>
#include <thread>
#include <tuple>
#include <utility>

#include <boost/json.hpp>

#include "audit/audit_log.h"
#include "audit/canonical.h"
#include "audit/checkpoint.h"
#include "audit/redact.h"
#include "common/base64.h"
#include "common/crypto.h"
#include "common/decision_json.h"
#include "common/json.h"
#include "common/json_write.h"
#include "common/saturating.h"
#include "common/thread_name.h"
#include "core/app/kills.h"
#include "core/approval_txn.h"
#include "core/decide_txn.h"
#include "core/ports/state_txn.h"
#include "core/roles.h"
#include "core/run_txn.h"
#include "store/call_id.h"
#include "store/postgres_approvals.h"
#include "store/postgres_pins.h"
#include "store/postgres_read.h"
#include "store/postgres_store.h"
#include "store/row_codec.h"

namespace interlock::store {
// Inline: the Impl members in each file name these unqualified; its own name keeps them
// apart from the SQLite backend's helpers at link time.
inline namespace pg_internal {

using internal::AppendStateStoreJson;
using internal::NewId;
using internal::ParseRecords;

using pg::PgConn;
using pg::PgResult;
using Clock = std::chrono::steady_clock;

inline constexpr int kMaxRetries = 3;
inline constexpr size_t kMaxUnreconciled = 64;
inline constexpr auto kMaxQueueWait = std::chrono::seconds(5);
inline constexpr auto kReconnectBackoff = std::chrono::seconds(1);
inline constexpr size_t kAuthCacheMax = 10000;

inline constexpr const char* kSelectRunCols =
    "agent_id, started_ms, steps, tokens, cost_micros, halted, halt_reason, ended,"
    " records_json, version, sequence_json, ended_ms, parent_run_id, role, depth";

inline int64_t Millis(TimePoint t) { return ToUnixMillis(t); }

// A run row as the batch holds it.
struct Row : internal::StoredRunRow {
  uint64_t db_version = 0;  // as read (the UPDATE's version check)
  bool is_new = false;      // created in this batch: INSERT (dirty: UPDATE)
};

// Reads a run row from columns kSelectRunCols starting at `first`.
inline Result<Row> ReadRow(const PgResult& r, int i, int first) {
  Row row;
  row.agent_id = std::string(r.Text(i, first));
  row.started_ms = r.Int(i, first + 1);
  row.state.steps = static_cast<uint64_t>(r.Int(i, first + 2));
  row.state.tokens = static_cast<uint64_t>(r.Int(i, first + 3));
  row.state.cost_micros = r.Int(i, first + 4);
  row.state.halted = r.Int(i, first + 5) != 0;
  row.state.halt_reason = std::string(r.Text(i, first + 6));
  row.ended = r.Int(i, first + 7) != 0;
  auto records = ParseRecords(r.Text(i, first + 8));
  if (!records.ok()) return records.error();
  row.state.records = std::move(records).value();
  row.version = row.db_version = static_cast<uint64_t>(r.Int(i, first + 9));
  if (Status s = core::ParseSequenceStoreJson(r.Text(i, first + 10), &row.state); !s.ok()) {
    return s.error();
  }
  if (!r.IsNull(i, first + 11)) row.ended_ms = r.Int(i, first + 11);
  row.parent_run_id = std::string(r.Text(i, first + 12));
  row.role = std::string(r.Text(i, first + 13));
  row.depth = static_cast<int>(r.Int(i, first + 14));
  return row;
}

struct PendingCall {
  std::string call_id, run_id, agent_id, principal, tool, args_json, decision_json, verdict, code,
      state_json, policy_sha256;
  int64_t time_ms = 0;
  uint64_t usage_tokens = 0;
  int64_t usage_cost_micros = 0;
};

// The rows of a multi-row write as one binary array parameter per column (array_recv's
// format: no SQL text to scan and no array literal for array_in to read), for one
// statement of PgConn::ExecBinary: "... SELECT * FROM unnest($1::bigint[], $2::text[], ...)"
// (docs/performance.md, "The fleet": less of the server's CPU per decision, in the time
// every other daemon of the fleet waits for the audit head's lock). Every audit record
// goes this way, a batch's and a reconciliation's alike.
class BinaryColumns {
 public:
  // `types`: each column's element type, "bigint" or "text".
  explicit BinaryColumns(std::initializer_list<const char*> types);
  void Text(std::string_view v);
  void Int(int64_t v);
  // As a bigint (an integer column takes it by INSERT's assignment cast).
  void Uint(uint64_t v) { Int(static_cast<int64_t>(v)); }
  void Null();
  size_t rows() const { return rows_; }
  size_t columns() const { return types_.size(); }
  // The arrays (types and values for ExecBinary, appended), and "unnest($first::t1[],
  // $first+1::t2[], ...)".
  void Params(std::vector<unsigned>* types, std::vector<std::string>* values) const;
  std::string Unnest(size_t first = 1) const;

 private:
  std::string& Next();
  std::vector<std::string> types_;
  std::vector<std::string> elems_;  // per column: each element's length and bytes
  std::vector<bool> nulls_;
  size_t next_ = 0, rows_ = 0;
};

inline constexpr const char* kInsertEvents =
    "INSERT INTO audit_log(seq, time_ms, type, run_id, call_id, agent_id, principal, body,"
    " data, prev_hash, hash) SELECT * FROM ";
inline constexpr const char* kInsertRuns =
    "INSERT INTO runs(run_id, agent_id, started_ms, steps, tokens, cost_micros, halted,"
    " halt_reason, ended, records_json, sequence_json, parent_run_id, role, depth, version)"
    " SELECT *, 0 FROM ";
inline constexpr const char* kInsertCalls =
    "INSERT INTO calls(call_id, run_id, agent_id, principal, time_ms, tool, args_json,"
    " usage_tokens, usage_cost_micros, decision_json, verdict, code, state_after_json,"
    " policy_sha256, decision_seq, args_len, decision_len) SELECT * FROM ";
// Followed by the changed runs' unnest(...) AS v(...) and the version check (Statement).
inline constexpr const char* kUpdateRuns =
    "UPDATE runs SET steps = v.steps, tokens = v.tokens, cost_micros = v.cost_micros,"
    " halted = v.halted, halt_reason = v.halt_reason, ended = v.ended,"
    " records_json = v.records_json, sequence_json = v.sequence_json,"
    " version = runs.version + 1 FROM ";
// After kUpdateRuns and the run updates' unnest(...): each row at the version it names.
inline constexpr const char* kRunUpdateMatch =
    " AS v(run_id, version, steps, tokens, cost_micros, halted, halt_reason, ended,"
    " records_json, sequence_json) WHERE runs.run_id = v.run_id AND runs.version = v.version";

// The rows of one batch that go as binary array parameters, in one statement of
// PgConn::ExecBinary before the script: the runs it creates and changes, its calls and its
// audit records, as data-modifying CTEs ("WITH w0 AS (INSERT INTO runs ...), w1 AS (INSERT
// INTO calls ...), w2 AS (INSERT INTO audit_log ...), u AS (UPDATE runs ...) SELECT
// interlock_expect_rows(...)"). A call's run may be created by the same statement: its
// foreign key is checked when the statement ends.
struct BinaryWrites {
  BinaryColumns runs{"text", "text",   "bigint", "bigint", "bigint", "bigint", "bigint",
                     "text", "bigint", "text",   "text",   "text",   "text",   "bigint"};
  BinaryColumns run_updates{"text",   "bigint", "bigint", "bigint", "bigint",
                            "bigint", "text",   "bigint", "text",   "text"};
  BinaryColumns calls{"text", "text",   "text",   "text",   "bigint", "text",
                      "text", "bigint", "bigint", "text",   "text",   "text",
                      "text", "text",   "bigint", "bigint", "bigint"};
  BinaryColumns events{"bigint", "bigint", "text", "text", "text", "text",
                       "text",   "text",   "text", "text", "text"};
  // The same records as the one audit_batches row the statement also inserts (schema 11:
  // the audit log's durability point; audit_log itself is UNLOGGED): seqs log_first to
  // log_last, `log` the JSON array of each record's [seq, time_ms, type, run_id, call_id,
  // agent_id, principal, body, data, prev_hash, hash], as interlock_rebuild_audit_log
  // reads them back. Empty when the batch appends no record.
  int64_t log_first = 0, log_last = 0;
  std::string log;
  // The statement over the non-empty ones; "" when every one is empty.
  std::string Statement() const;
  // Runs `statement` (Statement() or RestoreStatement()) with these rows as its parameters.
  Result<PgResult> Exec(PgConn& c, const std::string& statement, std::string* sqlstate) const;
  // The run updates alone, for a reconciliation: each run whose version is still the one
  // given, without a check; its rows are the run ids updated.
  std::string RestoreStatement() const;
  // Its parameters, in the statement's order.
  void Params(std::vector<unsigned>* types, std::vector<std::string>* values) const;
};

}  // namespace pg_internal

class PostgresStore::Impl {
 public:
  // Everything one batch transaction read and will write.
  struct Batch {
    std::map<std::string, Row, std::less<>> runs;  // locked (or created) in this batch
    core::EngagedKills kills;                      // engaged, as of this transaction
    std::vector<PendingCall> calls;
    std::vector<core::KillEntry> kill_writes;
    std::vector<audit::AuditEvent> events;
    std::map<std::string, core::CallResultRow, std::less<>> call_rows;  // read, locked
    std::string sql;  // other writes (tokens, results, ended runs), ';'-terminated
    audit::AuditHead head;
    // Cross-run counts (rate limits, quotas), read by the prefetch of a decision that
    // needs them after the batch took the audit head's lock (which every writing
    // transaction of every daemon takes first: counting is serialised), plus what this
    // batch's operations added so far.
    struct Window {
      int64_t since_ms = 0;  // counted: at_ms > since_ms
      uint64_t calls = 0;
      int64_t oldest_ms = 0;  // at_ms of the oldest counted call (when calls > 0)
    };
    std::map<std::pair<std::string, std::string>, Window> windows;  // (agent, rate key)
    struct Day {
      uint64_t calls = 0, tokens = 0;
      int64_t cost_micros = 0;
    };
    std::map<std::pair<std::string, int64_t>, Day> days;              // (agent, day): as read
    std::map<std::pair<std::string, int64_t>, Day> day_adds;          // (agent, day): to add
    std::vector<std::tuple<std::string, std::string, int64_t>> hits;  // to insert
    // Idempotency keys (run id, key): as read by a prefetch (after the audit head's lock,
    // which serialises every writing transaction: exact), and those this batch saves.
    std::map<std::pair<std::string, std::string>, std::optional<core::IdempotencyRow>> idem;
    struct IdemWrite {
      std::string run_id, key;
      core::IdempotencyRow row;
      int64_t at_ms = 0;
    };
    std::vector<IdemWrite> idem_writes;
    // Approvals (postgres_approvals.h): the rows as this batch leaves them. Approval code
    // reads on the batch's connection, inside its transaction.
    internal::PgApprovalBatch approvals;
    PgConn* conn = nullptr;
    std::string* sqlstate = nullptr;
    const PostgresOptions* options = nullptr;
  };

  // One queued operation. `apply` runs in memory on the batch (possibly several times:
  // retries re-run it from scratch); `done` runs once, after the commit or the failure.
  struct Op {
    std::vector<std::string> run_ids;  // rows to lock before `apply`
    std::function<Status(Batch&)> apply;
    std::function<void(Status)> done;
    Clock::time_point enqueued;
    // Reads (and locks) rows the operation needs besides runs, in the batch transaction
    // before the runs are locked; may add run ids to lock. A kUnavailable failure fails
    // the batch (*sqlstate set); any other fails this operation only.
    std::function<Status(PgConn&, Batch&, std::vector<std::string>* run_ids, std::string* sqlstate)>
        prefetch = {};
    // A security-relevant op (StoreOptions::checkpoint_signer, docs/audit.md "Anchors"): it commits
    // in a batch of its own, with a signed checkpoint of its last record inserted in the
    // same transaction. kRequired: no checkpoint, no commit; kBestEffort: committed
    // anyway, logged and counted.
    core::AnchorNeed anchor = core::AnchorNeed::kNone;
    // Commits in a batch of its own: its prefetch reads rows that another op of the same
    // batch could write before it applies (the pins: both ops would decide on the row as
    // it was before the batch, and the second upsert would silently undo the first).
    bool alone = false;
    bool Alone() const { return alone || anchor != core::AnchorNeed::kNone; }
  };

  explicit Impl(PostgresOptions options)
      : options_(std::move(options)), redactor_(options_.audit_key) {}

  ~Impl();

  Status Start();

  // PostgresStore::SetCallListener.
  void SetCallListener(std::function<void(std::string_view)> fn);

  TimePoint Now() const {
    return options_.clock != nullptr ? options_.clock->Now() : std::chrono::system_clock::now();
  }

  void Submit(Op op);

  Status SubmitAndWait(std::vector<std::string> run_ids, std::function<Status(Batch&)> apply,
                       decltype(Op::prefetch) prefetch = {},
                       core::AnchorNeed anchor = core::AnchorNeed::kNone, bool alone = false);

  uint64_t anchor_failures() const { return anchor_failures_.load(); }

  // Reads on the reader connection (opened on first use, dropped on failure).
  const PostgresOptions& options() const { return options_; }

  template <class T>
  Result<T> Read(const std::function<Result<T>(PgConn&)>& fn) {
    std::lock_guard lock(reader_mu_);
    if (Status s = EnsureConnection(&reader_, &reader_down_until_); !s.ok()) return s.error();
    Result<T> r = fn(*reader_);
    if (!r.ok() && r.error().kind == ErrorKind::kUnavailable && reader_->Broken()) {
      // A connection the server closed (a restart, a failover) is found out by its next
      // use: a read is safe to run once more on a fresh connection.
      reader_.reset();
      if (Status s = Connect(&reader_, &reader_down_until_); !s.ok()) return s.error();
      r = fn(*reader_);
    }
    if (!r.ok() && r.error().kind == ErrorKind::kUnavailable) reader_.reset();
    return r;
  }

  // Every row of `sql` (no parameters), each made by `row(result, i)`, as Read.
  template <class T>
  Result<std::vector<T>> ReadRows(const std::string& sql,
                                  const std::function<T(const PgResult&, int)>& row) {
    return Read<std::vector<T>>([&](PgConn& c) -> Result<std::vector<T>> {
      Result<PgResult> r = c.Exec(sql, {});
      if (!r.ok()) return r.error();
      std::vector<T> out;
      for (int i = 0; i < r->rows(); ++i) out.push_back(row(*r, i));
      return out;
    });
  }

  const audit::Redactor& redactor() const { return redactor_; }

  // The token cache (PostgresOptions::auth_cache_ttl), keyed by the token's SHA-256.
  std::optional<core::Principal> CachedPrincipal(const std::string& hash);
  void CachePrincipal(const std::string& hash, const core::Principal& p);
  void ClearAuthCache();

  // The StateTxn of one operation in a batch. Rows are the batch's; it writes only in
  // memory (the batch's flush writes them), so a failed operation is undone by dropping
  // what it appended.
  class Txn final : public core::StateTxn {
   public:
    explicit Txn(Batch& b) : b_(b), approvals_(ApprovalCtx(b)) {}
    Result<core::RunRow> LoadRunForUpdate(std::string_view run_id) override {
      auto it = b_.runs.find(run_id);
      if (it == b_.runs.end()) return Error::NotFound("no run " + std::string(run_id));
      return internal::ToCoreRunRow(it->second);
    }
    // The run's id is locked in this batch (the operation names it): a row there exists.
    Status InsertRun(const core::NewRun& run) override {
      if (b_.runs.contains(run.run_id)) {
        return Error{ErrorKind::kAlreadyExists, "run " + run.run_id + " exists"};
      }
      Row row;
      row.agent_id = run.agent_id;
      row.started_ms = Millis(run.started);
      row.is_new = true;
      row.parent_run_id = run.parent_run_id;
      row.role = run.role;
      row.depth = run.depth;
      row.state.workspace = run.workspace.workspace;
      row.state.workspace_refused = run.workspace.refused;
      b_.runs.emplace(run.run_id, std::move(row));
      return Status::Ok();
    }
    Result<int> CountLiveChildren(std::string_view parent_run_id) override;
    Status SaveRun(std::string_view run_id, const core::RunRow& row) override {
      auto it = b_.runs.find(run_id);
      if (it == b_.runs.end()) return Error::NotFound("no run " + std::string(run_id));
      Row& r = it->second;
      if (r.version != row.version) {
        return Error::Unavailable("store: run " + std::string(run_id) + " changed (conflict)");
      }
      if (r.ended && !row.ended) return Error::Internal("store: an ended run is never un-ended");
      if (row.ended && !r.ended) {
        r.ended = true;
        b_.sql.append("UPDATE runs SET ended_ms = " + std::to_string(Millis(row.ended_at)) +
                      " WHERE run_id = ");
        pg::AppendLiteral(&b_.sql, run_id);
        b_.sql.append(";");
      }
      AssignRunState(row.state, &r.state);
      ++r.version;
      r.dirty = true;
      return Status::Ok();
    }
    Result<std::optional<engine::KillSwitch>> EngagedKill(std::string_view agent_id,
                                                          std::string_view run_id) override {
      return b_.kills.Covering(agent_id, run_id);
    }
    Result<std::string> InsertCall(const core::NewCall& c) override {
      const core::DecideRequest& rq = c.request;
      PendingCall p;
      p.call_id = internal::CallIdTimePrefix(rq.now) + NewId("");
      p.run_id = rq.run_id;
      p.agent_id = rq.agent_id;
      p.principal = rq.principal;
      p.time_ms = Millis(rq.now);
      p.tool = rq.call.tool;
      p.args_json = std::string(c.args_json);
      p.usage_tokens = rq.call.usage.tokens;
      p.usage_cost_micros = rq.call.usage.cost_micros;
      p.decision_json = std::string(c.decision_json);
      p.verdict = VerdictName(c.decision.verdict);
      p.code = CodeName(c.decision.code);
      AppendStateStoreJson(&p.state_json, c.state_after);
      p.policy_sha256 = rq.policy_sha256;
      b_.calls.push_back(std::move(p));
      return b_.calls.back().call_id;
    }
    Result<core::CallRecord> LoadCall(std::string_view call_id) override {
      return internal::PgLoadCallInBatch(ApprovalCtx(b_), call_id);
    }
    Result<core::CallResultRow> LoadCallForResult(std::string_view call_id) override {
      auto it = b_.call_rows.find(call_id);
      if (it == b_.call_rows.end()) return Error::NotFound("no call " + std::string(call_id));
      return it->second;
    }
    Status SaveCallResult(std::string_view call_id, std::string_view result_json,
                          TimePoint at) override {
      b_.sql.append("UPDATE calls SET result_json = ");
      pg::AppendLiteral(&b_.sql, result_json);
      b_.sql.append(", result_ms = " + std::to_string(Millis(at)) + " WHERE call_id = ");
      pg::AppendLiteral(&b_.sql, call_id);
      b_.sql.append(";");
      return Status::Ok();
    }
    Result<engine::AgentUsage> CountAgentUsage(std::string_view agent_id, const core::CountQuery& q,
                                               TimePoint now) override {
      engine::AgentUsage u;
      const int64_t now_ms = Millis(now);
      if (!q.rate_key.empty()) {
        auto it = b_.windows.find({std::string(agent_id), q.rate_key});
        if (it == b_.windows.end()) {
          return Error::Internal("store: the rate-limit counts were not read for this call");
        }
        const Batch::Window& w = it->second;
        u.window_calls = w.calls;
        if (w.calls > 0) u.window_oldest_ms = now_ms - w.oldest_ms;
        for (const auto& [agent, key, at] : b_.hits) {
          if (agent != agent_id || key != q.rate_key || at <= now_ms - q.window_ms) continue;
          if (u.window_calls == 0) u.window_oldest_ms = now_ms - at;
          ++u.window_calls;
        }
      }
      if (q.day) {
        const std::pair<std::string, int64_t> key{std::string(agent_id), UtcDayOfMillis(now_ms)};
        auto it = b_.days.find(key);
        if (it == b_.days.end()) {
          return Error::Internal("store: the day's totals were not read for this call");
        }
        u.day_calls = it->second.calls;
        u.day_tokens = it->second.tokens;
        u.day_cost_micros = it->second.cost_micros;
        if (auto add = b_.day_adds.find(key); add != b_.day_adds.end()) {
          // Saturating: an agent's reported tokens are any uint64, and a wrapped sum would
          // read as a small day and pass its quota.
          u.day_calls += add->second.calls;
          u.day_tokens = SaturatingAdd(u.day_tokens, add->second.tokens);
          u.day_cost_micros = SaturatingAdd(u.day_cost_micros, add->second.cost_micros);
        }
      }
      return u;
    }
    Status AddAgentUsage(std::string_view agent_id, std::string_view rate_key, bool call,
                         const Usage& usage, TimePoint now) override {
      const int64_t now_ms = Millis(now);
      if (call && !rate_key.empty()) {
        b_.hits.emplace_back(std::string(agent_id), std::string(rate_key), now_ms);
      }
      Batch::Day& d = b_.day_adds[{std::string(agent_id), UtcDayOfMillis(now_ms)}];
      if (call) ++d.calls;
      d.tokens = SaturatingAdd(d.tokens, usage.tokens);
      d.cost_micros = SaturatingAdd(d.cost_micros, usage.cost_micros);
      return Status::Ok();
    }
    void AppendAudit(audit::AuditEvent event) override { b_.events.push_back(std::move(event)); }
    core::ApprovalRows& approvals() override { return approvals_; }
    Result<std::optional<core::IdempotencyRow>> LoadIdempotency(std::string_view run_id,
                                                                std::string_view key) override {
      for (auto it = b_.idem_writes.rbegin(); it != b_.idem_writes.rend(); ++it) {
        if (it->run_id == run_id && it->key == key) {
          return std::optional<core::IdempotencyRow>(it->row);
        }
      }
      auto it = b_.idem.find({std::string(run_id), std::string(key)});
      if (it == b_.idem.end()) {
        return Error::Internal("store: the idempotency key was not read for this request");
      }
      return it->second;
    }
    Status SaveIdempotency(std::string_view run_id, std::string_view key,
                           const core::IdempotencyRow& row, TimePoint now) override {
      b_.idem_writes.push_back(
          Batch::IdemWrite{std::string(run_id), std::string(key), row, Millis(now)});
      return Status::Ok();
    }

   private:
    Batch& b_;
    internal::PgApprovalRows approvals_;
  };

  // What approval code uses of batch `b` (postgres_approvals.h).
  static internal::PgApprovalCtx ApprovalCtx(Batch& b);

  // A call this batch inserted, as recorded (its JSON texts are the core's own).
  static core::CallRecord RecordOf(const PendingCall& p);

 private:
  // --- schema ---------------------------------------------------------------------------

  Status Migrate(PgConn& c);

  static void Rollback(PgConn& c);

  // --- wake-ups across daemons (LISTEN) ---------------------------------------------------

  // Tells the listener (under its mutex, so SetCallListener(nullptr) waits for a call in
  // flight): call_id changed, or "" for every call.
  void WakeCalls(std::string_view call_id);

  // A dedicated connection LISTENs on the calls channel. Each (re)connect wakes every
  // waiter once to re-read (a notification sent while it was down is not replayed), then
  // every notification wakes its call's waiters as soon as it arrives (poll on the
  // socket, no polling of the database). A lost connection is retried every 500 ms.
  void ListenLoop();

  // --- the writer -----------------------------------------------------------------------

  void WriterLoop();

  // Runs the ops as one batch, joined by those queued while it waited for the audit head's
  // lock (JoinQueued); on a failure that is not a conflict or the database's (a bad
  // operation), runs each op in its own transaction so it fails alone.
  void RunOps(std::deque<Op>& ops);

  Status EnsureWriter() { return EnsureConnection(&writer_, &writer_down_until_); }
  // *conn when it is open and sound; else a new connection, unless the last attempt failed
  // less than kReconnectBackoff ago (kUnavailable without trying).
  Status EnsureConnection(std::unique_ptr<PgConn>* conn, Clock::time_point* down_until);
  // A new connection into *conn; on a failure, *down_until = now + kReconnectBackoff.
  Status Connect(std::unique_ptr<PgConn>* conn, Clock::time_point* down_until);

  // Moves the operations queued since the batch was taken into it (their pointers appended
  // to *ops, the ops themselves to *held), up to max_batch operations, stopping at one that
  // must commit alone or has been queued too long; none when an op of the batch must
  // commit alone. Called once the transaction holds the audit head's lock: a daemon's
  // batch waits there while another daemon's commits (every writer of the fleet takes that
  // lock first, and keeps it through its COMMIT's WAL flush), and what arrived meanwhile is
  // best committed with it, in the same WAL flush, rather than after one more turn of the
  // whole fleet.
  void JoinQueued(std::deque<Op>* held, std::vector<Op*>* ops);

  // Up to kMaxRetries attempts of one transaction for `ops` (joined by queued ones when
  // `held` is given: JoinQueued). On success every op's own outcome is in *statuses.
  // *op_fault: the failure was an SQL error that an operation's data may have caused (not
  // the connection, not a conflict).
  Status RunBatch(std::vector<Op*>* ops, std::vector<Status>* statuses, bool* op_fault,
                  std::deque<Op>* held);

  // *committing: the failure came from the round trip that writes and commits.
  Status TryBatch(std::vector<Op*>* ops_in, std::deque<Op>* held, std::vector<Status>* statuses,
                  std::string* sqlstate, bool* committing);
  // TryBatch's steps: the operations applied in memory (a refused or failed one leaves
  // nothing in `b`), then the round trip of every write, the anchor and the COMMIT.
  void ApplyOps(const std::vector<Op*>& ops, std::vector<std::optional<Status>>* refused, Batch* b,
                std::vector<Status>* statuses);
  Status CommitBatch(const std::vector<Op*>& ops, Batch* b,
                     const std::vector<const PgResult*>& run_sets, std::string* sqlstate,
                     bool* committing);

  // After a COMMIT reported with a WARNING (its wait for the synchronous standby was
  // cancelled): the batch is on this primary but every operation of it is answered
  // STORE_UNAVAILABLE. So that the trail says what the callers were told, one more
  // transaction (docs/audit.md, "A commit the standby did not confirm"):
  //   - a "commit_unconfirmed" record naming the batch's records (seq first..last) and the
  //     warning, then one "decision_reconciled" record per call of the batch: the
  //     decision recorded at `recorded_seq` was not released, the agent was told deny
  //     STORE_UNAVAILABLE;
  //   - the call rows become that deny (a poll or a re-submission never releases them),
  //     their pending approvals are cancelled, their Idempotency-Keys forgotten (a retry
  //     is decided afresh);
  //   - the budgets they spent are given back: each run row the batch changed is put
  //     back as the batch read it, if nobody changed it since (else the record says
  //     budget_restored false), and the agents' daily and rate-limit counts lose the
  //     batch's calls.
  // It commits with synchronous_commit = local: it does not wait again for the standby
  // that just failed to answer, and the next confirmed commit carries it to the standby
  // (WAL order). Kill switches, tokens, votes and results of the batch stand (recorded,
  // and named by the seq range).
  struct Unconfirmed {
    int64_t first_seq = 0, last_seq = 0;
    std::string warning, told_reason;
    std::vector<PendingCall> calls;
    std::map<std::string, int64_t, std::less<>> decision_seq;  // call id -> its record
    std::map<std::string, Row, std::less<>> before;  // changed runs, as the batch read them
    std::map<std::string, uint64_t, std::less<>> version_after;  // theirs after the batch
    std::vector<Batch::IdemWrite> idem_writes;
    std::map<std::pair<std::string, int64_t>, Batch::Day> day_adds;
    std::vector<std::tuple<std::string, std::string, int64_t>> hits;
  };

  static Unconfirmed MakeUnconfirmed(const Batch& b, int64_t first_seq,
                                     const std::vector<const PgResult*>& run_sets,
                                     const std::string& warning, const std::string& told);

  // Appends to `sql` the statements taking back what the unconfirmed batch counted: its
  // idempotency keys, the agents' day totals and the rate limit's hits.
  static void AppendUndoneCounts(const Unconfirmed& u, std::string* sql);

  // Writes `u`'s reconciliation on `c` (see Unconfirmed). The audit head's lock is waited
  // for briefly only: other daemons' batches hold it through their own COMMIT's wait for
  // the same standby, and a caller is not kept waiting for them; a failure leaves nothing
  // (Defer retries it before the writer's next batches).
  Status Reconcile(PgConn& c, const Unconfirmed& u);

  // Keeps a reconciliation that could not be written for the writer's next turns (at most
  // kMaxUnreconciled; beyond, the oldest is given up, loudly).
  void Defer(Unconfirmed u);

  // Before a batch: the reconciliations still owed, oldest first, until one fails.
  void ReconcileOwed();

  // The anchor of a security-relevant op (Op::anchor, alone in its batch): a checkpoint
  // of the batch's new head, signed now and inserted into `sql` so that it commits with
  // the records it names. nullopt when nothing is anchored; an Error (the batch fails)
  // when a kRequired op cannot be anchored.
  Result<std::optional<audit::Checkpoint>> AnchorBatch(const std::vector<Op*>& ops, const Batch& b,
                                                       std::string* sql);

  // "SELECT <run columns> FROM runs WHERE run_id IN (...) FOR UPDATE;" (sorted ids).
  static void AppendLockRuns(std::string* sql, const std::set<std::string>& ids);

  static void AppendInt(std::string* out, int64_t v) { out->append(std::to_string(v)); }
  static void AppendUint(std::string* out, uint64_t v) { out->append(std::to_string(v)); }

  // The batch's writes: the new runs, calls and audit records into *binary (for
  // ExecBinary, before the script), every other write as the script it returns.
  std::string Flush(Batch& b, BinaryWrites* binary);
  // Flush's steps: the rows into *binary, or appending their writes to *out.
  static void FillRuns(const Batch& b, BinaryColumns& created, BinaryColumns& changed);
  // One row of BinaryWrites::run_updates: `r`'s state where the run is at `version`.
  static void FillRunUpdate(std::string_view run_id, uint64_t version, const Row& r,
                            BinaryColumns& changed, std::string* scratch);
  static void FillCalls(const Batch& b,
                        const std::map<std::string_view, int64_t>& compact_decisions,
                        BinaryColumns& v);
  static void AppendIdempotencyWrites(const Batch& b, std::string* out);
  static void AppendOtherWrites(const Batch& b, std::string* out);

  // The batch's audit records, chained from b.head (which it advances), and the head row.
  // A record is stored in the compact form (migration 9) when audit_records rebuilds its
  // body exactly: its data alone, the body NULL; else the whole body, data NULL.
  // With `compact_decisions`: the seq of each call's decision record stored compact.
  // The records go to `binary` (BinaryWrites::events, and BinaryWrites::log: the
  // durable audit_batches row), the head row's update to `sql`.
  static void AppendEvents(Batch& b, std::string* sql,
                           std::map<std::string_view, int64_t>* compact_decisions,
                           BinaryWrites& binary);

  // The seq of p's decision record when the calls row may refer to it instead of copying
  // the arguments and decision: the record is stored compact, and its data holds the very
  // texts where kPgCallArgsJson and kPgCallDecisionJson read them. 0: copy them.
  static int64_t ReferencedSeq(const Batch& b,
                               const std::map<std::string_view, int64_t>& compact_decisions,
                               const PendingCall& p);

  // True when p's decision record (seq, referred to) holds the policy's hash right after
  // the decision, where kPgCallPolicySha256 reads it up to its closing quote: the data has
  // no identity, and the hash needs no JSON escape.
  static bool PolicyFollowsDecision(const Batch& b, int64_t seq, const PendingCall& p);

  // True when audit_records' SQL rebuilds e's body byte for byte: no envelope string needs
  // a JSON escape (AppendJsonString escapes bytes below 0x20, '"' and '\\'; the view
  // concatenates them raw), and the time is in [1970, 2100), where the view's to_char of
  // an exact millisecond interval prints what FormatRfc3339 does.
  static bool CompactForm(const audit::AuditEvent& e, std::string_view prev);

  PostgresOptions options_;
  audit::Redactor redactor_;

  std::mutex mu_;
  std::condition_variable cv_;
  std::deque<Op> queue_;
  bool stopping_ = false;
  std::thread writer_thread_;
  std::unique_ptr<PgConn> writer_;  // the writer thread's (Start's before it runs)
  // Reconciliations owed (Reconcile failed after a warned COMMIT); the writer thread's.
  std::deque<Unconfirmed> unreconciled_;
  Clock::time_point writer_down_until_;

  std::atomic<uint64_t> anchor_failures_{0};  // best-effort anchors that failed

  std::mutex auth_mu_;
  std::map<std::string, std::pair<core::Principal, Clock::time_point>> auth_cache_;

  std::mutex reader_mu_;
  std::unique_ptr<PgConn> reader_;
  Clock::time_point reader_down_until_;

 public:
  std::atomic<bool> listening_{false};  // the LISTEN connection is up

 private:
  std::mutex listen_mu_;
  std::condition_variable listen_cv_;
  bool listen_stop_ = false;
  bool first_listen_ = true;  // the listener thread's
  std::thread listener_thread_;
  std::mutex call_listener_mu_;
  std::function<void(std::string_view)> call_listener_;
};

}  // namespace interlock::store

#endif  // INTERLOCK_STORE_POSTGRES_STORE_INTERNAL_H_

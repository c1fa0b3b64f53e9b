#include "store/postgres_store.h"

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
#include "common/json_write.h"
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
#include "store/row_codec.h"

namespace interlock::store {
namespace {

using internal::AppendStateStoreJson;
using internal::NewId;
using internal::ParseRecords;

using pg::PgConn;
using pg::PgResult;
using Clock = std::chrono::steady_clock;

// Schema. Migration i (0-based) moves the database from version i to i + 1; each runs in
// the migrating transaction. The SQL is the SQLite store's (portable), plus a row version
// on runs, the audit head row created with the schema, and one helper function.
constexpr const char* kPgMigrations[] = {
    // 1: initial schema.
    "CREATE TABLE runs ("
    "  run_id TEXT PRIMARY KEY,"
    "  agent_id TEXT NOT NULL,"
    "  started_ms BIGINT NOT NULL,"
    "  steps BIGINT NOT NULL DEFAULT 0,"
    "  tokens BIGINT NOT NULL DEFAULT 0,"
    "  cost_micros BIGINT NOT NULL DEFAULT 0,"
    "  halted INTEGER NOT NULL DEFAULT 0,"
    "  halt_reason TEXT NOT NULL DEFAULT '',"
    "  ended INTEGER NOT NULL DEFAULT 0,"
    "  ended_ms BIGINT NULL,"
    "  records_json TEXT NOT NULL DEFAULT '{}',"
    "  version BIGINT NOT NULL DEFAULT 0);"
    "CREATE INDEX runs_started ON runs(started_ms, run_id);"
    "CREATE INDEX runs_agent_started ON runs(agent_id, started_ms, run_id);"
    "CREATE TABLE calls ("
    "  call_id TEXT PRIMARY KEY,"
    "  run_id TEXT NOT NULL REFERENCES runs(run_id),"
    "  agent_id TEXT NOT NULL,"
    "  principal TEXT NOT NULL,"
    "  time_ms BIGINT NOT NULL,"
    "  tool TEXT NOT NULL,"
    "  args_json TEXT NOT NULL,"
    "  usage_tokens BIGINT NOT NULL DEFAULT 0,"
    "  usage_cost_micros BIGINT NOT NULL DEFAULT 0,"
    "  decision_json TEXT NOT NULL,"
    "  verdict TEXT NOT NULL,"
    "  code TEXT NOT NULL,"
    "  state_after_json TEXT NOT NULL,"
    "  result_json TEXT NULL,"
    "  result_ms BIGINT NULL,"
    "  policy_sha256 TEXT NOT NULL);"
    "CREATE TABLE tokens ("
    "  token_id TEXT PRIMARY KEY,"
    "  sha256 TEXT NOT NULL UNIQUE,"
    "  role TEXT NOT NULL,"
    "  name TEXT NOT NULL,"
    "  agent_id TEXT NOT NULL DEFAULT '',"
    "  created_ms BIGINT NOT NULL,"
    "  revoked_ms BIGINT NULL);"
    "CREATE TABLE kill_switches ("
    "  scope TEXT NOT NULL,"
    "  target TEXT NOT NULL,"
    "  engaged INTEGER NOT NULL,"
    "  reason TEXT NOT NULL,"
    "  actor TEXT NOT NULL,"
    "  time_ms BIGINT NOT NULL,"
    "  PRIMARY KEY (scope, target));"
    "CREATE TABLE audit_log ("
    "  seq BIGINT PRIMARY KEY,"
    "  time_ms BIGINT NOT NULL,"
    "  type TEXT NOT NULL,"
    "  run_id TEXT NOT NULL DEFAULT '',"
    "  call_id TEXT NOT NULL DEFAULT '',"
    "  agent_id TEXT NOT NULL DEFAULT '',"
    "  principal TEXT NOT NULL DEFAULT '',"
    "  body TEXT NOT NULL,"
    "  prev_hash TEXT NOT NULL,"
    "  hash TEXT NOT NULL);"
    "CREATE INDEX audit_log_time ON audit_log(time_ms);"
    "CREATE INDEX audit_log_run ON audit_log(run_id, seq);"
    // The chain's head, locked by every writing transaction: one chain, serialized by
    // the database, whichever daemon writes.
    "CREATE TABLE audit_head ("
    "  id INTEGER PRIMARY KEY CHECK (id = 1),"
    "  seq BIGINT NOT NULL,"
    "  hash TEXT NOT NULL);"
    "INSERT INTO audit_head(id, seq, hash) VALUES "
    "(1, 0, '0000000000000000000000000000000000000000000000000000000000000000');"
    // A version check that aborts the transaction (SQLSTATE 40001: the writer retries).
    "CREATE FUNCTION interlock_expect_rows(got BIGINT, want BIGINT) RETURNS INTEGER AS $$"
    " BEGIN IF got <> want THEN"
    "  RAISE EXCEPTION 'interlock: a run row changed since it was read (conflict)'"
    "  USING ERRCODE = '40001';"
    " END IF; RETURN 1; END $$ LANGUAGE plpgsql;",
    // 2: sequences (issue 15), as the SQLite store's migration 7: a run's workflow state,
    // variables and labels; the agent's counted calls per rate-limit key and its totals
    // per UTC day.
    "ALTER TABLE runs ADD COLUMN sequence_json TEXT NOT NULL DEFAULT '{}';"
    "CREATE TABLE rate_hits ("
    "  agent_id TEXT NOT NULL,"
    "  rate_key TEXT NOT NULL,"
    "  at_ms BIGINT NOT NULL);"
    "CREATE INDEX rate_hits_key ON rate_hits(agent_id, rate_key, at_ms);"
    "CREATE TABLE agent_days ("
    "  agent_id TEXT NOT NULL,"
    "  day BIGINT NOT NULL,"
    "  calls BIGINT NOT NULL DEFAULT 0,"
    "  tokens BIGINT NOT NULL DEFAULT 0,"
    "  cost_micros BIGINT NOT NULL DEFAULT 0,"
    "  PRIMARY KEY (agent_id, day));",
    // 3: Idempotency-Keys, as the SQLite store's migration 8.
    "CREATE TABLE idempotency_keys ("
    "  run_id TEXT NOT NULL,"
    "  idem_key TEXT NOT NULL,"
    "  request_sha256 TEXT NOT NULL,"
    "  answer TEXT NOT NULL,"
    "  created_ms BIGINT NOT NULL,"
    "  PRIMARY KEY (run_id, idem_key));",
    // 4: approvals and their votes (postgres_approvals.h).
    internal::kPgApprovalsMigration,
    // 5: a reviewer's edit of the arguments, as the SQLite store's migration 9: the edited
    // arguments' hash, which a re-submission must match instead of the original.
    "ALTER TABLE approvals ADD COLUMN edited_args_sha256 TEXT NOT NULL DEFAULT '';",
    // 6: the console's audit search (GET /v1/audit) by agent and by type answered from an
    // index in seq order, as SQLite's audit_log_agent and audit_log_type.
    "CREATE INDEX audit_log_agent ON audit_log(agent_id, seq);"
    "CREATE INDEX audit_log_type ON audit_log(type, seq);",
    // 7: signed checkpoints of the chain (audit/checkpoint.h), shared by every daemon of a
    // fleet: periodic ones, the anchors of security records (written in the transaction of
    // the record) and the anchors of a prune. `line` is the signed checkpoint as one JSON
    // line, exactly as in a checkpoint file. Self-contained: it touches no other table.
    "CREATE TABLE audit_checkpoints ("
    "  id BIGSERIAL PRIMARY KEY,"
    "  seq BIGINT NOT NULL,"
    "  line TEXT NOT NULL);"
    "CREATE INDEX audit_checkpoints_seq ON audit_checkpoints(seq);",
    // 8: the MCP tool pins (postgres_pins.h), shared by every daemon of a fleet.
    internal::kPgPinsMigration,
    // 9: the audit record's compact stored form (AppendEvents). A record whose envelope
    // needs no JSON escape is stored as its `data` alone (body NULL): the rest of the
    // canonical body (ids, seq, time, type, prev) is what the row's columns already hold,
    // ~260 bytes of WAL and heap per decision not written twice. The view audit_records
    // gives every reader the body byte for byte as it was hashed, whichever form the row
    // has (rows written before this version keep theirs). Metadata only: no rewrite.
    "ALTER TABLE audit_log ADD COLUMN data TEXT NULL;"
    "ALTER TABLE audit_log ALTER COLUMN body DROP NOT NULL;"
    "CREATE VIEW audit_records AS SELECT seq, time_ms, type, run_id, call_id, agent_id,"
    " principal, CASE WHEN body IS NOT NULL THEN body ELSE"
    " '{\"agent_id\":\"' || agent_id || '\",\"call_id\":\"' || call_id ||"
    " '\",\"data\":' || data || ',\"prev\":\"' || prev_hash ||"
    " '\",\"principal\":\"' || principal || '\",\"run_id\":\"' || run_id ||"
    " '\",\"seq\":' || seq || ',\"time\":\"' ||"
    " to_char(timestamp '1970-01-01' + time_ms * interval '1 millisecond',"
    " 'YYYY-MM-DD\"T\"HH24:MI:SS.MS\"Z\"') || '\",\"type\":\"' || type || '\"}' END"
    " AS body, prev_hash, hash FROM audit_log;",
    // 10: a calls row keeps its arguments and decision by reference to its decision
    // record's data (postgres_read.h, kPgCallArgsJson), not a second copy (~270 bytes per
    // decision; the policy's hash too, ~65 more, when it follows the decision there). Rows
    // written before, and rows whose record is stored whole, keep theirs.
    "ALTER TABLE calls ADD COLUMN decision_seq BIGINT NULL,"
    " ADD COLUMN args_len INTEGER NULL, ADD COLUMN decision_len INTEGER NULL,"
    " ALTER COLUMN args_json DROP NOT NULL, ALTER COLUMN decision_json DROP NOT NULL,"
    " ALTER COLUMN policy_sha256 DROP NOT NULL;",
};
static_assert(std::size(kPgMigrations) == PostgresStore::kSchemaVersion);

// pg_advisory_xact_lock key for migrations ("ilck" "migr").
constexpr int64_t kMigrationLockKey = 0x696c636b6d696772;

constexpr int kMaxRetries = 3;
constexpr size_t kMaxUnreconciled = 64;
constexpr auto kMaxQueueWait = std::chrono::seconds(5);
constexpr auto kReconnectBackoff = std::chrono::seconds(1);
constexpr size_t kAuthCacheMax = 10000;

constexpr const char* kSelectRunCols =
    "agent_id, started_ms, steps, tokens, cost_micros, halted, halt_reason, ended,"
    " records_json, version, sequence_json";

int64_t Millis(TimePoint t) { return ToUnixMillis(t); }

// A run row as the batch holds it.
struct Row {
  std::string agent_id;
  int64_t started_ms = 0;
  RunState state;
  bool ended = false;
  uint64_t version = 0;     // as core::RunRow::version: bumped by every SaveRun
  uint64_t db_version = 0;  // as read (the UPDATE's version check)
  bool is_new = false;      // created in this batch: INSERT
  bool dirty = false;       // changed in this batch: UPDATE
};

// Reads a run row from columns kSelectRunCols starting at `first`.
Result<Row> ReadRow(const PgResult& r, int i, int first) {
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
  return row;
}

struct PendingCall {
  std::string call_id, run_id, agent_id, principal, tool, args_json, decision_json, verdict, code,
      state_json, policy_sha256;
  int64_t time_ms = 0;
  uint64_t usage_tokens = 0;
  int64_t usage_cost_micros = 0;
};

// The rows of a multi-row write as one array literal per column, for
// "... SELECT * FROM unnest('{..}'::bigint[], '{..}'::text[], ...)": the server parses a
// few long literals, plans one function scan and reads each element with array_in,
// instead of parsing, analysing and planning an expression per cell of a VALUES list
// (docs/performance.md, "The fleet": less of the server's CPU per decision, in the time
// every other daemon of the fleet waits for the audit head's lock).
class ColumnArrays {
 public:
  // `types`: each column's SQL element type ("bigint", "text", ...).
  explicit ColumnArrays(std::initializer_list<const char*> types) : types_(types) {
    cols_.resize(types_.size());
    for (std::string& c : cols_) c = "'{";
  }
  // The next row's values, column by column.
  void Text(std::string_view v) {
    std::string& c = Next();
    // An array element in double quotes (backslash before '"' and '\'), inside an SQL
    // string literal (quote doubled; standard_conforming_strings is on).
    c.push_back('"');
    for (char ch : v) {
      if (ch == '"' || ch == '\\') c.push_back('\\');
      if (ch == '\'') c.push_back('\'');
      c.push_back(ch);
    }
    c.push_back('"');
  }
  void Int(int64_t v) { Next().append(std::to_string(v)); }
  void Null() { Next().append("NULL"); }
  void Uint(uint64_t v) { Next().append(std::to_string(v)); }
  // "unnest('{...}'::t1[], ...)": one row per round of values over the columns.
  void AppendUnnest(std::string* sql) const {
    sql->append("unnest(");
    for (size_t i = 0; i < cols_.size(); ++i) {
      if (i > 0) sql->push_back(',');
      sql->append(cols_[i]);
      sql->append("}'::");
      sql->append(types_[i]);
      sql->append("[]");
    }
    sql->push_back(')');
  }

 private:
  std::string& Next() {
    std::string& c = cols_[next_];
    if (c.size() > 2) c.push_back(',');
    next_ = (next_ + 1) % cols_.size();
    return c;
  }
  std::vector<const char*> types_;
  std::vector<std::string> cols_;
  size_t next_ = 0;
};

}  // namespace

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

  ~Impl() {
    {
      std::lock_guard lock(mu_);
      stopping_ = true;
    }
    cv_.notify_all();
    if (writer_thread_.joinable()) writer_thread_.join();
    {
      std::lock_guard lock(listen_mu_);
      listen_stop_ = true;
    }
    listen_cv_.notify_all();
    if (listener_thread_.joinable()) listener_thread_.join();
  }

  Status Start() {
    Result<std::unique_ptr<PgConn>> c = PgConn::Connect(options_.uri, options_.limits);
    if (!c.ok()) return c.error();
    writer_ = std::move(c).value();
    if (Status s = Migrate(*writer_); !s.ok()) return s;
    writer_thread_ = std::thread([this] { WriterLoop(); });
    return Status::Ok();
  }

  // PostgresStore::SetCallListener.
  void SetCallListener(std::function<void(std::string_view)> fn) {
    const bool start = fn != nullptr && options_.listen;
    {
      std::lock_guard lock(call_listener_mu_);
      call_listener_ = std::move(fn);
    }
    // The listening connection is opened for the first listener only (a daemon), not for
    // every store (the CLI's, which never waits on a call).
    std::lock_guard lock(listen_mu_);
    if (start && !listen_stop_ && !listener_thread_.joinable()) {
      listener_thread_ = std::thread([this] { ListenLoop(); });
    }
  }

  TimePoint Now() const {
    return options_.clock != nullptr ? options_.clock->Now() : std::chrono::system_clock::now();
  }

  void Submit(Op op) {
    op.enqueued = Clock::now();
    {
      std::lock_guard lock(mu_);
      if (!stopping_) {
        queue_.push_back(std::move(op));
        cv_.notify_one();
        return;
      }
    }
    op.done(Error::Unavailable("store: closing"));
  }

  Status SubmitAndWait(std::vector<std::string> run_ids, std::function<Status(Batch&)> apply,
                       decltype(Op::prefetch) prefetch = {},
                       core::AnchorNeed anchor = core::AnchorNeed::kNone, bool alone = false) {
    std::promise<Status> p;
    std::future<Status> f = p.get_future();
    Submit(Op{std::move(run_ids),
              std::move(apply),
              [&p](Status s) { p.set_value(std::move(s)); },
              {},
              std::move(prefetch),
              anchor,
              alone});
    return f.get();
  }

  uint64_t anchor_failures() const { return anchor_failures_.load(); }

  // Reads on the reader connection (opened on first use, dropped on failure).
  const PostgresOptions& options() const { return options_; }

  template <class T>
  Result<T> Read(const std::function<Result<T>(PgConn&)>& fn) {
    std::lock_guard lock(reader_mu_);
    if (reader_ == nullptr || reader_->Broken()) {
      reader_.reset();
      if (Clock::now() < reader_down_until_) {
        return Error::Unavailable("store: postgresql unreachable (retrying)");
      }
      Result<std::unique_ptr<PgConn>> c = PgConn::Connect(options_.uri, options_.limits);
      if (!c.ok()) {
        reader_down_until_ = Clock::now() + kReconnectBackoff;
        return c.error();
      }
      reader_ = std::move(c).value();
    }
    Result<T> r = fn(*reader_);
    if (!r.ok() && r.error().kind == ErrorKind::kUnavailable && reader_->Broken()) {
      // A connection the server closed (a restart, a failover) is found out by its next
      // use: a read is safe to run once more on a fresh connection.
      reader_.reset();
      Result<std::unique_ptr<PgConn>> c = PgConn::Connect(options_.uri, options_.limits);
      if (!c.ok()) {
        reader_down_until_ = Clock::now() + kReconnectBackoff;
        return c.error();
      }
      reader_ = std::move(c).value();
      r = fn(*reader_);
    }
    if (!r.ok() && r.error().kind == ErrorKind::kUnavailable) reader_.reset();
    return r;
  }

  const audit::Redactor& redactor() const { return redactor_; }

  // The token cache (PostgresOptions::auth_cache_ttl), keyed by the token's SHA-256.
  std::optional<core::Principal> CachedPrincipal(const std::string& hash) {
    if (options_.auth_cache_ttl.count() <= 0) return std::nullopt;
    std::lock_guard lock(auth_mu_);
    auto it = auth_cache_.find(hash);
    if (it == auth_cache_.end() || Clock::now() - it->second.second >= options_.auth_cache_ttl) {
      return std::nullopt;
    }
    return it->second.first;
  }
  void CachePrincipal(const std::string& hash, const core::Principal& p) {
    if (options_.auth_cache_ttl.count() <= 0) return;
    std::lock_guard lock(auth_mu_);
    if (auth_cache_.size() >= kAuthCacheMax) auth_cache_.clear();
    auth_cache_[hash] = {p, Clock::now()};
  }
  void ClearAuthCache() {
    std::lock_guard lock(auth_mu_);
    auth_cache_.clear();
  }

  // The StateTxn of one operation in a batch. Rows are the batch's; it writes only in
  // memory (the batch's flush writes them), so a failed operation is undone by dropping
  // what it appended.
  class Txn final : public core::StateTxn {
   public:
    explicit Txn(Batch& b) : b_(b), approvals_(ApprovalCtx(b)) {}
    Result<core::RunRow> LoadRunForUpdate(std::string_view run_id) override {
      auto it = b_.runs.find(run_id);
      if (it == b_.runs.end()) return Error::NotFound("no run " + std::string(run_id));
      const Row& r = it->second;
      return core::RunRow{r.agent_id, FromUnixMillis(r.started_ms), r.state, r.ended, r.version};
    }
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
          u.day_calls += add->second.calls;
          u.day_tokens += add->second.tokens;
          u.day_cost_micros += add->second.cost_micros;
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
      d.tokens += usage.tokens;
      d.cost_micros += usage.cost_micros;
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
  static internal::PgApprovalCtx ApprovalCtx(Batch& b) {
    internal::PgApprovalCtx ctx;
    ctx.conn = b.conn;
    ctx.sqlstate = b.sqlstate;
    ctx.batch = &b.approvals;
    ctx.sql = &b.sql;
    if (b.options != nullptr) {
      ctx.default_timeout_seconds = b.options->approval_default_timeout_seconds;
      ctx.max_wait_seconds = b.options->approval_max_wait_seconds;
    }
    ctx.new_call_decision = [&b](std::string_view call_id) -> std::string* {
      for (PendingCall& p : b.calls) {
        if (p.call_id == call_id) return &p.decision_json;
      }
      return nullptr;
    };
    ctx.new_call = [&b](std::string_view call_id) -> std::optional<core::CallRecord> {
      for (const PendingCall& p : b.calls) {
        if (p.call_id == call_id) return RecordOf(p);
      }
      return std::nullopt;
    };
    return ctx;
  }

  // A call this batch inserted, as recorded (its JSON texts are the core's own).
  static core::CallRecord RecordOf(const PendingCall& p) {
    core::CallRecord r;
    r.call_id = p.call_id;
    r.run_id = p.run_id;
    r.agent_id = p.agent_id;
    r.principal = p.principal;
    r.policy_sha256 = p.policy_sha256;
    r.at = FromUnixMillis(p.time_ms);
    r.call.tool = p.tool;
    boost::system::error_code ec;
    boost::json::value args = boost::json::parse(p.args_json, ec);
    if (!ec && args.is_object()) r.call.args = std::move(args.get_object());
    r.call.usage.tokens = p.usage_tokens;
    r.call.usage.cost_micros = p.usage_cost_micros;
    boost::json::value d = boost::json::parse(p.decision_json, ec);
    std::optional<Decision> decision;
    if (!ec && d.is_object()) decision = DecisionFromJson(d.get_object());
    if (decision) {
      r.decision = std::move(*decision);
    } else {
      // Unreadable (never: the core composed it): a deny, never an allow.
      r.decision.verdict = Verdict::kDeny;
      r.decision.code = Code::kStoreUnavailable;
    }
    return r;
  }

 private:
  // --- schema ---------------------------------------------------------------------------

  Status Migrate(PgConn& c) {
    Result<std::vector<PgResult>> r = c.ExecScript(
        "BEGIN; SELECT pg_advisory_xact_lock(" + std::to_string(kMigrationLockKey) +
        ");"
        " CREATE TABLE IF NOT EXISTS interlock_schema_version (version INTEGER NOT NULL);"
        " SELECT coalesce(max(version), 0) FROM interlock_schema_version;");
    if (!r.ok()) {
      Rollback(c);
      return r.error();
    }
    const int64_t have = r->back().rows() > 0 ? r->back().Int(0, 0) : 0;
    if (have > kSchemaVersion) {
      Rollback(c);
      return Error::Invalid("store: the PostgreSQL database has schema version " +
                            std::to_string(have) + ", newer than this interlock knows (" +
                            std::to_string(kSchemaVersion) +
                            "): upgrade interlock before using this database");
    }
    for (int64_t v = have; v < kSchemaVersion; ++v) {
      Result<std::vector<PgResult>> m = c.ExecScript(kPgMigrations[v]);
      if (!m.ok()) {
        Rollback(c);
        return Error::Unavailable("store: postgresql migration to version " +
                                  std::to_string(v + 1) + " failed: " + m.error().message);
      }
    }
    Result<std::vector<PgResult>> done = c.ExecScript(
        "DELETE FROM interlock_schema_version; INSERT INTO interlock_schema_version VALUES (" +
        std::to_string(kSchemaVersion) + "); COMMIT");
    if (!done.ok()) {
      Rollback(c);
      return done.error();
    }
    return Status::Ok();
  }

  static void Rollback(PgConn& c) {
    if (!c.Broken()) c.ExecScript("ROLLBACK").ok();
  }

  // --- wake-ups across daemons (LISTEN) ---------------------------------------------------

  // Tells the listener (under its mutex, so SetCallListener(nullptr) waits for a call in
  // flight): call_id changed, or "" for every call.
  void WakeCalls(std::string_view call_id) {
    std::lock_guard lock(call_listener_mu_);
    if (call_listener_) call_listener_(call_id);
  }

  // A dedicated connection LISTENs on the calls channel. Each (re)connect wakes every
  // waiter once to re-read (a notification sent while it was down is not replayed), then
  // every notification wakes its call's waiters as soon as it arrives (poll on the
  // socket, no polling of the database). A lost connection is retried every 500 ms.
  void ListenLoop() {
    SetThreadName("il-pg-listen");
    constexpr auto kRetry = std::chrono::milliseconds(500);
    constexpr int kPollMs = 200;  // how soon a stop is noticed
    std::unique_ptr<PgConn> conn;
    for (;;) {
      {
        std::unique_lock lock(listen_mu_);
        if (listen_stop_) return;
        if (conn == nullptr && !first_listen_) {
          listen_cv_.wait_for(lock, kRetry, [&] { return listen_stop_; });
          if (listen_stop_) return;
        }
      }
      if (conn == nullptr) {
        first_listen_ = false;
        Result<std::unique_ptr<PgConn>> c = PgConn::Connect(options_.uri, options_.limits);
        if (!c.ok()) continue;
        Result<PgResult> l =
            (*c)->Exec(std::string("LISTEN ") + internal::kPgCallsChannel, {}, nullptr);
        if (!l.ok()) continue;
        conn = std::move(c).value();
        listening_.store(true);
        WakeCalls("");  // whatever changed while nobody listened
      }
      pollfd p{conn->Socket(), POLLIN, 0};
      const int ready = p.fd >= 0 ? ::poll(&p, 1, kPollMs) : -1;
      if (ready == 0) continue;
      Result<std::vector<std::string>> got =
          ready > 0 ? conn->TakeNotifications(internal::kPgCallsChannel)
                    : Result<std::vector<std::string>>(
                          Error::Unavailable("store: postgresql listen: poll failed"));
      if (!got.ok()) {
        conn.reset();
        listening_.store(false);
        continue;
      }
      for (const std::string& call_id : *got) WakeCalls(call_id);
    }
  }

  // --- the writer -----------------------------------------------------------------------

  void WriterLoop() {
    SetThreadName("il-pg-writer");
    std::deque<Op> batch;  // a deque: JoinQueued appends while pointers to its ops live
    for (;;) {
      {
        std::unique_lock lock(mu_);
        cv_.wait(lock, [&] { return stopping_ || !queue_.empty(); });
        if (queue_.empty()) return;  // stopping, drained
        const size_t n = std::min(queue_.size(), static_cast<size_t>(options_.max_batch));
        for (size_t i = 0; i < n; ++i) {
          // An anchored op commits alone (its checkpoint covers its records only), and so
          // does one whose reads a batch-mate could invalidate (Op::alone).
          const bool alone = queue_.front().Alone();
          if (alone && !batch.empty()) break;
          batch.push_back(std::move(queue_.front()));
          queue_.pop_front();
          if (alone) break;
        }
      }
      RunOps(batch);
      batch.clear();
    }
  }

  // Runs the ops as one batch, joined by those queued while it waited for the audit head's
  // lock (JoinQueued); on a failure that is not a conflict or the database's (a bad
  // operation), runs each op in its own transaction so it fails alone.
  void RunOps(std::deque<Op>& ops) {
    ReconcileOwed();
    const auto now = Clock::now();
    std::vector<Op*> live;
    for (Op& op : ops) {
      if (now - op.enqueued > kMaxQueueWait) {
        op.done(Error::Unavailable("store: postgresql did not answer in time (queued too long)"));
      } else {
        live.push_back(&op);
      }
    }
    if (live.empty()) return;
    std::vector<Status> statuses;
    bool op_fault = false;
    Status s = RunBatch(&live, &statuses, &op_fault, &ops);
    if (!s.ok() && op_fault && live.size() > 1) {
      for (Op* op : live) {
        std::vector<Op*> one{op};
        std::vector<Status> st;
        bool fault = false;
        Status s1 = RunBatch(&one, &st, &fault, nullptr);
        op->done(s1.ok() ? std::move(st[0]) : s1);
      }
      return;
    }
    for (size_t i = 0; i < live.size(); ++i) live[i]->done(s.ok() ? std::move(statuses[i]) : s);
  }

  Status EnsureWriter() {
    if (writer_ != nullptr && !writer_->Broken()) return Status::Ok();
    writer_.reset();
    if (Clock::now() < writer_down_until_) {
      return Error::Unavailable("store: postgresql unreachable (retrying)");
    }
    Result<std::unique_ptr<PgConn>> c = PgConn::Connect(options_.uri, options_.limits);
    if (!c.ok()) {
      writer_down_until_ = Clock::now() + kReconnectBackoff;
      return c.error();
    }
    writer_ = std::move(c).value();
    return Status::Ok();
  }

  // Moves the operations queued since the batch was taken into it (their pointers appended
  // to *ops, the ops themselves to *held), up to max_batch operations, stopping at one that
  // must commit alone or has been queued too long; none when an op of the batch must
  // commit alone. Called once the transaction holds the audit head's lock: a daemon's
  // batch waits there while another daemon's commits (every writer of the fleet takes that
  // lock first, and keeps it through its COMMIT's WAL flush), and what arrived meanwhile is
  // best committed with it, in the same WAL flush, rather than after one more turn of the
  // whole fleet.
  void JoinQueued(std::deque<Op>* held, std::vector<Op*>* ops) {
    for (const Op* op : *ops) {
      if (op->Alone()) return;
    }
    const auto now = Clock::now();
    std::lock_guard lock(mu_);
    // An operation queued too long stays for RunOps to refuse, as any other.
    while (!queue_.empty() && ops->size() < static_cast<size_t>(options_.max_batch) &&
           !queue_.front().Alone() && now - queue_.front().enqueued <= kMaxQueueWait) {
      held->push_back(std::move(queue_.front()));
      queue_.pop_front();
      ops->push_back(&held->back());
    }
  }

  // Up to kMaxRetries attempts of one transaction for `ops` (joined by queued ones when
  // `held` is given: JoinQueued). On success every op's own outcome is in *statuses.
  // *op_fault: the failure was an SQL error that an operation's data may have caused (not
  // the connection, not a conflict).
  Status RunBatch(std::vector<Op*>* ops, std::vector<Status>* statuses, bool* op_fault,
                  std::deque<Op>* held) {
    Status last = Status::Ok();
    bool reconnected = false;
    for (int attempt = 0; attempt < kMaxRetries; ++attempt) {
      if (Status s = EnsureWriter(); !s.ok()) return s;
      std::string sqlstate;
      bool committing = false;
      statuses->clear();
      last = TryBatch(ops, held, statuses, &sqlstate, &committing);
      if (last.ok()) return last;
      if (!committing && !reconnected && writer_->Broken()) {
        // The server closed the connection since the last batch (a restart, a failover)
        // and nothing of this batch was written: once more on a fresh connection. (A
        // connection lost during the COMMIT is not retried: it may have committed.)
        writer_.reset();
        reconnected = true;
        --attempt;
        continue;
      }
      if (writer_ != nullptr) Rollback(*writer_);
      if (sqlstate == pg::kSerializationFailure || sqlstate == pg::kDeadlockDetected) continue;
      // Anything else: drop the connection (a failover may have made it a standby; the
      // next batch reconnects, to the new primary with target_session_attrs=read-write).
      *op_fault = !sqlstate.empty() && sqlstate.rfind("08", 0) != 0 &&
                  sqlstate.rfind("25", 0) != 0 && sqlstate.rfind("57", 0) != 0 &&
                  sqlstate.rfind("53", 0) != 0 && sqlstate != "55P03";
      writer_.reset();
      return last;
    }
    return Error::Unavailable("store: postgresql transaction conflicted " +
                              std::to_string(kMaxRetries) + " times: " + last.error().message);
  }

  // *committing: the failure came from the round trip that writes and commits.
  Status TryBatch(std::vector<Op*>* ops_in, std::deque<Op>* held, std::vector<Status>* statuses,
                  std::string* sqlstate, bool* committing) {
    const std::vector<Op*>& ops = *ops_in;
    PgConn& c = *writer_;
    Batch b;
    b.conn = &c;
    b.sqlstate = sqlstate;
    b.options = &options_;
    // Round trip 1: the transaction, the chain head (the lock every writer takes first),
    // the engaged kill switches and, when no operation has rows to read first, every run
    // row the batch touches, locked.
    std::set<std::string> ids;
    bool prefetching = false;
    for (const Op* op : ops) {
      ids.insert(op->run_ids.begin(), op->run_ids.end());
      prefetching = prefetching || static_cast<bool>(op->prefetch);
    }
    std::string script =
        "BEGIN; SELECT seq, hash FROM audit_head WHERE id = 1 FOR UPDATE;"
        " SELECT scope, target, reason FROM kill_switches WHERE engaged = 1"
        " ORDER BY scope, target;";
    std::set<std::string> locked;
    if (!prefetching && !ids.empty()) {
      locked = ids;
      AppendLockRuns(&script, locked);
    }
    Result<std::vector<PgResult>> start = c.ExecScript(script, sqlstate);
    if (!start.ok()) return start.error();
    if (start->size() < 3 || (*start)[1].rows() != 1) {
      return Error::Corrupt("store: the audit head row is missing from the PostgreSQL store");
    }
    b.head.seq = (*start)[1].Int(0, 0);
    b.head.hash = std::string((*start)[1].Text(0, 1));
    const PgResult& kills = (*start)[2];
    for (int i = 0; i < kills.rows(); ++i) {
      b.kills.Set(kills.Text(i, 0), kills.Text(i, 1), true, std::string(kills.Text(i, 2)));
    }
    std::vector<const PgResult*> run_sets;
    if (start->size() == 4) run_sets.push_back(&(*start)[3]);
    // The lock is held: the operations queued meanwhile join (the head, the kills and the
    // rows read so far are as current for them as for the rest: every writer takes the
    // head's lock before reading anything it decides on).
    if (held != nullptr) {
      const size_t before = ops.size();
      JoinQueued(held, ops_in);
      for (size_t i = before; i < ops.size(); ++i) {
        ids.insert(ops[i]->run_ids.begin(), ops[i]->run_ids.end());
        prefetching = prefetching || static_cast<bool>(ops[i]->prefetch);
      }
    }
    // Rows other than runs (calls, tokens): one round trip per operation that needs them,
    // then one for the runs not locked yet. (Locking runs in two steps cannot deadlock
    // with another writer: both hold the audit head's lock first.)
    std::vector<std::optional<Status>> refused(ops.size());
    if (prefetching) {
      for (size_t i = 0; i < ops.size(); ++i) {
        if (!ops[i]->prefetch) continue;
        std::vector<std::string> more;
        Status s = ops[i]->prefetch(c, b, &more, sqlstate);
        if (!s.ok() && s.error().kind == ErrorKind::kUnavailable) return s;
        if (!s.ok()) refused[i] = std::move(s);
        ids.insert(more.begin(), more.end());
      }
    }
    std::set<std::string> rest;
    std::set_difference(ids.begin(), ids.end(), locked.begin(), locked.end(),
                        std::inserter(rest, rest.end()));
    std::optional<std::vector<PgResult>> later;
    if (!rest.empty()) {
      std::string lock;
      AppendLockRuns(&lock, rest);
      Result<std::vector<PgResult>> r = c.ExecScript(lock, sqlstate);
      if (!r.ok()) return r.error();
      later = std::move(r).value();
      if (!later->empty()) run_sets.push_back(&later->front());
    }
    for (const PgResult* runs : run_sets) {
      for (int i = 0; i < runs->rows(); ++i) {
        Result<Row> row = ReadRow(*runs, i, 1);
        if (!row.ok()) return row.error();
        b.runs.emplace(std::string(runs->Text(i, 0)), std::move(row).value());
      }
    }
    // The operations, in memory. A failed one leaves nothing: what it appended is dropped
    // (rows change only as its last step).
    for (size_t i = 0; i < ops.size(); ++i) {
      if (refused[i]) {
        statuses->push_back(std::move(*refused[i]));
        continue;
      }
      const size_t calls = b.calls.size(), events = b.events.size(),
                   kill_writes = b.kill_writes.size(), sql_size = b.sql.size(),
                   hits = b.hits.size(), idem_writes = b.idem_writes.size();
      const auto day_adds = b.day_adds;
      std::optional<internal::PgApprovalBatch> approvals;
      if (!b.approvals.rows.empty() || !b.approvals.notify.empty()) approvals = b.approvals;
      Status s = ops[i]->apply(b);
      if (!s.ok()) {
        if (approvals) {
          b.approvals = std::move(*approvals);
        } else {
          b.approvals = internal::PgApprovalBatch{};
        }
        b.idem_writes.resize(idem_writes);
        b.calls.resize(calls);
        b.events.resize(events);
        b.kill_writes.resize(kill_writes);
        b.sql.resize(sql_size);
        b.hits.resize(hits);
        b.day_adds = day_adds;
      }
      statuses->push_back(std::move(s));
    }
    // The last round trip: every write, the anchor, and the COMMIT.
    const int64_t first_seq = b.head.seq + 1;  // of the records this batch appends
    std::string sql = Flush(b);
    Result<std::optional<core::Checkpoint>> anchor = AnchorBatch(ops, b, &sql);
    if (!anchor.ok()) return anchor.error();
    sql.append("COMMIT");
    *committing = true;
    c.TakeWarning();  // only the warnings of this round trip count
    // The client bounds this round trip: a COMMIT waiting for a synchronous standby that
    // stopped answering ignores statement_timeout (pg::PgConn::ExecScript).
    Result<std::vector<PgResult>> done = c.ExecScript(
        sql, sqlstate, std::chrono::milliseconds(options_.limits.statement_timeout_ms + 1000));
    if (!done.ok()) return done.error();
    // A COMMIT the server reports done with a WARNING (its wait for a synchronous standby
    // cancelled) may be lost by a failover: fail closed, as when
    // the connection drops during the COMMIT (the rows may stay; nobody is told allow).
    if (std::string warning = c.TakeWarning(); !warning.empty()) {
      // Its rows stay on this primary: the trail says, in the same chain, that the
      // callers were told STORE_UNAVAILABLE (Reconcile), before they are told when it can.
      const std::string told = "store: postgresql COMMIT not confirmed (" + warning +
                               "): the decision may not have reached the synchronous standby";
      Unconfirmed u = MakeUnconfirmed(b, first_seq, run_sets, warning, told);
      const Status reconciled = Reconcile(c, u);
      std::fprintf(stderr,
                   "interlock: store: postgresql COMMIT not confirmed (%s): %zu operation(s) "
                   "answered STORE_UNAVAILABLE; %s\n",
                   warning.c_str(), ops.size(),
                   reconciled.ok() ? "reconciled in the audit trail"
                                   : ("reconciled later, with the next batch (" +
                                      reconciled.error().message + ")")
                                         .c_str());
      if (!reconciled.ok()) Defer(std::move(u));
      return Error::Unavailable(told);
    }
    if (*anchor && options_.checkpoint_signer.mirror) {
      // The local copy, once the row committed (a copy of a rolled-back attempt would
      // name a record that never was).
      if (Status m = options_.checkpoint_signer.mirror(**anchor); !m.ok()) {
        // Counted with the anchoring failures: the anchor exists only where a database
        // writer could delete it.
        const uint64_t n = anchor_failures_.fetch_add(1) + 1;
        std::fprintf(stderr,
                     "interlock: audit: the checkpoint of seq %lld is in the database but not "
                     "in the local checkpoint file (%llu anchoring failures so far): %s\n",
                     static_cast<long long>((*anchor)->seq), static_cast<unsigned long long>(n),
                     m.error().message.c_str());
      }
    }
    return Status::Ok();
  }

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
                                     const std::string& warning, const std::string& told) {
    Unconfirmed u;
    u.first_seq = first_seq;
    u.last_seq = b.head.seq;
    u.warning = warning;
    u.told_reason = told;
    u.calls = b.calls;
    for (size_t i = 0; i < b.events.size(); ++i) {
      if (b.events[i].type == audit::kDecision && !b.events[i].call_id.empty()) {
        u.decision_seq.emplace(b.events[i].call_id, first_seq + static_cast<int64_t>(i));
      }
    }
    for (const PgResult* runs : run_sets) {  // new runs stay (empty)
      for (int i = 0; i < runs->rows(); ++i) {
        const std::string id(runs->Text(i, 0));
        auto it = b.runs.find(id);
        if (it == b.runs.end() || it->second.is_new || !it->second.dirty) continue;
        Result<Row> row = ReadRow(*runs, i, 1);
        if (!row.ok()) continue;
        u.before.emplace(id, std::move(row).value());
        u.version_after.emplace(id, it->second.db_version + 1);  // Flush's version + 1
      }
    }
    u.idem_writes = b.idem_writes;
    u.day_adds = b.day_adds;
    u.hits = b.hits;
    return u;
  }

  // Writes `u`'s reconciliation on `c` (see Unconfirmed). The audit head's lock is waited
  // for briefly only: other daemons' batches hold it through their own COMMIT's wait for
  // the same standby, and a caller is not kept waiting for them; a failure leaves nothing
  // (Defer retries it before the writer's next batches).
  Status Reconcile(PgConn& c, const Unconfirmed& u) {
    std::string sqlstate;
    std::string sql =
        "BEGIN; SET LOCAL synchronous_commit = local; SET LOCAL lock_timeout = 250;"
        " SELECT seq, hash FROM audit_head WHERE id = 1 FOR UPDATE;";
    for (const auto& [id, row] : u.before) {
      sql.append(
          "UPDATE runs SET (steps, tokens, cost_micros, halted, halt_reason, ended,"
          " records_json, sequence_json) = (");
      std::string values;
      AppendRunValues(&values, row);
      sql.append(values.substr(1));  // without the leading ','
      sql.append("), version = version + 1 WHERE run_id = ");
      pg::AppendLiteral(&sql, id);
      sql.append(" AND version = ");
      AppendUint(&sql, u.version_after.find(id)->second);
      sql.append(" RETURNING run_id;");
    }
    constexpr size_t kFirstRun = 4;  // BEGIN, two SETs, the head
    Result<std::vector<PgResult>> first = c.ExecScript(sql, &sqlstate);
    if (!first.ok() || first->size() != kFirstRun + u.before.size() ||
        (*first)[kFirstRun - 1].rows() != 1) {
      Rollback(c);
      return first.ok() ? Error::Corrupt("store: the audit head row is missing") : first.error();
    }
    Batch r;
    r.head.seq = (*first)[kFirstRun - 1].Int(0, 0);
    r.head.hash = std::string((*first)[kFirstRun - 1].Text(0, 1));
    std::set<std::string, std::less<>> restored;
    size_t k = kFirstRun;
    for (const auto& [id, row] : u.before) {
      if ((*first)[k++].rows() == 1) restored.insert(id);
    }
    const TimePoint now = Now();
    const std::string reason =
        "the store's COMMIT was not confirmed by the synchronous standby (" + u.warning + ")";
    boost::json::object batch{{"first_seq", u.first_seq},
                              {"last_seq", u.last_seq},
                              {"calls", u.calls.size()},
                              {"warning", u.warning},
                              {"reason", reason}};
    r.events.push_back(
        audit::AuditEvent{audit::kCommitUnconfirmed, now, "", "", "", "", std::move(batch)});
    std::string ids;
    sql.clear();
    for (const PendingCall& p : u.calls) {
      // The answer the Guard made of this store's error (core/guard.cc), as the agent got it.
      Decision told = DenyDecision(Code::kStoreUnavailable, u.told_reason, "store");
      told.agent_id = p.agent_id;
      told.tool = p.tool;
      std::string told_json;
      AppendDecisionJson(told, JsonStyle::kCanonical, &told_json);
      sql.append("UPDATE calls SET verdict = ");
      pg::AppendLiteral(&sql, VerdictName(told.verdict));
      sql.append(", code = ");
      pg::AppendLiteral(&sql, CodeName(told.code));
      sql.append(", decision_json = ");
      pg::AppendLiteral(&sql, told_json);
      sql.append(" WHERE call_id = ");
      pg::AppendLiteral(&sql, p.call_id);
      sql.append(";");
      boost::json::object d{{"tool", p.tool},
                            {"recorded", boost::json::parse(p.decision_json)},
                            {"told", boost::json::parse(told_json)},
                            {"budget_restored", restored.count(p.run_id) > 0}};
      if (auto it = u.decision_seq.find(p.call_id); it != u.decision_seq.end()) {
        d["recorded_seq"] = it->second;
      }
      if (auto it = u.before.find(p.run_id); it != u.before.end() && restored.count(p.run_id)) {
        std::string state;
        audit::AppendCanonicalAuditState(&state, it->second.state);
        d["state_after"] = boost::json::parse(state);
      }
      if (p.verdict == VerdictName(Verdict::kApprovalRequired)) d["approval"] = "cancelled";
      r.events.push_back(audit::AuditEvent{audit::kDecisionReconciled, now, p.run_id, p.call_id,
                                           p.agent_id, p.principal, std::move(d)});
      if (!ids.empty()) ids.push_back(',');
      pg::AppendLiteral(&ids, p.call_id);
    }
    if (!ids.empty()) {
      sql.append("UPDATE approvals SET state = 'cancelled', decided_ms = ");
      AppendInt(&sql, Millis(now));
      sql.append(", reason = ");
      pg::AppendLiteral(&sql, reason);
      sql.append(" WHERE state = 'pending' AND call_id IN (" + ids + ");");
    }
    for (const Batch::IdemWrite& w : u.idem_writes) {
      sql.append("DELETE FROM idempotency_keys WHERE run_id = ");
      pg::AppendLiteral(&sql, w.run_id);
      sql.append(" AND idem_key = ");
      pg::AppendLiteral(&sql, w.key);
      sql.append(";");
    }
    for (const auto& [key, d] : u.day_adds) {
      sql.append("UPDATE agent_days SET calls = calls - ");
      AppendUint(&sql, d.calls);
      sql.append(", tokens = tokens - ");
      AppendUint(&sql, d.tokens);
      sql.append(", cost_micros = cost_micros - ");
      AppendInt(&sql, d.cost_micros);
      sql.append(" WHERE agent_id = ");
      pg::AppendLiteral(&sql, key.first);
      sql.append(" AND day = ");
      AppendInt(&sql, key.second);
      sql.append(";");
    }
    for (const auto& [agent, key, at] : u.hits) {
      sql.append(
          "DELETE FROM rate_hits WHERE ctid IN (SELECT ctid FROM rate_hits"
          " WHERE agent_id = ");
      pg::AppendLiteral(&sql, agent);
      sql.append(" AND rate_key = ");
      pg::AppendLiteral(&sql, key);
      sql.append(" AND at_ms = ");
      AppendInt(&sql, at);
      sql.append(" LIMIT 1);");
    }
    AppendEvents(r, &sql);
    sql.append("COMMIT");
    Result<std::vector<PgResult>> done = c.ExecScript(
        sql, &sqlstate, std::chrono::milliseconds(options_.limits.statement_timeout_ms + 1000));
    if (!done.ok()) {
      Rollback(c);
      return done.error();
    }
    return Status::Ok();
  }

  // Keeps a reconciliation that could not be written for the writer's next turns (at most
  // kMaxUnreconciled; beyond, the oldest is given up, loudly).
  void Defer(Unconfirmed u) {
    if (unreconciled_.size() >= kMaxUnreconciled) {
      std::fprintf(stderr,
                   "interlock: store: the reconciliation of records %lld..%lld is given up: "
                   "the trail keeps decisions the agents were told were denied\n",
                   static_cast<long long>(unreconciled_.front().first_seq),
                   static_cast<long long>(unreconciled_.front().last_seq));
      unreconciled_.pop_front();
    }
    unreconciled_.push_back(std::move(u));
  }

  // Before a batch: the reconciliations still owed, oldest first, until one fails.
  void ReconcileOwed() {
    while (!unreconciled_.empty()) {
      if (!EnsureWriter().ok()) return;
      if (!Reconcile(*writer_, unreconciled_.front()).ok()) return;
      std::fprintf(stderr, "interlock: store: records %lld..%lld reconciled in the audit trail\n",
                   static_cast<long long>(unreconciled_.front().first_seq),
                   static_cast<long long>(unreconciled_.front().last_seq));
      unreconciled_.pop_front();
    }
  }

  // The anchor of a security-relevant op (Op::anchor, alone in its batch): a checkpoint
  // of the batch's new head, signed now and inserted into `sql` so that it commits with
  // the records it names. nullopt when nothing is anchored; an Error (the batch fails)
  // when a kRequired op cannot be anchored.
  Result<std::optional<core::Checkpoint>> AnchorBatch(const std::vector<Op*>& ops, const Batch& b,
                                                      std::string* sql) {
    if (ops.size() != 1 || ops[0]->anchor == core::AnchorNeed::kNone || b.events.empty() ||
        !options_.checkpoint_signer) {
      return std::optional<core::Checkpoint>();
    }
    Result<core::Checkpoint> cp = options_.checkpoint_signer.sign(b.head);
    if (cp.ok()) {
      sql->append("INSERT INTO audit_checkpoints(seq, line) VALUES (");
      AppendInt(sql, cp->seq);
      sql->push_back(',');
      pg::AppendLiteral(sql, audit::CheckpointToJsonLine(*cp));
      sql->append(");");
      return std::optional<core::Checkpoint>(std::move(cp).value());
    }
    if (Status failed =
            core::AnchorFailed(ops[0]->anchor, b.head.seq, cp.error(), &anchor_failures_);
        !failed.ok()) {
      return failed.error();
    }
    return std::optional<core::Checkpoint>();
  }

  // "SELECT <run columns> FROM runs WHERE run_id IN (...) FOR UPDATE;" (sorted ids).
  static void AppendLockRuns(std::string* sql, const std::set<std::string>& ids) {
    sql->append("SELECT run_id, ");
    sql->append(kSelectRunCols);
    sql->append(" FROM runs WHERE run_id IN (");
    bool first = true;
    for (const std::string& id : ids) {
      if (!first) sql->push_back(',');
      first = false;
      pg::AppendLiteral(sql, id);
    }
    sql->append(") ORDER BY run_id FOR UPDATE;");
  }

  static void AppendInt(std::string* out, int64_t v) { out->append(std::to_string(v)); }
  static void AppendUint(std::string* out, uint64_t v) { out->append(std::to_string(v)); }

  std::string Flush(Batch& b) {
    // The records first (they number themselves from b.head): a call row refers to its
    // decision record when that is stored compact.
    std::string events;
    events.reserve(b.events.size() * 900);
    std::map<std::string_view, int64_t> compact_decisions;  // call id -> seq
    AppendEvents(b, &events, &compact_decisions);
    std::string sql;
    sql.reserve(1024 + b.calls.size() * 600 + events.size());
    bool first = true;
    for (auto& [run_id, r] : b.runs) {
      if (!r.is_new) continue;
      sql.append(first ? "INSERT INTO runs(run_id, agent_id, started_ms, steps, tokens,"
                         " cost_micros, halted, halt_reason, ended, records_json, sequence_json,"
                         " version)"
                         " VALUES "
                       : ",");
      first = false;
      sql.push_back('(');
      pg::AppendLiteral(&sql, run_id);
      sql.push_back(',');
      pg::AppendLiteral(&sql, r.agent_id);
      sql.push_back(',');
      AppendInt(&sql, r.started_ms);
      AppendRunValues(&sql, r);
      sql.append(",0)");
    }
    if (!first) sql.append(";");
    // Every changed run in ONE statement (a statement per run cost the server more to
    // parse and plan than to execute): each row must still be at the version this batch
    // read, or the whole transaction aborts (40001) and the batch re-runs.
    size_t updates = 0;
    ColumnArrays v({"text", "bigint", "bigint", "bigint", "bigint", "integer", "text", "integer",
                    "text", "text"});
    std::string records;
    for (auto& [run_id, r] : b.runs) {
      if (r.is_new || !r.dirty) continue;
      ++updates;
      v.Text(run_id);
      v.Uint(r.db_version);
      v.Uint(r.state.steps);
      v.Uint(r.state.tokens);
      v.Int(r.state.cost_micros);
      v.Int(r.state.halted ? 1 : 0);
      v.Text(r.state.halt_reason);
      v.Int(r.ended ? 1 : 0);
      records.clear();
      audit::AppendCanonicalRecords(&records, r.state);
      v.Text(records);
      v.Text(core::SequenceStoreJson(r.state));
    }
    if (updates > 0) {
      sql.append("WITH v AS (SELECT * FROM ");
      v.AppendUnnest(&sql);
      sql.append(
          " AS v(run_id, version, steps, tokens, cost_micros, halted, halt_reason, ended,"
          " records_json, sequence_json)),"
          " u AS (UPDATE runs SET steps = v.steps, tokens = v.tokens,"
          " cost_micros = v.cost_micros, halted = v.halted, halt_reason = v.halt_reason,"
          " ended = v.ended, records_json = v.records_json, sequence_json = v.sequence_json,"
          " version = runs.version + 1 FROM v WHERE runs.run_id = v.run_id"
          " AND runs.version = v.version RETURNING 1)"
          " SELECT interlock_expect_rows(count(*), ");
      AppendUint(&sql, updates);
      sql.append(") FROM u;");
    }
    if (!b.calls.empty()) {
      ColumnArrays v({"text", "text", "text", "text", "bigint", "text", "text", "bigint", "bigint",
                      "text", "text", "text", "text", "text", "bigint", "integer", "integer"});
      for (const PendingCall& p : b.calls) {
        for (const std::string* t : {&p.call_id, &p.run_id, &p.agent_id, &p.principal}) {
          v.Text(*t);
        }
        v.Int(p.time_ms);
        v.Text(p.tool);
        const int64_t seq = ReferencedSeq(b, compact_decisions, p);
        if (seq > 0) {
          v.Null();
        } else {
          v.Text(p.args_json);
        }
        v.Uint(p.usage_tokens);
        v.Int(p.usage_cost_micros);
        if (seq > 0) {
          v.Null();
        } else {
          v.Text(p.decision_json);
        }
        for (const std::string* t : {&p.verdict, &p.code, &p.state_json}) v.Text(*t);
        if (seq > 0 && PolicyFollowsDecision(b, seq, p)) {
          v.Null();
        } else {
          v.Text(p.policy_sha256);
        }
        if (seq > 0) {
          v.Int(seq);
          v.Uint(p.args_json.size());
          v.Uint(p.decision_json.size());
        } else {
          v.Null();
          v.Null();
          v.Null();
        }
      }
      sql.append(
          "INSERT INTO calls(call_id, run_id, agent_id, principal, time_ms, tool, args_json,"
          " usage_tokens, usage_cost_micros, decision_json, verdict, code, state_after_json,"
          " policy_sha256, decision_seq, args_len, decision_len) SELECT * FROM ");
      v.AppendUnnest(&sql);
      sql.push_back(';');
    }
    if (!b.idem_writes.empty()) {
      sql.append(
          "INSERT INTO idempotency_keys(run_id, idem_key, request_sha256, answer, created_ms)"
          " VALUES ");
      for (size_t i = 0; i < b.idem_writes.size(); ++i) {
        const Batch::IdemWrite& w = b.idem_writes[i];
        if (i > 0) sql.push_back(',');
        sql.push_back('(');
        for (const std::string* t : {&w.run_id, &w.key, &w.row.request_sha256, &w.row.answer}) {
          pg::AppendLiteral(&sql, *t);
          sql.push_back(',');
        }
        AppendInt(&sql, w.at_ms);
        sql.push_back(')');
      }
      sql.push_back(';');
    }
    for (const core::KillEntry& e : b.kill_writes) {
      sql.append(
          "INSERT INTO kill_switches(scope, target, engaged, reason, actor, time_ms) VALUES (");
      pg::AppendLiteral(&sql, e.scope);
      sql.push_back(',');
      pg::AppendLiteral(&sql, e.target);
      sql.append(e.engaged ? ",1," : ",0,");
      pg::AppendLiteral(&sql, e.reason);
      sql.push_back(',');
      pg::AppendLiteral(&sql, e.actor);
      sql.push_back(',');
      AppendInt(&sql, Millis(e.at));
      sql.append(
          ") ON CONFLICT (scope, target) DO UPDATE SET engaged = excluded.engaged,"
          " reason = excluded.reason, actor = excluded.actor, time_ms = excluded.time_ms;");
    }
    sql.append(b.sql);
    for (const auto& [key, w] : b.windows) {
      // Calls past their window are never counted again.
      sql.append("DELETE FROM rate_hits WHERE agent_id = ");
      pg::AppendLiteral(&sql, key.first);
      sql.append(" AND rate_key = ");
      pg::AppendLiteral(&sql, key.second);
      sql.append(" AND at_ms <= ");
      AppendInt(&sql, w.since_ms);
      sql.append(";");
    }
    for (const auto& [agent, key, at] : b.hits) {
      sql.append("INSERT INTO rate_hits(agent_id, rate_key, at_ms) VALUES (");
      pg::AppendLiteral(&sql, agent);
      sql.push_back(',');
      pg::AppendLiteral(&sql, key);
      sql.push_back(',');
      AppendInt(&sql, at);
      sql.append(");");
    }
    for (const auto& [key, d] : b.day_adds) {
      sql.append("INSERT INTO agent_days(agent_id, day, calls, tokens, cost_micros) VALUES (");
      pg::AppendLiteral(&sql, key.first);
      sql.push_back(',');
      AppendInt(&sql, key.second);
      sql.push_back(',');
      AppendUint(&sql, d.calls);
      sql.push_back(',');
      AppendUint(&sql, d.tokens);
      sql.push_back(',');
      AppendInt(&sql, d.cost_micros);
      sql.append(
          ") ON CONFLICT (agent_id, day) DO UPDATE SET calls = agent_days.calls + excluded.calls,"
          " tokens = agent_days.tokens + excluded.tokens,"
          " cost_micros = agent_days.cost_micros + excluded.cost_micros;");
    }
    sql.append(events);
    // Wake-ups: delivered to every listening daemon if, and when, this commits.
    internal::AppendPgNotifies(b.approvals, &sql);
    return sql;
  }

  // The batch's audit records, chained from b.head (which it advances), and the head row.
  // A record is stored in the compact form (migration 9) when audit_records rebuilds its
  // body exactly: its data alone, the body NULL; else the whole body, data NULL.
  // With `compact_decisions`: the seq of each call's decision record stored compact.
  static void AppendEvents(Batch& b, std::string* sql,
                           std::map<std::string_view, int64_t>* compact_decisions = nullptr) {
    if (b.events.empty()) return;
    ColumnArrays v({"bigint", "bigint", "text", "text", "text", "text", "text", "text", "text",
                    "text", "text"});
    std::string body, data;
    for (const audit::AuditEvent& e : b.events) {
      const int64_t seq = b.head.seq + 1;
      audit::AppendAuditRecordBody(&body, seq, e, b.head.hash);
      std::string hash = audit::AuditRecordHash(b.head.hash, body);
      v.Int(seq);
      v.Int(Millis(e.time));
      for (std::string_view t : {e.type, std::string_view(e.run_id), std::string_view(e.call_id),
                                 std::string_view(e.agent_id), std::string_view(e.principal)}) {
        v.Text(t);
      }
      if (CompactForm(e, b.head.hash)) {
        if (compact_decisions != nullptr && e.type == audit::kDecision && !e.call_id.empty() &&
            !e.data_json.empty()) {
          compact_decisions->emplace(e.call_id, seq);
        }
        v.Null();
        if (e.data_json.empty()) {
          data.clear();
          AppendJson(e.data, JsonStyle::kCanonical, &data);
          v.Text(data);
        } else {
          v.Text(e.data_json);
        }
      } else {
        v.Text(body);
        v.Null();
      }
      v.Text(b.head.hash);
      v.Text(hash);
      b.head.seq = seq;
      b.head.hash = std::move(hash);
    }
    sql->append(
        "INSERT INTO audit_log(seq, time_ms, type, run_id, call_id, agent_id, principal, body,"
        " data, prev_hash, hash) SELECT * FROM ");
    v.AppendUnnest(sql);
    sql->append(";UPDATE audit_head SET seq = ");
    AppendInt(sql, b.head.seq);
    sql->append(", hash = ");
    pg::AppendLiteral(sql, b.head.hash);
    sql->append(" WHERE id = 1;");
  }

  // The seq of p's decision record when the calls row may refer to it instead of copying
  // the arguments and decision: the record is stored compact, and its data holds the very
  // texts where kPgCallArgsJson and kPgCallDecisionJson read them. 0: copy them.
  static int64_t ReferencedSeq(const Batch& b,
                               const std::map<std::string_view, int64_t>& compact_decisions,
                               const PendingCall& p) {
    auto it = compact_decisions.find(p.call_id);
    if (it == compact_decisions.end()) return 0;
    // AppendEvents has run: b.head is the batch's last record.
    const int64_t first_seq = b.head.seq - static_cast<int64_t>(b.events.size()) + 1;
    const std::string& data = b.events[static_cast<size_t>(it->second - first_seq)].data_json;
    constexpr std::string_view kArgs = "{\"args\":", kDecision = ",\"decision\":";
    const size_t decision_at = kArgs.size() + p.args_json.size() + kDecision.size();
    if (data.size() < decision_at + p.decision_json.size() || !data.starts_with(kArgs) ||
        data.compare(kArgs.size(), p.args_json.size(), p.args_json) != 0 ||
        data.compare(kArgs.size() + p.args_json.size(), kDecision.size(), kDecision) != 0 ||
        data.compare(decision_at, p.decision_json.size(), p.decision_json) != 0) {
      return 0;
    }
    return it->second;
  }

  // True when p's decision record (seq, referred to) holds the policy's hash right after
  // the decision, where kPgCallPolicySha256 reads it up to its closing quote: the data has
  // no identity, and the hash needs no JSON escape.
  static bool PolicyFollowsDecision(const Batch& b, int64_t seq, const PendingCall& p) {
    const int64_t first_seq = b.head.seq - static_cast<int64_t>(b.events.size()) + 1;
    const std::string& data = b.events[static_cast<size_t>(seq - first_seq)].data_json;
    constexpr std::string_view kPolicy = ",\"policy_sha256\":\"";
    const size_t at = 8 + p.args_json.size() + 12 + p.decision_json.size();
    for (char ch : p.policy_sha256) {
      if (static_cast<unsigned char>(ch) < 0x20 || ch == '"' || ch == '\\') return false;
    }
    return data.size() > at + kPolicy.size() + p.policy_sha256.size() &&
           data.compare(at, kPolicy.size(), kPolicy) == 0 &&
           data.compare(at + kPolicy.size(), p.policy_sha256.size(), p.policy_sha256) == 0 &&
           data[at + kPolicy.size() + p.policy_sha256.size()] == '"';
  }

  // True when audit_records' SQL rebuilds e's body byte for byte: no envelope string needs
  // a JSON escape (AppendJsonString escapes bytes below 0x20, '"' and '\\'; the view
  // concatenates them raw), and the time is in [1970, 2100), where the view's to_char of
  // an exact millisecond interval prints what FormatRfc3339 does.
  static bool CompactForm(const audit::AuditEvent& e, std::string_view prev) {
    constexpr int64_t kYear2100Ms = 4'102'444'800'000;
    const int64_t ms = Millis(e.time);
    if (ms < 0 || ms >= kYear2100Ms) return false;
    for (std::string_view s : {e.type, std::string_view(e.run_id), std::string_view(e.call_id),
                               std::string_view(e.agent_id), std::string_view(e.principal), prev}) {
      for (char ch : s) {
        if (static_cast<unsigned char>(ch) < 0x20 || ch == '"' || ch == '\\') return false;
      }
    }
    return true;
  }

  // ",steps,tokens,cost_micros,halted,halt_reason,ended,records_json,sequence_json"
  static void AppendRunValues(std::string* sql, const Row& r) {
    sql->push_back(',');
    AppendUint(sql, r.state.steps);
    sql->push_back(',');
    AppendUint(sql, r.state.tokens);
    sql->push_back(',');
    AppendInt(sql, r.state.cost_micros);
    sql->append(r.state.halted ? ",1," : ",0,");
    pg::AppendLiteral(sql, r.state.halt_reason);
    sql->append(r.ended ? ",1," : ",0,");
    std::string records;
    audit::AppendCanonicalRecords(&records, r.state);
    pg::AppendLiteral(sql, records);
    sql->push_back(',');
    pg::AppendLiteral(sql, core::SequenceStoreJson(r.state));
  }

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

bool IsPostgresUri(std::string_view s) {
  return s.starts_with("postgresql://") || s.starts_with("postgres://");
}

Result<std::unique_ptr<PostgresStore>> PostgresStore::Open(const PostgresOptions& options) {
  auto impl = std::make_unique<Impl>(options);
  if (Status s = impl->Start(); !s.ok()) return s.error();
  return std::unique_ptr<PostgresStore>(new PostgresStore(std::move(impl)));
}

PostgresStore::PostgresStore(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}

uint64_t PostgresStore::AnchorFailures() const { return impl_->anchor_failures(); }
PostgresStore::~PostgresStore() = default;

Result<core::RunInfo> PostgresStore::CreateRun(std::string_view agent_id, std::string_view run_id,
                                               TimePoint now) {
  const std::string agent(agent_id);
  std::string id = run_id.empty() ? NewId("run_") : std::string(run_id);
  core::RunInfo info;
  Status s = impl_->SubmitAndWait({id}, [&](Impl::Batch& b) -> Status {
    if (b.runs.contains(id)) return Error{ErrorKind::kAlreadyExists, "run " + id + " exists"};
    Row row;
    row.agent_id = agent;
    row.started_ms = Millis(now);
    row.is_new = true;
    b.runs.emplace(id, row);
    b.events.push_back(
        audit::AuditEvent{audit::kRunStarted, now, id, "", agent, agent, boost::json::object{}});
    info.run_id = id;
    info.agent_id = agent;
    info.started = FromUnixMillis(row.started_ms);
    return Status::Ok();
  });
  if (!s.ok()) return s.error();
  return info;
}

Result<core::RunInfo> PostgresStore::GetRun(std::string_view run_id) {
  const std::string id(run_id);
  return impl_->Read<core::RunInfo>([&](PgConn& c) -> Result<core::RunInfo> {
    Result<PgResult> r =
        c.Exec(std::string("SELECT ") + kSelectRunCols + " FROM runs WHERE run_id = $1", {id});
    if (!r.ok()) return r.error();
    if (r->rows() == 0) return Error::NotFound("no run " + id);
    Result<Row> row = ReadRow(*r, 0, 0);
    if (!row.ok()) return row.error();
    core::RunInfo info;
    info.run_id = id;
    info.agent_id = std::move(row->agent_id);
    info.started = FromUnixMillis(row->started_ms);
    info.state = std::move(row->state);
    info.ended = row->ended;
    return info;
  });
}

namespace {

// Reads the idempotency key (run_id, key) into the batch (a prefetch: after the audit head's
// lock, so no other transaction saves it until this one ends).
Status ReadIdempotency(PgConn& c, PostgresStore::Impl::Batch& b, const std::string& run_id,
                       const std::string& key, std::string* sqlstate) {
  if (b.idem.count({run_id, key}) != 0) return Status::Ok();
  Result<PgResult> r = c.Exec(
      "SELECT request_sha256, answer FROM idempotency_keys WHERE run_id = $1 AND idem_key = $2",
      {run_id, key}, sqlstate);
  if (!r.ok()) return r.error();
  std::optional<core::IdempotencyRow> row;
  if (r->rows() > 0) {
    row = core::IdempotencyRow{std::string(r->Text(0, 0)), std::string(r->Text(0, 1))};
  }
  b.idem[{run_id, key}] = std::move(row);
  return Status::Ok();
}

}  // namespace

void PostgresStore::DecideAsync(core::DecideRequest request, core::DecideFn decide,
                                DecideCallback done) {
  struct State {
    core::DecideRequest rq;
    core::DecideFn decide;
    core::CallRecord rec;
  };
  auto st = std::make_shared<State>(State{std::move(request), std::move(decide), {}});
  Impl* impl = impl_.get();
  std::vector<std::string> ids{st->rq.run_id};
  decltype(Impl::Op::prefetch) prefetch;
  if (st->rq.count) {
    // The agent's counts, read after the batch took the audit head's lock: exact.
    prefetch = [st](PgConn& c, Impl::Batch& b, std::vector<std::string>*,
                    std::string* sqlstate) -> Status {
      const core::CountQuery& q = *st->rq.count;
      const int64_t now_ms = Millis(st->rq.now);
      if (!q.rate_key.empty()) {
        const int64_t since = now_ms - q.window_ms;
        Result<PgResult> r = c.Exec(
            "SELECT count(*), coalesce(min(at_ms), 0) FROM rate_hits"
            " WHERE agent_id = $1 AND rate_key = $2 AND at_ms > $3::bigint",
            {st->rq.agent_id, q.rate_key, std::to_string(since)}, sqlstate);
        if (!r.ok()) return r.error();
        Impl::Batch::Window& w = b.windows[{st->rq.agent_id, q.rate_key}];
        w.since_ms = since;
        w.calls = static_cast<uint64_t>(r->Int(0, 0));
        w.oldest_ms = r->Int(0, 1);
      }
      if (q.day) {
        const int64_t day = UtcDayOfMillis(now_ms);
        Result<PgResult> r = c.Exec(
            "SELECT calls, tokens, cost_micros FROM agent_days WHERE agent_id = $1"
            " AND day = $2::bigint",
            {st->rq.agent_id, std::to_string(day)}, sqlstate);
        if (!r.ok()) return r.error();
        Impl::Batch::Day& d = b.days[{st->rq.agent_id, day}];
        if (r->rows() > 0) {
          d.calls = static_cast<uint64_t>(r->Int(0, 0));
          d.tokens = static_cast<uint64_t>(r->Int(0, 1));
          d.cost_micros = r->Int(0, 2);
        }
      }
      return Status::Ok();
    };
  }
  if (!st->rq.idempotency.key.empty()) {
    prefetch = [st, counts = std::move(prefetch)](PgConn& c, Impl::Batch& b,
                                                  std::vector<std::string>* more,
                                                  std::string* sqlstate) -> Status {
      if (counts) {
        if (Status s = counts(c, b, more, sqlstate); !s.ok()) return s;
      }
      return ReadIdempotency(c, b, st->rq.run_id, st->rq.idempotency.key, sqlstate);
    };
  }
  impl_->Submit(Impl::Op{std::move(ids),
                         [impl, st](Impl::Batch& b) {
                           Impl::Txn txn(b);
                           st->rec = core::CallRecord{};
                           return core::DecideInTxn(txn, impl->redactor(), st->rq, st->decide,
                                                    &st->rec);
                         },
                         [st, done = std::move(done)](Status s) {
                           if (!s.ok()) {
                             done(s.error());
                           } else {
                             done(std::move(st->rec));
                           }
                         },
                         {},
                         std::move(prefetch)});
}

Result<core::CallRecord> PostgresStore::Decide(const core::DecideRequest& request,
                                               const core::DecideFn& decide) {
  std::promise<Result<core::CallRecord>> p;
  auto f = p.get_future();
  DecideAsync(request, decide, [&p](Result<core::CallRecord> r) { p.set_value(std::move(r)); });
  return f.get();
}

Status PostgresStore::AddUsage(std::string_view run_id, std::string_view agent_id,
                               const Usage& usage) {
  const std::string id(run_id), agent(agent_id);
  const TimePoint now = impl_->Now();
  return impl_->SubmitAndWait({id}, [&](Impl::Batch& b) {
    Impl::Txn txn(b);
    return core::AddUsageInTxn(txn, id, agent, usage, now);
  });
}

Status PostgresStore::AddUsageOnce(std::string_view run_id, std::string_view agent_id,
                                   const Usage& usage, const core::IdempotencyKey& key) {
  if (key.key.empty()) return AddUsage(run_id, agent_id, usage);
  const std::string id(run_id), agent(agent_id);
  const TimePoint now = impl_->Now();
  return impl_->SubmitAndWait(
      {id},
      [&](Impl::Batch& b) {
        Impl::Txn txn(b);
        return core::AddUsageInTxn(txn, id, agent, usage, now, key);
      },
      [&](PgConn& c, Impl::Batch& b, std::vector<std::string>*, std::string* sqlstate) {
        return ReadIdempotency(c, b, id, key.key, sqlstate);
      });
}

Status PostgresStore::SetKill(const core::KillEntry& entry) {
  Result<core::KillEntry> normal = core::NormalizeKill(entry);
  if (!normal.ok()) return normal.error();
  const core::KillEntry& e = *normal;
  return impl_->SubmitAndWait(
      {},
      [&](Impl::Batch& b) -> Status {
        b.kill_writes.push_back(e);
        // Later operations of the same batch see it.
        b.kills.Set(e.scope, e.target, e.engaged, e.reason);
        audit::AuditEvent ev = core::KillSwitchEvent(e);
        b.events.push_back(std::move(ev));
        if (!e.engaged) return Status::Ok();
        // An engaged switch cancels the pending approvals in its scope at once.
        Impl::Txn txn(b);
        return core::CancelForKillInTxn(txn, e, e.at);
      },
      {},
      // Releasing widens access and waits for its anchor; engaging is never held up by one.
      core::KillAnchorNeed(e));
}

Result<std::vector<core::KillEntry>> PostgresStore::ListKills() {
  return impl_->Read<std::vector<core::KillEntry>>(
      [](PgConn& c) -> Result<std::vector<core::KillEntry>> {
        Result<PgResult> r = c.Exec(
            "SELECT scope, target, engaged, reason, actor, time_ms FROM kill_switches"
            " ORDER BY scope, target",
            {});
        if (!r.ok()) return r.error();
        std::vector<core::KillEntry> out;
        for (int i = 0; i < r->rows(); ++i) {
          out.push_back(core::KillEntry{std::string(r->Text(i, 0)), std::string(r->Text(i, 1)),
                                        r->Int(i, 2) != 0, std::string(r->Text(i, 3)),
                                        std::string(r->Text(i, 4)), FromUnixMillis(r->Int(i, 5))});
        }
        return out;
      });
}

Result<std::string> PostgresStore::CreateToken(core::Role role, std::string_view name,
                                               std::string_view agent_id, TimePoint now) {
  // The token rules are the core's (core/roles.h).
  Result<std::string> person = core::CheckTokenSpec(role, name, agent_id);
  if (!person.ok()) return person.error();
  const std::string plaintext = "ilk_" + Base64UrlEncode(RandomBytes(32));
  const std::string agent(agent_id);
  Status s = impl_->SubmitAndWait(
      {},
      [&](Impl::Batch& b) -> Status {
        const std::string token_id = NewId("tok_");
        b.sql.append(
            "INSERT INTO tokens(token_id, sha256, role, name, agent_id, created_ms) VALUES (");
        for (const std::string& t :
             {token_id, Sha256Hex(plaintext), std::string(core::RoleName(role)), *person, agent}) {
          pg::AppendLiteral(&b.sql, t);
          b.sql.push_back(',');
        }
        b.sql.append(std::to_string(Millis(now)) + ");");
        b.events.push_back(audit::AuditEvent{audit::kTokenCreated, now, "", "", agent, "",
                                             boost::json::object{{"token_id", token_id},
                                                                 {"role", core::RoleName(role)},
                                                                 {"name", *person},
                                                                 {"agent_id", agent}}});
        return Status::Ok();
      },
      // A new token widens access: its record is anchored before the token is handed out.
      {}, core::kTokenCreatedAnchor);
  if (!s.ok()) return s.error();
  return plaintext;
}

Result<core::Principal> PostgresStore::Authenticate(std::string_view bearer_token) {
  if (bearer_token.empty()) return Error::NotFound("no token");
  const std::string hash = Sha256Hex(bearer_token);
  if (std::optional<core::Principal> cached = impl_->CachedPrincipal(hash)) return *cached;
  Result<core::Principal> p = impl_->Read<core::Principal>([&](PgConn& c)
                                                               -> Result<core::Principal> {
    Result<PgResult> r = c.Exec(
        "SELECT token_id, sha256, role, name, agent_id, revoked_ms FROM tokens WHERE sha256 = $1",
        {hash});
    if (!r.ok()) return r.error();
    if (r->rows() == 0 || !ConstantTimeEquals(r->Text(0, 1), hash)) {
      return Error::NotFound("unknown token");
    }
    if (!r->IsNull(0, 5)) return Error::Denied("token has been revoked");
    core::Principal out;
    out.token_id = std::string(r->Text(0, 0));
    std::optional<core::Role> role = core::ParseRole(r->Text(0, 2));
    if (!role) return Error::Corrupt("store: token with unknown role");
    out.role = *role;
    out.name = std::string(r->Text(0, 3));
    out.agent_id = std::string(r->Text(0, 4));
    return out;
  });
  if (p.ok()) impl_->CachePrincipal(hash, *p);
  return p;
}

Result<std::vector<core::TokenInfo>> PostgresStore::ListTokens() {
  return impl_->Read<std::vector<core::TokenInfo>>(
      [](PgConn& c) -> Result<std::vector<core::TokenInfo>> {
        Result<PgResult> r = c.Exec(
            "SELECT token_id, role, name, agent_id, created_ms, revoked_ms FROM tokens"
            " ORDER BY created_ms, token_id",
            {});
        if (!r.ok()) return r.error();
        std::vector<core::TokenInfo> out;
        for (int i = 0; i < r->rows(); ++i) {
          core::TokenInfo t;
          t.token_id = std::string(r->Text(i, 0));
          t.role = core::ParseRole(r->Text(i, 1)).value_or(core::Role::kAgent);
          t.name = std::string(r->Text(i, 2));
          t.agent_id = std::string(r->Text(i, 3));
          t.created = FromUnixMillis(r->Int(i, 4));
          t.revoked = !r->IsNull(i, 5);
          out.push_back(std::move(t));
        }
        return out;
      });
}

Status PostgresStore::RevokeToken(std::string_view token_id, std::string_view actor,
                                  TimePoint now) {
  const std::string id(token_id), who(actor);
  struct Found {
    bool revoked = false;
    std::string role, name, agent_id;
  };
  auto found = std::make_shared<Found>();
  Status s = impl_->SubmitAndWait(
      {},
      [&](Impl::Batch& b) -> Status {
        if (found->revoked) return Status::Ok();  // already revoked: no-op
        b.sql.append("UPDATE tokens SET revoked_ms = " + std::to_string(Millis(now)) +
                     " WHERE token_id = ");
        pg::AppendLiteral(&b.sql, id);
        b.sql.append(";");
        b.events.push_back(audit::AuditEvent{audit::kTokenRevoked, now, "", "", found->agent_id,
                                             who,
                                             boost::json::object{{"token_id", id},
                                                                 {"role", found->role},
                                                                 {"name", found->name},
                                                                 {"agent_id", found->agent_id}}});
        return Status::Ok();
      },
      [&, found](PgConn& c, Impl::Batch&, std::vector<std::string>*,
                 std::string* sqlstate) -> Status {
        Result<PgResult> r = c.Exec(
            "SELECT role, name, agent_id, revoked_ms FROM tokens WHERE token_id = $1 FOR UPDATE",
            {id}, sqlstate);
        if (!r.ok()) return r.error();
        if (r->rows() == 0) return Error::NotFound("no token " + id);
        *found = Found{!r->IsNull(0, 3), std::string(r->Text(0, 0)), std::string(r->Text(0, 1)),
                       std::string(r->Text(0, 2))};
        return Status::Ok();
      },
      core::kTokenRevokedAnchor);
  // After the commit, so a concurrent lookup cannot re-cache the old row.
  if (s.ok()) impl_->ClearAuthCache();
  return s;
}

Status PostgresStore::RevokeRunGrant(std::string_view run_id, std::string_view tool,
                                     const core::Principal& actor, std::string_view reason,
                                     TimePoint now) {
  if (Status rs = core::CheckMayVote(actor.role); !rs.ok()) return rs;
  const std::string id(run_id);
  return impl_->SubmitAndWait({id}, [&](Impl::Batch& b) -> Status {
    Impl::Txn txn(b);
    Result<core::RunRow> row = txn.LoadRunForUpdate(id);
    if (!row.ok()) return row.error();
    Result<audit::AuditEvent> ev =
        core::RevokeRunGrant(&row->state, id, row->agent_id, tool, actor.name, reason, now);
    if (!ev.ok()) return ev.error();
    txn.AppendAudit(std::move(ev).value());
    return txn.SaveRun(id, std::move(row).value());
  });
}

Status PostgresStore::RecordPolicyLoad(const core::PolicyLoad& load) {
  audit::AuditEvent ev = core::PolicyLoadEvent(load);
  // A loaded set may widen access: anchored before the caller swaps it in.
  return impl_->SubmitAndWait(
      {},
      [&](Impl::Batch& b) {
        b.events.push_back(ev);
        return Status::Ok();
      },
      {}, core::PolicyLoadAnchorNeed(load));
}

Status PostgresStore::RecordAuthFailures(const core::AuthFailures& failures) {
  const audit::AuditEvent ev = core::AuthFailuresEvent(failures);
  return impl_->SubmitAndWait({}, [&](Impl::Batch& b) {
    b.events.push_back(ev);
    return Status::Ok();
  });
}

Status PostgresStore::AppendRecords(std::vector<audit::AuditEvent> events) {
  return impl_->SubmitAndWait({}, [&](Impl::Batch& b) {
    // Copies: a conflict re-runs the operation.
    b.events.insert(b.events.end(), events.begin(), events.end());
    return Status::Ok();
  });
}

Result<core::CallAuditRecord> PostgresStore::FindCallRecord(std::string_view type,
                                                            std::string_view call_id) {
  const std::string t(type), id(call_id);
  return impl_->Read<core::CallAuditRecord>([&](PgConn& c) -> Result<core::CallAuditRecord> {
    Result<PgResult> r = c.Exec(
        "SELECT seq, run_id, agent_id, principal, body FROM audit_records"
        " WHERE type = $1 AND call_id = $2 ORDER BY seq LIMIT 1",
        {t, id});
    if (!r.ok()) return r.error();
    if (r->rows() == 0) return Error::NotFound("no " + t + " record for call " + id);
    core::CallAuditRecord rec;
    rec.seq = r->Int(0, 0);
    rec.type = t;
    rec.call_id = id;
    rec.run_id = std::string(r->Text(0, 1));
    rec.agent_id = std::string(r->Text(0, 2));
    rec.principal = std::string(r->Text(0, 3));
    rec.body = std::string(r->Text(0, 4));
    return rec;
  });
}

namespace {

// The pins' rows (core/ports/pin_rows.h): reads on the reader connection, writes in the
// writer's batch transaction, after the audit head's lock (which every writer of every
// daemon takes first), so the rows read are exact and the records land in the one chain.
class PgPinRows final : public core::PinRows {
 public:
  explicit PgPinRows(PostgresStore::Impl* impl) : impl_(impl) {}
  Result<std::optional<core::PinRow>> Get(std::string_view agent_id,
                                          std::string_view tool) override {
    core::PinSelect select{std::string(agent_id), std::string(tool), false};
    return impl_->Read<std::optional<core::PinRow>>(
        [&](PgConn& c) -> Result<std::optional<core::PinRow>> {
          Result<std::vector<core::PinRow>> rows =
              internal::PgSelectPins(c, select, true, false, nullptr);
          if (!rows.ok()) return rows.error();
          if (rows->empty()) return std::optional<core::PinRow>();
          return std::optional<core::PinRow>(std::move(rows->front()));
        });
  }
  Result<std::vector<core::PinRow>> List() override {
    return impl_->Read<std::vector<core::PinRow>>([](PgConn& c) {
      return internal::PgSelectPins(c, core::PinSelect{}, false, false, nullptr);
    });
  }
  Status Update(const core::PinSelect& select, const core::PinFn& fn) override {
    const bool exact = !select.agent_id.empty() && !select.tool.empty();
    std::vector<core::PinRow> rows;
    return impl_->SubmitAndWait(
        {},
        [&](PostgresStore::Impl::Batch& b) -> Status {
          Result<core::PinWrite> w = fn(rows);
          if (!w.ok()) return w.error();
          internal::AppendPgPinUpserts(&b.sql, w->rows);
          b.events.insert(b.events.end(), std::make_move_iterator(w->events.begin()),
                          std::make_move_iterator(w->events.end()));
          return Status::Ok();
        },
        [&](PgConn& c, PostgresStore::Impl::Batch&, std::vector<std::string>*,
            std::string* sqlstate) -> Status {
          Result<std::vector<core::PinRow>> r =
              internal::PgSelectPins(c, select, exact, true, sqlstate);
          if (!r.ok()) return r.error();
          rows = std::move(r).value();
          return Status::Ok();
        },
        core::AnchorNeed::kNone, /*alone=*/true);
  }

 private:
  PostgresStore::Impl* impl_;
};

}  // namespace

Result<std::unique_ptr<core::PinRows>> PostgresStore::OpenPinRows() {
  return std::unique_ptr<core::PinRows>(std::make_unique<PgPinRows>(impl_.get()));
}

Status PostgresStore::RecordSignIn(const core::SignIn& s) {
  const audit::AuditEvent ev = core::SignInEvent(s);
  return impl_->SubmitAndWait({}, [&](Impl::Batch& b) {
    b.events.push_back(ev);
    return Status::Ok();
  });
}

Status PostgresStore::RecordResult(std::string_view call_id, std::string_view agent_id,
                                   std::string_view principal, const core::CallResult& result,
                                   TimePoint now) {
  const std::string id(call_id), agent(agent_id), who(principal);
  return impl_->SubmitAndWait(
      {},
      [&](Impl::Batch& b) {
        Impl::Txn txn(b);
        return core::RecordResultInTxn(txn, id, agent, who, result, now);
      },
      [&](PgConn& c, Impl::Batch& b, std::vector<std::string>* runs,
          std::string* sqlstate) -> Status {
        // The call row, locked; its run is locked with the batch's runs.
        Result<PgResult> r =
            c.Exec(std::string("SELECT c.run_id, c.agent_id, c.verdict, c.result_json IS NOT NULL,"
                               " c.tool, ") +
                       internal::kPgCallArgsJson +
                       ", c.principal FROM calls c WHERE c.call_id = $1 FOR UPDATE OF c",
                   {id}, sqlstate);
        if (!r.ok()) return r.error();
        if (r->rows() == 0) return Status::Ok();  // the core answers NotFound
        core::CallResultRow row;
        row.run_id = std::string(r->Text(0, 0));
        row.agent_id = std::string(r->Text(0, 1));
        row.verdict = ParseVerdict(r->Text(0, 2)).value_or(Verdict::kDeny);
        row.has_result = r->Text(0, 3) == "t";
        row.tool = std::string(r->Text(0, 4));
        boost::system::error_code ec;
        boost::json::value args = boost::json::parse(r->Text(0, 5), ec);
        if (ec) return Error::Corrupt("store: calls.args_json is not valid JSON");
        if (args.is_object()) row.args = std::move(args.get_object());
        row.principal = std::string(r->Text(0, 6));
        runs->push_back(row.run_id);
        const std::string run_id = row.run_id;
        b.call_rows[id] = std::move(row);
        if (!result.idempotency.key.empty()) {
          return ReadIdempotency(c, b, run_id, result.idempotency.key, sqlstate);
        }
        return Status::Ok();
      });
}

Status PostgresStore::EndRun(std::string_view run_id, std::string_view agent_id, TimePoint now) {
  const std::string id(run_id), agent(agent_id);
  return impl_->SubmitAndWait({id}, [&](Impl::Batch& b) {
    Impl::Txn txn(b);
    return core::EndRunInTxn(txn, id, agent, now);
  });
}

Result<boost::json::array> PostgresStore::QueryAudit(const audit::AuditQuery& query) {
  return impl_->Read<boost::json::array>(
      [&](PgConn& c) { return internal::PgQueryAudit(c, query); });
}
// Each page on the reader; tool, code and text cannot use an index here: windowed.
Result<audit::AuditPage> PostgresStore::QueryAuditPage(const audit::AuditQuery& query) {
  const audit::AuditFilter& f = query.filter;
  return audit::PageOver(
      query, !f.text.empty() || !f.tool.empty() || !f.code.empty(), [this] { return LastSeq(); },
      [this](const audit::AuditQuery& bounded) { return QueryAudit(bounded); });
}
Result<audit::RunReplay> PostgresStore::Replay(std::string_view run_id) {
  return impl_->Read<audit::RunReplay>([&](PgConn& c) { return internal::PgReplayRun(c, run_id); });
}
Result<boost::json::object> PostgresStore::ReplayRun(std::string_view run_id) {
  Result<audit::RunReplay> r = Replay(run_id);
  if (!r.ok()) return r.error();
  return audit::ReplayToJson(*r);
}
Result<int64_t> PostgresStore::LastSeq() const {
  return impl_->Read<int64_t>([](PgConn& c) { return internal::PgLastSeq(c); });
}
// Governance's long reads on a connection of their own (opened for the read, closed after
// it): a report streaming a million records never holds the reader other requests use.
Status PostgresStore::ForEachRecord(const core::HistoryFilter& filter,
                                    const core::HistoryFn& fn) const {
  Result<std::unique_ptr<PgConn>> c =
      PgConn::Connect(impl_->options().uri, impl_->options().limits);
  if (!c.ok()) return c.error();
  return internal::PgForEachRecord(**c, filter, fn);
}
Result<core::StoredCall> PostgresStore::GetCall(std::string_view call_id) {
  const std::string id(call_id);
  return impl_->Read<core::StoredCall>([&](PgConn& c) { return internal::PgGetCall(c, id); });
}

Result<core::StoredCall> PostgresStore::ReleaseCall(
    std::string_view call_id, std::string_view agent_id, std::string_view principal, TimePoint now,
    std::shared_ptr<const policy::PolicySet> policies) {
  Result<core::StoredCall> call = GetCall(call_id);
  if (!call.ok()) return call;
  // Refused, answered as stored, or released by the writer, which re-reads everything in
  // its transaction (core::CheckReleaseRead).
  Result<bool> release =
      core::CheckReleaseRead(call->record, agent_id, principal, now,
                             [this](std::vector<audit::AuditEvent> records) {
                               return AppendRecords(std::move(records));
                             });
  if (!release.ok()) return release.error();
  if (!*release) return call;
  const std::string id(call_id);
  const core::CallRecord recorded = call->record;
  bool released = false;  // by the attempt that committed (the function may run again)
  Status s = impl_->SubmitAndWait({recorded.run_id}, [&](Impl::Batch& b) -> Status {
    Impl::Txn txn(b);
    Result<core::RunRow> row = txn.LoadRunForUpdate(recorded.run_id);
    if (!row.ok()) return row.error();
    Result<std::optional<engine::KillSwitch>> kill =
        txn.EngagedKill(recorded.agent_id, recorded.run_id);
    if (!kill.ok()) return kill.error();
    const core::ReleaseContext ctx{std::move(kill).value(), row->state.halted, row->ended,
                                   row->state.halt_reason, now};
    bool released_now = false;
    if (Status rs = core::ReleaseInTxn(txn, id, ctx, &released_now); !rs.ok()) return rs;
    released = released_now;
    if (!released_now || policies == nullptr) return Status::Ok();
    // The call proceeds now: what it adds to the run's sequence state, and its count.
    if (Status rs = core::ApplyRelease(txn, policies->Find(recorded.agent_id), recorded,
                                       recorded.agent_id, now, &row->state);
        !rs.ok()) {
      return rs;
    }
    return txn.SaveRun(recorded.run_id, std::move(row).value());
  });
  if (!s.ok()) return s.error();
  Result<core::StoredCall> released_call = GetCall(call_id);
  if (released_call.ok()) released_call->released_now = released;
  return released_call;
}

void PostgresStore::SetCallListener(std::function<void(std::string_view call_id)> fn) {
  impl_->SetCallListener(std::move(fn));
}

bool PostgresStore::Listening() const { return impl_->listening_.load(); }

Result<std::vector<core::Approval>> PostgresStore::ListApprovals(
    const core::ApprovalFilter& filter) {
  return impl_->Read<std::vector<core::Approval>>(
      [&](PgConn& c) { return internal::PgListApprovals(c, filter); });
}

Result<core::Approval> PostgresStore::GetApproval(std::string_view approval_id) {
  const std::string id(approval_id);
  return impl_->Read<core::Approval>([&](PgConn& c) { return internal::PgGetApproval(c, id); });
}

Result<core::VoteOutcome> PostgresStore::Vote(const core::VoteRequest& request) {
  if (Status rs = core::CheckMayVote(request.reviewer.role); !rs.ok()) return rs.error();
  core::VoteOutcome out;
  Status s = impl_->SubmitAndWait(
      {},
      [&](Impl::Batch& b) -> Status {
        out = core::VoteOutcome{};
        Impl::Txn txn(b);
        return core::VoteInTxn(txn, request, &impl_->redactor(), &out);
      },
      [&](PgConn& c, Impl::Batch&, std::vector<std::string>* runs,
          std::string* sqlstate) -> Status {
        // The approval's run, locked with the batch's runs (a grant consumes its records).
        Result<PgResult> r = c.Exec("SELECT run_id FROM approvals WHERE approval_id = $1",
                                    {request.approval_id}, sqlstate);
        if (!r.ok()) return r.error();
        if (r->rows() > 0) runs->push_back(std::string(r->Text(0, 0)));
        return Status::Ok();
      });
  if (!s.ok()) return s.error();
  return out;
}

Result<core::Approval> PostgresStore::WithdrawApproval(std::string_view approval_id,
                                                       std::string_view agent_id,
                                                       std::string_view principal,
                                                       std::string_view reason, TimePoint now) {
  core::Approval out;
  std::optional<Error> refused;  // by another identity: recorded, then answered
  Status s = impl_->SubmitAndWait({}, [&](Impl::Batch& b) -> Status {
    Impl::Txn txn(b);
    return core::WithdrawInTxn(txn, approval_id, agent_id, principal, reason, now, &out, &refused);
  });
  if (!s.ok()) return s.error();
  if (refused) return *refused;
  return out;
}

Result<std::vector<core::ApprovalChange>> PostgresStore::ExpireApprovals(TimePoint now) {
  std::vector<core::ApprovalChange> out;
  Status s = impl_->SubmitAndWait({}, [&](Impl::Batch& b) -> Status {
    Impl::Txn txn(b);
    return core::ExpireInTxn(txn, now, &out);
  });
  if (!s.ok()) return s.error();
  return out;
}

// The read paths' SQL and row mapping live in postgres_read.cc.
Result<core::RunPage> PostgresStore::ListRuns(const core::RunFilter& filter) {
  return impl_->Read<core::RunPage>(
      [&](PgConn& c) -> Result<core::RunPage> { return internal::PgListRuns(c, filter); });
}
Result<std::vector<core::CallSummary>> PostgresStore::ListRunCalls(std::string_view run_id,
                                                                   size_t limit) {
  return impl_->Read<std::vector<core::CallSummary>>(
      [&](PgConn& c) -> Result<std::vector<core::CallSummary>> {
        return internal::PgListRunCalls(c, run_id, limit);
      });
}
Result<int64_t> PostgresStore::PruneCalls(TimePoint cutoff, int64_t limit) {
  return impl_->Read<int64_t>([&](PgConn& c) { return internal::PgPruneCalls(c, cutoff, limit); });
}

}  // namespace interlock::store

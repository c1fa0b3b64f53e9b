#include "store/sqlite_store.h"

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

#include "audit/audit_log.h"
#include "audit/canonical.h"
#include "audit/query.h"
#include "audit/replay.h"
#include "audit/sqlite_util.h"
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
#include "store/sqlite_history_source.h"
#include "store/sqlite_pins.h"
#include "store/sqlite_stmt.h"

namespace interlock::store {
namespace {

// SQLite's memory statistics off, before any SQLite use (a static initializer: single-
// threaded, before main). With them on (SQLite's default), every sqlite3_malloc and
// sqlite3_free takes one process-wide mutex to count bytes: ~117 of each per decision on
// the writer, 5% of its native time (docs/performance.md, "The store's writer"), and the
// same mutex for every other connection's thread. Nothing here reads the statistics
// (sqlite3_memory_used, soft heap limits). If SQLite was initialized already, the call
// is refused (SQLITE_MISUSE) and the statistics simply stay on.
[[maybe_unused]] const int kSqliteMemStatusOff = sqlite3_config(SQLITE_CONFIG_MEMSTATUS, 0);

using internal::AppendStateStoreJson;
using internal::NewId;
using internal::ParseRecords;

// ---------------------------------------------------------------------------------------
// Schema. Migration i (0-based) moves the database from version i to i + 1. The SQL is
// kept portable (no SQLite-only syntax) so a PostgreSQL backend can reuse it.
constexpr int kSchemaVersion = 9;
constexpr const char* kMigrations[] = {
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
    "  records_json TEXT NOT NULL DEFAULT '{}');"
    "CREATE INDEX runs_agent ON runs(agent_id);"
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
    "CREATE INDEX calls_run ON calls(run_id, time_ms);"
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
    "  PRIMARY KEY (scope, target));",
    // 2: approvals (sqlite_approvals.h).
    internal::kApprovalsSchema,
    // 3: no run index on calls. Each decision inserted a key at its run's place in it, a
    // random page per call per group commit (with 64 busy runs, 64 pages of WAL per
    // batch for this index alone). A run's calls are read through the audit log's run
    // index instead (ListRunCalls).
    "DROP INDEX IF EXISTS calls_run;",
    // 4: the audit log's run links replace its (run_id, seq) index, for the same reason
    // (audit_log.h, "Records of a run"). audit::EnsureAuditSchema migrates the log, in
    // the same transaction, after these steps.
    "SELECT 1;",
    // 5: the audit log's head row (audit_log.h, "The head row"), so that a deleted tail
    // of any record types is visible. audit::EnsureAuditSchema adds it, as for 4.
    "SELECT 1;",
    // 6: runs listed newest first (ListRuns), for every agent or one. Runs are inserted
    // once each, at the end of both indexes; the second replaces runs(agent_id).
    "CREATE INDEX IF NOT EXISTS runs_started ON runs(started_ms, run_id);"
    "CREATE INDEX IF NOT EXISTS runs_agent_started ON runs(agent_id, started_ms, run_id);"
    "DROP INDEX IF EXISTS runs_agent;",
    // 7: sequences (issue 15). A run's workflow state, variables and labels; the agent's
    // counted calls per rate-limit key (pruned past their window as they are counted) and
    // its totals per UTC day (docs/design.md, "Counting across runs").
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
    // 8: Idempotency-Keys (docs/api.md#idempotency), kept per run as long as the run (runs
    // are never pruned): the request's hash and the answer the core composed.
    "CREATE TABLE IF NOT EXISTS idempotency_keys ("
    "  run_id TEXT NOT NULL,"
    "  idem_key TEXT NOT NULL,"
    "  request_sha256 TEXT NOT NULL,"
    "  answer TEXT NOT NULL,"
    "  created_ms BIGINT NOT NULL,"
    "  PRIMARY KEY (run_id, idem_key));",
    // 9: a reviewer's edit of the arguments (docs/approvals.md, "Editing the arguments"):
    // the edited arguments' hash, which a re-submission must match instead of the original.
    // The arguments themselves are in the call's decision_json ("arguments") and, redacted,
    // in the grant's audit record.
    "ALTER TABLE approvals ADD COLUMN edited_args_sha256 TEXT NOT NULL DEFAULT '';",
};
static_assert(std::size(kMigrations) == kSchemaVersion);

// Statements, prepared once per connection (keyed by these pointers) and reused.
constexpr const char* kBegin = "BEGIN IMMEDIATE";
constexpr const char* kCommit = "COMMIT";
constexpr const char* kRollback = "ROLLBACK";
constexpr const char* kSavepoint = "SAVEPOINT op";
constexpr const char* kRollbackTo = "ROLLBACK TO op";
constexpr const char* kRelease = "RELEASE op";
constexpr const char* kDataVersion = "PRAGMA data_version";
constexpr const char* kSelectKills =
    "SELECT scope, target, engaged, reason, actor, time_ms FROM kill_switches"
    " ORDER BY scope, target";
constexpr const char* kSelectEngagedKills =
    "SELECT scope, target, reason FROM kill_switches WHERE engaged = 1";
constexpr const char* kUpsertKill =
    "INSERT INTO kill_switches(scope, target, engaged, reason, actor, time_ms)"
    " VALUES (?,?,?,?,?,?) ON CONFLICT(scope, target) DO UPDATE SET"
    " engaged = excluded.engaged, reason = excluded.reason, actor = excluded.actor,"
    " time_ms = excluded.time_ms";
constexpr const char* kSelectRun =
    "SELECT agent_id, started_ms, steps, tokens, cost_micros, halted, halt_reason, ended,"
    " records_json, sequence_json FROM runs WHERE run_id = ?";
constexpr const char* kInsertRun = "INSERT INTO runs(run_id, agent_id, started_ms) VALUES (?,?,?)";
constexpr const char* kUpdateRun =
    "UPDATE runs SET steps = ?, tokens = ?, cost_micros = ?, halted = ?, halt_reason = ?,"
    " records_json = ?, sequence_json = ? WHERE run_id = ?";
constexpr const char* kEndRun = "UPDATE runs SET ended = 1, ended_ms = ? WHERE run_id = ?";
constexpr const char* kInsertCall =
    "INSERT INTO calls(call_id, run_id, agent_id, principal, time_ms, tool, args_json,"
    " usage_tokens, usage_cost_micros, decision_json, verdict, code, state_after_json,"
    " policy_sha256) VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?,?)";
constexpr const char* kSelectCallForResult =
    "SELECT run_id, agent_id, verdict, result_json, tool, args_json, principal FROM calls"
    " WHERE call_id = ?";
constexpr const char* kCountRateHits =
    "SELECT COUNT(*), MIN(at_ms) FROM rate_hits WHERE agent_id = ? AND rate_key = ? AND at_ms > ?";
constexpr const char* kPruneRateHits =
    "DELETE FROM rate_hits WHERE agent_id = ? AND rate_key = ? AND at_ms <= ?";
constexpr const char* kInsertRateHit =
    "INSERT INTO rate_hits(agent_id, rate_key, at_ms) VALUES (?,?,?)";
constexpr const char* kSelectDay =
    "SELECT calls, tokens, cost_micros FROM agent_days WHERE agent_id = ? AND day = ?";
// A day's row is updated in place, and inserted only by the day's first call: an upsert
// (INSERT ... ON CONFLICT DO UPDATE) first builds the row to insert and probes the key
// for the conflict on every call (docs/performance.md).
constexpr const char* kBumpDay =
    "UPDATE agent_days SET calls = calls + ?3,"
    " tokens = MIN(tokens + ?4, 9223372036854775807),"
    " cost_micros = MIN(cost_micros + ?5, 9223372036854775807)"
    " WHERE agent_id = ?1 AND day = ?2";
constexpr const char* kInsertDay =
    "INSERT INTO agent_days(agent_id, day, calls, tokens, cost_micros) VALUES (?,?,?,?,?)";
constexpr const char* kSelectCall =
    "SELECT run_id, agent_id, principal, time_ms, tool, args_json, usage_tokens,"
    " usage_cost_micros, decision_json, state_after_json, result_json, policy_sha256"
    " FROM calls WHERE call_id = ?";
constexpr const char* kSetResult =
    "UPDATE calls SET result_json = ?, result_ms = ? WHERE call_id = ?";
constexpr const char* kSelectIdempotency =
    "SELECT request_sha256, answer FROM idempotency_keys WHERE run_id = ? AND idem_key = ?";
constexpr const char* kInsertIdempotency =
    "INSERT INTO idempotency_keys(run_id, idem_key, request_sha256, answer, created_ms)"
    " VALUES (?,?,?,?,?)";
constexpr const char* kInsertToken =
    "INSERT INTO tokens(token_id, sha256, role, name, agent_id, created_ms)"
    " VALUES (?,?,?,?,?,?)";
constexpr const char* kSelectTokenById =
    "SELECT role, name, agent_id, revoked_ms FROM tokens WHERE token_id = ?";
constexpr const char* kRevokeToken = "UPDATE tokens SET revoked_ms = ? WHERE token_id = ?";
constexpr const char* kSelectTokenByHash =
    "SELECT token_id, sha256, role, name, agent_id, revoked_ms FROM tokens WHERE sha256 = ?";
constexpr const char* kSelectTokens =
    "SELECT token_id, role, name, agent_id, created_ms, revoked_ms FROM tokens"
    " ORDER BY created_ms, token_id";

constexpr auto kAuthCacheTtl = std::chrono::milliseconds(500);
// WAL pages after which the checkpointer thread runs (SQLite's own default is 1000; we
// move the work off the writer thread so a checkpoint never delays a group commit).
constexpr int kCheckpointPages = 1000;
// WAL frames past which the writer itself finishes the checkpoint between two batches.
// Under continuous writes the background checkpointer never catches up with the last
// frame, and SQLite rewinds the WAL only when a write starts on a fully checkpointed log:
// without this the WAL grows without bound. The writer's pass copies only what the
// background one has not (plus the two syncs a checkpoint makes), then the next batch
// writes from the start of the file again. Bounds the WAL to about this many pages
// (64 MiB; 96 MiB at worst, see RewindWal). Each rewind pauses the writer for 5-25 ms on the
// benchmark VM; fewer, larger rewinds keep more of the pauses out of the p99 (docs/performance.md,
// Store).
constexpr int kRestartPages = 16000;
constexpr auto kCheckpointInterval = std::chrono::seconds(1);
constexpr size_t kAuthCacheMax = 10000;
// How long the writer holds writes nobody waits for (Op::lazy) for a waited-for write to
// share their commit.
constexpr auto kLazyDelay = std::chrono::milliseconds(5);
// Runs whose state the writer keeps in memory (see RunCache); past this the cache is
// emptied and refills from the database.
constexpr size_t kRunCacheMax = 100000;
// Page cache of the writer connection (KiB, SQLite's negative cache_size): the call and
// audit indexes are written at random keys, and SQLite's 2 MiB default made every commit
// re-read index pages from the OS.
constexpr int kWriterCacheKiB = 64 * 1024;

Error SqlError(sqlite3* db, std::string_view what) {
  return Error::Unavailable("store: " + std::string(what) + ": " + sqlite3_errmsg(db));
}

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
    const int rc = sqlite3_open_v2(path.c_str(), &db_, flags, nullptr);
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
std::string NewCallId(TimePoint now) {
  std::string id = internal::CallIdTimePrefix(now);
  id += NewId("");
  return id;
}

int64_t Millis(TimePoint t) { return ToUnixMillis(t); }

// Parses JSON written by this store; a failure means the row was tampered with.
Result<boost::json::value> ParseStored(std::string_view text, std::string_view what) {
  boost::system::error_code ec;
  boost::json::value v = boost::json::parse(text, ec);
  if (ec) return Error::Corrupt("store: " + std::string(what) + " is not valid JSON");
  return v;
}

uint64_t GetU64(const boost::json::object& o, std::string_view key) {
  const boost::json::value* v = o.if_contains(key);
  if (v == nullptr) return 0;
  if (v->is_uint64()) return v->get_uint64();
  if (v->is_int64()) return static_cast<uint64_t>(std::max<int64_t>(0, v->get_int64()));
  return 0;
}
int64_t GetI64(const boost::json::object& o, std::string_view key) {
  const boost::json::value* v = o.if_contains(key);
  if (v == nullptr) return 0;
  if (v->is_int64()) return v->get_int64();
  if (v->is_uint64()) return static_cast<int64_t>(v->get_uint64());
  return 0;
}
std::string GetStr(const boost::json::object& o, std::string_view key) {
  const boost::json::value* v = o.if_contains(key);
  return v != nullptr && v->is_string() ? std::string(v->get_string()) : std::string();
}
bool GetBool(const boost::json::object& o, std::string_view key, bool dflt = false) {
  const boost::json::value* v = o.if_contains(key);
  return v != nullptr && v->is_bool() ? v->get_bool() : dflt;
}

RunState StateFromJson(const boost::json::object& o) {
  RunState s;
  s.steps = GetU64(o, "steps");
  s.tokens = GetU64(o, "tokens");
  s.cost_micros = GetI64(o, "cost_micros");
  s.elapsed_ms = GetI64(o, "elapsed_ms");
  s.halted = GetBool(o, "halted");
  s.halt_reason = GetStr(o, "halt_reason");
  if (const boost::json::value* r = o.if_contains("records"); r != nullptr && r->is_object()) {
    for (const auto& kv : r->get_object())
      s.records[std::string(kv.key())] = GetU64(r->get_object(), kv.key());
  }
  return s;
}

// The inverse of DecisionToJson, for calls read back from the store.
Decision DecisionFromJson(const boost::json::object& o) {
  // One reader of the stored decision for every backend (interlock/decision.h); a row
  // whose verdict or code does not parse reads as a deny (fail closed).
  if (std::optional<Decision> d = interlock::DecisionFromJson(o)) return std::move(*d);
  Decision d;
  d.verdict = Verdict::kDeny;
  d.code = Code::kInvalidRequest;
  d.reason = "the stored decision does not parse";
  return d;
}

core::CallResult ResultFromJson(const boost::json::object& o) {
  core::CallResult r;
  r.ok = GetBool(o, "ok", true);
  if (const boost::json::value* v = o.if_contains("output")) r.output_json = CanonicalJson(*v);
  r.error = GetStr(o, "error");
  if (const boost::json::value* u = o.if_contains("usage"); u != nullptr && u->is_object()) {
    r.usage.tokens = GetU64(u->get_object(), "tokens");
    const boost::json::value* c = u->get_object().if_contains("cost_usd");
    if (c != nullptr && c->is_number()) {
      r.usage.cost_micros = static_cast<int64_t>(c->to_number<double>() * 1e6 + 0.5);
    }
  }
  return r;
}

struct RunRow {
  std::string agent_id;
  int64_t started_ms = 0;
  RunState state;
  bool ended = false;
  bool dirty = false;    // cached only: decided in this batch, row not yet written
  uint64_t version = 0;  // cached only: bumped by every SaveRun (core::RunRow::version)
};

// A run row from the columns of kSelectRun, starting at column `first`.
template <class Q>
Result<RunRow> ReadRunColumns(const Q& q, int first) {
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
  return row;
}

// Loads a run on `c`; NotFound when absent.
Result<RunRow> LoadRun(Conn& c, std::string_view run_id) {
  Result<sqlite3_stmt*> s = c.Get(kSelectRun);
  if (!s.ok()) return s.error();
  Query q(*s);
  q.Text(1, run_id);
  const int rc = q.Step();
  if (rc == SQLITE_DONE) return Error::NotFound("no run " + std::string(run_id));
  if (rc != SQLITE_ROW) return SqlError(c.db(), "read run");
  return ReadRunColumns(q, 0);
}

core::RunInfo ToRunInfo(std::string_view run_id, RunRow row) {
  core::RunInfo info;
  info.run_id = std::string(run_id);
  info.agent_id = std::move(row.agent_id);
  info.started = FromUnixMillis(row.started_ms);
  info.state = std::move(row.state);
  info.ended = row.ended;
  return info;
}

// Reads one call on `c`; NotFound when absent.
Result<core::StoredCall> LoadCall(Conn& c, std::string_view call_id) {
  Result<sqlite3_stmt*> s = c.Get(kSelectCall);
  if (!s.ok()) return s.error();
  Query q(*s);
  q.Text(1, call_id);
  const int rc = q.Step();
  if (rc == SQLITE_DONE) return Error::NotFound("no call " + std::string(call_id));
  if (rc != SQLITE_ROW) return SqlError(c.db(), "read call");
  core::StoredCall out;
  core::CallRecord& r = out.record;
  r.call_id = std::string(call_id);
  r.run_id = q.ColText(0);
  r.agent_id = q.ColText(1);
  r.principal = q.ColText(2);
  r.at = FromUnixMillis(q.ColInt(3));
  r.call.tool = q.ColText(4);
  Result<boost::json::value> args = ParseStored(q.ColText(5), "calls.args_json");
  if (!args.ok() || !args->is_object()) return Error::Corrupt("store: calls.args_json is bad");
  r.call.args = std::move(args->get_object());
  r.call.usage.tokens = static_cast<uint64_t>(q.ColInt(6));
  r.call.usage.cost_micros = q.ColInt(7);
  Result<boost::json::value> d = ParseStored(q.ColText(8), "calls.decision_json");
  if (!d.ok() || !d->is_object()) return Error::Corrupt("store: calls.decision_json is bad");
  r.decision = DecisionFromJson(d->get_object());
  Result<boost::json::value> st = ParseStored(q.ColText(9), "calls.state_after_json");
  if (!st.ok() || !st->is_object()) return Error::Corrupt("store: calls.state_after_json is bad");
  r.state_after = StateFromJson(st->get_object());
  if (!q.ColNull(10)) {
    Result<boost::json::value> res = ParseStored(q.ColText(10), "calls.result_json");
    if (!res.ok() || !res->is_object()) return Error::Corrupt("store: calls.result_json is bad");
    out.result = ResultFromJson(res->get_object());
  }
  r.policy_sha256 = q.ColText(11);
  return out;
}

}  // namespace

namespace internal {

std::string CallIdTimePrefix(TimePoint t) {
  static constexpr char kHex[] = "0123456789abcdef";
  const uint64_t ms = static_cast<uint64_t>(std::max<int64_t>(0, ToUnixMillis(t)));
  std::string id = "call_";
  for (int i = 11; i >= 0; --i) id.push_back(kHex[(ms >> (4 * i)) & 15]);
  return id;
}

}  // namespace internal

// ---------------------------------------------------------------------------------------

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
  };

  explicit Impl(const StoreOptions& o) : options_(o), redactor_(o.audit_key) {}
  const audit::Redactor& redactor() const { return redactor_; }

  ~Impl() {
    {
      std::lock_guard lock(mu_);
      stopping_ = true;
    }
    cv_.notify_all();
    if (writer_thread_.joinable()) writer_thread_.join();
    {
      std::lock_guard lock(sync_mu_);
      sync_stop_ = true;
    }
    sync_cv_.notify_all();
    if (sync_thread_.joinable()) sync_thread_.join();
    if (wal_fd_ >= 0) ::close(wal_fd_);
    {
      std::lock_guard lock(ckpt_mu_);
      ckpt_stop_ = true;
    }
    ckpt_cv_.notify_all();
    if (ckpt_thread_.joinable()) ckpt_thread_.join();
    if (writer_.db() != nullptr && !memory_) {
      sqlite3_wal_checkpoint_v2(writer_.db(), nullptr, SQLITE_CHECKPOINT_TRUNCATE, nullptr,
                                nullptr);
    }
  }

  Status Open() {
    const std::string& path = options_.path;
    memory_ = path == ":memory:";
    if (!memory_ && !options_.create_if_missing) {
      struct stat st {};
      if (::stat(path.c_str(), &st) != 0) {
        return Error::NotFound("store " + path + " does not exist");
      }
    }
    if (Status s = writer_.Open(path, options_.create_if_missing, options_.busy_timeout_ms);
        !s.ok()) {
      return s;
    }
    if (Status s = CheckAndMigrate(); !s.ok()) return s;
    if (!memory_) {
      if (Status s = reader_.Open(path, false, options_.busy_timeout_ms); !s.ok()) return s;
      if (Status s = history_.Open(path, false, options_.busy_timeout_ms); !s.ok()) return s;
      if (Status s = ckpt_.Open(path, false, options_.busy_timeout_ms); !s.ok()) return s;
      // A connection learns that the database is in WAL mode only when it first reads it;
      // until then sqlite3_wal_checkpoint_v2 returns OK and does nothing (the WAL then
      // grew without bound: 1.2 GB after 91k decisions). Read once, now.
      if (Status s = ckpt_.ExecScript("SELECT count(*) FROM sqlite_master", "checkpointer");
          !s.ok()) {
        return s;
      }
      // Replaces SQLite's automatic checkpoint, which would run inside a commit.
      sqlite3_wal_hook(writer_.db(), &Impl::WalHook, this);
      ckpt_thread_ = std::thread([this] {
        SetThreadName("il-checkpoint");
        CheckpointLoop();
      });
      if (options_.durable_full) {
        sync_thread_ = std::thread([this] {
          SetThreadName("il-store-sync");
          SyncLoop();
        });
      }
    }
    writer_thread_ = std::thread([this] {
      SetThreadName("il-store-write");
      WriterLoop();
    });
    return Status::Ok();
  }

  TimePoint Now() const {
    return options_.clock != nullptr ? options_.clock->Now() : std::chrono::system_clock::now();
  }

  // Queues a write. Fails it at once when the store is closing.
  void Submit(Op op) {
    {
      std::lock_guard lock(mu_);
      if (!stopping_) {
        if (!op.lazy) ++eager_queued_;
        queue_.push_back(std::move(op));
        cv_.notify_one();
        return;
      }
    }
    op.finish(Error::Unavailable("store: closing"));
  }

  // Queues a write and waits for its outcome.
  Status SubmitAndWait(std::function<Status(Batch&)> apply,
                       core::AnchorNeed anchor = core::AnchorNeed::kNone) {
    std::promise<Status> p;
    std::future<Status> f = p.get_future();
    Op op{std::move(apply), [&p](Status s) { p.set_value(std::move(s)); }};
    op.anchor = anchor;
    Submit(std::move(op));
    return f.get();
  }

  // Runs a read on the reader connection (or, in memory, on the writer thread).
  template <typename T>
  Result<T> Read(const std::function<Result<T>(Conn&)>& fn) {
    if (!memory_) {
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

  // Governance's reads (ForEachRecord, LastSeq) on their own connection: a report that
  // streams a million records for seconds never holds the reader the console's other
  // pages and the agents' GetCall wait on (WAL: readers do not block each other).
  template <class T>
  Result<T> ReadHistory(const std::function<Result<T>(Conn&)>& fn) {
    if (memory_) return Read<T>(fn);
    std::lock_guard lock(history_mu_);
    return fn(history_);
  }

  // --- operations, all on the writer thread -------------------------------------------

  Status ApplyCreateRun(Batch& b, std::string_view agent_id, std::string run_id, TimePoint now,
                        core::RunInfo* out) {
    if (run_id.empty()) {
      run_id = NewId("run_");
    } else {
      Result<RunRow*> existing = FindRun(run_id);
      if (existing.ok()) return Error{ErrorKind::kAlreadyExists, "run " + run_id + " exists"};
      if (existing.error().kind != ErrorKind::kNotFound) return existing.error();
    }
    Result<sqlite3_stmt*> s = writer_.Get(kInsertRun);
    if (!s.ok()) return s.error();
    Query q(*s);
    q.Text(1, run_id).Text(2, agent_id).Int(3, Millis(now));
    if (q.Step() != SQLITE_DONE) return SqlError(writer_.db(), "create run");
    out->run_id = run_id;
    out->agent_id = std::string(agent_id);
    out->started = FromUnixMillis(Millis(now));
    b.events->push_back(audit::AuditEvent{audit::kRunStarted, now, run_id, "",
                                          std::string(agent_id), std::string(agent_id),
                                          boost::json::object{}});
    CacheRun(run_id, RunRow{std::string(agent_id), Millis(now), RunState{}, false});
    return Status::Ok();
  }

  // The StateTxn of one operation inside a batch transaction: rows on the writer
  // connection, decided runs in the run cache (written by FlushRuns before COMMIT),
  // audit events into the batch. Holds no rule: core::DecideInTxn does.
  class Txn final : public core::StateTxn {
   public:
    Txn(Impl& impl, Batch& b) : impl_(impl), b_(b), approvals_(impl.writer_.db(), impl.options_) {}

    Result<core::RunRow> LoadRunForUpdate(std::string_view run_id) override {
      // The batch holds the write lock (BEGIN IMMEDIATE): the row is ours until COMMIT.
      Result<RunRow*> found = impl_.FindRun(run_id);
      if (!found.ok()) return found.error();
      const RunRow& row = **found;
      return core::RunRow{row.agent_id, FromUnixMillis(row.started_ms), row.state, row.ended,
                          row.version};
    }
    Status SaveRun(std::string_view run_id, const core::RunRow& row) override {
      Result<RunRow*> found = impl_.FindRun(run_id);
      if (!found.ok()) return found.error();
      RunRow& cached = **found;
      if (cached.version != row.version) {
        return Error::Unavailable("store: run " + std::string(run_id) + " changed (conflict)");
      }
      if (row.ended != cached.ended) {
        if (!row.ended) return Error::Internal("store: an ended run is never un-ended");
        Result<sqlite3_stmt*> s = impl_.writer_.Get(kEndRun);
        if (!s.ok()) return s.error();
        Query q(*s);
        q.Int(1, Millis(row.ended_at)).Text(2, run_id);
        if (q.Step() != SQLITE_DONE) return SqlError(impl_.writer_.db(), "end run");
        cached.ended = true;
      }
      // The cached run takes the new state; its row is written once per batch, before the
      // batch commits (FlushRuns), or the whole cache is dropped if the batch rolls back.
      AssignRunState(row.state, &cached.state);
      ++cached.version;
      if (!cached.dirty) {
        cached.dirty = true;
        impl_.dirty_runs_.emplace_back(run_id);
      }
      return Status::Ok();
    }
    Result<std::optional<engine::KillSwitch>> EngagedKill(std::string_view agent_id,
                                                          std::string_view run_id) override {
      if (b_.kills_stale) {
        if (Status s = impl_.LoadKills(&b_.kills); !s.ok()) return s.error();
        b_.kills_stale = false;
      }
      return b_.kills.Covering(agent_id, run_id);
    }
    Result<std::string> InsertCall(const core::NewCall& c) override {
      const core::DecideRequest& rq = c.request;
      std::string call_id = NewCallId(rq.now);
      std::string& state_json = impl_.scratch_state_;
      state_json.clear();
      AppendStateStoreJson(&state_json, c.state_after);
      Result<sqlite3_stmt*> s = impl_.writer_.Get(kInsertCall);
      if (!s.ok()) return s.error();
      Query q(*s);
      q.TextStatic(1, call_id)
          .TextStatic(2, rq.run_id)
          .TextStatic(3, rq.agent_id)
          .TextStatic(4, rq.principal)
          .Int(5, Millis(rq.now))
          .TextStatic(6, rq.call.tool)
          .TextStatic(7, c.args_json)
          .Int(8, static_cast<int64_t>(rq.call.usage.tokens))
          .Int(9, rq.call.usage.cost_micros)
          .TextStatic(10, c.decision_json)
          .Text(11, VerdictName(c.decision.verdict))
          .Text(12, CodeName(c.decision.code))
          .TextStatic(13, state_json)
          .TextStatic(14, rq.policy_sha256);
      if (q.Step() != SQLITE_DONE) return SqlError(impl_.writer_.db(), "insert call");
      return call_id;
    }
    Result<core::CallRecord> LoadCall(std::string_view call_id) override {
      Result<core::StoredCall> call = store::LoadCall(impl_.writer_, call_id);
      if (!call.ok()) return call.error();
      return std::move(call->record);
    }
    Result<core::CallResultRow> LoadCallForResult(std::string_view call_id) override {
      Result<sqlite3_stmt*> s = impl_.writer_.Get(kSelectCallForResult);
      if (!s.ok()) return s.error();
      Query q(*s);
      q.Text(1, call_id);
      const int rc = q.Step();
      if (rc == SQLITE_DONE) return Error::NotFound("no call " + std::string(call_id));
      if (rc != SQLITE_ROW) return SqlError(impl_.writer_.db(), "read call");
      core::CallResultRow row;
      row.run_id = q.ColText(0);
      row.agent_id = q.ColText(1);
      row.verdict = ParseVerdict(q.ColText(2)).value_or(Verdict::kDeny);
      row.has_result = !q.ColNull(3);
      row.tool = q.ColText(4);
      Result<boost::json::value> args = ParseStored(q.ColText(5), "calls.args_json");
      if (!args.ok()) return args.error();
      if (args->is_object()) row.args = std::move(args->get_object());
      row.principal = q.ColText(6);
      return row;
    }
    Result<engine::AgentUsage> CountAgentUsage(std::string_view agent_id,
                                               const core::CountQuery& cq, TimePoint now) override {
      // Inside the batch's write transaction (BEGIN IMMEDIATE): no other writer, in this
      // process or another, can count or add until it commits.
      engine::AgentUsage u;
      const int64_t now_ms = Millis(now);
      sqlite3* db = impl_.writer_.db();
      if (!cq.rate_key.empty()) {
        const int64_t since = now_ms - cq.window_ms;
        Result<sqlite3_stmt*> p = impl_.writer_.Get(kPruneRateHits);
        if (!p.ok()) return p.error();
        Query prune(*p);
        prune.Text(1, agent_id).Text(2, cq.rate_key).Int(3, since);
        if (prune.Step() != SQLITE_DONE) return SqlError(db, "prune rate hits");
        Result<sqlite3_stmt*> c = impl_.writer_.Get(kCountRateHits);
        if (!c.ok()) return c.error();
        Query q(*c);
        q.Text(1, agent_id).Text(2, cq.rate_key).Int(3, since);
        if (q.Step() != SQLITE_ROW) return SqlError(db, "count rate hits");
        u.window_calls = static_cast<uint64_t>(q.ColInt(0));
        if (!q.ColNull(1)) u.window_oldest_ms = now_ms - q.ColInt(1);
      }
      if (cq.day) {
        Result<sqlite3_stmt*> d = impl_.writer_.Get(kSelectDay);
        if (!d.ok()) return d.error();
        Query q(*d);
        q.Text(1, agent_id).Int(2, UtcDayOfMillis(now_ms));
        const int rc = q.Step();
        if (rc == SQLITE_ROW) {
          u.day_calls = static_cast<uint64_t>(q.ColInt(0));
          u.day_tokens = static_cast<uint64_t>(q.ColInt(1));
          u.day_cost_micros = q.ColInt(2);
        } else if (rc != SQLITE_DONE) {
          return SqlError(db, "read day totals");
        }
      }
      return u;
    }
    Status AddAgentUsage(std::string_view agent_id, std::string_view rate_key, bool call,
                         const Usage& usage, TimePoint now) override {
      const int64_t now_ms = Millis(now);
      sqlite3* db = impl_.writer_.db();
      if (call && !rate_key.empty()) {
        Result<sqlite3_stmt*> h = impl_.writer_.Get(kInsertRateHit);
        if (!h.ok()) return h.error();
        Query q(*h);
        q.Text(1, agent_id).Text(2, rate_key).Int(3, now_ms);
        if (q.Step() != SQLITE_DONE) return SqlError(db, "count call");
      }
      // In the batch's write transaction: no other writer between the UPDATE and the INSERT.
      for (const char* sql : {kBumpDay, kInsertDay}) {
        Result<sqlite3_stmt*> d = impl_.writer_.Get(sql);
        if (!d.ok()) return d.error();
        Query q(*d);
        q.Text(1, agent_id)
            .Int(2, UtcDayOfMillis(now_ms))
            .Int(3, call ? 1 : 0)
            .Int(4, static_cast<int64_t>(std::min<uint64_t>(usage.tokens, INT64_MAX)))
            .Int(5, usage.cost_micros);
        if (q.Step() != SQLITE_DONE) return SqlError(db, "count usage");
        if (sqlite3_changes64(db) > 0) break;
      }
      return Status::Ok();
    }
    Status SaveCallResult(std::string_view call_id, std::string_view result_json,
                          TimePoint at) override {
      Result<sqlite3_stmt*> s = impl_.writer_.Get(kSetResult);
      if (!s.ok()) return s.error();
      Query q(*s);
      q.Text(1, result_json).Int(2, Millis(at)).Text(3, call_id);
      if (q.Step() != SQLITE_DONE) return SqlError(impl_.writer_.db(), "record result");
      return Status::Ok();
    }
    void AppendAudit(audit::AuditEvent event) override { b_.events->push_back(std::move(event)); }
    core::ApprovalRows& approvals() override { return approvals_; }
    // On the writer connection, inside the batch's write transaction: a key saved by an
    // earlier operation of the batch (a racing retry) is found.
    Result<std::optional<core::IdempotencyRow>> LoadIdempotency(std::string_view run_id,
                                                                std::string_view key) override {
      Result<sqlite3_stmt*> s = impl_.writer_.Get(kSelectIdempotency);
      if (!s.ok()) return s.error();
      Query q(*s);
      q.Text(1, run_id).Text(2, key);
      const int rc = q.Step();
      if (rc == SQLITE_DONE) return std::optional<core::IdempotencyRow>();
      if (rc != SQLITE_ROW) return SqlError(impl_.writer_.db(), "read idempotency key");
      return std::optional<core::IdempotencyRow>(
          core::IdempotencyRow{std::string(q.ColText(0)), std::string(q.ColText(1))});
    }
    Status SaveIdempotency(std::string_view run_id, std::string_view key,
                           const core::IdempotencyRow& row, TimePoint now) override {
      Result<sqlite3_stmt*> s = impl_.writer_.Get(kInsertIdempotency);
      if (!s.ok()) return s.error();
      Query q(*s);
      q.Text(1, run_id)
          .Text(2, key)
          .Text(3, row.request_sha256)
          .Text(4, row.answer)
          .Int(5, Millis(now));
      if (q.Step() != SQLITE_DONE) return SqlError(impl_.writer_.db(), "save idempotency key");
      return Status::Ok();
    }

   private:
    Impl& impl_;
    Batch& b_;
    internal::SqliteApprovalRows approvals_;
  };

  // A decision: core::DecideInTxn in this batch. It writes nothing before its checks pass
  // and saves the run (into the cache) last: see Op::rerunnable.
  Status ApplyDecide(Batch& b, const core::DecideRequest& rq, const core::DecideFn& decide,
                     core::CallRecord* rec) {
    Txn txn(*this, b);
    return core::DecideInTxn(txn, redactor_, rq, decide, rec);
  }

  // Store::ReleaseCall on the writer: the kill switches and the run as of this transaction.
  Status ApplyRelease(Batch& b, const std::string& call_id, TimePoint now,
                      const policy::PolicySet* policies,
                      std::optional<Result<core::StoredCall>>* out) {
    Result<core::StoredCall> call = LoadCall(writer_, call_id);
    if (!call.ok()) return call.error();
    const core::CallRecord& r = call->record;
    Txn txn(*this, b);
    Result<core::RunRow> row = txn.LoadRunForUpdate(r.run_id);
    if (!row.ok()) return row.error();
    Result<std::optional<engine::KillSwitch>> kill = txn.EngagedKill(r.agent_id, r.run_id);
    if (!kill.ok()) return kill.error();
    const core::ReleaseContext ctx{std::move(kill).value(), row->state.halted, row->ended,
                                   row->state.halt_reason, now};
    bool released_now = false;
    if (Status s = core::ReleaseInTxn(txn, call_id, ctx, &released_now); !s.ok()) return s;
    if (released_now && policies != nullptr) {
      // The call proceeds now: what it adds to the run's sequence state, and its count.
      if (Status s =
              core::ApplyRelease(txn, policies->Find(r.agent_id), r, r.agent_id, now, &row->state);
          !s.ok()) {
        return s;
      }
      if (Status s = txn.SaveRun(r.run_id, std::move(row).value()); !s.ok()) return s;
    }
    out->emplace(LoadCall(writer_, call_id));
    if (out->value().ok()) out->value()->released_now = released_now;
    return Status::Ok();
  }

  // Approvals: the core's transaction functions (core/approval_txn.h) in this batch. A
  // vote saves the run (into the cache) last.
  Status ApplyVote(Batch& b, const core::VoteRequest& rq, core::VoteOutcome* out) {
    Txn txn(*this, b);
    return core::VoteInTxn(txn, rq, &redactor_, out);
  }
  Status ApplyWithdraw(Batch& b, std::string_view approval_id, std::string_view agent_id,
                       std::string_view principal, std::string_view reason, TimePoint now,
                       core::Approval* out, std::optional<Error>* refused) {
    Txn txn(*this, b);
    return core::WithdrawInTxn(txn, approval_id, agent_id, principal, reason, now, out, refused);
  }
  Status ApplyExpire(Batch& b, TimePoint now, std::vector<core::ApprovalChange>* out) {
    Txn txn(*this, b);
    return core::ExpireInTxn(txn, now, out);
  }

  // Usage, results and the end of a run: the core's transaction functions
  // (core/run_txn.h) in this batch. They save the run (into the cache) last.
  Status ApplyAddUsage(Batch& b, std::string_view run_id, std::string_view agent_id,
                       const Usage& usage, TimePoint now, const core::IdempotencyKey& key = {}) {
    Txn txn(*this, b);
    return core::AddUsageInTxn(txn, run_id, agent_id, usage, now, key);
  }

  Status ApplyRecordResult(Batch& b, std::string_view call_id, std::string_view agent_id,
                           std::string_view principal, const core::CallResult& result,
                           TimePoint now) {
    Txn txn(*this, b);
    return core::RecordResultInTxn(txn, call_id, agent_id, principal, result, now);
  }

  Status ApplyRecordRehearsal(Batch& b, std::string_view call_id, std::string_view agent_id,
                              std::string_view principal, const core::CallResult& result,
                              TimePoint now, core::CallRecord* rec) {
    Txn txn(*this, b);
    return core::RecordRehearsalInTxn(txn, call_id, agent_id, principal, result, now, rec);
  }

  Status ApplyEndRun(Batch& b, std::string_view run_id, std::string_view agent_id, TimePoint now) {
    Txn txn(*this, b);
    return core::EndRunInTxn(txn, run_id, agent_id, now);
  }

  Status ApplySetKill(Batch& b, const core::KillEntry& e) {
    Result<sqlite3_stmt*> s = writer_.Get(kUpsertKill);
    if (!s.ok()) return s.error();
    Query q(*s);
    q.Text(1, e.scope)
        .Text(2, e.target)
        .Int(3, e.engaged ? 1 : 0)
        .Text(4, e.reason)
        .Text(5, e.actor)
        .Int(6, Millis(e.at));
    if (q.Step() != SQLITE_DONE) return SqlError(writer_.db(), "set kill switch");
    b.kills_stale = true;
    audit::AuditEvent ev = core::KillSwitchEvent(e);
    b.events->push_back(std::move(ev));
    if (!e.engaged) return Status::Ok();
    // An engaged switch cancels the pending approvals in its scope at once.
    Txn txn(*this, b);
    return core::CancelForKillInTxn(txn, e, e.at);
  }

  Status ApplyCreateToken(Batch& b, core::Role role, std::string_view name,
                          std::string_view agent_id, TimePoint now, std::string* token) {
    const std::string plaintext = "ilk_" + Base64UrlEncode(RandomBytes(32));
    const std::string token_id = NewId("tok_");
    Result<sqlite3_stmt*> s = writer_.Get(kInsertToken);
    if (!s.ok()) return s.error();
    Query q(*s);
    q.Text(1, token_id)
        .Text(2, Sha256Hex(plaintext))
        .Text(3, core::RoleName(role))
        .Text(4, name)
        .Text(5, agent_id)
        .Int(6, Millis(now));
    if (q.Step() != SQLITE_DONE) return SqlError(writer_.db(), "create token");
    b.events->push_back(audit::AuditEvent{audit::kTokenCreated, now, "", "", std::string(agent_id),
                                          "",
                                          boost::json::object{{"token_id", token_id},
                                                              {"role", core::RoleName(role)},
                                                              {"name", name},
                                                              {"agent_id", agent_id}}});
    *token = plaintext;
    return Status::Ok();
  }

  Status ApplyRevokeToken(Batch& b, std::string_view token_id, std::string_view actor,
                          TimePoint now) {
    std::string role, name, agent_id;
    {
      Result<sqlite3_stmt*> s = writer_.Get(kSelectTokenById);
      if (!s.ok()) return s.error();
      Query q(*s);
      q.Text(1, token_id);
      const int rc = q.Step();
      if (rc == SQLITE_DONE) return Error::NotFound("no token " + std::string(token_id));
      if (rc != SQLITE_ROW) return SqlError(writer_.db(), "read token");
      if (!q.ColNull(3)) return Status::Ok();  // already revoked
      role = q.ColText(0);
      name = q.ColText(1);
      agent_id = q.ColText(2);
    }
    Result<sqlite3_stmt*> s = writer_.Get(kRevokeToken);
    if (!s.ok()) return s.error();
    Query q(*s);
    q.Int(1, Millis(now)).Text(2, token_id);
    if (q.Step() != SQLITE_DONE) return SqlError(writer_.db(), "revoke token");
    b.events->push_back(audit::AuditEvent{
        audit::kTokenRevoked, now, "", "", agent_id, std::string(actor),
        boost::json::object{
            {"token_id", token_id}, {"role", role}, {"name", name}, {"agent_id", agent_id}}});
    return Status::Ok();
  }

  // --- run cache (writer thread only) -------------------------------------------------
  // The writer keeps each run row it has read or written, so a decision does not re-read
  // and re-parse it. The database stays authoritative: every change is still written in
  // the op's transaction, the cache is updated only after the op's last write, and it is
  // emptied whenever it may differ from the database: another connection committed
  // (PRAGMA data_version, checked at the start of every batch, under the write lock), a
  // batch rolled back, or an op wrote runs behind its back (RunOnWriter).

  Result<RunRow*> FindRun(std::string_view run_id) {
    if (auto it = run_cache_.find(run_id); it != run_cache_.end()) return &it->second;
    Result<RunRow> row = LoadRun(writer_, run_id);
    if (!row.ok()) return row.error();
    return CacheRun(std::string(run_id), std::move(row).value());
  }

  RunRow* CacheRun(std::string run_id, RunRow row) {
    if (run_cache_.size() >= kRunCacheMax) {
      // Dirty rows (at most one batch's worth) are not yet written: keep them.
      std::erase_if(run_cache_, [](const auto& kv) { return !kv.second.dirty; });
    }
    return &(run_cache_.insert_or_assign(std::move(run_id), std::move(row)).first->second);
  }

  void ForgetRuns() {
    run_cache_.clear();
    dirty_runs_.clear();
  }

  // Writes the rows of runs decided since the last flush. Runs before the batch commits
  // and before any op that is not a decision (which may read run rows with SQL).
  Status FlushRuns() {
    for (const std::string& run_id : dirty_runs_) {
      auto it = run_cache_.find(run_id);
      if (it == run_cache_.end() || !it->second.dirty) continue;
      const RunState& state = it->second.state;
      std::string& records_json = scratch_records_;
      records_json.clear();
      audit::AppendCanonicalRecords(&records_json, state);
      const std::string sequence_json = core::SequenceStoreJson(state);
      Result<sqlite3_stmt*> s = writer_.Get(kUpdateRun);
      if (!s.ok()) return s.error();
      Query q(*s);
      q.Int(1, static_cast<int64_t>(state.steps))
          .Int(2, static_cast<int64_t>(state.tokens))
          .Int(3, state.cost_micros)
          .Int(4, state.halted ? 1 : 0)
          .TextStatic(5, state.halt_reason)
          .TextStatic(6, records_json)
          .TextStatic(7, sequence_json)
          .TextStatic(8, run_id);
      if (q.Step() != SQLITE_DONE) return SqlError(writer_.db(), "update run");
      if (sqlite3_changes(writer_.db()) != 1) {
        return Error::Unavailable("store: run " + run_id + " vanished during a batch");
      }
      it->second.dirty = false;
    }
    dirty_runs_.clear();
    return Status::Ok();
  }

  // Empties the run cache when another connection has committed since this one last
  // looked. Called inside the batch transaction, after BEGIN IMMEDIATE: no other writer
  // can commit until this batch ends.
  Status CheckDataVersion() {
    Result<sqlite3_stmt*> s = writer_.Get(kDataVersion);
    if (!s.ok()) return s.error();
    Query q(*s);
    if (q.Step() != SQLITE_ROW) return SqlError(writer_.db(), "read data_version");
    const int64_t v = q.ColInt(0);
    if (v != data_version_) {
      run_cache_.clear();
      data_version_ = v;
    }
    return Status::Ok();
  }

  void ClearAuthCache() {
    std::lock_guard lock(auth_mu_);
    auth_cache_.clear();
  }

  Result<core::Principal> Authenticate(std::string_view bearer) {
    const std::string hash = Sha256Hex(bearer);
    const auto now = std::chrono::steady_clock::now();
    {
      std::lock_guard lock(auth_mu_);
      if (auto it = auth_cache_.find(hash);
          it != auth_cache_.end() && now - it->second.second < kAuthCacheTtl) {
        return it->second.first;
      }
    }
    Result<core::Principal> p = Read<core::Principal>([&](Conn& c) -> Result<core::Principal> {
      Result<sqlite3_stmt*> s = c.Get(kSelectTokenByHash);
      if (!s.ok()) return s.error();
      Query q(*s);
      q.Text(1, hash);
      const int rc = q.Step();
      if (rc == SQLITE_DONE) return Error::NotFound("unknown token");
      if (rc != SQLITE_ROW) return SqlError(c.db(), "authenticate");
      if (!ConstantTimeEquals(q.ColText(1), hash)) return Error::NotFound("unknown token");
      if (!q.ColNull(5)) return Error::Denied("token has been revoked");
      core::Principal out;
      out.token_id = q.ColText(0);
      std::optional<core::Role> role = core::ParseRole(q.ColText(2));
      if (!role) return Error::Corrupt("store: token with unknown role");
      out.role = *role;
      out.name = q.ColText(3);
      out.agent_id = q.ColText(4);
      return out;
    });
    if (p.ok()) {
      std::lock_guard lock(auth_mu_);
      if (auth_cache_.size() >= kAuthCacheMax) auth_cache_.clear();
      auth_cache_[hash] = {*p, now};
    }
    return p;
  }

  const StoreOptions& options() const { return options_; }
  Conn& writer() { return writer_; }
  uint64_t anchor_failures() const { return anchor_failures_.load(); }

 private:
  Status CheckAndMigrate() {
    Conn& c = writer_;
    // A foreign or corrupt file fails here, on the first read.
    bool has_tables = false;
    bool has_version = false;
    {
      sqlite3_stmt* s = nullptr;
      if (sqlite3_prepare_v2(c.db(), "SELECT name FROM sqlite_master WHERE type = 'table'", -1, &s,
                             nullptr) != SQLITE_OK) {
        return Error::Corrupt("store " + options_.path +
                              " is not an Interlock database: " + sqlite3_errmsg(c.db()));
      }
      int rc;
      while ((rc = sqlite3_step(s)) == SQLITE_ROW) {
        has_tables = true;
        const unsigned char* n = sqlite3_column_text(s, 0);
        if (n != nullptr &&
            std::string_view(reinterpret_cast<const char*>(n)) == "schema_version") {
          has_version = true;
        }
      }
      const std::string msg = sqlite3_errmsg(c.db());
      sqlite3_finalize(s);
      if (rc != SQLITE_DONE) {
        return Error::Corrupt("store " + options_.path + " is not an Interlock database: " + msg);
      }
    }
    if (has_tables && !has_version) {
      return Error::Corrupt("store " + options_.path +
                            " is not an Interlock database (it has no schema_version table)");
    }
    if (!memory_) {
      // WAL is a property of the file; a read-only file may already be in WAL mode.
      Status s = c.ExecScript("PRAGMA journal_mode=WAL", "enable WAL");
      if (!s.ok()) return s;
    }
    // With durability full the writer still commits with NORMAL (no fsync in COMMIT): the
    // syncer thread fsyncs the WAL before anyone is answered (see SyncLoop). In memory
    // there is nothing to sync.
    std::string pragmas = std::string("PRAGMA synchronous=") +
                          (options_.durable_full && memory_ ? "FULL" : "NORMAL") +
                          "; PRAGMA foreign_keys=ON;" + " PRAGMA cache_size=-" +
                          std::to_string(kWriterCacheKiB) + ";";
    if (Status s = c.ExecScript(pragmas, "pragmas"); !s.ok()) return s;

    int version = 0;
    if (has_version) {
      Result<int> v = ReadVersion();
      if (!v.ok()) return v.error();
      version = *v;
    }
    if (version > kSchemaVersion) {
      return Error::Invalid("store " + options_.path + " has schema version " +
                            std::to_string(version) + ", newer than this interlock knows (" +
                            std::to_string(kSchemaVersion) +
                            "): it was written by a newer interlock; run that version again "
                            "(a downgrade is refused: docs/operations.md#upgrades-and-rollback)");
    }
    if (version == kSchemaVersion) {
      // The audit module may add tables in later releases; its schema is idempotent. A
      // read-only file with a current schema still opens (reads work, writes fail closed),
      // so a failure here is not fatal: the next write reports it.
      audit::EnsureAuditSchema(c.db()).ok();
      return Status::Ok();
    }
    if (Status s = c.ExecScript("BEGIN IMMEDIATE", "begin migration"); !s.ok()) return s;
    auto fail = [&](Status s) {
      c.ExecScript("ROLLBACK", "rollback migration").ok();
      return s;
    };
    // Re-read under the write lock: another process may have migrated meanwhile.
    if (has_version) {
      Result<int> v = ReadVersion();
      if (!v.ok()) return fail(v.error());
      version = *v;
    } else {
      Status s = c.ExecScript(
          "CREATE TABLE IF NOT EXISTS schema_version (version INTEGER NOT NULL);", "schema");
      if (!s.ok()) return fail(s);
      Result<int> v = ReadVersion();
      if (!v.ok()) return fail(v.error());
      version = *v;
    }
    for (int i = version; i < kSchemaVersion; ++i) {
      if (Status s = c.ExecScript(kMigrations[i], "migrate to " + std::to_string(i + 1)); !s.ok()) {
        return fail(s);
      }
    }
    if (Status s = audit::EnsureAuditSchema(c.db()); !s.ok()) return fail(s);
    Status s = c.ExecScript(
        "DELETE FROM schema_version; INSERT INTO schema_version(version) "
        "VALUES (" +
            std::to_string(kSchemaVersion) + ");",
        "schema version");
    if (!s.ok()) return fail(s);
    if (Status cs = c.ExecScript("COMMIT", "commit migration"); !cs.ok()) return fail(cs);
    return Status::Ok();
  }

  Result<int> ReadVersion() {
    sqlite3_stmt* s = nullptr;
    if (sqlite3_prepare_v2(writer_.db(), "SELECT MAX(version) FROM schema_version", -1, &s,
                           nullptr) != SQLITE_OK) {
      return SqlError(writer_.db(), "read schema version");
    }
    const int rc = sqlite3_step(s);
    int v = rc == SQLITE_ROW ? sqlite3_column_int(s, 0) : 0;
    sqlite3_finalize(s);
    if (rc != SQLITE_ROW) return SqlError(writer_.db(), "read schema version");
    return v;
  }

  static int WalHook(void* self, sqlite3*, const char*, int pages) {
    Impl* impl = static_cast<Impl*>(self);
    impl->wal_pages_ = pages;
    impl->committed_frames_ = true;
    // One background pass per kCheckpointPages new frames, not one per commit: each pass
    // costs two fsyncs (WAL, then database), whatever it copies.
    if (pages < impl->wal_pages_signalled_) impl->wal_pages_signalled_ = 0;  // rewound
    if (pages - impl->wal_pages_signalled_ >= kCheckpointPages) {
      impl->wal_pages_signalled_ = pages;
      {
        std::lock_guard lock(impl->ckpt_mu_);
        impl->ckpt_wanted_ = true;
      }
      impl->ckpt_cv_.notify_one();
    }
    return SQLITE_OK;
  }

  // PASSIVE checkpoints on their own connection: they never block the writer, and a
  // failed one is retried at the next signal or interval.
  void CheckpointLoop() {
    std::unique_lock lock(ckpt_mu_);
    while (!ckpt_stop_) {
      ckpt_cv_.wait_for(lock, kCheckpointInterval, [&] { return ckpt_stop_ || ckpt_wanted_; });
      if (ckpt_stop_) return;
      ckpt_wanted_ = false;
      lock.unlock();
      {
        std::lock_guard pass(ckpt_pass_mu_);
        sqlite3_wal_checkpoint_v2(ckpt_.db(), nullptr, SQLITE_CHECKPOINT_PASSIVE, nullptr, nullptr);
      }
      lock.lock();
    }
  }

  Status LoadKills(core::EngagedKills* out) {
    out->Clear();
    Result<sqlite3_stmt*> s = writer_.Get(kSelectEngagedKills);
    if (!s.ok()) return s.error();
    Query q(*s);
    int rc;
    while ((rc = q.Step()) == SQLITE_ROW) {
      out->Set(q.ColText(0), q.ColText(1), true, q.ColText(2));
    }
    if (rc != SQLITE_DONE) return SqlError(writer_.db(), "read kill switches");
    return Status::Ok();
  }

  void WriterLoop() {
    std::vector<Op> batch;
    for (;;) {
      batch.clear();
      {
        std::unique_lock lock(mu_);
        cv_.wait(lock, [&] { return stopping_ || !queue_.empty(); });
        if (queue_.empty()) return;  // stopping and drained
        if (eager_queued_ == 0) {
          // Only lazy ops: give a waited-for op a moment to share their commit.
          cv_.wait_for(lock, kLazyDelay, [&] { return stopping_ || eager_queued_ > 0; });
        }
        const size_t n =
            std::min(queue_.size(), static_cast<size_t>(std::max(1, options_.max_batch)));
        for (size_t i = 0; i < n; ++i) {
          // An anchored op commits alone: its anchor covers its records only.
          const bool anchored = queue_.front().anchor != core::AnchorNeed::kNone;
          if (anchored && !batch.empty()) break;
          if (!queue_.front().lazy) --eager_queued_;
          batch.push_back(std::move(queue_.front()));
          queue_.pop_front();
          if (anchored) break;
        }
      }
      RunBatch(batch);
    }
  }

  // One group commit. Every op gets exactly one finish(), after COMMIT.
  //
  // A batch of rerunnable ops (decisions) first runs without per-op savepoints: an op
  // that fails before writing anything (unknown run, another agent's run, ended run: the
  // only expected failures) leaves nothing to undo, which sqlite3_total_changes64 proves.
  // If an op fails after it wrote, the whole transaction is rolled back and the batch runs
  // again with a savepoint per op, as every other batch does.
  void RunBatch(std::vector<Op>& batch) {
    const bool rerunnable =
        std::all_of(batch.begin(), batch.end(), [](const Op& op) { return op.rerunnable; });
    if (rerunnable && RunBatchOnce(batch, /*savepoints=*/false)) return;
    RunBatchOnce(batch, /*savepoints=*/true);
  }

  // False: nothing was finished and the transaction was rolled back; run the batch again
  // with savepoints. Only returned when `savepoints` is false.
  bool RunBatchOnce(std::vector<Op>& batch, bool savepoints) {
    sqlite3* db = writer_.db();
    std::vector<Status> status(batch.size());
    auto fail_all = [&](const Error& e) {
      if (sqlite3_get_autocommit(db) == 0) writer_.Exec(kRollback, "rollback").ok();
      ForgetRuns();
      for (Op& op : batch) op.finish(e);
      return true;
    };
    if (sync_failed_.load()) return fail_all(Error::Unavailable(SyncError()));
    if (Status s = writer_.Exec(kBegin, "begin"); !s.ok()) return fail_all(s.error());
    if (Status s = CheckDataVersion(); !s.ok()) return fail_all(s.error());

    std::vector<audit::AuditEvent> events;
    events.reserve(batch.size() + 8);
    Batch b;
    b.events = &events;
    for (size_t i = 0; i < batch.size(); ++i) {
      if (!batch[i].rerunnable) {
        // Outside the op's savepoint: rolling the op back must not undo the flush.
        if (Status s = FlushRuns(); !s.ok()) return fail_all(s.error());
      }
      if (savepoints) {
        if (Status s = writer_.Exec(kSavepoint, "savepoint"); !s.ok()) return fail_all(s.error());
      }
      const size_t first_event = events.size();
      const int64_t changes_before = sqlite3_total_changes64(db);
      status[i] = batch[i].apply(b);
      if (sqlite3_get_autocommit(db) != 0) {
        // SQLite rolled the whole transaction back (I/O error, disk full): nothing of the
        // batch is written, so nothing may be reported as done.
        return fail_all(status[i].ok() ? Error::Unavailable("store: transaction aborted")
                                       : status[i].error());
      }
      if (status[i].ok()) {
        if (savepoints) {
          if (Status s = writer_.Exec(kRelease, "release"); !s.ok()) return fail_all(s.error());
        }
        continue;
      }
      events.erase(events.begin() + static_cast<std::ptrdiff_t>(first_event), events.end());
      b.kills_stale = true;  // the op may have changed and then rolled back a switch
      if (savepoints) {
        if (Status s = writer_.Exec(kRollbackTo, "rollback to savepoint"); !s.ok()) {
          return fail_all(s.error());
        }
        if (Status s = writer_.Exec(kRelease, "release"); !s.ok()) return fail_all(s.error());
      } else if (sqlite3_total_changes64(db) != changes_before) {
        writer_.Exec(kRollback, "rollback").ok();
        ForgetRuns();
        return false;
      }
    }
    if (Status s = FlushRuns(); !s.ok()) return fail_all(s.error());
    if (!events.empty()) {
      if (appender_ == nullptr) appender_ = std::make_unique<audit::AuditAppender>(db);
      Result<audit::AuditHead> head = appender_->Append(events);
      if (!head.ok()) return fail_all(head.error());
      if (Status s = AnchorBatch(batch, *head); !s.ok()) return fail_all(s.error());
    }
    committed_frames_ = false;
    if (Status s = writer_.Exec(kCommit, "commit"); !s.ok()) return fail_all(s.error());
    // A batch that wrote nothing (a read on the writer such as ListApprovals, a
    // CreateRun that found its run, an expiry with none due) appended no WAL frame
    // (WalHook did not run): when every earlier commit is synced too, nothing it may have
    // read is short of the disk, so it is answered without an fdatasync of its own. Else
    // it waits for the next one like any batch (a replayed decision is never answered
    // before its record is durable). Measured for the Claude Code hook
    // (docs/performance.md): one fsync per invocation instead of three.
    if (committed_frames_) ++committed_seq_;
    const bool durable_already =
        !committed_frames_ && synced_seq_.load(std::memory_order_acquire) == committed_seq_;
    if (sync_thread_.joinable() && !durable_already) {
      Synced done;
      done.finish.reserve(batch.size());
      for (Op& op : batch) done.finish.push_back(std::move(op.finish));
      done.status = std::move(status);
      done.seq = committed_seq_;
      {
        std::lock_guard lock(sync_mu_);
        sync_queue_.push_back(std::move(done));
      }
      sync_cv_.notify_one();
    } else {
      for (size_t i = 0; i < batch.size(); ++i) batch[i].finish(std::move(status[i]));
    }
    if (wal_pages_ >= kRestartPages) RewindWal();
    return true;
  }

  // Anchors the records of a security-relevant op (Op::anchor, always alone in its
  // batch) before COMMIT: the signed checkpoint of `head`, written to the checkpoint file
  // (the signer's mirror; this log has no checkpoint table). An error only for a
  // kRequired op; a kBestEffort failure is logged and counted.
  Status AnchorBatch(const std::vector<Op>& batch, const audit::AuditHead& head) {
    const core::CheckpointSigner& signer = options_.checkpoint_signer;
    if (batch.size() != 1 || batch[0].anchor == core::AnchorNeed::kNone || !signer) {
      return Status::Ok();
    }
    Status s = [&]() -> Status {
      Result<core::Checkpoint> cp = signer.sign(head);
      if (!cp.ok()) return cp.error();
      if (!signer.mirror) return Error::Internal("no checkpoint file to anchor into");
      return signer.mirror(*cp);
    }();
    if (s.ok()) return s;
    return core::AnchorFailed(batch[0].anchor, head.seq, s.error(), &anchor_failures_);
  }

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
  void SyncLoop() {
    std::vector<Synced> work;
    for (;;) {
      {
        std::unique_lock lock(sync_mu_);
        sync_cv_.wait(lock, [&] { return sync_stop_ || !sync_queue_.empty(); });
        if (sync_queue_.empty()) return;  // stopping and drained
        work.swap(sync_queue_);
      }
      Status synced = SyncWal();
      if (synced.ok()) synced_seq_.store(work.back().seq, std::memory_order_release);
      for (Synced& d : work) {
        for (size_t i = 0; i < d.finish.size(); ++i) {
          d.finish[i](synced.ok() ? std::move(d.status[i]) : synced);
        }
      }
      work.clear();
    }
  }

  Status SyncWal() {
    if (sync_failed_.load()) return Error::Unavailable(SyncError());
    if (wal_fd_ < 0) {
      wal_fd_ = ::open((options_.path + "-wal").c_str(), O_RDONLY | O_CLOEXEC);
      if (wal_fd_ < 0) {
        const int err = errno;  // before the message's allocations
        return FailSync(err, "open " + options_.path + "-wal");
      }
    }
    if (::fdatasync(wal_fd_) != 0) {
      const int err = errno;
      return FailSync(err, "fdatasync " + options_.path + "-wal");
    }
    return Status::Ok();
  }

  Status FailSync(int err, const std::string& what) {
    {
      std::lock_guard lock(sync_error_mu_);
      sync_error_ = "store: " + what + ": " + std::strerror(err) +
                    " (writes refused until the process restarts)";
    }
    sync_failed_.store(true);
    return Error::Unavailable(SyncError());
  }

  std::string SyncError() {
    std::lock_guard lock(sync_error_mu_);
    return sync_error_;
  }

  // See kRestartPages. PASSIVE never waits: if the background checkpointer holds the
  // checkpoint lock this is skipped and tried again after the next batch. Failing is
  // harmless (the WAL only stays longer), so the result is not an error of any op.
  void RewindWal() {
    // While a background pass copies, try again after the next batch rather than wait for
    // it (the writer's pass then copies little); past one and a half times the bound, wait,
    // so the WAL stays under ~96 MiB even when a starved background pass holds the lock
    // for many batches (SqliteStoreTest.WalStaysBoundedUnderSustainedWrites, on a loaded
    // machine, measured 126 MiB with the earlier 2x rule).
    std::unique_lock pass(ckpt_pass_mu_, std::defer_lock);
    if (wal_pages_ >= kRestartPages + kRestartPages / 2) {
      pass.lock();
    } else if (!pass.try_lock()) {
      return;
    }
    int log = 0;
    int done = 0;
    if (sqlite3_wal_checkpoint_v2(writer_.db(), nullptr, SQLITE_CHECKPOINT_PASSIVE, &log, &done) ==
            SQLITE_OK &&
        log == done) {
      wal_pages_ = 0;
    }
  }

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
  bool stopping_ = false;
  std::thread writer_thread_;

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

// ---------------------------------------------------------------------------------------

int SqliteSchemaVersion() { return kSchemaVersion; }

Result<std::unique_ptr<SqliteStore>> SqliteStore::Open(const StoreOptions& options) {
  if (options.path.empty()) return Error::Invalid("store: no path given");
  auto impl = std::make_unique<Impl>(options);
  if (Status s = impl->Open(); !s.ok()) return s.error();
  return std::unique_ptr<SqliteStore>(new SqliteStore(std::move(impl)));
}

SqliteStore::SqliteStore(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
SqliteStore::~SqliteStore() = default;

Result<core::RunInfo> SqliteStore::CreateRun(std::string_view agent_id, std::string_view run_id,
                                             TimePoint now) {
  if (agent_id.empty()) return Error::Invalid("a run needs an agent id");
  core::RunInfo info;
  Status s = impl_->SubmitAndWait([&](Impl::Batch& b) {
    return impl_->ApplyCreateRun(b, agent_id, std::string(run_id), now, &info);
  });
  if (!s.ok()) return s.error();
  return info;
}

Result<core::RunInfo> SqliteStore::GetRun(std::string_view run_id) {
  return impl_->Read<core::RunInfo>([&](Conn& c) -> Result<core::RunInfo> {
    Result<RunRow> row = LoadRun(c, run_id);
    if (!row.ok()) return row.error();
    return ToRunInfo(run_id, std::move(row).value());
  });
}

namespace internal {

// Parameters ?1..?6 as read_sql.h's logical ones.
std::string ListRunsSql(const core::RunFilter& f) {
  return ListRunsSqlWith(f, [](int n) { return "?" + std::to_string(n); });
}

}  // namespace internal

Result<core::RunPage> SqliteStore::ListRuns(const core::RunFilter& filter) {
  std::optional<internal::RunCursor> cursor;
  if (!filter.cursor.empty()) {
    cursor = internal::ParseRunCursor(filter.cursor);
    if (!cursor) return Error::Invalid("cursor is not one this server handed out");
  }
  const size_t limit = std::clamp<size_t>(filter.limit, 1, 1000);
  return impl_->Read<core::RunPage>([&](Conn& c) -> Result<core::RunPage> {
    Stmt q(c.db(), internal::ListRunsSql(filter));
    if (!q.ok()) return SqlError(c.db(), "list runs");
    if (!filter.agent_id.empty()) q.Text(1, filter.agent_id);
    if (filter.started_since) q.Int(2, ToUnixMillis(*filter.started_since));
    if (filter.started_until) q.Int(3, ToUnixMillis(*filter.started_until));
    if (cursor) q.Int(4, cursor->started_ms).Text(5, cursor->run_id);
    q.Int(6, static_cast<int64_t>(limit) + 1);  // one more: is there a next page?
    core::RunPage page;
    int rc;
    while ((rc = q.Step()) == SQLITE_ROW) {
      if (page.runs.size() == limit) {
        const core::RunInfo& last = page.runs.back();
        page.next_cursor = std::to_string(ToUnixMillis(last.started)) + ":" + last.run_id;
        break;
      }
      Result<RunRow> row = ReadRunColumns(q, 1);
      if (!row.ok()) return row.error();
      page.runs.push_back(ToRunInfo(q.ColText(0), std::move(row).value()));
    }
    if (rc != SQLITE_ROW && rc != SQLITE_DONE) return SqlError(c.db(), "list runs");
    return page;
  });
}

Result<core::CallRecord> SqliteStore::Decide(const core::DecideRequest& request,
                                             const core::DecideFn& decide) {
  std::promise<Result<core::CallRecord>> p;
  auto f = p.get_future();
  DecideAsync(request, decide, [&p](Result<core::CallRecord> r) { p.set_value(std::move(r)); });
  return f.get();
}

void SqliteStore::DecideAsync(core::DecideRequest request, core::DecideFn decide,
                              DecideCallback done) {
  struct State {
    core::DecideRequest request;
    core::DecideFn decide;
    DecideCallback done;
    core::CallRecord record;
  };
  auto st = std::make_shared<State>(
      State{std::move(request), std::move(decide), std::move(done), core::CallRecord{}});
  Impl* impl = impl_.get();
  impl_->Submit(Impl::Op{[impl, st](Impl::Batch& b) {
                           return impl->ApplyDecide(b, st->request, st->decide, &st->record);
                         },
                         [st](Status s) {
                           if (s.ok()) {
                             st->done(std::move(st->record));
                           } else {
                             st->done(s.error());
                           }
                         },
                         /*rerunnable=*/true});
}

Status SqliteStore::AddUsage(std::string_view run_id, std::string_view agent_id,
                             const Usage& usage) {
  const TimePoint now = impl_->Now();
  return impl_->SubmitAndWait(
      [&](Impl::Batch& b) { return impl_->ApplyAddUsage(b, run_id, agent_id, usage, now); });
}

Status SqliteStore::AddUsageOnce(std::string_view run_id, std::string_view agent_id,
                                 const Usage& usage, const core::IdempotencyKey& key) {
  const TimePoint now = impl_->Now();
  return impl_->SubmitAndWait(
      [&](Impl::Batch& b) { return impl_->ApplyAddUsage(b, run_id, agent_id, usage, now, key); });
}

Result<std::string> SqliteStore::CreateToken(core::Role role, std::string_view name,
                                             std::string_view agent_id, TimePoint now) {
  // The token rules are the core's (core/roles.h).
  Result<std::string> person = core::CheckTokenSpec(role, name, agent_id);
  if (!person.ok()) return person.error();
  std::string token;
  // A new token widens access: its record is anchored before the token is handed out.
  Status s = impl_->SubmitAndWait(
      [&](Impl::Batch& b) {
        return impl_->ApplyCreateToken(b, role, *person, agent_id, now, &token);
      },
      core::kTokenCreatedAnchor);
  if (!s.ok()) return s.error();
  return token;
}

Result<core::Principal> SqliteStore::Authenticate(std::string_view bearer_token) {
  if (bearer_token.empty()) return Error::NotFound("no token");
  return impl_->Authenticate(bearer_token);
}

Result<std::vector<core::TokenInfo>> SqliteStore::ListTokens() {
  return impl_->Read<std::vector<core::TokenInfo>>(
      [](Conn& c) -> Result<std::vector<core::TokenInfo>> {
        Result<sqlite3_stmt*> s = c.Get(kSelectTokens);
        if (!s.ok()) return s.error();
        Query q(*s);
        std::vector<core::TokenInfo> out;
        int rc;
        while ((rc = q.Step()) == SQLITE_ROW) {
          core::TokenInfo t;
          t.token_id = q.ColText(0);
          t.role = core::ParseRole(q.ColText(1)).value_or(core::Role::kAgent);
          t.name = q.ColText(2);
          t.agent_id = q.ColText(3);
          t.created = FromUnixMillis(q.ColInt(4));
          t.revoked = !q.ColNull(5);
          out.push_back(std::move(t));
        }
        if (rc != SQLITE_DONE) return SqlError(c.db(), "list tokens");
        return out;
      });
}

Status SqliteStore::RevokeToken(std::string_view token_id, std::string_view actor, TimePoint now) {
  Status s = impl_->SubmitAndWait(
      [&](Impl::Batch& b) { return impl_->ApplyRevokeToken(b, token_id, actor, now); },
      core::kTokenRevokedAnchor);
  // After the commit, so a concurrent lookup cannot re-cache the old row.
  if (s.ok()) impl_->ClearAuthCache();
  return s;
}

Status SqliteStore::SetKill(const core::KillEntry& entry) {
  Result<core::KillEntry> normal = core::NormalizeKill(entry);
  if (!normal.ok()) return normal.error();
  const core::KillEntry& e = *normal;
  // Releasing widens access and waits for its anchor; engaging is never held up by one.
  return impl_->SubmitAndWait([&](Impl::Batch& b) { return impl_->ApplySetKill(b, e); },
                              core::KillAnchorNeed(e));
}

Status SqliteStore::RecordPolicyLoad(const core::PolicyLoad& load) {
  audit::AuditEvent ev = core::PolicyLoadEvent(load);
  // A loaded set may widen access: anchored before the caller swaps it in.
  return impl_->SubmitAndWait(
      [&](Impl::Batch& b) {
        b.events->push_back(std::move(ev));
        return Status::Ok();
      },
      core::PolicyLoadAnchorNeed(load));
}

Status SqliteStore::RecordAuthFailures(const core::AuthFailures& failures) {
  audit::AuditEvent ev = core::AuthFailuresEvent(failures);
  return impl_->SubmitAndWait(
      [&](Impl::Batch& b) {
        b.events->push_back(std::move(ev));
        return Status::Ok();
      },
      core::AnchorNeed::kNone);
}

Status SqliteStore::RecordSignIn(const core::SignIn& s) {
  audit::AuditEvent ev = core::SignInEvent(s);
  return impl_->SubmitAndWait(
      [&](Impl::Batch& b) {
        b.events->push_back(std::move(ev));
        return Status::Ok();
      },
      core::AnchorNeed::kNone);
}

Status SqliteStore::AppendRecords(std::vector<audit::AuditEvent> events) {
  return impl_->SubmitAndWait(
      [&](Impl::Batch& b) {
        for (audit::AuditEvent& e : events) b.events->push_back(std::move(e));
        return Status::Ok();
      },
      core::AnchorNeed::kNone);
}

Result<core::CallAuditRecord> SqliteStore::FindCallRecord(std::string_view type,
                                                          std::string_view call_id) {
  return impl_->Read<core::CallAuditRecord>([&](Conn& c) -> Result<core::CallAuditRecord> {
    audit::Statement st;
    if (Status s = st.Prepare(c.db(),
                              "SELECT seq, run_id, agent_id, principal, body FROM audit_log"
                              " WHERE type = ? AND call_id = ? ORDER BY seq LIMIT 1");
        !s.ok()) {
      return s.error();
    }
    st.BindText(1, type);
    st.BindText(2, call_id);
    const int rc = sqlite3_step(st.get());
    if (rc == SQLITE_DONE) {
      return Error::NotFound("no " + std::string(type) + " record for call " +
                             std::string(call_id));
    }
    if (rc != SQLITE_ROW) return audit::SqliteError(c.db(), "find the call's record");
    core::CallAuditRecord r;
    r.seq = st.Int64(0);
    r.type = std::string(type);
    r.call_id = std::string(call_id);
    r.run_id = std::string(st.Text(1));
    r.agent_id = std::string(st.Text(2));
    r.principal = std::string(st.Text(3));
    r.body = std::string(st.Text(4));
    return r;
  });
}

Result<std::unique_ptr<core::PinRows>> SqliteStore::OpenPinRows() {
  return OpenSqlitePinRows(impl_->options().path);
}

uint64_t SqliteStore::AnchorFailures() const { return impl_->anchor_failures(); }

Result<boost::json::array> SqliteStore::QueryAudit(const audit::AuditQuery& query) {
  return impl_->Read<boost::json::array>(
      [&query](Conn& c) { return audit::QueryAudit(c.db(), query); });
}

Result<audit::AuditPage> SqliteStore::QueryAuditPage(const audit::AuditQuery& query) {
  return impl_->Read<audit::AuditPage>(
      [&query](Conn& c) { return audit::QueryAuditPage(c.db(), query); });
}

Result<boost::json::object> SqliteStore::ReplayRun(std::string_view run_id) {
  return impl_->Read<boost::json::object>([run_id](Conn& c) -> Result<boost::json::object> {
    Result<audit::RunReplay> r = audit::ReplayRun(c.db(), run_id);
    if (!r.ok()) return r.error();
    return audit::ReplayToJson(*r);
  });
}

// Governance reads on the history connection (the writer's, for an in-memory store).
Status SqliteStore::ForEachRecord(const core::HistoryFilter& filter,
                                  const core::HistoryFn& fn) const {
  Result<bool> r = impl_->ReadHistory<bool>([&](Conn& c) -> Result<bool> {
    if (Status s = ForEachSqliteRecord(c.db(), filter, fn); !s.ok()) return s.error();
    return true;
  });
  if (!r.ok()) return r.error();
  return Status::Ok();
}

// On the reader (a microsecond query): the history connection may be inside a long scan.
Result<int64_t> SqliteStore::LastSeq() const {
  return impl_->Read<int64_t>([](Conn& c) { return SqliteLastSeq(c.db()); });
}

Result<std::vector<core::KillEntry>> SqliteStore::ListKills() {
  return impl_->Read<std::vector<core::KillEntry>>(
      [](Conn& c) -> Result<std::vector<core::KillEntry>> {
        Result<sqlite3_stmt*> s = c.Get(kSelectKills);
        if (!s.ok()) return s.error();
        Query q(*s);
        std::vector<core::KillEntry> out;
        int rc;
        while ((rc = q.Step()) == SQLITE_ROW) {
          core::KillEntry k;
          k.scope = q.ColText(0);
          k.target = q.ColText(1);
          k.engaged = q.ColInt(2) != 0;
          k.reason = q.ColText(3);
          k.actor = q.ColText(4);
          k.at = FromUnixMillis(q.ColInt(5));
          out.push_back(std::move(k));
        }
        if (rc != SQLITE_DONE) return SqlError(c.db(), "list kill switches");
        return out;
      });
}

Result<core::StoredCall> SqliteStore::GetCall(std::string_view call_id) {
  return impl_->Read<core::StoredCall>([&](Conn& c) { return LoadCall(c, call_id); });
}

Result<core::StoredCall> SqliteStore::ReleaseCall(
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
  std::optional<Result<core::StoredCall>> out;
  Status s = impl_->SubmitAndWait([&](Impl::Batch& b) {
    return impl_->ApplyRelease(b, std::string(call_id), now, policies.get(), &out);
  });
  if (!s.ok()) return s.error();
  return std::move(*out);
}

Status SqliteStore::RecordResult(std::string_view call_id, std::string_view agent_id,
                                 std::string_view principal, const core::CallResult& result,
                                 TimePoint now) {
  return impl_->SubmitAndWait([&](Impl::Batch& b) {
    return impl_->ApplyRecordResult(b, call_id, agent_id, principal, result, now);
  });
}

Result<core::CallRecord> SqliteStore::RecordRehearsal(std::string_view call_id,
                                                      std::string_view agent_id,
                                                      std::string_view principal,
                                                      const core::CallResult& result,
                                                      TimePoint now) {
  core::CallRecord rec;
  Status s = impl_->SubmitAndWait([&](Impl::Batch& b) {
    return impl_->ApplyRecordRehearsal(b, call_id, agent_id, principal, result, now, &rec);
  });
  if (!s.ok()) return s.error();
  return rec;
}

void SqliteStore::RecordResultAsync(std::string_view call_id, std::string_view agent_id,
                                    std::string_view principal, const core::CallResult& result,
                                    TimePoint now, StatusCallback done) {
  struct Args {
    std::string call_id;
    std::string agent_id;
    std::string principal;
    core::CallResult result;
  };
  auto args = std::make_shared<Args>(
      Args{std::string(call_id), std::string(agent_id), std::string(principal), result});
  Impl* impl = impl_.get();
  impl_->Submit(Impl::Op{[impl, args, now](Impl::Batch& b) {
                           return impl->ApplyRecordResult(b, args->call_id, args->agent_id,
                                                          args->principal, args->result, now);
                         },
                         [done = std::move(done)](Status s) {
                           if (done) done(std::move(s));
                         },
                         /*rerunnable=*/false, /*lazy=*/true});
}

Status SqliteStore::EndRun(std::string_view run_id, std::string_view agent_id, TimePoint now) {
  return impl_->SubmitAndWait(
      [&](Impl::Batch& b) { return impl_->ApplyEndRun(b, run_id, agent_id, now); });
}

Result<core::VoteOutcome> SqliteStore::Vote(const core::VoteRequest& rq) {
  core::VoteOutcome out;
  Status s = impl_->SubmitAndWait([&](Impl::Batch& b) { return impl_->ApplyVote(b, rq, &out); });
  if (!s.ok()) return s.error();
  return out;
}

Result<core::Approval> SqliteStore::WithdrawApproval(std::string_view approval_id,
                                                     std::string_view agent_id,
                                                     std::string_view principal,
                                                     std::string_view reason, TimePoint now) {
  core::Approval out;
  std::optional<Error> refused;  // by another identity: recorded, then answered
  Status s = impl_->SubmitAndWait([&](Impl::Batch& b) {
    return impl_->ApplyWithdraw(b, approval_id, agent_id, principal, reason, now, &out, &refused);
  });
  if (!s.ok()) return s.error();
  if (refused) return *refused;
  return out;
}

Result<std::vector<core::ApprovalChange>> SqliteStore::ExpireApprovals(TimePoint now) {
  std::vector<core::ApprovalChange> out;
  Status s = impl_->SubmitAndWait([&](Impl::Batch& b) { return impl_->ApplyExpire(b, now, &out); });
  if (!s.ok()) return s.error();
  return out;
}

const audit::Redactor& SqliteStore::AuditRedactor() const { return impl_->redactor(); }

Status SqliteStore::RunOnWriter(const WriterFn& fn) {
  return impl_->SubmitAndWait([&](Impl::Batch& b) {
    // A run grant's revocation writes run rows directly: the writer's run cache cannot
    // follow, so it is dropped, whatever the outcome.
    Status s = fn(impl_->writer().db(), b.events);
    impl_->ForgetRuns();
    return s;
  });
}

Status SqliteStore::ReadOnWriter(const WriterFn& fn) {
  return impl_->SubmitAndWait([&](Impl::Batch& b) {
    sqlite3* db = impl_->writer().db();
    const int64_t changes_before = sqlite3_total_changes64(db);
    Status s = fn(db, b.events);
    if (sqlite3_total_changes64(db) != changes_before) impl_->ForgetRuns();
    return s;
  });
}

}  // namespace interlock::store

#include "store/postgres_store.h"

#include "core/lineage.h"
#include "store/postgres_store_internal.h"

#include "common/await.h"
#include "common/status_macros.h"
#include "core/workspace.h"

namespace interlock::store {

namespace {

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
    // 11: the audit log's durability point is its batches (docs/audit.md, "The PostgreSQL
    // layout"): every writing transaction appends one audit_batches row, its records as one
    // JSON array of [seq, time_ms, type, run_id, call_id, agent_id, principal, body, data,
    // prev_hash, hash] (PostgreSQL compresses it: ~150-200 bytes of WAL a record against
    // ~1,300 for the rows and their five indexes). audit_log, what every read uses, is
    // UNLOGGED: written in the same transaction (so always as complete as the batches),
    // but without WAL, so a crash of the server, a promoted standby or a restored base
    // backup finds it empty. audit_log_built (UNLOGGED too, so emptied with it) says it is
    // whole; a store's every new connection checks it and, when empty, rebuilds audit_log
    // from the batches (interlock_rebuild_audit_log, once for the fleet under an advisory
    // lock) before its first read or write. Existing records become batches of 256.
    "CREATE TABLE audit_batches ("
    "  first_seq BIGINT PRIMARY KEY,"
    "  last_seq BIGINT NOT NULL,"
    "  records TEXT NOT NULL);"
    "DO $$ BEGIN ALTER TABLE audit_batches ALTER COLUMN records SET COMPRESSION lz4;"
    " EXCEPTION WHEN feature_not_supported THEN NULL; END $$;"
    "INSERT INTO audit_batches(first_seq, last_seq, records) SELECT min(seq), max(seq),"
    " json_agg(json_build_array(seq, time_ms, type, run_id, call_id, agent_id, principal,"
    " body, data, prev_hash, hash) ORDER BY seq)::text FROM audit_log GROUP BY seq / 256;"
    "ALTER TABLE audit_log SET UNLOGGED;"
    "CREATE UNLOGGED TABLE audit_log_built (id INTEGER PRIMARY KEY CHECK (id = 1));"
    "INSERT INTO audit_log_built VALUES (1);"
    "CREATE FUNCTION interlock_rebuild_audit_log(lock_key BIGINT) RETURNS BIGINT AS $$"
    " DECLARE n BIGINT := -1;"
    " BEGIN"
    "  PERFORM pg_advisory_xact_lock(lock_key);"
    "  IF EXISTS (SELECT 1 FROM audit_log_built) THEN RETURN n; END IF;"
    "  TRUNCATE audit_log;"
    "  INSERT INTO audit_log(seq, time_ms, type, run_id, call_id, agent_id, principal, body,"
    "   data, prev_hash, hash)"
    "  SELECT (r->>0)::bigint, (r->>1)::bigint, r->>2, r->>3, r->>4, r->>5, r->>6, r->>7,"
    "   r->>8, r->>9, r->>10"
    "  FROM audit_batches b CROSS JOIN LATERAL json_array_elements(b.records::json) r"
    "  ORDER BY b.first_seq;"
    "  GET DIAGNOSTICS n = ROW_COUNT;"
    "  INSERT INTO audit_log_built VALUES (1);"
    "  RETURN n;"
    " END $$ LANGUAGE plpgsql;"
    // A writer that does not write the batches (an interlock older than this schema,
    // still running during an upgrade) would leave records a crash loses: its inserts
    // fail instead (its answers are STORE_UNAVAILABLE, denies). This version's store
    // connections say they write them (EnsureAuditLog sets interlock.audit_batches).
    "CREATE FUNCTION interlock_audit_log_guard() RETURNS trigger AS $$"
    " BEGIN"
    "  IF coalesce(current_setting('interlock.audit_batches', true), '') <> 'on' THEN"
    "   RAISE EXCEPTION 'interlock: this writer does not write audit_batches (schema 11):"
    " an interlock older than the database''s schema; stop it' USING ERRCODE = '55000';"
    "  END IF;"
    "  RETURN NULL;"
    " END $$ LANGUAGE plpgsql;"
    "CREATE TRIGGER audit_log_needs_batches BEFORE INSERT ON audit_log"
    " FOR EACH STATEMENT EXECUTE FUNCTION interlock_audit_log_guard();",
    // 12: the rebuild reads each batch as jsonb, parsed once; json's ->> parses the record
    // again for each of its eleven columns (docs/performance.md, "The rebuild after a crash":
    // 2.3 times faster, so calls wait that much less after a crash). jsonb holds at most
    // 256 MB, so a batch of jsonb_below bytes or more (records of megabytes each) is read
    // as json. The same records either way (tests call it with jsonb_below 0).
    "DROP FUNCTION interlock_rebuild_audit_log(BIGINT);"
    "CREATE FUNCTION interlock_rebuild_audit_log(lock_key BIGINT,"
    " jsonb_below BIGINT DEFAULT 134217728) RETURNS BIGINT AS $$"
    " DECLARE n BIGINT := -1; large BIGINT;"
    " BEGIN"
    "  PERFORM pg_advisory_xact_lock(lock_key);"
    "  IF EXISTS (SELECT 1 FROM audit_log_built) THEN RETURN n; END IF;"
    "  TRUNCATE audit_log;"
    "  INSERT INTO audit_log(seq, time_ms, type, run_id, call_id, agent_id, principal, body,"
    "   data, prev_hash, hash)"
    "  SELECT (r->>0)::bigint, (r->>1)::bigint, r->>2, r->>3, r->>4, r->>5, r->>6, r->>7,"
    "   r->>8, r->>9, r->>10"
    "  FROM audit_batches b CROSS JOIN LATERAL jsonb_array_elements(b.records::jsonb) r"
    "  WHERE octet_length(b.records) < jsonb_below ORDER BY b.first_seq;"
    "  GET DIAGNOSTICS n = ROW_COUNT;"
    "  INSERT INTO audit_log(seq, time_ms, type, run_id, call_id, agent_id, principal, body,"
    "   data, prev_hash, hash)"
    "  SELECT (r->>0)::bigint, (r->>1)::bigint, r->>2, r->>3, r->>4, r->>5, r->>6, r->>7,"
    "   r->>8, r->>9, r->>10"
    "  FROM audit_batches b CROSS JOIN LATERAL json_array_elements(b.records::json) r"
    "  WHERE octet_length(b.records) >= jsonb_below ORDER BY b.first_seq;"
    "  GET DIAGNOSTICS large = ROW_COUNT;"
    "  INSERT INTO audit_log_built VALUES (1);"
    "  RETURN n + large;"
    " END $$ LANGUAGE plpgsql;",
    // 13: the workspace roots bound to an agent token, as the SQLite store's migration 10.
    "ALTER TABLE tokens ADD COLUMN workspace_roots TEXT NOT NULL DEFAULT '[]';",
    // 14: child runs, as the SQLite store's migration 11: a run's parent ('' for a root
    // run), the role it runs in and its depth, fixed when it is created.
    "ALTER TABLE runs ADD COLUMN parent_run_id TEXT NOT NULL DEFAULT '',"
    " ADD COLUMN role TEXT NOT NULL DEFAULT '', ADD COLUMN depth BIGINT NOT NULL DEFAULT 0;"
    "CREATE INDEX runs_parent ON runs(parent_run_id) WHERE parent_run_id <> '';",
    // 15: chat messages posted for approvals, as the SQLite store's migration 12: shared by
    // every daemon of a fleet, so the one where an approval is decided updates the message
    // another one posted.
    "CREATE TABLE approval_messages ("
    "  approval_id TEXT NOT NULL,"
    "  service TEXT NOT NULL,"
    "  channel TEXT NOT NULL,"
    "  ts TEXT NOT NULL,"
    "  final INTEGER NOT NULL DEFAULT 0,"
    "  updated_ms BIGINT NOT NULL,"
    "  PRIMARY KEY (approval_id, service));"
    "CREATE INDEX approval_messages_open ON approval_messages(service, updated_ms)"
    "  WHERE final = 0;",
};
static_assert(std::size(kPgMigrations) == PostgresStore::kSchemaVersion);

// pg_advisory_xact_lock key for migrations ("ilck" "migr").
constexpr int64_t kMigrationLockKey = 0x696c636b6d696772;

}  // namespace

PostgresStore::Impl::~Impl() {
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

Status PostgresStore::Impl::Start() {
  Result<std::unique_ptr<PgConn>> c = PgConn::Connect(options_.uri, options_.limits);
  if (!c.ok()) return c.error();
  writer_ = std::move(c).value();
  INTERLOCK_RETURN_IF_ERROR(Migrate(*writer_));
  INTERLOCK_RETURN_IF_ERROR(internal::EnsureAuditLog(*writer_));
  writer_thread_ = std::thread([this] { WriterLoop(); });
  return Status::Ok();
}

void PostgresStore::Impl::SetCallListener(std::function<void(std::string_view)> fn) {
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

Status PostgresStore::Impl::Migrate(PgConn& c) {
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
      return Error::Unavailable("store: postgresql migration to version " + std::to_string(v + 1) +
                                " failed: " + m.error().message);
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

void PostgresStore::Impl::WakeCalls(std::string_view call_id) {
  std::lock_guard lock(call_listener_mu_);
  if (call_listener_) call_listener_(call_id);
}

void PostgresStore::Impl::ListenLoop() {
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

std::optional<core::Principal> PostgresStore::Impl::CachedPrincipal(const std::string& hash) {
  if (options_.auth_cache_ttl.count() <= 0) return std::nullopt;
  std::lock_guard lock(auth_mu_);
  auto it = auth_cache_.find(hash);
  if (it == auth_cache_.end() || Clock::now() - it->second.second >= options_.auth_cache_ttl) {
    return std::nullopt;
  }
  return it->second.first;
}

void PostgresStore::Impl::CachePrincipal(const std::string& hash, const core::Principal& p) {
  if (options_.auth_cache_ttl.count() <= 0) return;
  std::lock_guard lock(auth_mu_);
  if (auth_cache_.size() >= kAuthCacheMax) auth_cache_.clear();
  auth_cache_[hash] = {p, Clock::now()};
}

void PostgresStore::Impl::ClearAuthCache() {
  std::lock_guard lock(auth_mu_);
  auth_cache_.clear();
}

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
                                               TimePoint now, const core::RunWorkspace& workspace) {
  const std::string agent(agent_id);
  std::string id = run_id.empty() ? NewId("run_") : std::string(run_id);
  core::RunInfo info;
  Status s = impl_->SubmitAndWait({id}, [&](Impl::Batch& b) -> Status {
    if (b.runs.contains(id)) return Error{ErrorKind::kAlreadyExists, "run " + id + " exists"};
    Row row;
    row.agent_id = agent;
    row.started_ms = Millis(now);
    row.is_new = true;
    row.state.workspace = workspace.workspace;
    row.state.workspace_refused = workspace.refused;
    b.runs.emplace(id, row);
    b.events.push_back(audit::AuditEvent{audit::kRunStarted, now, id, "", agent, agent,
                                         core::RunStartedData(workspace)});
    info.run_id = id;
    info.agent_id = agent;
    info.started = FromUnixMillis(row.started_ms);
    info.state = row.state;
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
    if (row->ended && row->ended_ms) info.ended_at = FromUnixMillis(*row->ended_ms);
    info.parent_run_id = std::move(row->parent_run_id);
    info.role = std::move(row->role);
    info.depth = row->depth;
    return info;
  });
}

Result<core::RunInfo> PostgresStore::CreateChildRun(const core::ChildRunRequest& request) {
  if (request.agent_id.empty()) return Error::Invalid("a run needs an agent id");
  core::ChildRunRequest rq = request;
  if (rq.run_id.empty()) rq.run_id = NewId("run_");
  core::RunInfo info;
  // The new id and the parent are locked with the parent's ancestors (AppendLockRuns).
  Status s = impl_->SubmitAndWait({rq.run_id, rq.parent_run_id}, [&](Impl::Batch& b) -> Status {
    Impl::Txn txn(b);
    return core::CreateChildRunInTxn(txn, rq, &info);
  });
  if (!s.ok()) return s.error();
  return info;
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
        INTERLOCK_RETURN_IF_ERROR(counts(c, b, more, sqlstate));
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
  return AwaitCallback<Result<core::CallRecord>>(
      [&](auto done) { DecideAsync(request, decide, std::move(done)); });
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
  return impl_->ReadRows<core::KillEntry>(
      "SELECT scope, target, engaged, reason, actor, time_ms FROM kill_switches"
      " ORDER BY scope, target",
      [](const PgResult& r, int i) {
        return core::KillEntry{std::string(r.Text(i, 0)), std::string(r.Text(i, 1)),
                               r.Int(i, 2) != 0,          std::string(r.Text(i, 3)),
                               std::string(r.Text(i, 4)), FromUnixMillis(r.Int(i, 5))};
      });
}

Result<std::string> PostgresStore::CreateToken(core::Role role, std::string_view name,
                                               std::string_view agent_id, TimePoint now,
                                               const std::vector<std::string>& workspace_roots) {
  // The token rules are the core's (core/roles.h, core/workspace.h).
  Result<std::string> person = core::CheckTokenSpec(role, name, agent_id);
  if (!person.ok()) return person.error();
  if (Status s = core::CheckTokenWorkspaceRoots(role, workspace_roots); !s.ok()) return s.error();
  const std::string roots_json = core::WorkspaceRootsJson(workspace_roots);
  const std::string plaintext = "ilk_" + Base64UrlEncode(RandomBytes(32));
  const std::string agent(agent_id);
  Status s = impl_->SubmitAndWait(
      {},
      [&](Impl::Batch& b) -> Status {
        const std::string token_id = NewId("tok_");
        b.sql.append(
            "INSERT INTO tokens(token_id, sha256, role, name, agent_id, workspace_roots,"
            " created_ms) VALUES (");
        for (const std::string& t :
             {token_id, Sha256Hex(plaintext), std::string(core::RoleName(role)), *person, agent,
              roots_json}) {
          pg::AppendLiteral(&b.sql, t);
          b.sql.push_back(',');
        }
        b.sql.append(std::to_string(Millis(now)) + ");");
        boost::json::object data{{"token_id", token_id},
                                 {"role", core::RoleName(role)},
                                 {"name", *person},
                                 {"agent_id", agent}};
        if (!workspace_roots.empty())
          data["workspace_roots"] = core::WorkspaceRootsArray(workspace_roots);
        b.events.push_back(
            audit::AuditEvent{audit::kTokenCreated, now, "", "", agent, "", std::move(data)});
        return Status::Ok();
      },
      // A new token widens access: its record is anchored before the token is handed out.
      {}, core::kTokenCreatedAnchor);
  if (!s.ok()) return s.error();
  return plaintext;
}

std::optional<core::Principal> PostgresStore::CachedPrincipal(std::string_view bearer_token) {
  if (bearer_token.empty()) return std::nullopt;
  return impl_->CachedPrincipal(Sha256Hex(bearer_token));
}

Result<core::Principal> PostgresStore::Authenticate(std::string_view bearer_token) {
  if (bearer_token.empty()) return Error::NotFound("no token");
  const std::string hash = Sha256Hex(bearer_token);
  if (std::optional<core::Principal> cached = impl_->CachedPrincipal(hash)) return *cached;
  Result<core::Principal> p =
      impl_->Read<core::Principal>([&](PgConn& c) -> Result<core::Principal> {
        Result<PgResult> r = c.Exec(
            "SELECT token_id, sha256, role, name, agent_id, revoked_ms, workspace_roots FROM tokens"
            " WHERE sha256 = $1",
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
        auto roots = core::ParseWorkspaceRootsJson(r->Text(0, 6));
        if (!roots.ok()) return roots.error();
        out.workspace_roots = std::move(*roots);
        return out;
      });
  if (p.ok()) impl_->CachePrincipal(hash, *p);
  return p;
}

Result<std::vector<core::TokenInfo>> PostgresStore::ListTokens() {
  return impl_->ReadRows<core::TokenInfo>(
      "SELECT token_id, role, name, agent_id, created_ms, revoked_ms, workspace_roots"
      " FROM tokens ORDER BY created_ms, token_id",
      [](const PgResult& r, int i) {
        core::TokenInfo t;
        t.token_id = std::string(r.Text(i, 0));
        t.role = core::ParseRole(r.Text(i, 1)).value_or(core::Role::kAgent);
        t.name = std::string(r.Text(i, 2));
        t.agent_id = std::string(r.Text(i, 3));
        t.created = FromUnixMillis(r.Int(i, 4));
        t.revoked = !r.IsNull(i, 5);
        if (auto roots = core::ParseWorkspaceRootsJson(r.Text(i, 6)); roots.ok()) {
          t.workspace_roots = std::move(*roots);
        }
        return t;
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
  INTERLOCK_RETURN_IF_ERROR(core::CheckMayVote(actor.role));
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
        return core::RecordResultInTxn(txn, impl_->redactor(), id, agent, who, result, now);
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
        Result<boost::json::value> args = ParseOwnJson(r->Text(0, 5));
        if (!args.ok()) return Error::Corrupt("store: calls.args_json is not valid JSON");
        if (args->is_object()) row.args = std::move(args->get_object());
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

Status PostgresStore::HaltRun(std::string_view run_id, std::string reason, std::string by,
                              TimePoint now) {
  const std::string id(run_id);
  return impl_->SubmitAndWait({id}, [&](Impl::Batch& b) {
    Impl::Txn txn(b);
    return core::HaltRunInTxn(txn, id, reason, by, now);
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
      internal::ConnectStore(impl_->options().uri, impl_->options().limits);
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
  Result<bool> release = core::CheckReleaseRead(
      call->record, agent_id, principal, now,
      [this](std::vector<audit::AuditEvent> records) { return AppendRecords(std::move(records)); });
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
    INTERLOCK_RETURN_IF_ERROR(core::ReleaseInTxn(txn, id, ctx, &released_now));
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

const audit::Redactor* PostgresStore::redactor() const { return &impl_->redactor(); }

}  // namespace interlock::store

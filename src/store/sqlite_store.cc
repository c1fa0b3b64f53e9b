#include "store/sqlite_store.h"

#include "store/sqlite_store_internal.h"

#include "common/await.h"
#include "common/private_fs.h"
#include "common/status_macros.h"
#include "core/workspace.h"

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

// ---------------------------------------------------------------------------------------
// Schema. Migration i (0-based) moves the database from version i to i + 1. The SQL is
// kept portable (no SQLite-only syntax) so a PostgreSQL backend can reuse it.
constexpr int kSchemaVersion = 12;
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
    // 10: the workspace roots bound to an agent token (`interlock token create
    // --workspace-root`; core::Principal::workspace_roots), a JSON array of patterns.
    "ALTER TABLE tokens ADD COLUMN workspace_roots TEXT NOT NULL DEFAULT '[]';",
    // 11: child runs (docs/governance.md#child-runs): a run's parent ('' for a root run),
    // the role it runs in and its depth, fixed when it is created; children found by parent.
    "ALTER TABLE runs ADD COLUMN parent_run_id TEXT NOT NULL DEFAULT '';"
    "ALTER TABLE runs ADD COLUMN role TEXT NOT NULL DEFAULT '';"
    "ALTER TABLE runs ADD COLUMN depth INTEGER NOT NULL DEFAULT 0;"
    "CREATE INDEX IF NOT EXISTS runs_parent ON runs(parent_run_id) WHERE parent_run_id <> '';",
    // 12: chat messages posted for approvals (core/ports/approval_messages.h): where the
    // Slack message of an approval is, so that it is updated in place when the approval is
    // decided, after a restart too (before: slack.state_file, a file beside the store).
    "CREATE TABLE IF NOT EXISTS approval_messages ("
    "  approval_id TEXT NOT NULL,"
    "  service TEXT NOT NULL,"
    "  channel TEXT NOT NULL,"
    "  ts TEXT NOT NULL,"
    "  final INTEGER NOT NULL DEFAULT 0,"
    "  updated_ms BIGINT NOT NULL,"
    "  PRIMARY KEY (approval_id, service));"
    "CREATE INDEX IF NOT EXISTS approval_messages_open ON approval_messages(service, updated_ms)"
    "  WHERE final = 0;",
};
static_assert(std::size(kMigrations) == kSchemaVersion);

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

SqliteStore::Impl::~Impl() {
  {
    std::lock_guard lock(mu_);
    stopping_ = true;
  }
  cv_.notify_all();
  if (writer_thread_.joinable()) {
    writer_thread_.join();
  } else if (caller_commits_) {
    // One-shot: commit what nobody waited for (Submit refuses new ops now).
    uint64_t queued = 0;
    {
      std::lock_guard lock(mu_);
      queued = queued_seq_;
    }
    LeadUntil(queued);
  }
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
    sqlite3_wal_checkpoint_v2(writer_.db(), nullptr, SQLITE_CHECKPOINT_TRUNCATE, nullptr, nullptr);
  }
}

Status SqliteStore::Impl::Open() {
  const std::string& path = options_.path;
  memory_ = path == ":memory:";
  if (!memory_ && !options_.create_if_missing) {
    struct stat st {};
    if (::stat(path.c_str(), &st) != 0) {
      return Error::NotFound("store " + path + " does not exist");
    }
  }
  if (!memory_ && options_.create_if_missing) {
    // 0600 before SQLite sees it: SQLite would create it 0644 (less the umask), and makes
    // the -wal and -shm files with the database's mode (docs/operations.md, "Files and
    // their modes"). An existing store keeps its mode.
    if (Result<bool> made = CreatePrivateFile(path); !made.ok()) {
      return Error::Unavailable("cannot create store " + path + ": " + made.error().message);
    }
  }
  if (Status s = writer_.Open(path, options_.create_if_missing, options_.busy_timeout_ms);
      !s.ok()) {
    return s;
  }
  INTERLOCK_RETURN_IF_ERROR(CheckAndMigrate());
  caller_commits_ = options_.commit_on_caller || options_.one_shot;
  if (options_.one_shot) {
    // No thread: callers commit and sync (commit_on_caller), the close commits what is
    // left. No checkpointer: WalHook only notes the frames (committed_frames_) and asks a
    // checkpoint nobody runs; the close checkpoints.
    if (!memory_) sqlite3_wal_hook(writer_.db(), &Impl::WalHook, this);
    return Status::Ok();
  }
  if (!memory_) {
    INTERLOCK_RETURN_IF_ERROR(reader_.Open(path, false, options_.busy_timeout_ms));
    INTERLOCK_RETURN_IF_ERROR(history_.Open(path, false, options_.busy_timeout_ms));
    INTERLOCK_RETURN_IF_ERROR(ckpt_.Open(path, false, options_.busy_timeout_ms));
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
    if (options_.durable_full && !caller_commits_) {
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

Status SqliteStore::Impl::CheckAndMigrate() {
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
      if (n != nullptr && std::string_view(reinterpret_cast<const char*>(n)) == "schema_version") {
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
  std::string pragmas =
      std::string("PRAGMA synchronous=") + (options_.durable_full && memory_ ? "FULL" : "NORMAL") +
      "; PRAGMA foreign_keys=ON;" + " PRAGMA cache_size=-" + std::to_string(kWriterCacheKiB) + ";";
  INTERLOCK_RETURN_IF_ERROR(c.ExecScript(pragmas, "pragmas"));

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
  INTERLOCK_RETURN_IF_ERROR(c.ExecScript("BEGIN IMMEDIATE", "begin migration"));
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
    Status s = c.ExecScript("CREATE TABLE IF NOT EXISTS schema_version (version INTEGER NOT NULL);",
                            "schema");
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

Result<int> SqliteStore::Impl::ReadVersion() {
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
                                             TimePoint now, const core::RunWorkspace& workspace) {
  if (agent_id.empty()) return Error::Invalid("a run needs an agent id");
  core::RunInfo info;
  Status s = impl_->SubmitAndWait([&](Impl::Batch& b) {
    return impl_->ApplyCreateRun(b, agent_id, std::string(run_id), now, workspace, &info);
  });
  if (!s.ok()) return s.error();
  return info;
}

Result<core::RunInfo> SqliteStore::CreateChildRun(const core::ChildRunRequest& request) {
  if (request.agent_id.empty()) return Error::Invalid("a run needs an agent id");
  core::ChildRunRequest rq = request;
  if (rq.run_id.empty()) rq.run_id = NewId("run_");
  core::RunInfo info;
  Status s = impl_->SubmitAndWait(
      [&](Impl::Batch& b) { return impl_->ApplyCreateChildRun(b, rq, &info); });
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

// Parameters ?1..?7 as read_sql.h's logical ones.
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
    if (!filter.parent_run_id.empty()) q.Text(7, filter.parent_run_id);
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
  return AwaitCallback<Result<core::CallRecord>>(
      [&](auto done) { DecideAsync(request, decide, std::move(done)); });
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
                                             std::string_view agent_id, TimePoint now,
                                             const std::vector<std::string>& workspace_roots) {
  // The token rules are the core's (core/roles.h, core/workspace.h).
  Result<std::string> person = core::CheckTokenSpec(role, name, agent_id);
  if (!person.ok()) return person.error();
  if (Status s = core::CheckTokenWorkspaceRoots(role, workspace_roots); !s.ok()) return s.error();
  std::string token;
  // A new token widens access: its record is anchored before the token is handed out.
  Status s = impl_->SubmitAndWait(
      [&](Impl::Batch& b) {
        return impl_->ApplyCreateToken(b, role, *person, agent_id, now, workspace_roots, &token);
      },
      core::kTokenCreatedAnchor);
  if (!s.ok()) return s.error();
  return token;
}

Result<core::Principal> SqliteStore::Authenticate(std::string_view bearer_token) {
  if (bearer_token.empty()) return Error::NotFound("no token");
  return impl_->Authenticate(bearer_token);
}

std::optional<core::Principal> SqliteStore::CachedPrincipal(std::string_view bearer_token) {
  if (bearer_token.empty()) return std::nullopt;
  return impl_->CachedPrincipal(bearer_token);
}

Result<std::vector<core::TokenInfo>> SqliteStore::ListTokens() {
  return impl_->ReadRows<core::TokenInfo>(kSelectTokens, "list tokens", [](const Query& q) {
    core::TokenInfo t;
    t.token_id = q.ColText(0);
    t.role = core::ParseRole(q.ColText(1)).value_or(core::Role::kAgent);
    t.name = q.ColText(2);
    t.agent_id = q.ColText(3);
    t.created = FromUnixMillis(q.ColInt(4));
    t.revoked = !q.ColNull(5);
    if (auto roots = core::ParseWorkspaceRootsJson(q.ColText(6)); roots.ok()) {
      t.workspace_roots = std::move(*roots);
    }
    return t;
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
  // A loaded set may widen access: anchored before the caller swaps it in.
  return impl_->AppendEvent(core::PolicyLoadEvent(load), core::PolicyLoadAnchorNeed(load));
}

Status SqliteStore::RecordAuthFailures(const core::AuthFailures& failures) {
  return impl_->AppendEvent(core::AuthFailuresEvent(failures));
}

Status SqliteStore::RecordSignIn(const core::SignIn& s) {
  return impl_->AppendEvent(core::SignInEvent(s));
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
  return impl_->ReadRows<core::KillEntry>(kSelectKills, "list kill switches", [](const Query& q) {
    core::KillEntry k;
    k.scope = q.ColText(0);
    k.target = q.ColText(1);
    k.engaged = q.ColInt(2) != 0;
    k.reason = q.ColText(3);
    k.actor = q.ColText(4);
    k.at = FromUnixMillis(q.ColInt(5));
    return k;
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
  Result<bool> release = core::CheckReleaseRead(
      call->record, agent_id, principal, now,
      [this](std::vector<audit::AuditEvent> records) { return AppendRecords(std::move(records)); });
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

Status SqliteStore::HaltRun(std::string_view run_id, std::string reason, std::string by,
                            TimePoint now) {
  return impl_->SubmitAndWait([&](Impl::Batch& b) {
    return impl_->ApplyHaltRun(b, run_id, reason, by, now);  // copies: a batch may rerun
  });
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

const audit::Redactor* SqliteStore::redactor() const { return &impl_->redactor(); }

}  // namespace interlock::store

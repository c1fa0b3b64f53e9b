// SqliteStore::Impl's operations, each run by the writer inside a batch transaction, and
// the token cache of Authenticate (sqlite_store_internal.h).

#include "store/sqlite_store_internal.h"

#include "common/status_macros.h"
#include "core/lineage.h"
#include "core/workspace.h"

namespace interlock::store {

class SqliteStore::Impl::Txn final : public core::StateTxn {
 public:
  Txn(Impl& impl, Batch& b) : impl_(impl), b_(b), approvals_(impl.writer_.db(), impl.options_) {}

  Result<core::RunRow> LoadRunForUpdate(std::string_view run_id) override {
    // The batch holds the write lock (BEGIN IMMEDIATE): the row is ours until COMMIT.
    Result<RunRow*> found = impl_.FindRun(run_id);
    if (!found.ok()) return found.error();
    return internal::ToCoreRunRow(**found);
  }
  Status InsertRun(const core::NewRun& run) override {
    Result<RunRow*> existing = impl_.FindRun(run.run_id);
    if (existing.ok()) return Error{ErrorKind::kAlreadyExists, "run " + run.run_id + " exists"};
    if (existing.error().kind != ErrorKind::kNotFound) return existing.error();
    Result<sqlite3_stmt*> s = impl_.writer_.Get(kInsertChildRun);
    if (!s.ok()) return s.error();
    RunState state;
    state.workspace = run.workspace.workspace;
    state.workspace_refused = run.workspace.refused;
    const std::string sequence_json = core::SequenceStoreJson(state);
    Query q(*s);
    q.Text(1, run.run_id)
        .Text(2, run.agent_id)
        .Int(3, Millis(run.started))
        .Text(4, sequence_json)
        .Text(5, run.parent_run_id)
        .Text(6, run.role)
        .Int(7, run.depth);
    if (q.Step() != SQLITE_DONE) return SqlError(impl_.writer_.db(), "create run");
    RunRow row{run.agent_id, Millis(run.started), std::move(state), false};
    row.parent_run_id = run.parent_run_id;
    row.role = run.role;
    row.depth = run.depth;
    impl_.CacheRun(run.run_id, std::move(row));
    return Status::Ok();
  }
  Result<int> CountLiveChildren(std::string_view parent_run_id) override {
    Result<sqlite3_stmt*> s = impl_.writer_.Get(kCountLiveChildren);
    if (!s.ok()) return s.error();
    Query q(*s);
    q.Text(1, parent_run_id);
    if (q.Step() != SQLITE_ROW) return SqlError(impl_.writer_.db(), "count child runs");
    return static_cast<int>(q.ColInt(0));
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
    if (Status st = q.StepToRow(impl_.writer_.db(), "call", call_id); !st.ok()) return st.error();
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
  Result<engine::AgentUsage> CountAgentUsage(std::string_view agent_id, const core::CountQuery& cq,
                                             TimePoint now) override {
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

Status SqliteStore::Impl::ApplyCreateChildRun(Batch& b, const core::ChildRunRequest& rq,
                                              core::RunInfo* out) {
  Txn txn(*this, b);
  return core::CreateChildRunInTxn(txn, rq, out);
}

Status SqliteStore::Impl::ApplyCreateRun(Batch& b, std::string_view agent_id, std::string run_id,
                                         TimePoint now, const core::RunWorkspace& workspace,
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
  RunState state;
  state.workspace = workspace.workspace;
  state.workspace_refused = workspace.refused;
  const std::string sequence_json = core::SequenceStoreJson(state);
  Query q(*s);
  q.Text(1, run_id).Text(2, agent_id).Int(3, Millis(now)).Text(4, sequence_json);
  if (q.Step() != SQLITE_DONE) return SqlError(writer_.db(), "create run");
  out->run_id = run_id;
  out->agent_id = std::string(agent_id);
  out->started = FromUnixMillis(Millis(now));
  out->state = state;
  b.events->push_back(audit::AuditEvent{audit::kRunStarted, now, run_id, "", std::string(agent_id),
                                        std::string(agent_id), core::RunStartedData(workspace)});
  CacheRun(run_id, RunRow{std::string(agent_id), Millis(now), std::move(state), false});
  return Status::Ok();
}

Status SqliteStore::Impl::ApplyDecide(Batch& b, const core::DecideRequest& rq,
                                      const core::DecideFn& decide, core::CallRecord* rec) {
  Txn txn(*this, b);
  return core::DecideInTxn(txn, redactor_, rq, decide, rec);
}

Status SqliteStore::Impl::ApplyRelease(Batch& b, const std::string& call_id, TimePoint now,
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
  INTERLOCK_RETURN_IF_ERROR(core::ReleaseInTxn(txn, call_id, ctx, &released_now));
  if (released_now && policies != nullptr) {
    // The call proceeds now: what it adds to the run's sequence state, and its count.
    if (Status s =
            core::ApplyRelease(txn, policies->Find(r.agent_id), r, r.agent_id, now, &row->state);
        !s.ok()) {
      return s;
    }
    INTERLOCK_RETURN_IF_ERROR(txn.SaveRun(r.run_id, std::move(row).value()));
  }
  out->emplace(LoadCall(writer_, call_id));
  if (out->value().ok()) out->value()->released_now = released_now;
  return Status::Ok();
}

Status SqliteStore::Impl::ApplyVote(Batch& b, const core::VoteRequest& rq, core::VoteOutcome* out) {
  Txn txn(*this, b);
  return core::VoteInTxn(txn, rq, &redactor_, out);
}

Status SqliteStore::Impl::ApplyWithdraw(Batch& b, std::string_view approval_id,
                                        std::string_view agent_id, std::string_view principal,
                                        std::string_view reason, TimePoint now, core::Approval* out,
                                        std::optional<Error>* refused) {
  Txn txn(*this, b);
  return core::WithdrawInTxn(txn, approval_id, agent_id, principal, reason, now, out, refused);
}

Status SqliteStore::Impl::ApplyExpire(Batch& b, TimePoint now,
                                      std::vector<core::ApprovalChange>* out) {
  Txn txn(*this, b);
  return core::ExpireInTxn(txn, now, out);
}

Status SqliteStore::Impl::ApplyAddUsage(Batch& b, std::string_view run_id,
                                        std::string_view agent_id, const Usage& usage,
                                        TimePoint now, const core::IdempotencyKey& key) {
  Txn txn(*this, b);
  return core::AddUsageInTxn(txn, run_id, agent_id, usage, now, key);
}

Status SqliteStore::Impl::ApplyRecordResult(Batch& b, std::string_view call_id,
                                            std::string_view agent_id, std::string_view principal,
                                            const core::CallResult& result, TimePoint now) {
  Txn txn(*this, b);
  return core::RecordResultInTxn(txn, redactor_, call_id, agent_id, principal, result, now);
}

Status SqliteStore::Impl::ApplyRecordRehearsal(Batch& b, std::string_view call_id,
                                               std::string_view agent_id,
                                               std::string_view principal,
                                               const core::CallResult& result, TimePoint now,
                                               core::CallRecord* rec) {
  Txn txn(*this, b);
  return core::RecordRehearsalInTxn(txn, redactor_, call_id, agent_id, principal, result, now, rec);
}

Status SqliteStore::Impl::ApplyEndRun(Batch& b, std::string_view run_id, std::string_view agent_id,
                                      TimePoint now) {
  Txn txn(*this, b);
  return core::EndRunInTxn(txn, run_id, agent_id, now);
}

Status SqliteStore::Impl::ApplyHaltRun(Batch& b, std::string_view run_id, std::string reason,
                                       std::string by, TimePoint now) {
  Txn txn(*this, b);
  return core::HaltRunInTxn(txn, run_id, std::move(reason), std::move(by), now);
}

Status SqliteStore::Impl::ApplySetKill(Batch& b, const core::KillEntry& e) {
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

Status SqliteStore::Impl::ApplyCreateToken(Batch& b, core::Role role, std::string_view name,
                                           std::string_view agent_id, TimePoint now,
                                           const std::vector<std::string>& workspace_roots,
                                           std::string* token) {
  const std::string plaintext = "ilk_" + Base64UrlEncode(RandomBytes(32));
  const std::string token_id = NewId("tok_");
  Result<sqlite3_stmt*> s = writer_.Get(kInsertToken);
  if (!s.ok()) return s.error();
  const std::string roots_json = core::WorkspaceRootsJson(workspace_roots);
  Query q(*s);
  q.Text(1, token_id)
      .Text(2, Sha256Hex(plaintext))
      .Text(3, core::RoleName(role))
      .Text(4, name)
      .Text(5, agent_id)
      .Int(6, Millis(now))
      .Text(7, roots_json);
  if (q.Step() != SQLITE_DONE) return SqlError(writer_.db(), "create token");
  boost::json::object data{{"token_id", token_id},
                           {"role", core::RoleName(role)},
                           {"name", name},
                           {"agent_id", agent_id}};
  if (!workspace_roots.empty())
    data["workspace_roots"] = core::WorkspaceRootsArray(workspace_roots);
  b.events->push_back(audit::AuditEvent{audit::kTokenCreated, now, "", "", std::string(agent_id),
                                        "", std::move(data)});
  *token = plaintext;
  return Status::Ok();
}

Status SqliteStore::Impl::ApplyRevokeToken(Batch& b, std::string_view token_id,
                                           std::string_view actor, TimePoint now) {
  std::string role, name, agent_id;
  {
    Result<sqlite3_stmt*> s = writer_.Get(kSelectTokenById);
    if (!s.ok()) return s.error();
    Query q(*s);
    if (Status st = q.StepToRow(writer_.db(), "token", token_id); !st.ok()) return st.error();
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

void SqliteStore::Impl::ClearAuthCache() {
  std::lock_guard lock(auth_mu_);
  auth_cache_.clear();
}

std::optional<core::Principal> SqliteStore::Impl::CachedPrincipal(std::string_view bearer) {
  const std::string hash = Sha256Hex(bearer);
  std::lock_guard lock(auth_mu_);
  if (auto it = auth_cache_.find(hash);
      it != auth_cache_.end() &&
      std::chrono::steady_clock::now() - it->second.second < kAuthCacheTtl) {
    return it->second.first;
  }
  return std::nullopt;
}

Result<core::Principal> SqliteStore::Impl::Authenticate(std::string_view bearer) {
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
    auto roots = core::ParseWorkspaceRootsJson(q.ColText(6));
    if (!roots.ok()) return roots.error();
    out.workspace_roots = std::move(*roots);
    return out;
  });
  if (p.ok()) {
    std::lock_guard lock(auth_mu_);
    if (auth_cache_.size() >= kAuthCacheMax) auth_cache_.clear();
    auth_cache_[hash] = {*p, now};
  }
  return p;
}

}  // namespace interlock::store
